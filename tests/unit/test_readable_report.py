"""Reports for people, on their own: canonical values in words, record names, and the summary that
opens the HTML page (counts per direction, failures, conflicts waiting, a guard that stopped)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html
import pytest
import structlog

from syncd.cli.report import render_html, render_json, render_text
from syncd.connectors.base import Listing
from syncd.engine.applier import ApplyResult
from syncd.engine.cycle import CycleResult
from syncd.engine.planner import FieldChange, Operation, Plan
from syncd.engine.readable import EMPTY, FieldStyle, Readable, record_label, show
from syncd.logs import STDLIB_LOGGERS, configure_logging

MADRID = ZoneInfo("Europe/Madrid")
WORKERS = FieldStyle("lookup", {"1": "Иван Петров", "3": "Олег Смирнов"})


@pytest.mark.parametrize(
    ("value", "style", "expected"),
    [
        ({"company": "ACME SL", "is_company": True}, FieldStyle("company"), "ACME SL (company)"),
        ({"company": "", "is_company": False}, FieldStyle("company"), "(person)"),
        ({"company": "ACME SL", "is_company": True}, None, "ACME SL (company)"),  # by its shape
        (None, None, EMPTY),
        ("", FieldStyle("text"), EMPTY),
        ([], WORKERS, EMPTY),
        (["1", "3"], WORKERS, "Иван Петров, Олег Смирнов"),
        (["1", "9"], WORKERS, "Иван Петров, 9"),  # a reference without a name shows its key
        ("2026-12-02T09:00:00Z", FieldStyle("datetime"), "Wed 2 Dec 2026 10:00"),
        ("2026-12-02T09:00:00Z", None, "Wed 2 Dec 2026 10:00"),
        ("2026-12-02", FieldStyle("datetime"), "Wed 2 Dec 2026 (all day)"),
        ("not a date", FieldStyle("datetime"), "not a date"),
        (
            "planningpme:12",
            FieldStyle("link", entities=("contact", "customer")),
            "customer 12 (not linked yet)",
        ),
        ("503", FieldStyle("link", entities=("contact", "customer")), "contact 503"),
        (
            "(new planfix record for planningpme 12)",
            FieldStyle("link", entities=("contact", "customer")),
            "(new planfix record for planningpme 12)",
        ),
        (True, None, "yes"),
        ("x" * 100, None, "x" * 59 + "…"),
        ({"a": 1}, None, '{"a": 1}'),
        ("Call first\nGate code 12", FieldStyle("html_text"), "Call first ↵ Gate code 12"),
    ],
)
def test_a_canonical_value_in_words(value: Any, style: FieldStyle | None, expected: str) -> None:
    assert show(value, style, MADRID) == expected


@pytest.mark.parametrize(
    ("canonical", "expected"),
    [
        ({"title": "Boiler check", "start": "2026-12-02"}, "Boiler check"),
        (
            {"first_name": "Zoë", "last_name": "Dubois", "company": {"company": "", "is_company": False}},
            "Zoë Dubois",
        ),
        (
            {"first_name": "", "last_name": "", "company": {"company": "ACME SL", "is_company": True}},
            "ACME SL",
        ),
        ({"first_name": "Ann", "company": {"company": "ACME SL", "is_company": True}}, "ACME SL"),
        ({"first_name": "", "company": {"company": "Employer", "is_company": False}}, "Employer"),
        ({"first_name": "", "email": "a@b.example"}, "a@b.example"),
        ({"title": " Two\nlines "}, "Two lines"),
        ({"phone": "+34 600"}, None),
        ({}, None),
    ],
)
def test_a_record_is_named_by_title_company_or_person(
    canonical: dict[str, Any], expected: str | None
) -> None:
    assert record_label(canonical) == expected


def _op(kind: str, target: Any, pf: str | None, pme: str | None, **kw: Any) -> Operation:
    return Operation(kind, target, pf, pme, reason="why", rule="rule", **kw)  # type: ignore[arg-type]


def _result(**kw: Any) -> CycleResult:
    empty = Listing(records=(), complete=True, full_scan=False)
    readable = Readable(
        {"workers": WORKERS, "start": FieldStyle("datetime")},
        MADRID,
        {("planningpme", "9"): {"title": "Gone event"}},
    )
    return CycleResult(
        "tasks",
        datetime(2026, 12, 1, tzinfo=UTC),
        Plan("tasks", ()),
        False,
        {"planfix": empty, "planningpme": empty},
        readable=readable,
        **kw,
    )


def test_the_page_opens_with_what_needs_a_person() -> None:
    update = _op(
        "update",
        "planningpme",
        "5",
        "7",
        changes=(FieldChange("workers", ["1"], ["1", "3"]),),
        canonical={"title": "Boiler <check>"},
    )
    conflict = _op(
        "conflict",
        None,
        "5",
        "7",
        conflicts=(FieldChange("start", "2026-12-02T09:00:00Z", "2026-12-02T10:00:00Z"),),
    )
    failed = _op("create", "planfix", None, "8", canonical={"title": "New event"})
    unlink = _op("unlink", None, None, "9")
    result = _result(
        applied=ApplyResult(done=[update, conflict, unlink], failed=[(failed, "refused: 400")]),
        unmappable=[("planfix", "6", "status 9 is not in the table")],
        guard=None,
    )

    page = render_html([result])

    doc = lxml.html.document_fromstring(page)
    assert [h.text_content() for h in doc.xpath("//h2")] == ["Summary", "tasks"]
    summary = doc.xpath("//table")[0]
    header = [th.text_content() for th in summary.xpath("tr/th")]
    cells = {
        (tr.xpath("td")[1].text_content(), name): td
        for tr in summary.xpath("tr[td]")
        for name, td in zip(header[2:], tr.xpath("td")[2:], strict=True)
    }
    assert cells[("Planfix → PlanningPME", "update")].text_content() == "1"
    assert cells[("Planfix → PlanningPME", "failed")].text_content() == "1", "the record that cannot map"
    assert cells[("Planfix → PlanningPME", "failed")].get("class") == "n alert"
    assert cells[("PlanningPME → Planfix", "failed")].text_content() == "1"
    assert cells[("state only", "conflicts waiting")].text_content() == "1"
    assert cells[("state only", "conflicts waiting")].get("class") == "n wait"
    assert cells[("state only", "link")].text_content() == "1"
    assert cells[("state only", "create")].get("class") == "n zero"
    detail = doc.xpath("//table")[1].text_content()
    assert "Boiler <check>" in detail
    assert "workers: Иван Петров → Иван Петров, Олег Смирнов" in detail
    assert "start: planfix Wed 2 Dec 2026 10:00 ≠ planningpme Wed 2 Dec 2026 11:00" in detail
    assert "Gone event" in detail, "a record the plan carries no values of is named from what its side holds"
    assert "status 9 is not in the table" in detail

    text = render_text([result])
    assert "  update on planningpme: planfix 5 ↔ planningpme 7 “Boiler <check>”" in text
    assert "  unlink: planningpme 9 “Gone event”" in text
    assert "  cannot map planfix 6 [failed]" in text
    assert "  PlanningPME → Planfix: failed 1" in text


def test_a_stopped_pair_says_so_in_the_summary() -> None:
    delete = _op("delete", "planningpme", "5", "7", canonical={"title": "Old"})
    result = _result(guard="would delete 60 of 100 linked records (limit 10%)")
    result.plan = Plan("tasks", (delete,))
    result.dry_run = True

    doc = lxml.html.document_fromstring(render_html([result]))

    summary = doc.xpath("//table")[0].text_content()
    assert "stopped by the mass-delete guard" in summary
    assert "blocked" in doc.xpath("//table")[1].text_content()


def test_the_json_report_only_gains_a_label() -> None:
    op = _op("create", "planfix", None, "8", canonical={"title": "New event"})
    result = _result()
    result.plan = Plan("tasks", (op,))
    result.dry_run = True

    data = json.loads(render_json([result]))

    row = data["pairs"][0]["operations"][0]
    assert data["schema"] == "syncd.cli.report/1"
    assert set(data["pairs"][0]) == {"pair", "started_at", "summary", "recovered", "guard", "operations"}
    assert set(row) == {
        "operation",
        "target",
        "planfix_key",
        "planningpme_key",
        "label",
        "fields",
        "conflicts",
        "reason",
        "rule",
        "status",
        "error",
    }
    assert row["label"] == "New event"


SECRET = "tok-5f0c9e2a7b3d41e8a6c2d9f1"


@pytest.fixture
def secret_masked() -> Iterator[None]:
    configure_logging(secrets=[SECRET], json=True, stream=io.StringIO())
    yield
    structlog.reset_defaults()
    for name in STDLIB_LOGGERS:
        logging.getLogger(name).handlers.clear()


@pytest.mark.usefixtures("secret_masked")
def test_a_value_is_masked_before_it_is_cut() -> None:
    """Cut first, the secret's head would be shown and no longer match the value to mask."""
    long_title = "Call back about " + "x" * 30 + SECRET
    op = _op(
        "update",
        "planfix",
        "5",
        "7",
        changes=(FieldChange("title", None, long_title),),
        canonical={"title": long_title},
    )
    result = _result()
    result.plan = Plan("tasks", (op,))
    result.dry_run = True

    for shown in (
        show(long_title),
        record_label({"title": "x" * 70 + SECRET}) or "",
        render_text([result]),
        render_html([result]),
    ):
        assert SECRET[:12] not in shown, shown
    assert show(long_title).endswith("***")


def test_the_html_page_holds_no_raw_control_character() -> None:
    """Escaped for HTML, an escape sequence would still reach whoever ``cat``s the file."""
    title = "Boiler\x1b[2J\x1b]0;owned\x07 <i>check</i>\u202e"
    op = _op(
        "create",
        "planfix",
        None,
        "8",
        changes=(FieldChange("title", None, title),),
        canonical={"title": title},
    )
    result = _result()
    result.plan = Plan("tasks", (op,))
    result.dry_run = True

    page = render_html([result])

    assert not any(
        (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F or c == "\u202e" for c in page
    )
    doc = lxml.html.document_fromstring(page)
    assert doc.xpath("//i") == []
    label = doc.xpath("//span[@class='label']")[0].text_content()
    assert label == "Boiler[2J]0;owned <i>check</i>\\u202e", "a name is one clean line"
    assert "title: — → Boiler\\x1b[2J\\x1b]0;owned\\x07 <i>check</i>\\u202e" in doc.text_content()
