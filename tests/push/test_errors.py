"""Every way a push can be refused, over real HTTP: a precise message, a 4xx status, nothing written."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from state.store import Store
from tests.push.conftest import TOKEN, Clock, Push, Served, contact, install


def refused(push: Push, response: Any, status: int, error: str) -> None:
    """The reply is exactly ``{"error": error}`` with ``status``, and nobody was told of a change."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {"error": error}
    assert push.notified == []


@pytest.fixture(scope="module")
def _module_endpoint(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Push, Any]]:
    # Refusals write nothing and every test compares before with after, so the tests of this
    # module share one store and one live list (a store per test would double the run time).
    with Store.open(tmp_path_factory.mktemp("push-errors") / "state.db") as store:
        push = install(served, store, Clock())
        created = push.create_list()
        push.ok("importContacts", {"listId": created, "contacts": [contact(1)]})
        yield push, (served.relay.target, created)


@pytest.fixture
def push(_module_endpoint: tuple[Push, Any], served: Served) -> Iterator[Push]:
    shared, (app, _) = _module_endpoint
    served.relay.target = app
    shared.notified.clear()
    yield shared
    served.relay.target = None


@pytest.fixture
def list_id(_module_endpoint: tuple[Push, Any]) -> str:
    """A live list holding one contact, so refusals have something they must leave alone."""
    created: str = _module_endpoint[1][1]
    return created


# --- transport: method, content type, size, JSON --------------------------------------------------


def test_only_post_is_answered(push: Push) -> None:
    refused(push, push.http.get("/"), 405, "method GET not allowed; send a POST")
    refused(push, push.http.put("/planfix", json={}), 405, "method PUT not allowed; send a POST")


@pytest.mark.parametrize(
    ("content_type", "error"),
    [
        (None, "Content-Type: missing; send the request as application/json"),
        ("text/plain", "Content-Type: expected application/json, got 'text/plain'"),
        (
            "application/x-www-form-urlencoded",
            "Content-Type: expected application/json, got 'application/x-www-form-urlencoded'",
        ),
        ("application/json; charset=windows-1251", "Content-Type: charset must be utf-8"),
    ],
)
def test_a_body_that_is_not_declared_json_is_refused(
    push: Push, list_id: str, content_type: str | None, error: str
) -> None:
    before = push.snapshot()
    body = json.dumps({"action": "createList", "authToken": TOKEN, "data": {"listName": "X"}}).encode()

    refused(push, push.raw(body, content_type), 415, error)
    assert push.snapshot() == before


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=UTF-8", 'APPLICATION/JSON;charset="utf8"']
)
def test_json_with_a_utf8_charset_is_accepted(push: Push, content_type: str) -> None:
    body = json.dumps({"action": "createList", "authToken": TOKEN, "data": {"listName": "X"}}).encode()

    response = push.raw(body, content_type)

    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", "request body: empty; expected a JSON object"),
        (
            b'{"action": "createList",',
            "request body: malformed JSON: Expecting property name enclosed in "
            "double quotes (line 1, column 25)",
        ),
        (b"\xff\xfe{}", "request body: not UTF-8 text (bad byte at offset 0)"),
        (b"[1, 2]", "request body: expected a JSON object, got an array"),
        (b'"createList"', "request body: expected a JSON object, got a string"),
        (
            b'{"action": 1, "action": 2}',
            "request body: malformed JSON: 'action' appears twice in one object",
        ),
        (b'{"x": NaN}', "request body: malformed JSON: NaN is not a JSON number"),
        (b"[" * 100_000 + b"]" * 100_000, "request body: JSON nested too deeply"),
    ],
    ids=["empty", "truncated", "not-utf8", "array", "string", "duplicate-key", "nan", "deep"],
)
def test_a_body_that_is_not_a_json_object_is_refused(
    push: Push, list_id: str, body: bytes, error: str
) -> None:
    before = push.snapshot()

    refused(push, push.raw(body), 400, error)
    assert push.snapshot() == before


def _import_body(list_id: str, contacts: int) -> bytes:
    data = {"listId": list_id, "contacts": [contact(n) for n in range(2, 2 + contacts)]}
    return json.dumps({"action": "importContacts", "authToken": TOKEN, "data": data}).encode()


def test_a_body_over_the_limit_is_refused_by_its_declared_length(start: Callable[..., Push]) -> None:
    push = start(max_body_bytes=2000)
    list_id = push.create_list()
    body = _import_body(list_id, 40)
    assert len(body) > 2000
    before = push.snapshot()

    refused(push, push.raw(body), 413, "request body: over 2000 bytes (push.max_body_bytes)")
    assert push.snapshot() == before


def test_a_chunked_body_over_the_limit_is_refused_while_it_is_read(start: Callable[..., Push]) -> None:
    push = start(max_body_bytes=2000)
    list_id = push.create_list()
    body = _import_body(list_id, 40)
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        for offset in range(0, len(body), 100):
            sent.append(offset)
            yield body[offset : offset + 100]

    before = push.snapshot()
    response = push.http.post("/", content=chunks(), headers={"content-type": "application/json"})

    assert "content-length" not in response.request.headers
    refused(push, response, 413, "request body: over 2000 bytes (push.max_body_bytes)")
    assert push.snapshot() == before


