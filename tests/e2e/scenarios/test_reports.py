"""Reports a person reads at a glance (issue 15): a real cycle over the emulators, its records named
by title or name beside their keys, structured values in words, and an HTML page that opens with a
summary per pair and direction, stays well-formed and shows a hostile title as text."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html

from syncd.cli.report import render_html, render_text, to_json_dict
from syncd.engine.cycle import CycleResult
from syncd.engine.readable import show_day
from tests.e2e.conftest import World
from tests.e2e.scenarios.people import People, day

HOSTILE = "<script>alert('x')</script> Boiler & <b>co</b> \x1b[2J check"


def ops(results: list[CycleResult]) -> dict[tuple[str, str, str | None, str | None], dict[str, Any]]:
    """Every operation of the JSON report by (pair, kind, planfix key, planningpme key)."""
    return {
        (pair["pair"], op["operation"], op["planfix_key"], op["planningpme_key"]): op
        for pair in to_json_dict(results)["pairs"]
        for op in pair["operations"]
    }


def a_world_to_report(people: People) -> dict[str, str]:
    return {
        "company": people.contacts.create({"isCompany": True, "companyName": "Talleres Núñez"}, None).key,
        "person": people.add_contact("Emma", "Brown", "emma.brown@example.com"),
        "customer": people.add_customer("Zoë", "Dubois", "zoe@example.fr"),
        "task": people.add_task(HOSTILE, offset=3),
        "event": people.add_event("Gas meter reading", offset=4),
    }


def test_records_are_named_and_values_read_in_words(world: World, people: People) -> None:
    keys = a_world_to_report(people)
    people.add_task("Fit the boiler", offset=6, client={"id": keys["person"]})

    results = world.sync(dry_run=True)

    planned = ops(results)
    named = {
        (pair, op["planfix_key"] or op["planningpme_key"]): op["label"] for (pair, *_), op in planned.items()
    }
    assert named[("contacts", keys["company"])] == "Talleres Núñez"
    assert named[("contacts", keys["person"])] == "Emma Brown"
    assert named[("contacts", keys["customer"])] == "Zoë Dubois"
    assert named[("tasks", keys["event"])] == "Gas meter reading"
    assert named[("tasks", keys["task"])].startswith("<script>alert('x')</script> Boiler & <b>co</b>")

    text = render_text(results)
    lines = text.splitlines()
    assert f"  create on planningpme: planfix {keys['company']} “Talleres Núñez”" in lines
    assert f"  create on planfix: planningpme {keys['customer']} “Zoë Dubois”" in lines
    assert "      company: — → Talleres Núñez (company)" in lines
    assert "      company: — → (person)" in lines
    assert "      workers: — → Иван Петров" in lines, "a worker by the resource's name"
    assert "      workers: — → María García" in lines
    assert f"      start: — → {show_day(day(3))} 09:00" in lines, "in the Planfix account's zone"
    settings = world.settings
    event_end = datetime.combine(day(4), time(11), ZoneInfo(settings.planningpme.timezone))
    shown_end = event_end.astimezone(ZoneInfo(settings.planfix.timezone))
    assert f"      end: — → {show_day(shown_end.date())} {shown_end:%H:%M}" in lines, (
        "one zone for both sides"
    )
    assert "times in Europe/Moscow" in lines[6]
    assert "      phone: — → —" not in lines, "a field empty before and after is left out"
    assert f"      client: — → contact {keys['person']}" in lines
    assert lines.count("  Planfix → PlanningPME: create 2") == 2, "contacts and tasks, each under its pair"
    assert lines.count("  PlanningPME → Planfix: create 1") == 2
    for raw in ('{"company"', "is_company", '["1"]', "T09:00:00Z"):
        assert raw not in text


def test_the_html_page_opens_with_the_summary_and_escapes_everything(world: World, people: People) -> None:
    keys = a_world_to_report(people)
    world.sync()  # the contacts first, so the tasks' clients resolve; then one new record each way
    keys["late"] = people.add_task("Chimney sweep", offset=5, client={"id": keys["company"]})
    people.edit_contact(keys["person"], lastName="Brown-Smith")
    people.edit_event(keys["event"], label="Gas meter — read")

    results = world.sync()
    page = render_html(results)

    doc = lxml.html.document_fromstring(page)
    assert doc.xpath("//script|//link|//img|//iframe|//*[@src]|//*[@href]") == []
    assert not any(ord(c) < 0x20 and c not in "\n\t" for c in page), "no raw control character"
    headings = [h.text_content() for h in doc.xpath("//h2")]
    assert headings == ["Summary", "contacts", "tasks"]
    first, *detail = doc.xpath("//table")
    assert first.get("class") == "summary" and detail
    rows = [[cell.text_content() for cell in tr.xpath("td")] for tr in first.xpath("tr[td]")]
    by_direction = {(r[0], r[1]): r[2:] for r in rows}
    header = [th.text_content() for th in first.xpath("tr/th")]
    assert header[:4] == ["pair", "direction", "create", "update"]
    column = {name: i for i, name in enumerate(header[2:])}
    assert by_direction[("contacts", "Planfix → PlanningPME")][column["update"]] == "1"
    assert by_direction[("tasks", "Planfix → PlanningPME")][column["create"]] == "1"
    assert by_direction[("tasks", "PlanningPME → Planfix")][column["update"]] == "1"
    assert by_direction[("tasks", "Planfix → PlanningPME")][column["failed"]] == "0"

    labels = [span.text_content() for span in doc.xpath("//span[@class='label']")]
    assert {"Emma Brown-Smith", "Chimney sweep", "Gas meter — read"} <= set(labels)
    assert "Brown → Brown-Smith" in page
    assert f"<code>client</code>: — → contact {keys['company']}</td>" in page
    assert "done" in {td.text_content() for td in doc.xpath("//table[not(@class)]//td")}


def test_a_hostile_title_is_text_in_every_report(world: World, people: People) -> None:
    a_world_to_report(people)

    results = world.sync(dry_run=True)
    page = render_html(results)

    doc = lxml.html.document_fromstring(page)
    assert doc.xpath("//script") == [] and doc.xpath("//b") == []
    shown = [span.text_content() for span in doc.xpath("//span[@class='label']")]
    assert any(label.startswith("<script>alert('x')</script> Boiler & <b>co</b>") for label in shown)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Boiler &amp; &lt;b&gt;co&lt;/b&gt;" in page
    text = render_text(results)
    assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in text)
