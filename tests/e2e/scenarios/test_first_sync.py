"""First sync of accounts that already hold the same records: they are linked by the match keys,
never duplicated, and ambiguous matches are reported, not guessed; related records (a task's
client) are created before the records that refer to them."""

from __future__ import annotations

from tests.e2e.conftest import World
from tests.e2e.scenarios.harness import cli, links, no_writes, planfix, planningpme, state, state_path
from tests.e2e.scenarios.people import People, pf_date, same_moment


def pme_at(world: World, hour: int, offset: int = 10) -> str:
    """The PlanningPME local time of ``hour``:00 in Planfix's zone."""
    zones = world.settings.planfix.timezone, world.settings.planningpme.timezone
    return same_moment(offset, hour, *zones)


def test_records_already_on_both_sides_are_linked_not_duplicated(world: World, people: People) -> None:
    contact = people.add_contact("Ana", "Ruiz", "ana@example.com")
    customer = people.add_customer("Ana", "Ruiz", "ana@EXAMPLE.com")
    task = people.add_task("Boiler inspection", description="<p>Bring the F7 filter</p>")
    event = people.add_event(
        "boiler  INSPECTION",  # case and spacing do not matter to the match key
        start=pme_at(world, 9),
        end=pme_at(world, 11),
        resources=[{"key": "R1"}],
        description="Bring the F7 filter",
    )
    world.reset_stats()

    first = world.sync()

    assert links(world, "contacts") == {contact: customer}
    assert links(world, "tasks") == {task: event}
    assert [(op.kind, op.target) for r in first for op in r.plan.operations] == [
        ("link", None),
        ("link", None),
        ("update", "planningpme"),  # the titles differ in case: the fallback side's value is copied
    ]
    assert len(world.records("contacts")) == len(world.records("customers")) == 1
    assert len(world.records("tasks")) == len(world.records("events")) == 1
    assert planningpme(world, "events")[event]["label"] == "Boiler inspection"
    world.reset_stats()
    world.sync()
    assert no_writes(world)


def test_ambiguous_matches_are_reported_and_left_alone(world: World, people: People) -> None:
    office = people.add_contact("Office", "Acme", "office@acme.example")
    billing = people.add_contact("Billing", "Acme", "office@acme.example")
    customer = people.add_customer("Office", "Acme", "office@acme.example")
    task = people.add_task("Network cabling")
    morning = people.add_event("Network cabling", start=pme_at(world, 9), end=pme_at(world, 11))
    short = people.add_event("Network cabling", start=pme_at(world, 9), end=pme_at(world, 10))
    before = {kind: len(world.records(kind)) for kind in ("contacts", "customers", "tasks", "events")}
    world.reset_stats()

    code, report = cli(world, "run", "--once")

    assert code == 0
    assert no_writes(world), "neither linked nor created: a person must decide"
    assert {kind: len(world.records(kind)) for kind in before} == before
    assert links(world, "contacts") == links(world, "tasks") == {}
    assert report.count("ambiguous match on") == 2
    assert f"planfix {office}, {billing}; planningpme {customer} " in report, "all of them are named"
    assert f"planfix {task}; planningpme {morning}, {short} " in report


def test_a_task_for_a_new_client_creates_the_customer_first(world: World, people: People) -> None:
    client = people.add_contact("Sergio", "Fernández", "sergio@example.es")
    task = people.add_task("Install air conditioning", client={"id": client})

    world.sync()

    customer = links(world, "contacts")[client]
    event = links(world, "tasks")[task]
    assert planningpme(world, "customers")[customer]["email"] == "sergio@example.es"
    assert [c["key"] for c in planningpme(world, "events")[event]["customers"]] == [int(customer)]
    world.reset_stats()
    world.sync()
    assert no_writes(world)


def test_an_event_for_a_new_customer_creates_the_contact_first(world: World, people: People) -> None:
    customer = people.add_customer("Zoë", "Dubois", "zoe@example.fr")
    event = people.add_event("Révision annuelle", customers=[{"key": int(customer)}])

    world.sync()

    client = {pme: pf for pf, pme in links(world, "contacts").items()}[customer]
    task = {pme: pf for pf, pme in links(world, "tasks").items()}[event]
    assert planfix(world, "contacts")[client]["email"] == "zoe@example.fr"
    made = planfix(world, "tasks")[task]
    assert made["client"]["id"] == client
    assert made["startTime"].startswith(pf_date(10))
    with state(world) as store:
        assert store.failures() == []
    world.reset_stats()
    world.sync()
    assert no_writes(world)


def test_a_lost_state_database_relinks_by_markers_without_duplicates(world: World) -> None:
    world.pf("POST", "seed", {"tasks": 10, "contacts": 6, "seed": 1})
    world.pme("POST", "seed", {"events": 5, "customers": 4, "seed": 2})
    world.sync()
    before = {kind: len(world.records(kind)) for kind in ("tasks", "contacts", "events", "customers")}
    linked = {pair: links(world, pair) for pair in ("contacts", "tasks")}
    for leftover in state_path(world).parent.glob(f"{state_path(world).name}*"):
        leftover.unlink()
    world.reset_stats()

    results = world.sync()

    assert {op.kind for r in results for op in r.plan.operations} == {"link"}
    assert no_writes(world)
    assert {kind: len(world.records(kind)) for kind in before} == before
    assert {pair: links(world, pair) for pair in linked} == linked
