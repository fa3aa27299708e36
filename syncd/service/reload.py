"""Reloading the configuration on SIGHUP without a cycle ever mixing two configurations.

Everything built from one version of the config (settings, HTTP clients, pairs) is a
``Generation``, replaced whole. A new one is read and its credentials tried beside the old one; a
bad one is rejected and the old one kept. A good one waits until no cycle is in flight (cycles
stop after their current operation meanwhile), then takes over, its rate limiters going on from
the old ones' counts so that a reload frees no quota.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from pydantic import SecretStr

from mappings.spec import MappingSpec
from state.store import Store
from syncd.engine.pairs import Pair
from syncd.engine.planner import Side
from syncd.errors import AuthError, FatalRemoteError, RecordError, RemoteError, SyncdError
from syncd.logs import remember_secrets
from syncd.runtime import Remotes, build_pairs, load_mappings
from syncd.settings import Settings, load_settings

log = structlog.get_logger(__name__)


@dataclass
class Generation:
    """Everything built from one version of the config; replaced whole on reload."""

    settings: Settings
    remotes: Remotes
    pairs: dict[str, Pair]

    @classmethod
    def build(
        cls,
        settings: Settings,
        base_dir: Path,
        store: Store,
        remotes_factory: Callable[[Settings, list[MappingSpec]], Remotes],
    ) -> Generation:
        specs = load_mappings(settings, base_dir)
        remotes = remotes_factory(settings, specs)
        try:
            pairs = {p.name: p for p in build_pairs(settings, specs, remotes, store)}
        except BaseException:
            remotes.close()
            raise
        return cls(settings, remotes, pairs)

    def check(self) -> None:
        """Both systems answer to these credentials (raises the connector's error otherwise)."""
        for connector in self.remotes.by_entity.values():
            # A RecordError means the system answered; it only did not like the probe.
            with contextlib.suppress(RecordError):
                connector.get("0")


def read_new_config(config_path: Path | None, build: Callable[[Settings], Generation]) -> Generation | None:
    """The configuration the file now holds, built and its credentials tried; None when it is
    rejected (said in one log line, the caller keeps the one in force). A system that does not
    answer does not reject it: its credentials are then not checked."""
    if config_path is None:
        log.error("config.reload_rejected", error="started without a config file", kept="previous")
        return None
    try:
        settings = load_settings(config_path)
        remember_secrets(settings.secret_values())  # masked from now on, even if rejected below
        gen = build(settings)
    except SyncdError as exc:
        log.error("config.reload_rejected", error=str(exc), kept="the previous configuration")
        return None
    try:
        gen.check()
    except (AuthError, FatalRemoteError) as exc:
        gen.remotes.close()
        log.error("config.reload_rejected", error=str(exc), kept="the previous configuration")
        return None
    except RemoteError as exc:
        log.warning("config.reload_unverified", error=str(exc), note="credentials not checked")
    return gen


class Generations:
    """The generation in force, and the one waiting to take over once no cycle is in flight.
    Cycles ``enter`` (and wait while a reload takes over) and ``leave``."""

    def __init__(self, current: Generation) -> None:
        self.current = current
        self._cond = threading.Condition()
        self._active = 0
        self._pending: Generation | None = None
        self._pending_changes: list[str] = []

    @property
    def reloading(self) -> bool:
        """A new generation waits: cycles in flight should stop after their current operation."""
        return self._pending is not None

    def enter(self, stop: threading.Event) -> Generation | None:
        """Admit one cycle under the configuration in force; wait while a reload takes over.
        None once ``stop`` is set."""
        with self._cond:
            while self._pending is not None and not stop.is_set():
                self._cond.wait(timeout=0.5)
            if stop.is_set():
                return None
            self._active += 1
            return self.current

    def leave(self) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    def offer(self, gen: Generation, changes: list[str]) -> None:
        """``gen`` takes over at the next ``swap`` that finds no cycle in flight; one offered
        before and not yet taken over is dropped."""
        with self._cond:
            stale, self._pending = self._pending, gen
            self._pending_changes = changes
        if stale is not None:
            stale.remotes.close()

    def swap(self, adopt: Callable[[Generation], None]) -> bool:
        """Let the waiting generation take over if no cycle is in flight. ``adopt`` is called with
        it before any cycle can enter again (to follow its pairs and schedule)."""
        with self._cond:
            if self._pending is None or self._active:
                return False
            old, new, changes = self.current, self._pending, self._pending_changes
            self.current, self._pending = new, None
            carry_limits(old, new)
            adopt(new)
            self._cond.notify_all()
        old.remotes.close()
        log.info("config.reloaded", changes=changes or ["none"], mappings=sorted(new.pairs))
        return True

    def close(self) -> None:
        """Release the HTTP clients of both generations."""
        with self._cond:
            pending, self._pending = self._pending, None
            self._cond.notify_all()
        if pending is not None:
            pending.remotes.close()
        self.current.remotes.close()


def carry_limits(old: Generation, new: Generation) -> None:
    """A reload builds new limiters; those of an unchanged account go on from the old ones' counts
    (today's Planfix requests, the hour's PlanningPME budget), so a reload frees no quota."""
    same: dict[Side, bool] = {
        "planfix": (old.settings.planfix.url, old.settings.planfix.account)
        == (new.settings.planfix.url, new.settings.planfix.account),
        "planningpme": (old.settings.planningpme.url, old.settings.planningpme.brand)
        == (new.settings.planningpme.url, new.settings.planningpme.brand),
    }
    for side, unchanged in same.items():
        if unchanged:
            new.remotes.limiters[side].carry_over(old.remotes.limiters[side])


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def settings_changes(old: Settings, new: Settings) -> list[str]:
    """What a reload changes, for its log line; secret values never appear."""
    before, after = _flatten(old.model_dump()), _flatten(new.model_dump())
    changes: list[str] = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        if a == b:
            continue
        if isinstance(a, SecretStr) or isinstance(b, SecretStr):
            changes.append(f"{key}: changed (secret)")
        else:
            changes.append(f"{key}: {a} -> {b}")
    return changes
