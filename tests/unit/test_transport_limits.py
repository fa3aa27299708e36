"""The shared transport bounds what a remote can make syncd do: how long one ``Retry-After`` may
pause an account, and how large a reply body may grow in memory — for both clients at once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from syncd.connectors.http import (
    DEFAULT_MAX_REPLY_BYTES,
    DEFAULT_MAX_RETRY_AFTER_S,
    HttpTransport,
    RetryPolicy,
    TransportLimits,
    parse_retry_after,
)
from syncd.connectors.planfix.client import PlanfixClient
from syncd.errors import ProtocolError, RateLimitedError
from syncd.ratelimit import planfix_limiter, planningpme_limiter
from syncd.settings import PlanfixSettings
from tests.clocks import FakeClock as BaseFakeClock

NOW = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
OK_XML = b'<?xml version="1.0" encoding="UTF-8"?><response status="ok"><user><id>1</id></user></response>'


class FakeClock(BaseFakeClock):
    """The shared fake clock, starting at ``NOW``; a pause far past any cap fails the test instead
    of spinning through billions of fake seconds."""

    def __init__(self) -> None:
        super().__init__(NOW)

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if self.slept > 10 * DEFAULT_MAX_RETRY_AFTER_S:
            raise AssertionError(f"the account was paused for {self.slept:.0f} s and counting")


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("1e12", 1e12),  # parsed as said; the transport caps it
        ("nan", None),
        ("soon", None),
        ("", None),
        (None, None),
        (format_datetime(NOW + timedelta(seconds=120), usegmt=True), 120.0),
        (format_datetime(NOW - timedelta(days=1), usegmt=True), 0.0),
        ("Wed, 21 Oct 2037 07:28:00 GMT", (datetime(2037, 10, 21, 7, 28, tzinfo=UTC) - NOW).total_seconds()),
    ],
)
def test_retry_after_in_both_forms(raw: str | None, seconds: float | None) -> None:
    assert parse_retry_after(raw, NOW) == seconds


@pytest.mark.parametrize(
    ("asked", "capped"),
    [(1e12, DEFAULT_MAX_RETRY_AFTER_S), (float("inf"), DEFAULT_MAX_RETRY_AFTER_S), (-5.0, 0.0), (30.0, 30.0)],
)
def test_the_cap(asked: float, capped: float) -> None:
    assert TransportLimits().cap_retry_after(asked) == capped
    assert TransportLimits().cap_retry_after(None) is None


def _planfix(
    handler: Callable[[httpx.Request], httpx.Response], clock: FakeClock, **retry: int
) -> PlanfixClient:
    settings = PlanfixSettings(
        url="https://api.example.com/xml/", account="demo", api_key="k" * 8, token="t" * 8
    )
    limiter = planfix_limiter(100.0, 10_000, 0.0, ZoneInfo("Europe/Moscow"), clock=clock)
    return PlanfixClient(
        settings, limiter, transport=httpx.MockTransport(handler), retry=RetryPolicy(**retry, base=0.0)
    )


def test_a_huge_retry_after_from_planfix_pauses_the_account_for_the_cap_only() -> None:
    """The Planfix client reads Retry-After itself; the transport's cap still applies to it."""
    clock = FakeClock()
    replies = iter(
        [httpx.Response(429, headers={"Retry-After": "1e12"}), httpx.Response(200, content=OK_XML)]
    )
    client = _planfix(lambda request: next(replies), clock, attempts=3)

    reply = client.call("user.get")

    assert reply.findtext("user/id") == "1"  # the account is not paused for good: the call went through
    assert clock.slept == pytest.approx(DEFAULT_MAX_RETRY_AFTER_S)


def test_the_error_carries_the_capped_retry_after() -> None:
    clock = FakeClock()
    client = _planfix(lambda request: httpx.Response(429, headers={"Retry-After": "inf"}), clock, attempts=1)
    with pytest.raises(RateLimitedError) as caught:
        client.call("user.get")
    assert caught.value.retry_after == DEFAULT_MAX_RETRY_AFTER_S


def _transport(
    handler: Callable[[httpx.Request], httpx.Response], limit: int = DEFAULT_MAX_REPLY_BYTES
) -> HttpTransport:
    return HttpTransport(
        "planningpme",
        httpx.Client(transport=httpx.MockTransport(handler)),
        planningpme_limiter(1_000_000, clock=FakeClock()),
        RetryPolicy(attempts=1),
        limits=TransportLimits(max_reply_bytes=limit),
    )


def _get(http: HttpTransport) -> bytes:
    return http.call(
        "GET /x", lambda: http.client.build_request("GET", "https://api.example.com/x"), lambda r: r.content
    )


class Endless(httpx.SyncByteStream):
    """A body that never ends (bounded only so a broken test cannot run forever)."""

    def __init__(self, chunk: int = 64 * 1024, most: int = 4096) -> None:
        self.chunk, self.most, self.sent = chunk, most, 0

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(self.most):
            self.sent += self.chunk
            yield b"x" * self.chunk


def test_an_endless_body_is_refused_once_past_the_limit() -> None:
    body = Endless()
    http = _transport(lambda request: httpx.Response(200, stream=body), limit=1024 * 1024)
    with pytest.raises(ProtocolError, match="larger than the limit of 1048576 bytes"):
        _get(http)
    assert body.sent <= 1024 * 1024 + body.chunk  # stopped at the limit, not at the end of the stream


def test_an_announced_oversized_body_is_not_read_at_all() -> None:
    body = Endless()
    headers = {"Content-Length": str(10 * 1024**3)}
    http = _transport(lambda request: httpx.Response(200, stream=body, headers=headers), limit=1024 * 1024)
    with pytest.raises(ProtocolError, match="announces 10737418240 bytes"):
        _get(http)
    assert body.sent == 0


def test_a_body_within_the_limit_arrives_whole_and_decoded() -> None:
    import gzip

    payload = b'{"items": []}' * 1000
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    http = _transport(lambda request: httpx.Response(200, content=gzip.compress(payload), headers=headers))
    assert _get(http) == payload


def test_the_limit_counts_decoded_bytes_so_a_compression_bomb_is_refused() -> None:
    import gzip

    bomb = gzip.compress(b"0" * (8 * 1024 * 1024))  # ~8 KB on the wire
    headers = {"Content-Encoding": "gzip"}
    http = _transport(lambda request: httpx.Response(200, content=bomb, headers=headers), limit=1024 * 1024)
    with pytest.raises(ProtocolError, match="larger than the limit"):
        _get(http)


def test_deeply_nested_planfix_xml_is_a_protocol_error_too() -> None:
    """The PlanningPME client catches the JSON parser's RecursionError; lxml refuses depth itself."""
    clock = FakeClock()
    deep = b'<response status="ok">' + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</response>"
    client = _planfix(lambda request: httpx.Response(200, content=deep), clock, attempts=1)
    with pytest.raises(ProtocolError, match="not well-formed XML"):
        client.call("user.get")