def test_a_body_of_exactly_the_limit_is_accepted(start: Callable[..., Push]) -> None:
    push = start(max_body_bytes=10_000)
    list_id = push.create_list()
    body = _import_body(list_id, 3)
    padded = body[:-1] + b" " * (10_000 - len(body)) + b"}"
    assert len(padded) == 10_000

    response = push.raw(padded)

    assert response.status_code == 200, response.text
    assert len(push.store.memberships(list_id)) == 3


def test_a_content_length_that_is_not_a_number_is_refused(push: Push) -> None:
    # httpx will not send a wrong Content-Length, so this checks the reader itself with a crafted scope.
    import asyncio

    from starlette.requests import Request

    from syncd.errors import PushRequestError
    from syncd.push.endpoint import read_body

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    scope = {"type": "http", "method": "POST", "headers": [(b"content-length", b"12abc")]}
    with pytest.raises(PushRequestError, match="Content-Length: not a number of bytes") as caught:
        asyncio.run(read_body(Request(scope, receive), 100, 30.0))
    assert caught.value.status == 400


# --- authentication, before anything else ---------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "error"),
    [
        (None, "authToken: missing; set the API key in the Planfix integration settings"),
        ("", "authToken: wrong token; it must equal push.token in syncd.toml"),
        ("wrong-token", "authToken: wrong token; it must equal push.token in syncd.toml"),
        (TOKEN + " ", "authToken: wrong token; it must equal push.token in syncd.toml"),
        (TOKEN[:-1], "authToken: wrong token; it must equal push.token in syncd.toml"),
        (12345, "authToken: expected a string, got a number"),
    ],
)
def test_a_wrong_or_missing_token_is_refused_with_401(
    push: Push, list_id: str, token: Any, error: str
) -> None:
    before = push.snapshot()
    body: dict[str, Any] = {"action": "importContacts", "data": {"listId": list_id, "contacts": [contact(2)]}}
    if token is not None:
        body["authToken"] = token

    refused(push, push.http.post("/", json=body), 401, error)
    assert push.snapshot() == before


def test_a_wrong_token_does_not_reveal_whether_a_list_exists(push: Push, list_id: str) -> None:
    def attempt(target: str, action: str) -> tuple[int, Any]:
        response = push.send(action, {"listId": target, "contacts": [contact(2)]}, token="guess")
        return response.status_code, response.json()

    for action in ("deleteList", "importContacts"):
        assert attempt(list_id, action) == attempt("no-such-list", action)
    assert attempt(list_id, "importContacts")[0] == 401
    assert push.store.list_exists(list_id)


def test_the_token_is_checked_before_the_action_is(push: Push) -> None:
    refused(
        push,
        push.send("dropEverything", {"x": 1}, token="guess"),
        401,
        "authToken: wrong token; it must equal push.token in syncd.toml",
    )


# --- the action and its data ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"data": {}}, "action: required"),
        ({"action": 5, "data": {}}, "action: expected a string, got a number"),
        (
            {"action": "subscribe", "data": {}},
            "action: unknown action; expected one of: createList, deleteList, importContacts, updateContact",
        ),
        ({"action": "createList"}, "data: required"),
        ({"action": "createList", "data": ["listName"]}, "data: expected an object, got an array"),
        ({"action": "createList", "data": {}}, "data.listName: required"),
        ({"action": "createList", "data": {"listName": "  "}}, "data.listName: must not be empty"),
        ({"action": "createList", "data": {"listName": 7}}, "data.listName: expected a string, got a number"),
        (
            {"action": "createList", "data": {"listName": "x" * 501}},
            "data.listName: longer than 500 characters",
        ),
        ({"action": "deleteList", "data": {}}, "data.listId: required"),
        ({"action": "deleteList", "data": {"listId": 3}}, "data.listId: expected a string, got a number"),
        ({"action": "importContacts", "data": {"contacts": []}}, "data.listId: required"),
    ],
)
def test_a_malformed_action_is_refused_naming_the_field(
    push: Push, list_id: str, body: Any, error: str
) -> None:
    before = push.snapshot()

    refused(push, push.http.post("/", json={**body, "authToken": TOKEN}), 400, error)
    assert push.snapshot() == before


