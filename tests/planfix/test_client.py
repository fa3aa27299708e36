"""PlanfixClient against the emulator: auth modes, session renewal, every injectable fault, limits."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from structlog.testing import capture_logs

from syncd.connectors.http import RetryPolicy
from syncd.connectors.planfix import PlanfixClient, build_planfix
from syncd.errors import (
    AuthError,
    ConfigError,
    FatalRemoteError,
    ProtocolError,
    QuotaExhaustedError,
    RecordError,
    RemoteError,
    ServerError,
    UnreachableError,
)
from syncd.ratelimit import planfix_limiter
from tests.planfix.conftest import FAST_RETRY, FakeClock, Planfix, connect, fast_limiter

LEGACY: dict[str, object] = {"token": None, "login": "demo", "password": "demo"}
"""Legacy auth keeps the API key: every call carries it as HTTP Basic ``apiKey:`` besides the sid."""


def client_for(
    planfix: Planfix, clock: FakeClock | None = None, *, legacy: bool = False, **overrides: object
) -> PlanfixClient:
    settings = planfix.settings(**{**(LEGACY if legacy else {}), **overrides})
    return PlanfixClient(settings, fast_limiter(clock), retry=FAST_RETRY)


def test_token_auth_round_trip(planfix: Planfix) -> None:
    client = client_for(planfix)
    root = client.call("task.add", [("task", [("title", "hello")])], write=True, idempotent=False)
    task_id = root.findtext("task/id")
    assert client.call("task.get", [("task", [("id", task_id or "")])]).findtext("task/title") == "hello"
    assert client.counter.by_method == {"task.add": 1, "task.get": 1}
    assert "demo-token" not in repr(client) and "demo-key" not in repr(client)


def test_wrong_token_is_an_auth_error_that_names_the_setting(planfix: Planfix) -> None:
    client = client_for(planfix, token="not-the-token")
    with pytest.raises(AuthError, match=r"planfix\.token") as caught:
        client.call("task.getList")
    assert "not-the-token" not in str(caught.value)
    assert planfix.stats()["total"] == 1, "auth errors are not retried"


def test_legacy_session_is_reused_and_renewed_once(start_planfix: Callable[..., Planfix]) -> None:
    clock = FakeClock()
    planfix = start_planfix(clock=clock, sid_ttl=60)
    client = client_for(planfix, clock, legacy=True)
    for _ in range(3):
        client.call("task.getList")
    assert planfix.stats()["by_method"] == {"auth.login": 1, "task.getList": 3}
    clock.advance(61)
    client.call("task.getList")
    assert planfix.stats()["by_method"] == {"auth.login": 2, "task.getList": 5}


def test_a_session_that_never_works_fails_after_one_renewal(start_planfix: Callable[..., Planfix]) -> None:
    planfix = start_planfix(sid_ttl=0.0)
    client = client_for(planfix, legacy=True)
    with pytest.raises(AuthError) as caught:
        client.call("task.getList")
    assert caught.value.code == "0005"
    assert planfix.stats()["by_method"] == {"auth.login": 2, "task.getList": 2}


def test_a_wrong_password_is_an_auth_error(planfix: Planfix) -> None:
    with pytest.raises(AuthError, match=r"planfix\.login and planfix\.password"):
        client_for(planfix, legacy=True, password="wrong").call("task.getList")


def test_legacy_calls_carry_the_api_key_as_basic_auth_besides_the_sid(planfix: Planfix) -> None:
    """ПланФикс_API__Авторизация_по_логину_и_паролю.md: Basic base64("apiKey:") on every request."""
    seen: list[tuple[str, bytes]] = []

    class Recording(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            seen.append((request.headers.get("authorization", ""), request.read()))
            return super().handle_request(request)

    settings = planfix.settings(**LEGACY)
    client = PlanfixClient(settings, fast_limiter(), transport=Recording(), retry=FAST_RETRY)
    client.call("task.getList")
    basic = "Basic " + base64.b64encode(b"demo-key:").decode()
    assert [header for header, _ in seen] == [basic, basic]
    assert b"<sid>" not in seen[0][1] and b"<sid>" in seen[1][1]


def test_legacy_auth_without_an_api_key_is_a_config_error(planfix: Planfix) -> None:
    with pytest.raises(ConfigError, match="api_key"):
        client_for(planfix, legacy=True, api_key=None)


def test_writes_are_silent_and_reads_carry_no_silent(planfix: Planfix) -> None:
    """XML_API_v1.md: <silent>1</silent> at the root of any request: no notification, no history."""
    pf = connect(planfix)
    task = pf.tasks.create({"title": "quiet"}, marker="E-1")
    pf.tasks.update(task.key, {"title": "still quiet"})
    pf.tasks.set_marker(task.key, "E-2")
    pf.tasks.delete(task.key)
    contact = pf.contacts.create({"name": "Ana", "email": "ana@example.com"}, marker="E-3")
    pf.contacts.update(contact.key, {"lastName": "López"})
    pf.contacts.set_marker(contact.key, None)
    pf.contacts.delete(contact.key)
    stats = planfix.stats()
    assert stats["writes"] == 8 and stats["notifications"] == 0


@pytest.mark.parametrize(
    ("faults", "kind", "code"),
    [
        ({"fail_next": 10, "error": "3014"}, ServerError, "3014"),
        ({"fail_next": 10, "error": 503}, ServerError, None),
        ({"fail_next": 1, "error": "0015"}, RecordError, "0015"),
        ({"fail_next": 1, "error": "8010"}, RecordError, "8010"),
        ({"fail_next": 1, "error": "0022"}, FatalRemoteError, "0022"),
        ({"fail_next": 1, "error": "0004"}, FatalRemoteError, "0004"),
        ({"fail_next": 1, "error": "0001"}, AuthError, "0001"),
        ({"fail_next": 1, "error": "1001"}, AuthError, "1001"),
        ({"fail_next": 1, "error": "0002"}, FatalRemoteError, "0002"),
        ({"fail_next": 1, "error": "0010"}, FatalRemoteError, "0010"),
        ({"fail_next": 1, "error": "0013"}, FatalRemoteError, "0013"),
        ({"fail_next": 1, "error": "0014"}, FatalRemoteError, "0014"),
        ({"fail_next": 1, "error": "0020"}, FatalRemoteError, "0020"),
        ({"fail_next": 1, "error": "0023"}, FatalRemoteError, "0023"),
        ({"fail_next": 1, "error": "0104"}, RecordError, "0104"),
        ({"fail_next": 1, "error": "0105"}, RecordError, "0105"),
        ({"fail_next": 10, "error": "0011"}, ServerError, "0011"),
        ({"fail_next": 1, "error": "4242"}, RecordError, "4242"),
        ({"fail_next": 1, "error": 401}, AuthError, None),
        ({"unauthorized_next": 1}, AuthError, "0012"),
        ({"malformed_next": 10}, ProtocolError, None),
        ({"drop_next": 10}, UnreachableError, None),
        ({"error_rate": 1.0, "error": "3014"}, ServerError, "3014"),
    ],
)
def test_each_fault_ends_in_its_documented_error_and_writes_nothing(
    planfix: Planfix, faults: dict[str, object], kind: type[RemoteError], code: str | None
) -> None:
    pf = connect(planfix)
    planfix.faults(**faults)
    with pytest.raises(kind) as caught:
        pf.tasks.create({"title": "must not exist", "description": "x"}, marker="E-1")
    assert type(caught.value) is kind
    assert caught.value.code == code
    planfix.control("DELETE", "faults")
    assert planfix.records("tasks") == []


def test_an_ambiguous_failure_is_not_retried_for_a_create(planfix: Planfix) -> None:
    pf = connect(planfix)
    planfix.faults(drop_next=1)
    with pytest.raises(UnreachableError):
        pf.tasks.create({"title": "t"}, marker="E-1")
    assert planfix.stats()["by_method"] == {"task.add": 1}


def test_reads_are_retried_through_transient_faults(planfix: Planfix) -> None:
    pf = connect(planfix)
    planfix.seed(tasks=3)
    planfix.faults(drop_next=1, malformed_next=1)
    assert len(pf.tasks.list_changed(None).records) == 3


def test_a_slow_server_times_out(planfix: Planfix) -> None:
    client = PlanfixClient(planfix.settings(timeout=0.2), fast_limiter(), retry=RetryPolicy(attempts=1))
    planfix.faults(latency_ms=600)
    with pytest.raises(UnreachableError, match="no answer in time"):
        client.call("task.getList")
    planfix.control("DELETE", "faults")


def test_a_bad_request_logs_its_shape_without_values(planfix: Planfix) -> None:
    client = client_for(planfix)
    planfix.faults(fail_next=1, error="0009")
    with capture_logs() as logs, pytest.raises(RecordError):
        client.call("task.add", [("task", [("title", "SECRET-TITLE")])], write=True)
    rejected = next(e for e in logs if e["event"] == "planfix.request_rejected")
    assert rejected["request_shape"] == ["task/title"] and rejected["code"] == "0009"
    assert "SECRET-TITLE" not in str(logs) and "demo-token" not in str(logs)


def test_0007_is_the_daily_limit_and_pauses_the_account_until_the_day_turns(planfix: Planfix) -> None:
    """planfix-xml-api.md corrections: 0007 is the daily limit; retrying after a second burns the day."""
    clock = FakeClock()
    clock.set_local(datetime(2026, 12, 2, 22, 30))
    client = client_for(planfix, clock)
    planfix.faults(fail_next=1, error="0007")
    with pytest.raises(QuotaExhaustedError, match=r"2026-12-03T00:00:00\+03:00") as caught:
        client.call("task.getList")
    assert caught.value.retry_after == pytest.approx(90 * 60)
    with pytest.raises(QuotaExhaustedError):
        client.call("task.getList")
    assert planfix.stats()["by_method"] == {"task.getList": 1}, "nothing retried, nothing more sent"
    clock.advance(90 * 60 + 1)
    client.call("task.getList")
    assert planfix.stats()["by_method"] == {"task.getList": 2}, "the next day it works again"


def test_the_daily_quota_stops_every_further_request(start_planfix: Callable[..., Planfix]) -> None:
    planfix = start_planfix(daily_quota=2)
    client = client_for(planfix)
    client.call("task.getList")
    client.call("task.getList")
    with pytest.raises(QuotaExhaustedError):
        client.call("task.getList")
    sent = planfix.stats()["total"]
    with pytest.raises(QuotaExhaustedError):
        client.call("contact.getList")
    assert planfix.stats()["total"] == sent, "nothing more was sent"


def test_the_remaining_quota_header_feeds_the_limiter(start_planfix: Callable[..., Planfix]) -> None:
    planfix = start_planfix(daily_quota=1000)
    limiter = fast_limiter(daily_quota=5000)
    pf = build_planfix(planfix.settings(), limiter, retry=FAST_RETRY)
    pf.tasks.list_changed(None)
    hint = pf.tasks.quota_hint()
    assert hint.remaining == 999 and hint.observed_at is not None
    status = limiter.quota_status()
    assert status is not None and status.remote_remaining == 999
    pf.contacts.list_changed(None)
    status = limiter.quota_status()
    assert status is not None and status.used_today >= 4001, "the remote's count is the stricter one"


def test_the_client_keeps_the_emulated_rate(start_planfix: Callable[..., Planfix]) -> None:
    planfix = start_planfix(rate=20, over_rate="reject")
    limiter = planfix_limiter(20, 20000, 0.1, ZoneInfo("Europe/Moscow"))
    client = PlanfixClient(planfix.settings(requests_per_second=20), limiter, retry=RetryPolicy(attempts=1))
    for _ in range(45):
        client.call("task.getList")
    assert planfix.stats()["by_method"] == {"task.getList": 45}
