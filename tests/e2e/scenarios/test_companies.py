"""Companies and people across the two systems (``ПланФикс_API_contact.getList.md``: companies are
listed with ``<target>company</target>``, and a company's name is its ``name``).

Planfix keeps a company name only on companies and a first name only on people, so a value the
other side holds where Planfix has no place for it must neither vanish nor be cleared in
PlanningPME at the next read-back.
"""

from __future__ import annotations

from state.store import Store
from tests.e2e.conftest import World
from tests.e2e.scenarios.harness import links, no_writes, planfix, planningpme, state_path
from tests.e2e.scenarios.people import People


def test_companies_sync_both_ways_by_their_name(world: World, people: People) -> None:
    company = people.contacts.create({"isCompany": True, "companyName": "Talleres Núñez"}, None).key
    customer = people.customers.create(
        {
            "label": "Brightside Ltd",
            "type": "Company",
            "company": "Brightside Ltd",
            "email": "hi@bright.example",
        },
        None,
    ).key
    world.sync()
    linked = links(world, "contacts")
    made = planningpme(world, "customers")[linked[company]]
    assert (made["type"], made["company"]) == ("Company", "Talleres Núñez")
    back = {pme: pf for pf, pme in linked.items()}[customer]
    assert (planfix(world, "contacts")[back]["name"], planfix(world, "contacts")[back]["isCompany"]) == (
        "Brightside Ltd",
        "1",
    )
    world.reset_stats()
    world.sync()
    assert no_writes(world)


def test_an_individuals_employer_stays_in_planningpme(world: World, people: People) -> None:
    customer = people.add_customer("Zoë", "Dubois", "zoe@example.fr", company="Acme SL")
    world.sync()
    world.sync()
    world.reset_stats()
    world.sync()
    assert no_writes(world)
    assert planningpme(world, "customers")[customer]["company"] == "Acme SL"


def test_a_company_with_a_first_name_fails_visibly_and_nothing_is_cleared(
    world: World, people: People
) -> None:
    customer = people.customers.create(
        {"label": "Grupo Sol", "type": "Company", "company": "Grupo Sol", "firstName": "Marta"}, None
    ).key
    world.sync()
    assert customer not in set(links(world, "contacts").values())
    with Store.open(state_path(world), readonly=True) as store:
        (failure,) = [f for f in store.failures("contacts") if f.key == customer]
    assert "a company has no first name" in failure.last_error
    assert planningpme(world, "customers")[customer]["firstName"] == "Marta"
