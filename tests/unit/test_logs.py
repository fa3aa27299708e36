from __future__ import annotations

import io
import json

import structlog

from syncd.logs import REDACTED, configure_logging


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
