"""The push endpoint under abuse, over real sockets on 127.0.0.1: idle, slow-header and slow-body
clients are cut off, the connection and request limits hold, refusals do not flood the log, and a
large body is parsed without stalling the other connections.

Every loop here is bounded in count and time; waits are safety nets, never the assertion.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

import syncd.push.endpoint
from state.store import Store
from syncd.push.endpoint import PushServer, create_push_app, push_limits
from syncd.settings import PushSettings
from tests.push.conftest import TOKEN, Clock, Push

SAFETY_S = 15.0
"""How long a test waits for the server to do what it must before calling it a failure."""

Serve = Callable[..., PushServer]


@pytest.fixture
def serve(store: Store, clock: Clock) -> Iterator[Serve]:
    """A push server of its own, with the ``[push]`` limits given (short timeouts by default)."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> PushServer:
            values: dict[str, Any] = {
                "enabled": True,
                "token": TOKEN,
                "header_timeout": "1s",
                "body_timeout": "1s",
                "keep_alive": "1s",
                **overrides,
            }
            settings = PushSettings(**values)
            app = create_push_app(store, settings, lambda _: None, clock)
            server = PushServer(app, "127.0.0.1:0", push_limits(settings, app)).start()
            stack.callback(server.stop)
            return server

        yield start


def connect(server: PushServer) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=SAFETY_S)


def closed_by_server(sock: socket.socket, within: float = SAFETY_S) -> bool:
    """Whether the server closes ``sock`` (EOF or reset), reading and dropping whatever it sends."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
        if not readable:
            break
        try:
            if sock.recv(65536) == b"":
                return True
        except ConnectionResetError:
            return True
    return False


def read_reply(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    """Status and JSON body of one HTTP/1.1 reply read from ``sock`` (Content-Length framed)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a full reply: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, "connection closed in the middle of a reply body"
        body += chunk
    return int(lines[0].split()[1]), json.loads(body)


def request_bytes(body: bytes, *, length: int | None = None) -> bytes:
    head = (
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body) if length is None else length}\r\n\r\n"
    )
    return head.encode() + body


def create_list_body(name: str = "L") -> bytes:
    return json.dumps({"action": "createList", "authToken": TOKEN, "data": {"listName": name}}).encode()


def push_ok(server: PushServer, name: str = "L") -> bool:
    try:
        reply = httpx.post(
            server.base_url,
            content=create_list_body(name),
            timeout=SAFETY_S,
            headers={"content-type": "application/json"},
        )
    except httpx.TransportError:
        return False
    return reply.status_code == 200 and reply.json().get("success") is True


# --- idle, slow-header, slow-body, keep-alive ---------------------------------------------------


def test_idle_connections_do_not_block_a_push_and_are_closed_after_the_header_timeout(
    serve: Serve,
) -> None:
    server = serve()
    idle = [connect(server) for _ in range(40)]
    try:
        assert push_ok(server), "a real push must get through while idle connections are open"
        assert all(closed_by_server(sock) for sock in idle)
    finally:
        for sock in idle:
            sock.close()
    assert push_ok(server)


def test_a_slow_header_client_is_cut_off(serve: Serve) -> None:
    server = serve()
    # A header that never ends (no blank line), one byte every 50 ms: 10 s in all, 20 timeouts.
    trickle = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
    with connect(server) as sock:
        cut = False
        for byte in trickle:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                cut = True
                break
            if closed_by_server(sock, within=0.05):
                cut = True
                break
        assert cut, "a client sending its headers a byte at a time must not hold the connection"


def test_a_slow_body_client_gets_408_and_is_cut_off(serve: Serve, store: Store) -> None:
    server = serve()
    body = create_list_body()
    with connect(server) as sock:
        sock.sendall(request_bytes(b"", length=len(body)) + body[:5])
        status, reply = read_reply(sock)
        assert status == 408
        assert reply == {"error": "request body: not complete within 1s (push.body_timeout)"}
        assert closed_by_server(sock)
    assert store.push_lists(include_deleted=True) == []


def test_a_body_nobody_reads_is_cut_off_too(serve: Serve) -> None:
    """A refusal before the body is read (here: 415) closes the connection at once."""
    server = serve()
    with connect(server) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nabc"
        )
        status, reply = read_reply(sock)
        assert status == 415
        assert reply["error"].startswith("Content-Type: expected application/json")
        assert closed_by_server(sock)


def test_an_idle_keep_alive_connection_is_closed(serve: Serve) -> None:
    server = serve(header_timeout="60s", keep_alive="1s")
    with connect(server) as sock:
        sock.sendall(request_bytes(create_list_body()))
        status, reply = read_reply(sock)
        assert status == 200 and reply["success"] is True
        assert closed_by_server(sock)


def test_a_kept_alive_connection_serves_the_next_request(serve: Serve) -> None:
    server = serve(header_timeout="60s", keep_alive="10s")
    with connect(server) as sock:
        for name in ("A", "B"):
            sock.sendall(request_bytes(create_list_body(name)))
            status, _ = read_reply(sock)
            assert status == 200


