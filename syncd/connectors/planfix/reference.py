"""Read-only look-ups of a Planfix account for ``syncd check``: one page of a list, the users, the
task processes and their statuses.

Kept apart from the connectors because nothing here syncs: it answers "does this method work the
way syncd expects, and do the ids the mapping tables name exist?" with as few requests as it can
(``pageSize`` 1 for a probe; the reference lists page by 100, the most a page may hold).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from syncd.connectors.planfix.client import PlanfixClient
from syncd.connectors.planfix.filters import CONTACT_STRING_FIELD, TASK_STRING_FIELD, custom_field_contains
from syncd.connectors.planfix.paging import PAGE_SIZE, read_pages
from syncd.connectors.planfix.xml import Element, ListPage, Param, child_text, list_page
from syncd.errors import ProtocolError

SYSTEM = "planfix"
CONTACT_TARGETS = ("contact", "company")
"""The two contact listings syncd reads (``target``): people and companies."""


@dataclass(frozen=True)
class Probe:
    """The first page (of size 1) of a listing: how many records it holds and the first one."""

    total: int | None
    first: Element | None


@dataclass(frozen=True)
class Named:
    """A reference record: its id and its name."""

    id: str
    name: str


def probe_list(
    client: PlanfixClient, entity: str, params: Sequence[Param] = (), filters: Sequence[Param] = ()
) -> Probe:
    """One record of ``<entity>.getList`` with ``params``: the method answers in the shape syncd reads."""
    method = f"{entity}.getList"
    call: list[Param] = [("pageCurrent", 1), ("pageSize", 1), *params]
    if filters:
        call.append(("filters", list(filters)))
    page = list_page(client.call(method, call), f"{entity}s", entity, method=method)
    return Probe(page.total, page.items[0] if page.items else None)


def probe_marker_filter(client: PlanfixClient, entity: str, field_id: str) -> Probe:
    """A listing filtered by "String custom field ``field_id`` contains" (type 101 tasks / 4101
    contacts), the filter syncd finds markers with: an error here means the field is missing or is
    not a String field (the XML API has no method that lists custom fields with their types)."""
    if entity == "contact":
        params: list[Param] = [("target", CONTACT_TARGETS[0])]
        kind = CONTACT_STRING_FIELD
    else:
        params, kind = [], TASK_STRING_FIELD
    return probe_list(client, entity, params, [custom_field_contains(kind, field_id, "syncd-check")])


def _read_named(
    client: PlanfixClient, method: str, list_tag: str, item_tag: str, params: Sequence[Param] = ()
) -> list[Named]:
    def named(el: Element) -> Named:
        found = child_text(el, "id").strip()
        if not found:
            raise ProtocolError(f"reply to {method}: a <{item_tag}> without <id>", system=SYSTEM)
        return Named(found, child_text(el, "name").strip())

    return [
        named(el) for el in list_page(client.call(method, params), list_tag, item_tag, method=method).items
    ]


def users(client: PlanfixClient) -> list[Named]:
    """Every user of the account (``ПланФикс_API_user.getList.md``, pages of at most 100)."""
    method = "user.getList"

    def fetch(page: int) -> ListPage:
        params: list[Param] = [("pageCurrent", page), ("pageSize", PAGE_SIZE)]
        return list_page(client.call(method, params), "users", "user", method=method)

    found = read_pages(fetch, what="users", strict=True).items
    out: list[Named] = []
    for el in found:
        user_id = child_text(el, "id").strip()
        if not user_id:
            raise ProtocolError(f"reply to {method}: a <user> without <id>", system=SYSTEM)
        name = " ".join(p for p in (child_text(el, "name").strip(), child_text(el, "lastName").strip()) if p)
        out.append(Named(user_id, name))
    return out


def status_sets(client: PlanfixClient) -> list[Named]:
    """The task processes (``ПланФикс_API_taskStatus.getSetList.md``)."""
    return _read_named(client, "taskStatus.getSetList", "taskStatusSets", "taskStatusSet")


def statuses_of_set(client: PlanfixClient, set_id: str) -> list[Named]:
    """The statuses of one task process (``ПланФикс_API_taskStatus.getListOfSet.md``)."""
    return _read_named(
        client, "taskStatus.getListOfSet", "taskStatuses", "taskStatus", [("taskStatusSet", [("id", set_id)])]
    )


def all_statuses(client: PlanfixClient) -> dict[str, Named]:
    """Every status of every task process, by id (a status may belong to several processes)."""
    found: dict[str, Named] = {}
    for process in status_sets(client):
        found.update((s.id, s) for s in statuses_of_set(client, process.id))
    return found
