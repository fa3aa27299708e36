from __future__ import annotations

import asyncio
import gc
import io
import json
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest
import structlog

from syncd.httpserver import BackgroundServer
from syncd.logs import (
    REDACTED,
    Redactor,
    active_redactor,
    configure_logging,
    redact,
    redact_strings,
    remember_secrets,
)

pytestmark = pytest.mark.usefixtures("fresh_logging")


def test_secrets_never_reach_the_output() -> None:
    out = io.StringIO()
    configure_logging(secrets=["s3cr3t-token-value"], json=True, stream=out)
    log = structlog.get_logger("t")
    log.info(
        "login",
        password="hunter22",
        api_key="abcd",
        detail="Basic s3cr3t-token-value sent",
        nested={"token": "x1234", "ok": "visible"},
        err=RuntimeError("bad s3cr3t-token-value"),
    )
    line = json.loads(out.getvalue())
    assert "s3cr3t-token-value" not in out.getvalue()
    assert "hunter22" not in out.getvalue()
    assert line["password"] == REDACTED and line["api_key"] == REDACTED
    assert line["nested"] == {"token": REDACTED, "ok": "visible"}
    assert line["detail"] == f"Basic {REDACTED} sent"


def test_console_format_on_request() -> None:
    out = io.StringIO()
    configure_logging(json=False, stream=out)
    structlog.get_logger().info("hello", entity="task")
    assert "hello" in out.getvalue() and "entity" in out.getvalue()


# The one redaction function -------------------------------------------------------------------------

MULTI_LINE = "first-line-of-secret\r\nsecond-line-of-secret"


def test_a_multi_line_secret_is_masked_whole_and_line_by_line() -> None:
    redactor = Redactor([MULTI_LINE])
    assert redactor.scrub(f"said {MULTI_LINE}!") == f"said {REDACTED}!"
    flattened = MULTI_LINE.replace("\r\n", " ")  # what sd_notify or a control-character filter makes of it
    assert redactor.scrub(flattened) == f"{REDACTED} {REDACTED}"
    assert redactor.scrub("first-line-of-secretsecond-line-of-secret") == REDACTED * 2
    assert "first-line" not in redactor.scrub(repr(MULTI_LINE))


def test_a_percent_encoded_secret_is_masked() -> None:
    assert Redactor(["pa ss/word+1"]).scrub("GET /x?p=pa%20ss%2Fword%2B1") == f"GET /x?p={REDACTED}"


def test_a_secret_escaped_in_rendered_json_is_masked() -> None:
    secret = 'quo"te\\back-slash'
    rendered = json.dumps({"error": f"refused {secret}"})
    assert json.loads(Redactor([secret]).scrub(rendered)) == {"error": f"refused {REDACTED}"}


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("at https://bob:hunter2@api.example.com/x", f"at https://{REDACTED}@api.example.com/x"),
        ("at https://token@github.com", f"at https://{REDACTED}@github.com"),
        ("p@ss in https://u:p@ss@h/a?b=c@d", f"p@ss in https://{REDACTED}@h/a?b=c@d"),
        (
            "mail bob@example.com via https://example.com/a@b",
            "mail bob@example.com via https://example.com/a@b",
        ),
        ("db postgres://u:pw@db:5432/x", f"db postgres://{REDACTED}@db:5432/x"),
    ],
)
def test_user_info_of_any_url_is_masked(text: str, masked: str) -> None:
    assert redact(text) == masked


def test_url_masking_stays_linear_on_hostile_text() -> None:
    hostile = "a." * 200_000 + "://" + "x" * 200_000 + "@"
    assert redact(hostile).endswith(f"://{REDACTED}@")  # finishes at once: no quadratic backtracking


def test_short_values_are_not_masked_everywhere() -> None:
    assert Redactor(["abc", "ab\ncd-long-part"]).scrub("abc ab cd-long-part") == f"abc ab {REDACTED}"


def test_redact_uses_the_configured_secrets_and_learns_new_ones() -> None:
    configure_logging(secrets=["configured-secret"], json=True, stream=io.StringIO())
    assert redact(RuntimeError("bad configured-secret")) == f"bad {REDACTED}"
    assert redact("reloaded-secret") == "reloaded-secret"
    remember_secrets(["reloaded-secret"])
    assert redact("reloaded-secret and configured-secret") == f"{REDACTED} and {REDACTED}"
    assert active_redactor() is active_redactor()


def test_redact_strings_masks_inside_data() -> None:
    configure_logging(secrets=["configured-secret"], json=True, stream=io.StringIO())
    data = {"a": ["x configured-secret", 3, None], "b": {"c": ("configured-secret",)}}
    assert redact_strings(data) == {"a": [f"x {REDACTED}", 3, None], "b": {"c": [REDACTED]}}


# uvicorn's and asyncio's own lines --------------------------------------------------------------------

SECRET = "uvicorn-secret-0123456789"


async def _failing_app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    raise RuntimeError(f"the handler blew up holding {SECRET} for https://admin:hunter22@example.com/")


def test_a_uvicorn_error_line_comes_out_as_json_with_secrets_masked() -> None:
    out = io.StringIO()
    configure_logging(secrets=[SECRET], json=True, stream=out)
    with BackgroundServer(_failing_app, name="failing") as server:
        reply = httpx.get(f"{server.base_url}/", timeout=10)
    assert reply.status_code == 500
    lines = [json.loads(line) for line in out.getvalue().splitlines()]  # every line is JSON
    errors = [line for line in lines if line.get("logger") == "uvicorn.error"]
    assert errors and errors[0]["level"] == "error"
    assert "Exception in ASGI application" in errors[0]["event"]
    assert "the handler blew up holding ***" in errors[0]["exception"]
    assert SECRET not in out.getvalue() and "hunter22" not in out.getvalue()


def test_an_asyncio_error_line_comes_out_as_json_with_secrets_masked() -> None:
    out = io.StringIO()
    configure_logging(secrets=[SECRET], json=True, stream=out)

    async def fail() -> None:
        raise RuntimeError(f"lost {SECRET}")

    async def forget_a_failed_task() -> None:
        task = asyncio.get_running_loop().create_task(fail())
        await asyncio.sleep(0.01)
        del task  # never awaited: asyncio logs "Task exception was never retrieved" when it goes
        gc.collect()

    asyncio.run(forget_a_failed_task())
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    said = [line for line in lines if line.get("logger") == "asyncio"]
    assert said and "never retrieved" in said[0]["event"]
    assert SECRET not in out.getvalue() and "lost ***" in out.getvalue()
