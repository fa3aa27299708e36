"""sd_notify over ``$NOTIFY_SOCKET``, in a dozen lines and without a dependency (after gunicorn).

Outside systemd (no ``NOTIFY_SOCKET``) every call is a no-op, so the daemon code never branches.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

from syncd.logs import redact


class Notifier:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        address = (os.environ if env is None else env).get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]  # abstract namespace
        self._address = address or None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, *states: str) -> bool:
        """Send ``READY=1``, ``STATUS=…``, ``WATCHDOG=1``, ``STOPPING=1`` …; False if it could not.

        Every state is masked: STATUS carries error text, and any local user can read it
        (``systemctl status``)."""
        if self._address is None:
            return False
        message = "\n".join(redact(s).replace("\n", " ") for s in states).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self._address)
                sock.sendall(message)
        except OSError:
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.notify("READY=1", f"STATUS={status}")

    def status(self, status: str) -> bool:
        return self.notify(f"STATUS={status}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """Half the watchdog timeout systemd set (``WATCHDOG_USEC``), or None without a watchdog."""
    environ = os.environ if env is None else env
    usec = environ.get("WATCHDOG_USEC")
    pid = environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(0.5, int(usec) / 1_000_000 / 2)
    except ValueError:
        return None