BAD_CONTACTS: list[tuple[Any, str]] = [
    ({"email": "a@example.com"}, "id: required"),
    (contact(0), "id: not a positive integer"),
    (contact(-4), "id: not a positive integer"),
    (contact(1.5), "id: expected a positive integer, got a number"),
    (contact(True), "id: expected a positive integer, got a boolean"),
    (contact("12a"), "id: not a positive integer"),
    (contact("١٢"), "id: not a positive integer"),  # Arabic-Indic digits are digits, but not ids
    (contact(2**63), "id: too large to be a Planfix contact id"),
    (contact(9, email=None), "email: required"),
    (contact(9, email=""), "email: must not be empty"),
    (contact(9, email="not-an-address"), "email: not an e-mail address"),
    (contact(9, email="a@b"), "email: not an e-mail address"),
    (contact(9, email="two@@example.com"), "email: not an e-mail address"),
    (contact(9, email="sp ace@example.com"), "email: not an e-mail address"),
    (contact(9, email=["a@example.com"]), "email: expected a string, got an array"),
    (contact(9, firstName=3), "firstName: expected a string, got a number"),
    (contact(9, lastName={"x": 1}), "lastName: expected a string, got an object"),
]


@pytest.mark.parametrize(("bad", "error"), BAD_CONTACTS)
def test_an_import_with_one_bad_contact_writes_none(push: Push, list_id: str, bad: Any, error: str) -> None:
    before = push.snapshot()
    contacts = [contact(2), contact(3), contact(4), bad, contact(5)]

    response = push.send("importContacts", {"listId": list_id, "contacts": contacts})

    refused(push, response, 400, f"data.contacts[3].{error}")
    assert push.snapshot() == before


@pytest.mark.parametrize(("bad", "error"), BAD_CONTACTS)
def test_update_contact_with_a_bad_contact_is_refused(push: Push, list_id: str, bad: Any, error: str) -> None:
    before = push.snapshot()

    response = push.send("updateContact", {"listId": list_id, "action": "add", "contact": bad})

    refused(push, response, 400, f"data.contact.{error}")
    assert push.snapshot() == before


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"contacts": "all"}, "data.contacts: expected an array, got a string"),
        ({"contacts": None}, "data.contacts: required"),
        ({"contacts": [contact(2), "3"]}, "data.contacts[1]: expected an object, got a string"),
        (
            {"contacts": [contact(2), contact(3), contact(2, firstName="Other")]},
            "data.contacts[2].id: contact 2 appears twice with different details (also data.contacts[0])",
        ),
    ],
)
def test_a_malformed_import_is_refused(push: Push, list_id: str, data: dict[str, Any], error: str) -> None:
    before = push.snapshot()

    refused(push, push.send("importContacts", {"listId": list_id, **data}), 400, error)
    assert push.snapshot() == before


def test_too_many_contacts_in_one_import_are_refused(start: Callable[..., Push]) -> None:
    push = start(max_contacts=5)
    list_id = push.create_list()
    before = push.snapshot()

    response = push.send("importContacts", {"listId": list_id, "contacts": [contact(n) for n in range(1, 7)]})

    refused(
        push, response, 413, "data.contacts: 6 contacts in one request, at most 5 allowed (push.max_contacts)"
    )
    assert push.snapshot() == before
    push.ok("importContacts", {"listId": list_id, "contacts": [contact(n) for n in range(1, 6)]})


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            {"action": "remove", "contact": contact(2)},
            "data.action: unknown contact action; expected one of: add, update, delete",
        ),
        ({"contact": contact(2)}, "data.action: required"),
        ({"action": "add"}, "data.contact: required"),
        ({"action": "add", "contact": [contact(2)]}, "data.contact: expected an object, got an array"),
        (
            {"action": "update", "contact": contact(2), "oldEmail": "was at example.com"},
            "data.oldEmail: not an e-mail address",
        ),
        (
            {"action": "update", "contact": contact(2), "oldEmail": 1},
            "data.oldEmail: expected a string, got a number",
        ),
        ({"action": "delete", "contact": {"email": "x@example.com"}}, "data.contact.id: required"),
    ],
)
def test_a_malformed_contact_update_is_refused(
    push: Push, list_id: str, data: dict[str, Any], error: str
) -> None:
    before = push.snapshot()

    refused(push, push.send("updateContact", {"listId": list_id, **data}), 400, error)
    assert push.snapshot() == before


# --- lists that do not exist ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("deleteList", {}),
        ("importContacts", {"contacts": [contact(2)]}),
        ("updateContact", {"action": "add", "contact": contact(2)}),
        ("updateContact", {"action": "delete", "contact": contact(1)}),
    ],
)
def test_an_unknown_list_is_refused_with_404(
    push: Push, list_id: str, action: str, data: dict[str, Any]
) -> None:
    before = push.snapshot()

    refused(push, push.send(action, {"listId": "no-such-list", **data}), 404, "unknown list")
    assert push.snapshot() == before


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("importContacts", {"contacts": [contact(2)]}),
        ("updateContact", {"action": "add", "contact": contact(2)}),
    ],
)
def test_a_deleted_list_takes_no_more_contacts(push: Push, action: str, data: dict[str, Any]) -> None:
    list_id = push.create_list("Soon gone")
    push.ok("deleteList", {"listId": list_id})
    before = push.snapshot()

    refused(push, push.send(action, {"listId": list_id, **data}), 404, "unknown list")
    assert push.snapshot() == before
