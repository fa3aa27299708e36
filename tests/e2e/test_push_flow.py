"""Seed 003 end to end: Planfix pushes a contact change, the next contact cycle turns it into one
PlanningPME customer through the state database; a replayed push changes nothing; a push that was
acknowledged before the process died is still applied after a restart."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import httpx
from pydantic import SecretStr

from state.store import Store
from syncd.engine.cycle import Cycle
from syncd.push.endpoint import PushServer, create_push_app
from syncd.runtime import build_pairs, build_remotes, cycle_options, load_mappings
from syncd.settings import PushSettings
from tests.e2e.conftest import World

TOKEN = "push-secret-for-the-e2e-tests"


def _push(url: str, action: str, data: dict) -> httpx.Response:
    return httpx.post(url, json={"action": action, "authToken": TOKEN, "data": data}, timeout=10)


def _serve(store: Store) -> PushServer:
    settings = PushSettings(enabled=True, listen="127.0.0.1:8088", token=SecretStr(TOKEN))
    app = create_push_app(store, settings, lambda contact: None, lambda: datetime.now(UTC))
    return PushServer(app, "127.0.0.1:0")


def test_pushed_contact_becomes_one_customer_and_replays_are_harmless(world: World) -> None:
    world.sync()  # creates the state database
    contact = world.create("contact", {"name": "Olga", "lastName": "Pushkina", "email": "olga@example.com"})
    state = world.config_path.parent / "state.db"
    with Store.open(state) as store, _serve(store) as server:
        listed = _push(server.base_url, "createList", {"listName": "Customers to plan"}).json()
        body = {
            "listId": listed["listId"],
            "contacts": [
                {
                    "id": int(contact.key),
                    "email": "olga@example.com",
                    "firstName": "Olga",
                    "lastName": "Pushkina",
                }
            ],
        }
        assert _push(server.base_url, "importContacts", body).json() == {"success": True}
        assert _push(server.base_url, "importContacts", body).json() == {"success": True}
        assert [c.contact_id for c in store.pending_pushed_changes()] == [contact.key]
    # the push was acknowledged and the endpoint is gone (as after a crash); the next run applies it
    results = world.sync()
    contacts_result = next(r for r in results if r.pair == "contacts")
    assert [op.kind for op in contacts_result.plan.operations if op.planfix_key == contact.key] == ["create"]
    olgas = [c for c in world.records("customers") if c.get("email") == "olga@example.com"]
    assert len(olgas) == 1
    with Store.open(state, readonly=True) as store:
        assert store.pending_pushed_changes() == []
    world.reset_stats()
    world.sync()
    assert world.writes() == {"planfix": 0, "planningpme": 0}


def _contacts_cycle(world: World, store: Store) -> None:
    """One contacts cycle on the given store: the daemon shares its store with the endpoint."""
    settings = world.settings
    specs = load_mappings(settings, world.config_path.parent)
    remotes = build_remotes(settings, specs)
    try:
        pair = next(p for p in build_pairs(settings, specs, remotes, store) if p.name == "contacts")
        options = cycle_options(settings, dry_run=False, force_delete=False, full=False)
        Cycle(store, pair, options, lambda: datetime.now(UTC)).run()
    finally:
        remotes.close()


def test_pushes_during_a_running_cycle_are_not_lost(world: World) -> None:
    world.sync()
    remotes = world.remotes()
    try:
        contacts = remotes.by_entity["contact"]
        keys = [
            contacts.create({"name": "P", "lastName": str(n), "email": f"p{n}@example.com"}, None).key
            for n in range(6)
        ]
    finally:
        remotes.close()
    state = world.config_path.parent / "state.db"
    with Store.open(state) as store, _serve(store) as server:
        listed = _push(server.base_url, "createList", {"listName": "L"}).json()

        def push(n: int) -> None:
            contact = {"id": int(keys[n]), "email": f"p{n}@example.com", "firstName": "P", "lastName": str(n)}
            body = {"listId": listed["listId"], "action": "add", "contact": contact}
            assert _push(server.base_url, "updateContact", body).json() == {"success": True}

        push(0)
        world.pme("POST", "faults", {"latency_ms": 100})  # a slow cycle: the next pushes land while it runs
        runner = threading.Thread(target=_contacts_cycle, args=(world, store))
        runner.start()
        for n in range(1, 6):
            push(n)
        runner.join(timeout=120)
        world.pme("DELETE", "faults")
        _contacts_cycle(world, store)
        assert store.pending_pushed_changes() == []
    emails = sorted(c["email"] for c in world.records("customers") if c["email"].startswith("p"))
    assert emails == [f"p{n}@example.com" for n in range(6)]
