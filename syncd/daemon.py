"""The long-lived service: scheduler, signals, sd_notify, backoff after outages, reload on SIGHUP.

Failure handling follows what the admin needs from a service that runs for months:
- a transient outage of either system fails the cycle softly and backs that pair off
  exponentially (capped); it recovers by itself;
- the quota reserve being reached pauses the pair until the quota resets, and says so;
- bad credentials or an unusable account stop the daemon with a clear line and exit code 3, so
  systemd shows the unit failed instead of retrying forever;
- SIGTERM/SIGINT finish the operation in flight, then exit 0; SIGHUP reloads config and mappings,
  keeping the old ones if the new ones are bad.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import structlog
from apscheduler.schedulers.background import BackgroundScheduler

from mappings.spec import MappingSpec
from state.store import Store
from syncd.cycle import Cycle, CycleResult
from syncd.errors import (
    AuthError,
    ConfigError,
    FatalRemoteError,
    GuardError,
    QuotaExhaustedError,
    RemoteError,
    StateError,
    SyncdError,
    TransientError,
)
from syncd.pairs import Pair
from syncd.runtime import Remotes, build_pairs, build_remotes, load_mappings, open_store, utc_now
from syncd.scheduler import build_scheduler, job_specs, run_now
from syncd.settings import Settings, load_settings, resolve_config_path
from syncd.systemd import Notifier, watchdog_interval

log = structlog.get_logger(__name__)

BACKOFF_BASE_S = 30.0
BACKOFF_CAP_S = 30 * 60.0
STUCK_AFTER_S = 2 * 3600.0
"""A cycle running longer than this means the scheduler is stuck: stop feeding the watchdog."""


@dataclass
class PairHealth:
    failures_in_a_row: int = 0
    paused_until: datetime | None = None
    last_summary: str = "not run yet"


@dataclass
class _Generation:
    """Everything built from one version of the config; replaced whole on reload."""

    settings: Settings
    remotes: Remotes
    pairs: dict[str, Pair]
    locks: dict[str, threading.Lock] = field(default_factory=dict)


class Daemon:
    def __init__(
        self,
        settings: Settings,
        base_dir: Path,
        config_path: Path | None,
        store: Store,
        notifier: Notifier | None = None,
        now: Callable[[], datetime] = utc_now,
        remotes_factory: Callable[[Settings, list[MappingSpec]], Remotes] = build_remotes,
    ) -> None:
        self.base_dir = base_dir
        self.config_path = config_path
        self.store = store
        self.notifier = notifier or Notifier()
        self.now = now
        self.remotes_factory = remotes_factory
        self.stop_event = threading.Event()
        self.reload_requested = threading.Event()
        self.fatal: SyncdError | None = None
        self.health: dict[str, PairHealth] = {}
        self.running_since: dict[str, float] = {}
        self.results: list[CycleResult] = []
        self._gen = self._build(settings)
        self._scheduler: BackgroundScheduler | None = None

    # -- building ------------------------------------------------------------------------

    def _build(self, settings: Settings) -> _Generation:
        specs = load_mappings(settings, self.base_dir)
        remotes = self.remotes_factory(settings, specs)
        pairs = {p.name: p for p in build_pairs(settings, specs, remotes, self.store)}
        for name in pairs:
            self.health.setdefault(name, PairHealth())
        return _Generation(settings, remotes, pairs, {name: threading.Lock() for name in pairs})

    # -- one job -------------------------------------------------------------------------

    def run_pair(self, name: str, full: bool) -> None:
        gen = self._gen
        pair = gen.pairs.get(name)
        if pair is None or self.stop_event.is_set():
            return
        health = self.health[name]
        if health.paused_until is not None and self.now() < health.paused_until:
            return
        from syncd.commands import cycle_options

        with gen.locks[name]:
            self.running_since[name] = time.monotonic()
            try:
                options = cycle_options(gen.settings, dry_run=False, force_delete=False, full=full)
                result = Cycle(self.store, pair, options, self.now, should_stop=self.stop_event.is_set).run()
                self.results.append(result)
                del self.results[:-20]
                health.failures_in_a_row = 0
                health.paused_until = None
                health.last_summary = _one_line(result)
                log.info("cycle.done", pair=name, full=full, summary=health.last_summary)
            except GuardError as exc:
                health.last_summary = f"stopped by the mass-delete guard: {exc}"
                log.error("cycle.guard", pair=name, error=str(exc))
            except (AuthError, FatalRemoteError, ConfigError, StateError) as exc:
                log.error("daemon.fatal", pair=name, error=str(exc))
                self.fatal = exc
                self.stop_event.set()
            except QuotaExhaustedError as exc:
                wait = exc.retry_after if exc.retry_after is not None else BACKOFF_CAP_S
                health.paused_until = self.now() + timedelta(seconds=wait)
                health.last_summary = (
                    f"quota reserve reached; writes stopped until {health.paused_until.isoformat()}"
                )
                log.warning(
                    "quota.reserve_reached",
                    pair=name,
                    error=str(exc),
                    resume_at=health.paused_until.isoformat(),
                )
            except (TransientError, RemoteError) as exc:
                self._back_off(name, health, str(exc))
            except Exception as exc:  # a bug must not kill a months-long service: log it and back off
                log.exception("cycle.crashed", pair=name)
                self._back_off(name, health, f"{type(exc).__name__}: {exc}")
            finally:
                self.running_since.pop(name, None)
        self.notifier.status(self.status_line())

    def _back_off(self, name: str, health: PairHealth, error: str) -> None:
        health.failures_in_a_row += 1
        wait = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (health.failures_in_a_row - 1))
        health.paused_until = self.now() + timedelta(seconds=wait)
        health.last_summary = f"failing ({health.failures_in_a_row}x): {error}; retry after {wait:.0f}s"
        log.warning("cycle.failed", pair=name, error=error, attempt=health.failures_in_a_row, retry_in_s=wait)

    def status_line(self) -> str:
        return "; ".join(f"{name}: {h.last_summary}" for name, h in self.health.items())

    def trigger(self, pair: str) -> bool:
        """Run ``pair``'s next incremental cycle now (used by the push endpoint)."""
        if self._scheduler is None:
            return False
        return run_now(self._scheduler, pair, self.now())

    # -- liveness ------------------------------------------------------------------------

    def alive(self) -> bool:
        if self._scheduler is None or not self._scheduler.running:
            return False
        now = time.monotonic()
        return all(now - since < STUCK_AFTER_S for since in self.running_since.values())

    # -- reload ----------------------------------------------------------------------------

    def reload(self) -> bool:
        if self.config_path is None:
            return False
        try:
            settings = load_settings(self.config_path)
            gen = self._build(settings)
        except SyncdError as exc:
            log.error("config.reload_rejected", error=str(exc), kept="the previous configuration")
            return False
        old = self._gen
        for lock in old.locks.values():
            lock.acquire()
        try:
            self._gen = gen
        finally:
            for lock in old.locks.values():
                lock.release()
        old.remotes.close()
        if self._scheduler is not None:
            self._schedule(self._scheduler)
        log.info("config.reloaded", mappings=sorted(gen.pairs))
        return True

    # -- the loop --------------------------------------------------------------------------

    def _schedule(self, sched: BackgroundScheduler) -> None:
        gen = self._gen
        for job in sched.get_jobs():
            if job.id.split(":")[0] not in gen.pairs:
                job.remove()
        specs = job_specs(
            [(name, p.mapper.spec.planfix_entity) for name, p in gen.pairs.items()],
            gen.settings.schedule,
            self.now(),
        )
        build_scheduler(specs, self.run_pair, gen.settings.schedule.jitter, sched)
        sched.add_job(
            self.run_all, id="startup", name="startup", next_run_time=self.now(), replace_existing=True
        )

    def run_all(self) -> None:
        """Every pair once, contacts before tasks, so a task's client is linked before the task."""
        for name in list(self._gen.pairs):
            self.run_pair(name, False)

    def check_remotes(self) -> None:
        """Both systems must answer before READY=1: a wrong secret fails here, at start."""
        for connector in self._gen.remotes.by_entity.values():
            connector.get("0")

    def serve(self, tick_s: float = 1.0) -> int:
        self.check_remotes()
        sched = BackgroundScheduler(timezone="UTC")
        self._scheduler = sched
        self._schedule(sched)
        sched.start()
        self.notifier.ready("running; first cycles starting")
        log.info("daemon.started", mappings=sorted(self._gen.pairs))
        watchdog_every = watchdog_interval()
        last_ping = 0.0
        try:
            while not self.stop_event.wait(timeout=tick_s):
                if self.reload_requested.is_set():
                    self.reload_requested.clear()
                    self.reload()
                if (
                    watchdog_every is not None
                    and time.monotonic() - last_ping >= watchdog_every
                    and self.alive()
                ):
                    self.notifier.watchdog()
                    last_ping = time.monotonic()
        finally:
            self.notifier.stopping()
            log.info("daemon.stopping")
            sched.shutdown(wait=True)
            self._gen.remotes.close()
        if self.fatal is not None:
            return self.fatal.exit_code
        return 0

    def install_signal_handlers(self) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            log.info("daemon.signal", signal=signal.Signals(signum).name)
            self.stop_event.set()

        def hup(signum: int, frame: FrameType | None) -> None:
            self.reload_requested.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, hup)


def _one_line(result: CycleResult) -> str:
    counts: dict[str, int] = {}
    ops = result.applied.done if result.applied else []
    for op in ops:
        if op.writes or op.kind in ("link", "conflict"):
            counts[op.kind] = counts.get(op.kind, 0) + 1
    done = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no changes"
    failed = f", {result.failed} failed" if result.failed else ""
    return f"{done}{failed} at {result.started_at.strftime('%H:%M:%S')}"


def run_daemon(settings: Settings, base_dir: Path, args: argparse.Namespace) -> int:
    config_path = resolve_config_path(getattr(args, "config", None))
    with open_store(settings.state.path) as store:
        daemon = Daemon(settings, base_dir, config_path, store)
        daemon.install_signal_handlers()
        try:
            return daemon.serve()
        except (AuthError, FatalRemoteError) as exc:
            log.error("daemon.fatal", error=str(exc))
            raise


__all__: list[Any] = ["Daemon", "run_daemon"]
