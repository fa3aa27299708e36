"""The working state of one ``plan()`` call, and the questions every rule family asks of the input.

The rule families run one after the other over the same input and must not step on each other:
a link merged is not merged twice, a record linked by its marker is not matched or created again.
So they share one ``Context``: the operations planned so far (in order, which is the plan's order),
the links already handled and the records already claimed. It is made afresh for each call and
dropped with it, so nothing outlives a plan.

Two rules every family obeys are answered here, once:

- Rule 1: a tombstoned key (deleted for good) and a record backing off in the failure queue are
  skipped: what was deleted never comes back, what keeps failing waits for its retry.
- A deletion counts only when that side's listing was complete: a failed or partial listing never
  deletes anything (property 6).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from syncd.engine.planner.model import (
    SIDES,
    Echo,
    FieldChange,
    LinkState,
    Observed,
    Operation,
    PlanInput,
    Side,
)


class LinkIndex:
    """Links indexed by either side's key."""

    def __init__(self, links: Iterable[LinkState]) -> None:
        self.by_side: dict[Side, dict[str, LinkState]] = {"planfix": {}, "planningpme": {}}
        for link in links:
            self.by_side["planfix"][link.planfix_key] = link
            self.by_side["planningpme"][link.planningpme_key] = link

    def get(self, side: Side, key: str) -> LinkState | None:
        return self.by_side[side].get(key)


class Context:
    def __init__(self, data: PlanInput) -> None:
        self.data = data
        self.rules = data.rules
        self.index = LinkIndex(data.links)
        self.ops: list[Operation] = []
        self.handled_links: set[tuple[str, str]] = set()
        self.claimed: set[tuple[Side, str]] = set()

    def skip(self, side: Side, key: str) -> bool:
        """Rule 1: tombstoned, or backing off in the failure queue."""
        return (side, key) in self.data.tombstones or (side, key) in self.data.backing_off

    def deleted(self, side: Side) -> frozenset[str]:
        """Keys gone from ``side``, trusted only from a complete listing."""
        view = self.data.view(side)
        return view.deleted if view.complete else frozenset()

    def rec(self, side: Side, key: str) -> Observed | None:
        return self.data.view(side).records.get(key)

    def unlinked(self, side: Side) -> list[Observed]:
        """The records read on ``side`` that no link, skip or earlier step has taken, by key."""
        return [
            rec
            for key, rec in sorted(self.data.view(side).records.items())
            if self.index.get(side, key) is None
            and not self.skip(side, key)
            and (side, key) not in self.claimed
        ]

    def unlink(self, link: LinkState, *, reason: str, rule: str) -> None:
        """Drop a link and keep both records (or what is left of them) as they are."""
        self.ops.append(
            Operation("unlink", None, link.planfix_key, link.planningpme_key, reason=reason, rule=rule)
        )

    def update_both(
        self,
        writes: Mapping[Side, list[FieldChange]],
        keys: tuple[str, str],
        *,
        reason: str,
        rule: str,
        canonical: Mapping[str, Any],
        echo: Echo | None = None,
    ) -> None:
        """One update per side that has fields to receive, Planfix first: the plan's order is fixed,
        so a dry run and the following run list the same steps."""
        for target in SIDES:
            if writes[target]:
                self.ops.append(
                    Operation(
                        "update",
                        target,
                        *keys,
                        reason=reason,
                        rule=rule,
                        changes=tuple(writes[target]),
                        canonical=canonical,
                        echo=echo if echo is not None else Echo(),
                    )
                )
