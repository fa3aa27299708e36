"""The push endpoint on 127.0.0.1 (port 0) over a real state database, and what a test asks of it.

One PushServer per session serves whichever app the running test created (``Relay``): starting
and stopping uvicorn costs more than most tests themselves, while a fresh store and app per test
keep the tests independent. ``start`` takes PushSettings overrides (feeding lists, limits,
delete_means_delete). The clock moves only when told, so dedupe windows are decided by the test,
never by how fast the machine is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from state.rows import MembershipRow, PushedChangeRow, PushListRow
from state.store import Store
from syncd.push.endpoint import PushServer, create_push_app
from syncd.settings import PushSettings

TOKEN = "s3cr3t-push-token-Ωmega-0123456789"
START = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.t = START

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **delta: float) -> None:
        self.t += timedelta(**delta)


@dataclass(frozen=True)
class Snapshot:
    """Everything the endpoint may write, to prove that a request wrote nothing (or the same)."""

    lists: list[PushListRow]
    memberships: dict[str, list[MembershipRow]]
    changes: list[PushedChangeRow]


@dataclass
class Push:
    """A running endpoint and the means to talk to it as Planfix would."""

    store: Store
    server: PushServer
    http: httpx.Client
    clock: Clock
    notified: list[str] = field(default_factory=list)

    def send(self, action: str, data: Any, *, token: str | None = TOKEN, path: str = "/") -> httpx.Response:
        body: dict[str, Any] = {"action": action, "data": data}
        if token is not None:
            body["authToken"] = token
        return self.http.post(path, json=body)

    def ok(self, action: str, data: Any) -> dict[str, Any]:
        """Send and insist on success; returns the reply."""
        response = self.send(action, data)
        assert response.status_code == 200, response.text
        reply: dict[str, Any] = response.json()
        assert reply.get("success") is True
        return reply

    def create_list(self, name: str = "Customers to plan") -> str:
        list_id: str = self.ok("createList", {"listName": name})["listId"]
        return list_id

    def raw(self, content: bytes, content_type: str | None = "application/json") -> httpx.Response:
        headers = {} if content_type is None else {"content-type": content_type}
        return self.http.post("/", content=content, headers=headers)

    def snapshot(self) -> Snapshot:
        lists = self.store.push_lists(include_deleted=True)
        return Snapshot(
            lists,
            {pl.list_id: self.store.memberships(pl.list_id) for pl in lists},
            self.store.pending_pushed_changes(limit=100_000),
        )

    def pending(self) -> list[PushedChangeRow]:
        return self.store.pending_pushed_changes(limit=100_000)


def contact(n: int, **overrides: Any) -> dict[str, Any]:
    """A contact as Planfix sends it; ``n`` is its id."""
    values: dict[str, Any] = {
        "id": n,
        "email": f"contact{n}@example.com",
        "firstName": f"First{n}",
        "lastName": f"Last{n}",
    }
    values.update(overrides)
    return values


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "state.db") as opened:
        yield opened


class Relay:
    """An ASGI app that hands every request to the app of the current test."""

    def __init__(self) -> None:
        self.target: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.target is not None, "no push app installed for this test"
        await self.target(scope, receive, send)


@dataclass(frozen=True)
class Served:
    relay: Relay
    server: PushServer
    http: httpx.Client


@pytest.fixture(scope="session")
def served() -> Iterator[Served]:
    relay = Relay()
    server = PushServer(relay, "127.0.0.1:0").start()
    http = httpx.Client(base_url=server.base_url, timeout=30)
    yield Served(relay, server, http)
    http.close()
    server.stop()


def install(served: Served, store: Store, clock: Clock, **overrides: Any) -> Push:
    """Put a new endpoint app with PushSettings overrides behind the shared server."""
    values: dict[str, Any] = {"enabled": True, "token": TOKEN}
    values.update(overrides)
    notified: list[str] = []
    served.relay.target = create_push_app(store, PushSettings(**values), notified.append, clock)
    return Push(store, served.server, served.http, clock, notified)


@pytest.fixture
def start(store: Store, clock: Clock, served: Served) -> Iterator[Callable[..., Push]]:
    """Install a fresh endpoint app (over this test's own store) with PushSettings overrides."""
    yield lambda **overrides: install(served, store, clock, **overrides)
    served.relay.target = None


@pytest.fixture
def push(start: Callable[..., Push]) -> Push:
    """The endpoint with default settings: every list feeds PlanningPME, delete only unlists."""
    return start()
