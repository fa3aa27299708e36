"""PushServer and create_push_app as the daemon uses them: listen addresses, start-up mistakes."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from state.store import Store
from syncd.errors import ConfigError
from syncd.push.endpoint import PushServer, create_push_app, parse_listen
from syncd.settings import PushSettings
from tests.push.conftest import TOKEN


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Starlette]:
    with Store.open(tmp_path / "state.db") as store:
        settings = PushSettings(enabled=True, token=TOKEN)
        yield create_push_app(store, settings, lambda _: None, lambda: datetime(2026, 5, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("127.0.0.1:8088", ("127.0.0.1", 8088)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
        ("[::1]:9000", ("::1", 9000)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_listen_addresses(listen: str, expected: tuple[str, int]) -> None:
    assert parse_listen(listen) == expected


@pytest.mark.parametrize("listen", ["8088", "127.0.0.1", ":8088", "127.0.0.1:http", "127.0.0.1:70000"])
def test_a_listen_address_that_is_not_host_and_port_is_a_config_error(listen: str) -> None:
    with pytest.raises(ConfigError, match=r"push\.listen: .* is not HOST:PORT"):
        parse_listen(listen)


def test_the_server_answers_on_its_base_url_and_stops(app: Starlette) -> None:
    server = PushServer(app, "127.0.0.1:0")
    with server:
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        reply = httpx.post(
            f"{server.base_url}/planfix",
            json={"action": "createList", "authToken": TOKEN, "data": {"listName": "L"}},
        )
        assert reply.status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.post(server.base_url, json={})


def test_a_port_in_use_is_a_config_error_naming_push_listen(app: Starlette) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"push\.listen: cannot listen on '127\.0\.0\.1:{port}'"):
            PushServer(app, f"127.0.0.1:{port}")


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback here")
def test_the_server_listens_on_ipv6(app: Starlette) -> None:
    with PushServer(app, "[::1]:0") as server:
        assert server.base_url.startswith("http://[::1]:")
        reply = httpx.post(server.base_url, json={"authToken": "x"})
        assert reply.status_code == 401


def test_the_app_refuses_to_run_without_a_token(tmp_path: Path) -> None:
    with Store.open(tmp_path / "state.db") as store:
        settings = PushSettings(enabled=True, token=None)
        with pytest.raises(ConfigError, match=r"push\.token is not set"):
            create_push_app(store, settings, lambda _: None, lambda: datetime.now(UTC))


def test_a_failing_on_change_does_not_fail_the_push(tmp_path: Path) -> None:
    def on_change(contact_id: str) -> None:
        raise RuntimeError("scheduler is gone")

    with Store.open(tmp_path / "state.db") as store:
        app = create_push_app(
            store,
            PushSettings(enabled=True, token=TOKEN),
            on_change,
            lambda: datetime(2026, 5, 1, tzinfo=UTC),
        )
        with PushServer(app, "127.0.0.1:0") as server, httpx.Client(base_url=server.base_url) as http:
            list_id = http.post(
                "/", json={"action": "createList", "authToken": TOKEN, "data": {"listName": "L"}}
            ).json()["listId"]
            contact = {"id": 5, "email": "a@example.com"}
            reply = http.post(
                "/",
                json={
                    "action": "updateContact",
                    "authToken": TOKEN,
                    "data": {"listId": list_id, "action": "add", "contact": contact},
                },
            )

        assert reply.json() == {"success": True}
        assert [c.contact_id for c in store.pending_pushed_changes()] == ["5"]
