"""A failed or partial listing never causes a delete (property 6): a page that fails after others
were read, or a changed record that cannot be fetched, leaves every linked record in place, and
nothing is lost for the next cycle.

Faults go through the emulators' control API at the moment the aimed request is sent (a tap on
the wire sets them), and the transports retry as usual — without the pauses between retries,
which are not what these tests are about.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from syncd.connectors.http import RetryPolicy
from syncd.engine.planner import Side
from tests.e2e.conftest import World
from tests.e2e.scenarios.harness import (
    Tap,
    fault,
    links,
    no_writes,
    planfix,
    planfix_call,
    planningpme,
    planningpme_call,
    set_sync,
    state,
    sync_through,
)
from tests.e2e.scenarios.people import People

RETRIES = RetryPolicy().attempts
"""Requests the transport makes before it gives up: a fault must last that many to be felt."""


@pytest.fixture(autouse=True)
def no_retry_pause(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, attempt, rng: 0.0)
    yield


@pytest.fixture
def many_contacts(world: World) -> dict[str, str]:
    """160 contacts (121 people, 39 companies) synced to 160 customers: two pages of people in
    Planfix (``contact.getList`` lists people and companies apart), two pages of customers. The
    guard is set high, so only the listing rules stand between a lost page and a mass delete."""
    set_sync(world, max_delete="1000", max_delete_percent="100")
    world.pf("POST", "seed", {"contacts": 160, "seed": 3})
    world.sync()
    linked = links(world, "contacts")
    assert len(linked) == len(planningpme(world, "customers")) == 160
    assert sum(c["isCompany"] == "0" for c in world.records("contacts")) > 100
    world.reset_stats()
    return linked


FAULTS = {
    "planfix": ("contact.getList page 2 fails (HTTP 503)", {"fail_next": RETRIES, "error": 503}),
    "planningpme": ("GET /api/customer page 2 drops the connection", {"drop_next": RETRIES}),
}


@pytest.mark.parametrize("side", ["planfix", "planningpme"])
def test_a_page_lost_mid_listing_deletes_nothing(
    world: World, many_contacts: dict[str, str], side: Side
) -> None:
    tap = Tap()
    second_page = (
        planfix_call("contact.getList", page=2)
        if side == "planfix"
        else planningpme_call("GET /api/customer", page=1)
    )
    tap.before(second_page, fault(world, side, **FAULTS[side][1]))

    [contacts, _tasks] = sync_through(world, {side: tap})

    assert not tap.rules, "the fault was set just before the second page"
    assert not contacts.listings[side].complete
    assert contacts.plan.deletes == 0
    assert no_writes(world)
    assert links(world, "contacts") == many_contacts
    assert set(planfix(world, "contacts")) == set(many_contacts)
    assert set(planningpme(world, "customers")) == set(many_contacts.values())
    world.sync()
    assert no_writes(world), "the next, complete listing finds nothing to do either"


def test_a_changed_record_that_cannot_be_read_is_not_taken_for_deleted(world: World, people: People) -> None:
    customer = people.add_customer("Olga", "Smirnova", "olga@example.com")
    world.sync()
    contact = {pme: pf for pf, pme in links(world, "contacts").items()}[customer]
    people.edit_customer(customer, phone="+34 600 000 001")
    tap = Tap()
    tap.before(
        planningpme_call(f"GET /api/customer/{customer}"),
        fault(world, "planningpme", fail_next=RETRIES, error=503),
    )
    with state(world) as store:
        cursor = store.get_cursor("contacts", "planningpme", "incremental")

    [contacts, _tasks] = sync_through(world, {"planningpme": tap})

    assert not tap.rules, "the history named the customer and its read failed"
    assert not contacts.listings["planningpme"].complete
    assert contact in planfix(world, "contacts"), "a record that could not be read is not gone"
    with state(world) as store:
        assert store.get_cursor("contacts", "planningpme", "incremental") == cursor, "cursor kept"
    world.sync()
    assert [p["number"] for p in planfix(world, "contacts")[contact]["phones"]] == ["+34 600 000 001"]
