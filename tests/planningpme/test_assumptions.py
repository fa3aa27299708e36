"""The PlanningPME assumptions as ``[planningpme]`` settings: defaults, errors, and use over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from syncd.connectors.planningpme.assumptions import EVENT_LIST_BODY, fill_list_body
from syncd.connectors.planningpme.connector import PlanningPmeCustomerConnector, PlanningPmeEventConnector
from syncd.emulators.config import emulator_config
from syncd.errors import ConfigError, NotFoundError
from syncd.settings import parse_settings
from tests.planningpme.conftest import Pme, Rewriting, days_from_now

MakeConnectors = Callable[..., tuple[PlanningPmeEventConnector, PlanningPmeCustomerConnector]]


def _settings(extra: str) -> Any:
    text = emulator_config("http://127.0.0.1:1", "http://127.0.0.1:2")
    text = text.replace("[planningpme]\n", "[planningpme]\n" + extra, 1)
    return parse_settings(text, Path("/tmp/syncd.toml"), env={})


def test_the_defaults_are_todays_assumptions() -> None:
    pme = _settings("").planningpme
    assert (pme.events_path, pme.event_list_path, pme.customers_path, pme.history_path) == (
        "api/do",
        "api/do/list",
        "api/customer",
        "api/history",
    )
    assert pme.event_list_body == {"dateFrom": "{date_from}", "dateTo": "{date_to}"}
    assert pme.date_format == "offset" and pme.event_date_fields == ["start", "end"]
    assert pme.history_types["Assignment"] == "event" and pme.history_ops["Delete"] == "deleted"


def test_keys_are_changed_in_the_config_file() -> None:
    pme = _settings(
        'events_path = "/api/planned/"\nhistory_path = ""\ndate_format = "utc"\n'
        'event_list_body = { period = { from = "{date_from}", to = "{date_to}" }, kind = 1 }\n'
    ).planningpme
    assert pme.events_path == "api/planned" and pme.history_path == "" and pme.date_format == "utc"
    assert fill_list_body(pme.event_list_body, "A", "B") == {"period": {"from": "A", "to": "B"}, "kind": 1}
    assert fill_list_body(pme.event_list_body, None, None) == {"period": {}, "kind": 1}


@pytest.mark.parametrize(
    ("line", "named", "said"),
    [
        ('events_path = ""', "planningpme.events_path", "must not be empty"),
        ('customers_path = "api/customer?x=1"', "planningpme.customers_path", "not a plain path"),
        ('event_list_body = "dateFrom"', "planningpme.event_list_body", "expected a table"),
        (
            'event_list_body = { dateFrom = "{date_form}" }',
            "planningpme.event_list_body",
            "dateFrom: '{date_form}' is not a placeholder",
        ),
        ('date_format = "zulu"', "planningpme.date_format", "'offset', 'utc' or 'local'"),
        ('history_types = { Invoice = "evnt" }', "planningpme.history_types.Invoice", "'event'"),
        ('history_ops = { Merge = "merged" }', "planningpme.history_ops.Merge", "'changed'"),
    ],
)
def test_a_bad_key_is_named_in_the_error(line: str, named: str, said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(line + "\n")
    assert named in str(caught.value) and said in str(caught.value)


def test_the_list_body_template_fills_only_whole_placeholders() -> None:
    assert fill_list_body(EVENT_LIST_BODY, "2026-01-01T00:00:00+01:00", "x") == {
        "dateFrom": "2026-01-01T00:00:00+01:00",
        "dateTo": "x",
    }
    assert fill_list_body({"resources": ["R1", "{date_to}"]}, None, None) == {"resources": ["R1"]}


def test_configured_paths_and_list_body_are_used(pme: Pme, make_connectors: MakeConnectors) -> None:
    """An account whose resources live under other paths: syncd works once the keys say so."""
    renamed = Rewriting(
        {
            "/demo/api/planned/search": "/demo/api/do/list",
            "/demo/api/planned": "/demo/api/do",
            "/demo/api/clients": "/demo/api/customer",
            "/demo/api/changes": "/demo/api/history",
        }
    )
    events, customers = make_connectors(
        pme,
        transport=renamed,
        events_path="api/planned",
        event_list_path="api/planned/search",
        customers_path="api/clients",
        history_path="api/changes",
        event_list_body={"dateFrom": "{date_from}", "dateTo": "{date_to}", "resources": [{"key": "R1"}]},
    )
    start = days_from_now(2)
    mine = events.create({"label": "R1's", "start": start, "end": start, "resources": [{"key": "R1"}]}, "77")
    events.create({"label": "R2's", "start": start, "end": start, "resources": [{"key": "R2"}]}, None)
    listing = events.list_changed(None)
    assert [r.key for r in listing.records] == [mine.key]  # the constant of the body filtered
    events.update(mine.key, {"label": "changed"})
    incremental = events.list_changed(listing.cursor)
    assert incremental.complete and [r.data["label"] for r in incremental.records] == ["changed"]
    assert [r.key for r in events.find_by_marker("77")] == [mine.key]
    created = customers.create({"label": "Acme"}, None)
    assert [r.key for r in customers.list_changed(None).records] == [created.key]
    paths = {r.url.path.split("/api/")[1].split("/")[0] for r in renamed.sent if "/api/" in r.url.path}
    assert paths == {"planned", "clients", "changes"}


def test_a_wrong_path_fails_naming_it(pme: Pme, make_connectors: MakeConnectors) -> None:
    _, customers = make_connectors(pme, customers_path="api/clients")
    with pytest.raises(NotFoundError, match="GET /api/clients"):
        customers.list_changed(None)
