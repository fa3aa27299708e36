"""The state store: the only code that opens a database session.

Callers see a handful of named operations, each its own short transaction (so one applied sync
operation is one transaction, and a crash leaves either all of it or none), and get frozen rows
back. Every ``now`` is passed in by the caller, so tests and dry runs decide what time it is; all
times must be timezone-aware.

The store is safe to share between threads (the scheduler's jobs and the push endpoint): each
operation takes its own pooled connection, and SQLite serialises the writes.

``Store`` is the one entry point. Its operations are grouped by concern, one mixin a module, all
built on ``base.StoreBase``, which alone opens a session: links and tombstones (links.py), the
intent journal and cursors (journal.py), failures and conflicts (failures.py), audit and cycles
(history.py), retention (retention.py), `syncd status` (status.py) and what the push endpoint keeps
(push.py). ``linking.py`` writes links inside a transaction; ``convert.py`` turns ORM objects into
the frozen rows of ``state.rows``.
"""

from __future__ import annotations

from state.store.failures import FailureQueries
from state.store.history import HistoryQueries
from state.store.journal import JournalQueries
from state.store.links import LinkQueries
from state.store.push import PushQueries
from state.store.retention import RetentionQueries
from state.store.status import StatusQueries

__all__ = ["Store"]


class Store(
    StatusQueries,
    LinkQueries,
    JournalQueries,
    FailureQueries,
    HistoryQueries,
    RetentionQueries,
    PushQueries,
):
    """The state database behind named operations. Open with ``Store.open``; close or use ``with``."""
