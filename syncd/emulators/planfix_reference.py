"""The emulated reference-data methods: users (``user.getList``), task processes
(``taskStatus.getSetList``) and the statuses of one process (``taskStatus.getListOfSet``).

Read-only, over the fixed reference data of ``planfix_model``; each reply follows its method page
(``ПланФикс_API_user.getList.md``, ``ПланФикс_API_taskStatus.getSetList.md``,
``ПланФикс_API_taskStatus.getListOfSet.md``). ``syncd check`` uses them to prove the ids a
mapping table names exist.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from lxml import etree

from syncd.emulators.planfix_context import Element, MethodContext, part
from syncd.emulators.planfix_model import PROCESSES, STATUSES, USERS
from syncd.emulators.planfix_params import ApiError, integer, paging, required
from syncd.emulators.planfix_render import list_element, sub

USER_EMAILS: Final = MappingProxyType(
    {
        1: "Ivan.Petrov@example.com",
        2: "maria.garcia@example.com",
        3: "o.smirnov@example.ru",
        5: "ana.lopez@example.com",
        6: "p.sidorov@example.ru",
    }
)
"""The users' e-mails (``user.get.md``: ``email``), so ``syncd init`` can pair users with the
PlanningPME emulator's resources: by e-mail for 1, 2 and 5 (case ignored), by name for 3 and 4."""
LISTED_ONLY_USERS: Final = MappingProxyType({6: "Пётр Сидоров"})
"""A user no resource matches, listed by ``user.getList`` only (no task names him), so
``syncd init`` has one user it cannot pair."""


def _user(user_id: int, full_name: str) -> Element:
    el = etree.Element("user")
    first, _, last = full_name.partition(" ")
    sub(el, "id", user_id)
    sub(el, "name", first)
    sub(el, "lastName", last)
    sub(el, "email", USER_EMAILS.get(user_id, ""))
    sub(el, "status", "ACTIVE")
    return el


def user_get_list(ctx: MethodContext, req: Element) -> list[Element]:
    """``<users count totalCount><user>…`` by pages of at most 100 (``pageCurrent`` from 1)."""
    page = paging(req)
    found = sorted({**USERS, **LISTED_ONLY_USERS}.items())
    chunk = found[(page.page - 1) * page.size : page.page * page.size]
    return [list_element("users", [_user(i, n) for i, n in chunk], len(found), ctx.style)]


def task_status_get_set_list(ctx: MethodContext, req: Element) -> list[Element]:
    """``<taskStatusSets totalCount><taskStatusSet><id/><name/>`` (no ``count``, as the page shows)."""
    sets = etree.Element("taskStatusSets")
    sets.set("totalCount", str(len(PROCESSES)))
    for set_id, process in sorted(PROCESSES.items()):
        el = sub(sets, "taskStatusSet")
        sub(el, "id", set_id)
        sub(el, "name", process.name)
    return [sets]


def task_status_get_list_of_set(ctx: MethodContext, req: Element) -> list[Element]:
    """The statuses of ``taskStatusSet/id``: ``<taskStatuses totalCount><taskStatus>…``."""
    set_id = integer(required(part(req, "taskStatusSet"), "id"), "taskStatusSet/id")
    process = PROCESSES.get(set_id)
    if process is None:
        raise ApiError("0015", f"no task process {set_id}")
    statuses = etree.Element("taskStatuses")
    statuses.set("totalCount", str(len(process.statuses)))
    for status_id in process.statuses:
        el = sub(statuses, "taskStatus")
        sub(el, "id", status_id)
        sub(el, "name", STATUSES[status_id])
        sub(el, "color", "")
        sub(el, "isActive", 1)
        sub(el, "hasDeadline", 0)
        texts = sub(el, "texts")
        for lang in ("Ru", "En"):
            text = sub(texts, "text")
            sub(text, "lang", lang)
            sub(text, "name", STATUSES[status_id])
    return [statuses]
