"""The pure decision core: (state, what each side has now, the rules) → a Plan of operations.

Nothing here does I/O, reads a clock or touches a database: the cycle gathers every input first,
so a dry run and the following real run plan exactly the same thing, and the core can be driven
by property-based tests at memory speed (the vdirsyncer model).

The rules, in the order they are applied to a record seen on one side (``run.plan``), and the
module holding each:

1. Tombstoned keys are ignored: what was deleted never comes back (``context``).
2. A linked record is merged field by field against the last synced value (three-way merge,
   ``merge``): changed on one side → copied; changed on both to the same value → nothing; changed
   on both differently → the field's conflict policy (``conflicts``). A deletion on one side →
   that side's delete policy, unless the other side changed meanwhile (modification wins by
   default; ``deletes``). What a system did to a record syncd wrote (a default it filled in, a
   trimmed or re-cased text, a rounded number) is adopted at the first read-back as that side's
   own value, never taken for a change (``echo``, on the state ``model.Echo``). A record the
   other side *archived* (a canceled task) that modification wins over is reopened in place, not
   created a second time (``deletes``).
3. An unlinked record carrying a marker is linked to the record the marker names (crash recovery,
   ``markers``).
4. An unlinked record is matched by the mapping's match keys against unlinked records of the
   other side; exactly one candidate each way → linked; several → reported, never guessed
   (``matching``).
5. Otherwise it is created on the other side, with the marker (``creates``).

A record referring to records not linked yet waits (``relations``); a plan deleting too much is
stopped by the mass-delete guard (``guard``). The types all of them share are in ``model``.

This module is the package's facade: the rest of syncd imports the planner's names from here.
"""

from syncd.engine.planner.deletes import REOPEN_RULE
from syncd.engine.planner.echo import changed_fields, is_echo, read_back
from syncd.engine.planner.guard import GuardLimits, guard_violation
from syncd.engine.planner.model import (
    SIDES,
    Echo,
    FieldChange,
    FieldRule,
    LinkState,
    Observed,
    Operation,
    PairRules,
    Plan,
    PlanInput,
    Side,
    SideView,
    other,
)
from syncd.engine.planner.run import plan

__all__ = (
    "REOPEN_RULE",
    "SIDES",
    "Echo",
    "FieldChange",
    "FieldRule",
    "GuardLimits",
    "LinkState",
    "Observed",
    "Operation",
    "PairRules",
    "Plan",
    "PlanInput",
    "Side",
    "SideView",
    "changed_fields",
    "guard_violation",
    "is_echo",
    "other",
    "plan",
    "read_back",
)