# --- connection and request limits ---------------------------------------------------------------


def test_the_connection_limit_holds(serve: Serve) -> None:
    server = serve(max_connections=5, header_timeout="60s")
    held = [connect(server) for _ in range(5)]
    try:
        # Give the server the time to accept them all: a push over a sixth connection is refused.
        extra = connect(server)
        assert closed_by_server(extra), "a connection over push.max_connections must be closed"
        extra.close()
        assert not push_ok(server)
        held.pop().close()
        deadline = time.monotonic() + SAFETY_S
        while not push_ok(server):  # the server notices the closed connection shortly
            assert time.monotonic() < deadline, "a push must get through once a connection is free"
            time.sleep(0.05)
    finally:
        for sock in held:
            sock.close()


def test_requests_beyond_max_requests_wait_briefly_then_get_503(serve: Serve) -> None:
    server = serve(max_requests=2, header_timeout="500ms", body_timeout="60s")
    body = create_list_body()
    slow = [connect(server) for _ in range(2)]
    try:
        for sock in slow:  # each holds a request slot: head sent, body still coming
            sock.sendall(request_bytes(b"", length=len(body)) + body[:3])
        for _ in range(20):  # until the server has started both (a push before that gets through)
            reply = httpx.post(server.base_url, content=body, headers={"content-type": "application/json"})
            if reply.status_code != 200:
                break
        assert reply.status_code == 503
        assert reply.json() == {"error": "too many requests at once (push.max_requests = 2); send again"}
        assert reply.headers["retry-after"] == "1"
        for sock in slow:
            sock.sendall(body[3:])
            status, answer = read_reply(sock)
            assert status == 200 and answer["success"] is True
    finally:
        for sock in slow:
            sock.close()
    assert push_ok(server)


# --- logs of refusals ----------------------------------------------------------------------------


def test_rejected_request_logs_are_rate_limited_per_reason_with_a_count(push: Push) -> None:
    per_minute = syncd.push.endpoint.REJECTED_LOGS_PER_MINUTE
    with capture_logs() as logs:
        for _ in range(per_minute + 15):
            push.send("createList", {"listName": "x"}, token="wrong-token")
        push.http.get("/")  # another reason: logged on its own budget
        push.clock.advance(minutes=1)
        push.send("createList", {"listName": "x"}, token="wrong-token")

    rejected = [e for e in logs if e["event"] == "push.rejected"]
    assert [e["reason"] for e in rejected] == ["401"] * per_minute + ["405", "401"]
    (summary,) = [e for e in logs if e["event"] == "push.rejected_suppressed"]
    assert (summary["reason"], summary["suppressed"], summary["per_minute"]) == ("401", 15, per_minute)
    assert [e["event"] for e in logs[-2:]] == ["push.rejected_suppressed", "push.rejected"]


def test_cut_connections_are_logged_through_the_same_limit(serve: Serve) -> None:
    server = serve(header_timeout="200ms")
    per_minute = syncd.push.endpoint.REJECTED_LOGS_PER_MINUTE
    with capture_logs() as logs:
        idle = [connect(server) for _ in range(per_minute + 5)]
        try:
            assert all(closed_by_server(sock) for sock in idle)
        finally:
            for sock in idle:
                sock.close()
    cuts = [e for e in logs if e["event"] == "push.rejected"]
    assert [e["reason"] for e in cuts] == ["header timeout"] * per_minute
    assert all(e["client"] == "127.0.0.1" for e in cuts)


# --- a large body is parsed off the event loop ---------------------------------------------------


def test_a_large_body_is_parsed_without_stalling_other_requests(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a large importContacts is being parsed, a small push is served: its parser holds
    until the small push got its answer (if it ran on the event loop, it would wait in vain)."""
    server = serve(body_timeout="30s", header_timeout="30s")
    parsing, small_answered = threading.Event(), threading.Event()
    waited: list[bool] = []
    parse = syncd.push.endpoint.parse_envelope

    def held_parse(raw: bytes) -> dict[str, Any]:
        if len(raw) > syncd.push.endpoint.PARSE_INLINE_MAX_BYTES:
            parsing.set()
            waited.append(small_answered.wait(SAFETY_S))
        return parse(raw)

    monkeypatch.setattr(syncd.push.endpoint, "parse_envelope", held_parse)
    small = create_list_body("large")
    large = small[:-1] + b" " * (2 * syncd.push.endpoint.PARSE_INLINE_MAX_BYTES) + b"}"  # valid JSON, padded
    large_reply: list[httpx.Response] = []
    sender = threading.Thread(
        target=lambda: large_reply.append(
            httpx.post(
                server.base_url,
                content=large,
                headers={"content-type": "application/json"},
                timeout=SAFETY_S * 2,
            )
        )
    )
    sender.start()
    try:
        assert parsing.wait(SAFETY_S), "the large body never reached its parser"
        assert push_ok(server, "small")
        small_answered.set()
    finally:
        small_answered.set()
        sender.join(SAFETY_S * 2)
    assert waited == [True], "the small push must be answered while the large body is parsed"
    assert large_reply[0].json()["success"] is True
