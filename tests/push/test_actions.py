"""Every action of the protocol over real HTTP, and what each leaves in the state database."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.push.conftest import START, Push, contact


def test_create_list_answers_exactly_success_and_the_new_id(push: Push) -> None:
    response = push.send("createList", {"listName": "Customers to plan"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    list_id = response.json()["listId"]
    assert response.json() == {"success": True, "listId": list_id}
    [stored] = push.store.push_lists()
    assert (stored.list_id, stored.name, stored.created_at, stored.live) == (
        list_id,
        "Customers to plan",
        START,
        True,
    )


@pytest.mark.parametrize("path", ["/", "/planfix", "/hooks/planfix/mailing"])
def test_the_endpoint_answers_on_any_path(push: Push, path: str) -> None:
    response = push.send("createList", {"listName": "Newsletter"}, path=path)

    assert response.status_code == 200
    assert push.store.list_exists(response.json()["listId"])


def test_two_different_lists_get_different_ids(push: Push) -> None:
    assert push.create_list("A") != push.create_list("B")
    assert sorted(pl.name for pl in push.store.push_lists()) == ["A", "B"]


def test_delete_list_removes_the_list_and_its_memberships_but_queues_nothing(push: Push) -> None:
    list_id = push.create_list()
    push.ok("importContacts", {"listId": list_id, "contacts": [contact(1), contact(2)]})
    queued_before = push.pending()

    response = push.send("deleteList", {"listId": list_id})

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert not push.store.list_exists(list_id)
    assert push.store.memberships(list_id) == []
    assert push.pending() == queued_before


def test_import_stores_memberships_and_queues_each_contact(push: Push) -> None:
    list_id = push.create_list()

    reply = push.ok(
        "importContacts",
        {
            "listId": list_id,
            "contacts": [
                {"id": 12, "email": "ivan@example.com", "firstName": "Иван", "lastName": "Петров"},
                {"id": "13", "email": " ana@example.org ", "firstName": "Ana"},
            ],
        },
    )

    assert reply == {"success": True}
    members = push.store.memberships(list_id)
    assert [(m.contact_id, m.email, m.first_name, m.last_name) for m in members] == [
        ("12", "ivan@example.com", "Иван", "Петров"),
        ("13", "ana@example.org", "Ana", ""),
    ]
    pending = push.pending()
    assert [(c.contact_id, c.list_id, c.action) for c in pending] == [
        ("12", list_id, "import"),
        ("13", list_id, "import"),
    ]
    assert pending[0].payload == {
        "id": "12",
        "email": "ivan@example.com",
        "firstName": "Иван",
        "lastName": "Петров",
        "listName": "Customers to plan",
    }
    assert push.notified == ["12", "13"]


def test_an_empty_import_succeeds_and_changes_nothing(push: Push) -> None:
    list_id = push.create_list()
    before = push.snapshot()

    push.ok("importContacts", {"listId": list_id, "contacts": []})

    assert push.snapshot() == before


def test_a_contact_listed_twice_identically_in_one_import_is_taken_once(push: Push) -> None:
    list_id = push.create_list()

    push.ok("importContacts", {"listId": list_id, "contacts": [contact(5), contact(5, id="5")]})

    assert [m.contact_id for m in push.store.memberships(list_id)] == ["5"]
    assert [c.contact_id for c in push.pending()] == ["5"]


def test_reimport_queues_only_the_contacts_whose_details_changed(push: Push) -> None:
    list_id = push.create_list()
    push.ok("importContacts", {"listId": list_id, "contacts": [contact(1), contact(2), contact(3)]})

    push.ok(
        "importContacts",
        {"listId": list_id, "contacts": [contact(1), contact(2, lastName="Married"), contact(3), contact(4)]},
    )

    assert [c.contact_id for c in push.pending()] == ["1", "2", "3", "2", "4"]
    assert push.store.memberships(list_id)[1].last_name == "Married"


def test_update_contact_add(push: Push) -> None:
    list_id = push.create_list()

    reply = push.ok("updateContact", {"listId": list_id, "action": "add", "contact": contact(7)})

    assert reply == {"success": True}
    assert [(m.contact_id, m.email) for m in push.store.memberships(list_id)] == [
        ("7", "contact7@example.com")
    ]
    assert [(c.contact_id, c.action) for c in push.pending()] == [("7", "add")]
    assert push.notified == ["7"]


def test_update_contact_update_records_the_new_details_and_the_old_email(push: Push) -> None:
    list_id = push.create_list()
    push.ok("updateContact", {"listId": list_id, "action": "add", "contact": contact(7)})

    push.ok(
        "updateContact",
        {
            "listId": list_id,
            "action": "update",
            "contact": contact(7, email="new7@example.com"),
            "oldEmail": "contact7@example.com",
        },
    )

    assert [m.email for m in push.store.memberships(list_id)] == ["new7@example.com"]
    change = push.pending()[-1]
    assert (change.contact_id, change.action) == ("7", "update")
    assert change.payload["email"] == "new7@example.com"
    assert change.payload["oldEmail"] == "contact7@example.com"


def test_update_of_a_contact_not_yet_in_the_list_adds_it(push: Push) -> None:
    list_id = push.create_list()

    push.ok("updateContact", {"listId": list_id, "action": "update", "contact": contact(8)})

    assert [m.contact_id for m in push.store.memberships(list_id)] == ["8"]
    assert [(c.contact_id, c.action) for c in push.pending()] == [("8", "update")]


def test_delete_from_a_list_only_removes_the_membership_by_default(push: Push) -> None:
    list_id = push.create_list()
    push.ok("updateContact", {"listId": list_id, "action": "add", "contact": contact(9)})
    queued_before = push.pending()

    push.ok("updateContact", {"listId": list_id, "action": "delete", "contact": {"id": 9}})

    assert push.store.memberships(list_id) == []
    assert push.pending() == queued_before


def test_delete_means_delete_queues_a_delete_change(start: Callable[..., Push]) -> None:
    push = start(delete_means_delete=True)
    list_id = push.create_list()
    push.ok("updateContact", {"listId": list_id, "action": "add", "contact": contact(9)})
    push.notified.clear()

    push.ok("updateContact", {"listId": list_id, "action": "delete", "contact": contact(9)})

    assert push.store.memberships(list_id) == []
    change = push.pending()[-1]
    assert (change.contact_id, change.list_id, change.action) == ("9", list_id, "delete")
    assert change.payload == {"id": "9", "email": "contact9@example.com", "listName": "Customers to plan"}
    assert push.notified == ["9"]


def test_delete_of_a_contact_not_in_the_list_changes_nothing(start: Callable[..., Push]) -> None:
    push = start(delete_means_delete=True)
    list_id = push.create_list()
    before = push.snapshot()

    push.ok("updateContact", {"listId": list_id, "action": "delete", "contact": {"id": 9}})

    assert push.snapshot() == before


def test_only_the_configured_lists_feed_planningpme(start: Callable[..., Push]) -> None:
    push = start(lists=["Customers to plan"], delete_means_delete=True)
    feeding = push.create_list("customers TO PLAN ")  # names match ignoring case and outer spaces
    newsletter = push.create_list("Newsletter")

    push.ok("importContacts", {"listId": newsletter, "contacts": [contact(1)]})
    push.ok("updateContact", {"listId": newsletter, "action": "add", "contact": contact(2)})
    push.ok("updateContact", {"listId": newsletter, "action": "delete", "contact": contact(1)})
    push.ok("importContacts", {"listId": feeding, "contacts": [contact(3)]})

    assert [m.contact_id for m in push.store.memberships(newsletter)] == ["2"]
    assert [(c.contact_id, c.list_id) for c in push.pending()] == [("3", feeding)]
    assert push.notified == ["3"]


def test_a_contact_going_back_to_earlier_details_is_queued_each_time(push: Push) -> None:
    list_id = push.create_list()
    for email in ("a@example.com", "b@example.com", "a@example.com"):
        push.ok("updateContact", {"listId": list_id, "action": "update", "contact": contact(4, email=email)})

    assert [c.payload["email"] for c in push.pending()] == ["a@example.com", "b@example.com", "a@example.com"]


def test_a_removed_and_re_added_contact_is_queued_again_after_the_window(
    start: Callable[..., Push],
) -> None:
    push = start(delete_means_delete=True)
    list_id = push.create_list()
    add = {"listId": list_id, "action": "add", "contact": contact(6)}
    push.ok("updateContact", add)
    push.ok("updateContact", {"listId": list_id, "action": "delete", "contact": contact(6)})
    push.clock.advance(minutes=11)

    push.ok("updateContact", add)

    assert [c.action for c in push.pending()] == ["add", "delete", "add"]
    assert [m.contact_id for m in push.store.memberships(list_id)] == ["6"]


def test_contacts_on_two_lists_keep_a_membership_in_each(push: Push) -> None:
    first, second = push.create_list("A"), push.create_list("B")

    push.ok("importContacts", {"listId": first, "contacts": [contact(1)]})
    push.ok("importContacts", {"listId": second, "contacts": [contact(1)]})

    assert {m.list_id for m in push.store.memberships_of("1")} == {first, second}
    assert [c.list_id for c in push.pending()] == [first, second]


def test_utf8_text_arrives_intact(push: Push) -> None:
    list_id = push.create_list("Клиенты — план 🗓")

    push.ok(
        "importContacts",
        {"listId": list_id, "contacts": [contact(1, firstName="María José", lastName="Ñúñez-Łódź")]},
    )

    assert push.store.push_lists()[0].name == "Клиенты — план 🗓"
    member = push.store.memberships(list_id)[0]
    assert (member.first_name, member.last_name) == ("María José", "Ñúñez-Łódź")
