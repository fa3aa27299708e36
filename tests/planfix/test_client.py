"""PlanfixClient against the emulator: auth modes, session renewal, every injectable fault, limits."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from structlog.testing import capture_logs

from syncd.connectors.http import RetryPolicy
from syncd.connectors.planfix import PlanfixClient, build_planfix
from syncd.errors import (
    AuthError,
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

LEGACY: dict[str, object] = {"api_key": None, "token": None, "login": "demo", "password": "demo"}


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
    with pytest.raises(AuthError):
        client_for(planfix, legacy=True, password="wrong").call("task.getList")


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


def test_a_per_second_0007_pauses_the_account_and_retries(planfix: Planfix) -> None:
    clock = FakeClock()
    client = client_for(planfix, clock)
    planfix.faults(fail_next=1, error="0007")
    start = clock.monotonic()
    client.call("task.getList")
    assert clock.monotonic() - start >= 1.0, "the account waited out the limit"
    assert planfix.stats()["by_method"] == {"task.getList": 2}


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
