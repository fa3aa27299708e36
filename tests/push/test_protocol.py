"""The pure protocol layer: what counts as an e-mail address, a contact id, an acceptable request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.push.protocol import (
    CreateList,
    DeleteList,
    ImportContacts,
    PushContact,
    PushRequestError,
    UpdateContact,
    check_content_type,
    check_token,
    parse_action,
    parse_envelope,
)

TOKEN = b"token"


def _contact_data(**fields: Any) -> dict[str, Any]:
    return {"action": "updateContact", "data": {"listId": "L", "action": "add", "contact": fields}}


def _parsed_contact(**fields: Any) -> PushContact:
    action = parse_action(_contact_data(**fields), max_contacts=10)
    assert isinstance(action, UpdateContact)
    return action.contact


@pytest.mark.parametrize(
    "email",
    [
        "a@b.co",
        "first.last+tag@sub.example.org",
        "o'brien@example.ie",
        "user_name-1@my-host.example",
        "иван@пример.рф",
        "x@xn--80ak6aa92e.com",
        "123@456.78",
    ],
)
def test_addresses_that_are_accepted(email: str) -> None:
    assert _parsed_contact(id=1, email=email).email == email


@pytest.mark.parametrize(
    "email",
    [
        "plain",
        "a@b",
        "@example.com",
        "a@",
        "a@@example.com",
        "a@b@example.com",
        "sp ace@example.com",
        ".lead@example.com",
        "trail.@example.com",
        "two..dots@example.com",
        "a@-host.example.com",
        "a@host-.example.com",
        "a@under_score.com",
        "a@example..com",
        'quote"d@example.com',
        "a@example.com.",
        "x" * 65 + "@example.com",
        "a@" + "b" * 250 + ".com",
    ],
)
def test_addresses_that_are_refused(email: str) -> None:
    with pytest.raises(PushRequestError, match=r"^data\.contact\.email: not an e-mail address$"):
        _parsed_contact(id=1, email=email)


@settings(max_examples=200, deadline=None)
@given(st.emails())
def test_every_address_hypothesis_can_make_is_accepted(email: str) -> None:
    assert _parsed_contact(id=1, email=email).email == email


@pytest.mark.parametrize(("given_id", "expected"), [(1, "1"), ("42", "42"), (" 42 ", "42"), ("007", "7")])
def test_contact_ids_are_positive_integers_as_text(given_id: Any, expected: str) -> None:
    assert _parsed_contact(id=given_id, email="a@example.com").id == expected


def test_names_are_stripped_and_null_means_empty() -> None:
    contact = _parsed_contact(id=3, email=" a@example.com ", firstName="  Ana ", lastName=None)

    assert contact == PushContact("3", "a@example.com", "Ana", "")


def test_a_delete_needs_only_the_contact_id() -> None:
    action = parse_action(
        {"action": "updateContact", "data": {"listId": "L", "action": "delete", "contact": {"id": 9}}},
        max_contacts=1,
    )

    assert action == UpdateContact("L", "delete", PushContact("9", "", "", ""), None)


def test_old_email_is_kept_only_for_updates() -> None:
    data = {"listId": "L", "contact": {"id": 1, "email": "new@example.com"}, "oldEmail": "old@example.com"}

    update = parse_action({"action": "updateContact", "data": {**data, "action": "update"}}, max_contacts=1)
    add = parse_action({"action": "updateContact", "data": {**data, "action": "add"}}, max_contacts=1)

    assert isinstance(update, UpdateContact) and update.old_email == "old@example.com"
    assert isinstance(add, UpdateContact) and add.old_email is None


def test_each_action_parses_to_its_type() -> None:
    contacts = [{"id": 1, "email": "a@example.com"}, {"id": 2, "email": "b@example.com", "extra": True}]

    assert parse_action({"action": "createList", "data": {"listName": " L "}}, max_contacts=1) == CreateList(
        "L"
    )
    assert parse_action({"action": "deleteList", "data": {"listId": "x"}}, max_contacts=1) == DeleteList("x")
    assert parse_action(
        {"action": "importContacts", "data": {"listId": "x", "contacts": contacts}}, max_contacts=2
    ) == ImportContacts(
        "x", (PushContact("1", "a@example.com", "", ""), PushContact("2", "b@example.com", "", ""))
    )


def test_lone_surrogates_are_refused_as_text_not_crashed_on() -> None:
    envelope = parse_envelope(b'{"action": "createList", "data": {"listName": "\\ud800"}}')

    with pytest.raises(PushRequestError, match=r"^data\.listName: not valid Unicode text$"):
        parse_action(envelope, max_contacts=1)
    with pytest.raises(PushRequestError) as caught:
        check_token(parse_envelope(b'{"authToken": "\\udfff"}'), TOKEN)
    assert caught.value.status == 401


def test_a_byte_order_mark_is_tolerated() -> None:
    assert parse_envelope("\ufeff{}".encode()) == {}


@pytest.mark.parametrize(
    "header", ["application/json", "application/json; charset=utf-8", "Application/JSON ; Charset=UTF8"]
)
def test_json_content_types_pass(header: str) -> None:
    check_content_type(header)


# --- nothing a sender can write makes the parser fail in any other way -----------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
contact_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.integers(), st.text(max_size=8), json_values),
        "email": st.one_of(st.emails(), st.text(max_size=30), json_values),
        "firstName": json_values,
        "lastName": json_values,
    },
)
data_like = st.fixed_dictionaries(
    {},
    optional={
        "listName": json_values,
        "listId": st.one_of(st.text(max_size=8), json_values),
        "action": st.sampled_from(["add", "update", "delete", "remove"]) | json_values,
        "contact": contact_like | json_values,
        "contacts": st.lists(contact_like | json_values, max_size=5) | json_values,
        "oldEmail": st.one_of(st.emails(), json_values),
    },
)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "action": st.sampled_from(["createList", "deleteList", "importContacts", "updateContact"])
        | json_values,
        "authToken": st.just("token") | json_values,
        "data": data_like | json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(envelopes)
def test_any_request_is_either_a_typed_action_or_a_located_refusal(envelope: dict[str, Any]) -> None:
    raw = json.dumps(envelope).encode()
    try:
        parsed = parse_envelope(raw)
        check_token(parsed, TOKEN)
        action = parse_action(parsed, max_contacts=3)
    except PushRequestError as refusal:
        assert 400 <= refusal.status < 500
        assert refusal.message.split(":")[0].split(".")[0].split("[")[0] in {
            "request body",
            "authToken",
            "action",
            "data",
        }
        return
    assert isinstance(action, CreateList | DeleteList | ImportContacts | UpdateContact)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_either_an_object_or_a_refusal(raw: bytes) -> None:
    try:
        assert isinstance(parse_envelope(raw), dict)
    except PushRequestError as refusal:
        assert refusal.status == 400
