"""Errors of the mapping layer. They are plain ``ValueError`` subclasses on purpose: ``mappings``
never imports ``syncd``, so the daemon wraps them into its own tree (``MappingError`` for a bad
file, ``RecordError`` for a record whose values cannot be mapped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a mapping file: where (a key path into the file) and what."""

    loc: Loc
    message: str


class MappingFileError(ValueError):
    """A mapping file cannot be used. The message names the file, each wrong place and what is wrong."""

    def __init__(self, file: str, problems: Sequence[tuple[str, str]]) -> None:
        self.file = file
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)
        lines = [f"{where}: {what}" if where else what for where, what in self.problems]
        if len(lines) == 1:
            text = f"{file}: {lines[0]}"
        else:
            text = f"{file}: {len(lines)} problems\n" + "\n".join(f"  {line}" for line in lines)
        super().__init__(text)


class MappingValueError(ValueError):
    """A record holds a value the mapping cannot translate (a malformed date, say).

    Only that record is affected; the engine reports it and goes on with the others.
    """


class UnresolvedLinkError(MappingValueError):
    """A related record (a task's client) has no counterpart on the other side yet.

    Retry after the related record has been synced; ``Mapper.related`` names it in advance.
    """
