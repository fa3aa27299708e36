"""Reads both accounts' reference data for ``syncd init``; read-only, a few requests per account.

Planfix: users with their e-mails (``user.getList``), the statuses of every task process
(``taskStatus.getSetList`` / ``getListOfSet``), and the custom fields of tasks and contacts as one
record's card names them (the XML API has no method that lists custom fields), each tried with the
String-field filter syncd finds markers with. PlanningPME: ``/api/resource``, ``/api/category`` and
the custom field codes of ``/api/config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from syncd.cli.onboarding.pairing import Ref
from syncd.connectors.planfix import reference
from syncd.connectors.planfix.client import PlanfixClient
from syncd.connectors.planfix.paging import PAGE_SIZE, read_pages
from syncd.connectors.planfix.xml import Element, ListPage, Param, child_text, list_page
from syncd.connectors.planningpme.assumptions import CONFIG_PATH
from syncd.connectors.planningpme.client import PlanningPmeClient
from syncd.connectors.planningpme.pagination import Page, PageIndexPaginator
from syncd.errors import RemoteError
from syncd.ratelimit import planfix_limiter, planningpme_limiter
from syncd.settings import Settings

MAX_FIELD_PROBES = 30
"""Custom fields tried with the String filter per entity: one request each."""


@dataclass(frozen=True)
class CustomField:
    id: str
    name: str
    string: bool
    """The String-field filter accepts it (so it can hold a marker)."""


@dataclass(frozen=True)
class PlanfixReference:
    users: tuple[Ref, ...]
    statuses: tuple[Ref, ...]
    task_fields: tuple[CustomField, ...]
    contact_fields: tuple[CustomField, ...]


@dataclass(frozen=True)
class PlanningPmeReference:
    resources: tuple[Ref, ...]
    categories: tuple[Ref, ...]
    custom_fields: Mapping[str, tuple[Ref, ...]]
    """By resource (``do``, ``customer``): code as key, label as name."""


def _users(client: PlanfixClient) -> tuple[Ref, ...]:
    method = "user.getList"

    def fetch(page: int) -> ListPage:
        params: list[Param] = [("pageCurrent", page), ("pageSize", PAGE_SIZE)]
        return list_page(client.call(method, params), "users", "user", method=method)

    found: list[Ref] = []
    for el in read_pages(fetch, what="users", strict=True).items:
        parts = (child_text(el, "name").strip(), child_text(el, "lastName").strip())
        found.append(
            Ref(
                child_text(el, "id").strip(), " ".join(p for p in parts if p), child_text(el, "email").strip()
            )
        )
    return tuple(u for u in found if u.key)


def _card_fields(first: Element | None) -> list[tuple[str, str]]:
    if first is None:
        return []
    found: list[tuple[str, str]] = []
    for value in first.findall("customData/customValue"):
        field_id = child_text(value, "field/id").strip()
        if field_id:
            found.append((field_id, child_text(value, "field/name").strip()))
    return found


def _fields(client: PlanfixClient, entity: str, params: list[Param]) -> tuple[CustomField, ...]:
    out: list[CustomField] = []
    for i, (field_id, name) in enumerate(_card_fields(reference.probe_list(client, entity, params).first)):
        string = False
        if i < MAX_FIELD_PROBES:
            try:
                reference.probe_marker_filter(client, entity, field_id)
                string = True
            except RemoteError:
                string = False
        out.append(CustomField(field_id, name, string))
    return tuple(out)


def read_planfix(settings: Settings) -> PlanfixReference:
    pf = settings.planfix
    limiter = planfix_limiter(pf.requests_per_second, pf.daily_quota, pf.quota_reserve, ZoneInfo(pf.timezone))
    client = PlanfixClient(pf, limiter)
    try:
        statuses = reference.all_statuses(client)
        return PlanfixReference(
            users=_users(client),
            statuses=tuple(Ref(s.id, s.name) for s in sorted(statuses.values(), key=lambda s: _order(s.id))),
            task_fields=_fields(client, "task", []),
            contact_fields=_fields(client, "contact", [("target", reference.CONTACT_TARGETS[0])]),
        )
    finally:
        client.close()


def _order(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (1 << 62, key)


def _lookup(client: PlanningPmeClient, name: str) -> tuple[Ref, ...]:
    path = f"api/{name}"
    label = f"GET /{path}"
    paginator = PageIndexPaginator()
    found: list[Ref] = []
    while not paginator.finished:
        page = Page.parse(client.request("GET", label, path, params=paginator.params()), label)
        found.extend(
            Ref(str(i.get("key")), str(i.get("label") or ""), str(i.get("email") or ""))
            for i in page.items
            if isinstance(i, Mapping) and i.get("key") is not None
        )
        paginator.advance(page)
    return tuple(found)


def _custom_fields(config: Any) -> dict[str, tuple[Ref, ...]]:
    defined = config.get("customFields") if isinstance(config, Mapping) else None
    if not isinstance(defined, Mapping):
        return {}
    return {
        str(resource): tuple(
            Ref(str(f.get("code")), str(f.get("label") or ""))
            for f in fields
            if isinstance(f, Mapping) and f.get("code")
        )
        for resource, fields in defined.items()
        if isinstance(fields, list)
    }


def read_planningpme(settings: Settings) -> PlanningPmeReference:
    pme = settings.planningpme
    client = PlanningPmeClient(pme, planningpme_limiter(pme.requests_per_hour))
    try:
        resources = _lookup(client, "resource")
        categories = _lookup(client, "category")
        try:
            config = client.request("GET", f"GET /{CONFIG_PATH}", CONFIG_PATH)
        except RemoteError:
            config = {}
        return PlanningPmeReference(resources, categories, _custom_fields(config))
    finally:
        client.close()
