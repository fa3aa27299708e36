"""The conflict policy: which side wins a field both sides hold differently.

Used twice, and it must decide the same way both times: by the three-way merge, when a linked
field changed on both sides to different values, and at a first link, when two matched records
disagree. Per field, the policy is a fixed side (``planfix``, ``planningpme``), ``manual`` (no
winner: the merge plans a ``conflict`` step for a person), or ``newest``: the later modification
time wins, and the pair's ``newest_fallback`` side when a time is missing or both are equal, so
the decision is deterministic whatever the systems report.
"""

from __future__ import annotations

from syncd.engine.planner.model import FieldRule, Observed, PairRules, Side


def resolve(rules: PairRules, rule: FieldRule, pf: Observed | None, pme: Observed | None) -> Side | None:
    """The side whose value of ``rule``'s field wins, or None for a manual conflict."""
    if rule.conflict in ("planfix", "planningpme"):
        return rule.conflict
    if rule.conflict == "manual":
        return None
    pf_time = pf.modified if pf else None
    pme_time = pme.modified if pme else None
    if pf_time is not None and pme_time is not None and pf_time != pme_time:
        return "planfix" if pf_time > pme_time else "planningpme"
    return rules.newest_fallback
