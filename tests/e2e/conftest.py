"""Both emulators on 127.0.0.1 (unlimited rates unless a test asks), a config file pointing at
them, and a few verbs a scenario needs: run a cycle, read what each system holds, edit records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncd.cli.commands import run_once
from syncd.connectors.base import NativeRecord, RemoteRecord
from syncd.emulators.common import EmulatorServer
from syncd.emulators.config import emulator_config
from syncd.emulators.planfix import PlanfixEmulatorConfig, create_app
from syncd.emulators.planningpme import EmulatorOptions, PlanningPmeEmulator
from syncd.engine.cycle import CycleResult
from syncd.runtime import Remotes, build_remotes, load_mappings
from syncd.settings import Settings, load_settings


@dataclass
class World:
    planfix: EmulatorServer
    planningpme: EmulatorServer
    config_path: Path
    http: httpx.Client

    @property
    def settings(self) -> Settings:
        return load_settings(self.config_path)

    def write_config(self, **overrides: Any) -> None:
        sync = {
            "max_delete": 50,
            "max_delete_percent": 100,
            "max_attempts": 3,
            "retry_backoff": "1s",
            **overrides,
        }
        self.config_path.write_text(
            emulator_config(
                self.planfix.base_url,
                self.planningpme.base_url,
                {"planfix": {"requests_per_second": 50}, "sync": sync},
            )
        )

    def sync(self, **kw: Any) -> list[CycleResult]:
        return run_once(self.settings, self.config_path.parent, **kw)

    def remotes(self) -> Remotes:
        settings = self.settings
        return build_remotes(settings, load_mappings(settings, self.config_path.parent))

    def create(self, entity: str, data: NativeRecord) -> RemoteRecord:
        """Create one record through syncd's own connector for ``entity``, as its user would."""
        remotes = self.remotes()
        try:
            return remotes.by_entity[entity].create(data, None)
        finally:
            remotes.close()

    # -- the emulators' control APIs --------------------------------------------------------

    def _control(self, server: EmulatorServer, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"{server.base_url}/_emulator/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def pf(self, method: str, path: str, body: Any = None) -> Any:
        return self._control(self.planfix, method, path, body)

    def pme(self, method: str, path: str, body: Any = None) -> Any:
        return self._control(self.planningpme, method, path, body)

    def records(self, kind: str) -> list[dict[str, Any]]:
        server = self.planfix if kind in ("tasks", "contacts") else self.planningpme
        return self._control(server, "GET", f"records/{kind}")  # type: ignore[no-any-return]

    def writes(self) -> dict[str, int]:
        return {
            "planfix": self.pf("GET", "stats")["writes"],
            "planningpme": self.pme("GET", "stats")["writes"],
        }

    def reset_stats(self) -> None:
        self.pf("POST", "stats/reset")
        self.pme("POST", "stats/reset")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    pf = EmulatorServer(create_app(PlanfixEmulatorConfig(rate=0, daily_quota=0))).start()
    pme = EmulatorServer(PlanningPmeEmulator(EmulatorOptions(hourly_limit=0)).app).start()
    w = World(pf, pme, tmp_path / "syncd.toml", httpx.Client(timeout=30))
    w.write_config()
    try:
        yield w
    finally:
        w.http.close()
        pf.stop()
        pme.stop()
