"""A PlanningPME server that misbehaves cannot pause the account for good, keep the reader paging
for ever, fill the memory, or crash the process: each fault is a clear protocol error and the
listing it touched is reported incomplete (so nothing is deleted on the strength of it)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from syncd.connectors.http import DEFAULT_MAX_RETRY_AFTER_S
from syncd.connectors.planningpme.connector import PlanningPmeCustomerConnector, build_planningpme
from syncd.connectors.planningpme.pagination import Page, PageIndexPaginator, read_pages
from syncd.errors import ProtocolError, RecordError
from tests.planningpme.conftest import FakeClock, limiter_for, settings_for

TOKEN = {"access_token": "t0k", "token_type": "bearer", "expires_in": 3600}
DEEP = b"[" * 100_000 + b"]" * 100_000

Handler = Callable[[httpx.Request], httpx.Response]


def _with_token(reply: Handler, data_requests: list[httpx.Request]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json=TOKEN)
        data_requests.append(request)
        if len(data_requests) > 1000:
            raise AssertionError("the client keeps reading a list that never ends")
        return reply(request)

    return handler


def _customers(
    reply: Handler, clock: FakeClock, **settings: Any
) -> tuple[PlanningPmeCustomerConnector, list[httpx.Request]]:
    asked: list[httpx.Request] = []
    _, customers = build_planningpme(
        settings_for("https://api.example.com", **settings),
        limiter_for(clock),
        transport=httpx.MockTransport(_with_token(reply, asked)),
    )
    return customers, asked


def _customer_page(keys: range, total: int) -> httpx.Response:
    return httpx.Response(
        200, json={"totalItems": total, "items": [{"key": k, "name": f"c{k}"} for k in keys]}
    )


# Retry-After ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "setting", "paused"), [("1e12", None, DEFAULT_MAX_RETRY_AFTER_S), ("1e12", "5m", 300.0)]
)
def test_a_huge_retry_after_pauses_for_the_cap_then_reading_goes_on(
    raw: str, setting: str | None, paused: float
) -> None:
    clock = FakeClock()
    replies = iter([httpx.Response(429, headers={"Retry-After": raw}), _customer_page(range(1, 3), 2)])
    extra = {"max_retry_after": setting} if setting else {}
    customers, _ = _customers(lambda request: next(replies), clock, **extra)

    listing = customers.list_changed(None)

    assert [r.key for r in listing.records] == ["1", "2"] and listing.complete
    assert clock.slept == pytest.approx(paused)


@pytest.mark.parametrize("value", ["0s", "2h", -1])
def test_max_retry_after_is_bounded_in_the_config(value: object) -> None:
    with pytest.raises(ValueError, match="max_retry_after"):
        settings_for("https://api.example.com", max_retry_after=value)


# Paging -----------------------------------------------------------------------------------------------


def test_a_server_that_ignores_page_index_is_caught_on_the_second_page() -> None:
    """It claims a billion items and answers every pageIndex with page 0."""
    customers, asked = _customers(lambda request: _customer_page(range(1, 101), 10**9), FakeClock())

    listing = customers.list_changed(None)

    assert not listing.complete  # so no record missing from it counts as deleted
    assert len(asked) == 2
    assert [r.key for r in listing.records] == [str(k) for k in range(1, 101)]


def test_a_list_that_never_ends_stops_at_its_page_bound() -> None:
    """Fresh keys on every page and a total that keeps growing: bounded by twice the first total."""

    def reply(request: httpx.Request) -> httpx.Response:
        index = int(request.url.params["pageIndex"])
        start = index * 100 + 1
        return _customer_page(range(start, start + 100), 250 + index * 100)

    customers, asked = _customers(reply, FakeClock())

    listing = customers.list_changed(None)

    assert not listing.complete
    assert len(asked) == 2 * 3 + 10  # twice the 3 pages the first page promised, plus the growth allowance


def test_the_first_page_repeating_itself_in_history_is_caught_too() -> None:
    paginator = PageIndexPaginator(2, append_only=True, track_keys=False)
    entry = [{"key": 5, "op": "Update", "entity": "customer", "date": "2026-12-01T10:00:00"}] * 2
    paginator.advance(Page(10**9, entry))
    with pytest.raises(ProtocolError, match="page 1 of the list is the same as page 0"):
        paginator.advance(Page(10**9, entry))


def test_history_pages_that_share_keys_but_not_entries_go_on() -> None:
    paginator = PageIndexPaginator(2, append_only=True, track_keys=False)
    paginator.advance(Page(4, [{"key": 5, "op": "Insert"}, {"key": 5, "op": "Update"}]))
    paginator.advance(Page(4, [{"key": 5, "op": "Update", "n": 2}, {"key": 5, "op": "Delete"}]))
    assert paginator.finished and not paginator.unstable


def test_an_explicit_page_bound() -> None:
    pages = iter(Page(10**9, [{"key": n}]) for n in range(10**6))
    paginator = PageIndexPaginator(1, max_pages=5)
    read: list[Page] = []
    with pytest.raises(ProtocolError, match="past 5 pages"):
        read.extend(read_pages(paginator, lambda params: next(pages)))
    assert len(read) == 4  # the page that crossed the bound is not handed out


def test_the_default_page_bound_follows_the_page_size() -> None:
    assert PageIndexPaginator(100).max_pages == 20_000
    assert PageIndexPaginator(7).max_pages == 285_715


# Deep JSON --------------------------------------------------------------------------------------------


def test_a_deeply_nested_reply_is_a_protocol_error_not_a_crash() -> None:
    customers, _ = _customers(lambda request: httpx.Response(200, content=DEEP), FakeClock())
    with pytest.raises(ProtocolError, match="nested too deep"):
        customers.get("7")


def test_a_deeply_nested_later_page_leaves_the_listing_incomplete() -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        if request.url.params["pageIndex"] == "0":
            return _customer_page(range(1, 101), 300)
        return httpx.Response(200, content=DEEP)

    customers, _ = _customers(reply, FakeClock())
    listing = customers.list_changed(None)
    assert not listing.complete and len(listing.records) == 100


def test_a_deeply_nested_error_body_still_gives_the_record_error() -> None:
    customers, _ = _customers(lambda request: httpx.Response(400, content=DEEP), FakeClock())
    with pytest.raises(RecordError, match=r"\[\[\["):
        customers.get("7")


# Reply size, over the wire ----------------------------------------------------------------------------


class _Hostile(BaseHTTPRequestHandler):
    """Hands out a token, then answers every data request with a body that does not end."""

    sent: list[int]

    def do_POST(self) -> None:
        body = json.dumps(TOKEN).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.end_headers()
        chunk = b"[" + b"0," * 32 * 1024
        try:
            for _ in range(2048):  # at most 128 MiB: the loop ends even if the client never stops
                self.wfile.write(chunk)
                self.sent.append(len(chunk))
        except OSError:
            return

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def hostile() -> Iterator[tuple[str, list[int]]]:
    sent: list[int] = []
    handler = type("Handler", (_Hostile,), {"sent": sent})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", sent
    server.shutdown()
    server.server_close()


def test_an_endless_reply_over_the_wire_is_cut_at_the_limit(hostile: tuple[str, list[int]]) -> None:
    url, sent = hostile
    events, _ = build_planningpme(settings_for(url, max_reply_bytes=1024 * 1024), limiter_for(FakeClock()))
    try:
        with pytest.raises(ProtocolError, match="larger than the limit of 1048576 bytes"):
            events.get("1")
    finally:
        events.client.close()
    assert sum(sent) < 128 * 1024 * 1024  # the server was cut off, it did not send to the end


@pytest.mark.parametrize("value", [1024, 2 * 1024**3])
def test_max_reply_bytes_is_bounded_in_the_config(value: int) -> None:
    with pytest.raises(ValueError, match="max_reply_bytes"):
        settings_for("https://api.example.com", max_reply_bytes=value)
