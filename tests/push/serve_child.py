"""A push endpoint in a process of its own, for the test that kills it with SIGKILL.

Usage: ``python serve_child.py STATE_DB TOKEN``. Prints the base URL on stdout once it accepts
requests (logs go to stderr), then serves until killed.
"""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from state.store import Store
from syncd.logs import configure_logging
from syncd.push.endpoint import PushServer, create_push_app
from syncd.settings import PushSettings


def main(db: str, token: str) -> None:
    configure_logging(secrets=[token], json=True, stream=sys.stderr)
    store = Store.open(Path(db))
    settings = PushSettings(enabled=True, token=SecretStr(token))
    app = create_push_app(store, settings, lambda _: None, lambda: datetime.now(UTC))
    server = PushServer(app, "127.0.0.1:0").start()
    print(server.base_url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
