"""The PlanningPME client: token life cycle, error mapping, rate limits — over real HTTP where it
crosses the wire, with httpx's MockTransport only for reply shapes the emulator never sends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from syncd.connectors.http import HttpTransport, RetryPolicy
from syncd.connectors.planningpme.client import PlanningPmeClient
from syncd.errors import (
    AuthError,
    ConfigError,
    FatalRemoteError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    RecordError,
    ServerError,
    UnreachableError,
)
from syncd.settings import PlanningPmeSettings
from tests.planningpme.conftest import FakeClock, Pme, limiter_for, settings_for

MakeClient = Callable[..., PlanningPmeClient]
EVENT = {"label": "Visita", "start": "2026-11-23T09:00:00", "end": "2026-11-23T10:00:00"}


def config(client: PlanningPmeClient) -> Any:
    return client.request("GET", "GET /api/config", "api/config")


def create_event(client: PlanningPmeClient) -> Any:
    return client.request("POST", "POST /api/do", "api/do", body=EVENT, idempotent=False, priority="write")


# Tokens ----------------------------------------------------------------------------------------------------


def test_one_token_serves_many_calls(pme: Pme, make_client: MakeClient) -> None:
    client = make_client(pme)
    for _ in range(3):
        assert "enums" in config(client)
    assert pme.stats() == {"POST /token": 1, "GET /api/config": 3}


def test_assertion_grant(pme: Pme, make_client: MakeClient) -> None:
    client = make_client(pme, username=None, password=None, assertion="demo-assertion")
    assert "enums" in config(client)


def test_token_is_renewed_shortly_before_it_expires(
    start_emulator: Callable[..., Pme], make_client: MakeClient, clock: FakeClock
) -> None:
    pme = start_emulator(clock=clock, token_ttl=600)
    client = make_client(pme)
    config(client)
    clock.advance(545)  # 55 s left: inside the renewal margin (a tenth of 600 s)
    config(client)
    assert pme.stats() == {"POST /token": 2, "GET /api/config": 2}  # renewed before use, no 401


def test_a_401_renews_the_token_and_retries_once(
    start_emulator: Callable[..., Pme], make_client: MakeClient
) -> None:
    server_clock = FakeClock()
    pme = start_emulator(clock=server_clock, token_ttl=2)  # the client's own clock stands still
    client = make_client(pme)
    config(client)
    server_clock.advance(5)  # the server now considers the token expired
    assert "enums" in config(client)
    assert pme.stats() == {"POST /token": 2, "GET /api/config": 3}


def test_a_revoked_token_on_a_create_is_renewed_without_a_duplicate(
    pme: Pme, make_client: MakeClient
) -> None:
    client = make_client(pme)
    config(client)
    pme.faults(unauthorized_next=1)
    created = create_event(client)
    assert [e["key"] for e in pme.records("events")] == [created["key"]]


def test_a_second_401_is_an_auth_error(pme: Pme, make_client: MakeClient) -> None:
    client = make_client(pme)
    config(client)
    pme.faults(unauthorized_next=2)
    with pytest.raises(AuthError) as caught:
        config(client)
    assert "planningpme.username" in str(caught.value)


@pytest.mark.parametrize(
    ("settings", "blamed"),
    [
        ({"password": "wrong"}, "planningpme.username / planningpme.password"),
        ({"username": None, "password": None, "assertion": "forged"}, "planningpme.assertion"),
        ({"app_key": "wrong"}, "planningpme.app_key"),
    ],
)
def test_refused_credentials_are_an_auth_error_naming_the_setting(
    pme: Pme, make_client: MakeClient, settings: dict[str, Any], blamed: str
) -> None:
    client = make_client(pme, **settings)
    with pytest.raises(AuthError) as caught:
        config(client)
    assert blamed in str(caught.value)
    assert "wrong" not in str(caught.value) and "forged" not in str(caught.value)
    assert pme.stats() == {"POST /token": 1}  # not retried


def test_unknown_brand_is_fatal(pme: Pme, make_client: MakeClient) -> None:
    client = make_client(pme, brand="nobody")
    with pytest.raises(FatalRemoteError, match=r"planningpme\.brand"):
        config(client)


def test_https_is_required_off_loopback(clock: FakeClock) -> None:
    values = {**dict(settings_for("http://127.0.0.1:1")), "url": "http://api.example.com"}
    unchecked = PlanningPmeSettings.model_construct(**values)  # as if validation were bypassed
    with pytest.raises(ConfigError, match="https"):
        PlanningPmeClient(unchecked, limiter_for(clock))


# Error mapping ---------------------------------------------------------------------------------------


def test_validation_errors_are_record_errors_with_the_server_message(
    pme: Pme, make_client: MakeClient
) -> None:
    client = make_client(pme)
    with pytest.raises(RecordError) as caught:
        client.request("POST", "POST /api/do", "api/do", body={"label": "x"}, idempotent=False)
    assert "POST /api/do" in str(caught.value) and "start" in str(caught.value)
    assert caught.value.code == "400"


def test_unknown_keys_are_not_found(pme: Pme, make_client: MakeClient) -> None:
    client = make_client(pme)
    with pytest.raises(NotFoundError):
        client.request("GET", "GET /api/do/{key}", "api/do/12345")


def test_malformed_json_is_a_protocol_error_naming_the_endpoint(pme: Pme, make_client: MakeClient) -> None:
    client = make_client(pme)
    config(client)
    pme.faults(malformed_next=4)
    with pytest.raises(ProtocolError, match="GET /api/config"):
        config(client)
    assert pme.stats()["GET /api/config"] == 5  # a read is retried before giving up


def test_malformed_reply_to_a_create_is_not_retried(pme: Pme, make_client: MakeClient) -> None:
    client = make_client(pme)
    config(client)
    pme.faults(malformed_next=1)
    with pytest.raises(ProtocolError, match="POST /api/do"):
        create_event(client)
    assert pme.stats()["POST /api/do"] == 1 and pme.records("events") == []


def test_server_errors(pme: Pme, make_client: MakeClient) -> None:
    client = make_client(pme)
    config(client)
    pme.faults(fail_next=1, error=502)
    assert "enums" in config(client)  # a read is retried
    pme.faults(fail_next=4, error=500)
    with pytest.raises(ServerError, match="HTTP 500"):
        config(client)


def test_a_500_on_create_is_not_retried_but_a_503_is(pme: Pme, make_client: MakeClient) -> None:
    client = make_client(pme)
    config(client)
    pme.faults(fail_next=1, error=500)
    with pytest.raises(ServerError):
        create_event(client)
    assert pme.records("events") == [] and pme.stats()["POST /api/do"] == 1
    pme.faults(fail_next=1, error=503)
    create_event(client)
    assert len(pme.records("events")) == 1 and pme.stats()["POST /api/do"] == 3


def test_dropped_connection_on_create_is_unreachable_and_writes_nothing(
    pme: Pme, make_client: MakeClient
) -> None:
    client = make_client(pme)
    config(client)
    pme.faults(drop_next=1)
    with pytest.raises(UnreachableError):
        create_event(client)
    assert pme.records("events") == []


def test_latency_beyond_the_timeout_is_unreachable(pme: Pme, clock: FakeClock) -> None:
    settings = settings_for(pme.url, timeout=0.2)
    http = HttpTransport(
        "planningpme", httpx.Client(timeout=0.2), limiter_for(clock), RetryPolicy(attempts=1)
    )
    client = PlanningPmeClient(settings, http.limiter, http=http)
    config(client)
    pme.faults(latency_ms=600)
    with pytest.raises(UnreachableError, match="in time"):
        config(client)
    client.close()


def test_429_retry_after_is_honoured(
    start_emulator: Callable[..., Pme], make_client: MakeClient, clock: FakeClock
) -> None:
    pme = start_emulator(clock=clock, hourly_limit=3)  # the emulator and the client share the clock
    client = make_client(pme)
    config(client)
    config(client)  # token + 2 calls: the hour is full
    before = clock.t
    assert "enums" in config(client)  # 429, pause for Retry-After, then through
    assert clock.t - before >= 3600 - 1
    assert pme.stats()["GET /api/config"] == 4


# Reply shapes the emulator never sends (MockTransport) -------------------------------------------------


def _mock_client(
    handler: Callable[[httpx.Request], httpx.Response], clock: FakeClock, **settings: Any
) -> PlanningPmeClient:
    config_ = settings_for("https://api.example.com", **settings)
    return PlanningPmeClient(config_, limiter_for(clock), transport=httpx.MockTransport(handler))


def _token_then(
    reply: Callable[[httpx.Request], httpx.Response],
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(
                200, json={"access_token": "t0k", "token_type": "bearer", "expires_in": 3600}
            )
        return reply(request)

    return handler


def test_headers_sent(clock: FakeClock) -> None:
    seen: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={}, headers={"X-RateLimit-Remaining": "1234"})

    client = _mock_client(_token_then(reply), clock, language="es")
    client.request("GET", "GET /api/config", "api/config")
    request = seen[0]
    assert str(request.url) == "https://api.example.com/demo/api/config"
    assert request.headers["X-APPKEY"] == "demo-appkey"
    assert request.headers["Authorization"] == "Bearer t0k"
    assert request.headers["Accept-Language"] == "es"
    assert client.quota_hint().remaining == 1234
    assert "demo-appkey" not in repr(client)


def test_retry_after_as_http_date(clock: FakeClock) -> None:
    calls: list[int] = []

    def reply(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            when = format_datetime(clock.now() + timedelta(seconds=120), usegmt=True)
            return httpx.Response(429, json={"message": "slow down"}, headers={"Retry-After": when})
        return httpx.Response(200, json={"ok": True})

    client = _mock_client(_token_then(reply), clock)
    assert client.request("GET", "GET /api/config", "api/config") == {"ok": True}
    assert 119 <= clock.slept <= 120  # paused until the date the server named (whole seconds)


def test_rate_limited_error_carries_retry_after(clock: FakeClock) -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "7"})

    settings = settings_for("https://api.example.com")
    http = HttpTransport(
        "planningpme",
        httpx.Client(transport=httpx.MockTransport(_token_then(reply))),
        limiter_for(clock),
        RetryPolicy(attempts=1),
    )
    client = PlanningPmeClient(settings, http.limiter, http=http)
    with pytest.raises(RateLimitedError) as caught:
        client.request("GET", "GET /api/config", "api/config")
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(
    "token_reply",
    [
        httpx.Response(200, json={"token_type": "bearer"}),
        httpx.Response(200, json={"access_token": "x", "expires_in": "soon"}),
        httpx.Response(200, content=b"<html>proxy</html>"),
    ],
)
def test_unusable_token_replies_are_protocol_errors(clock: FakeClock, token_reply: httpx.Response) -> None:
    settings = settings_for("https://api.example.com")
    http = HttpTransport(
        "planningpme",
        httpx.Client(transport=httpx.MockTransport(lambda r: token_reply)),
        limiter_for(clock),
        RetryPolicy(attempts=1),
    )
    client = PlanningPmeClient(settings, http.limiter, http=http)
    with pytest.raises(ProtocolError, match="POST /token"):
        client.request("GET", "GET /api/config", "api/config")
