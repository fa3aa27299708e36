"""The long-lived service: runs the pairs' cycles on a schedule until stopped.

Failure handling follows what the admin needs from a service that runs for months:
- a transient outage of either system fails the cycle softly and backs that pair off
  exponentially (capped); it recovers by itself and says so (``health``, ``backoff``);
- the quota reserve being reached pauses the pair until the quota resets, and says so;
- bad credentials or an unusable account stop the daemon with one clear log line and exit code 3,
  so systemd shows the unit failed instead of retrying forever; READY=1 is sent only once both
  systems have answered (``startup``);
- SIGTERM/SIGINT let each cycle finish the operation in flight (every operation is its own
  transaction with the intent journal), then exit 0; SIGHUP reloads config and mappings: a bad
  new config is rejected and the old one kept, a good one takes over once the cycles in flight
  have finished their current operation, so no cycle ever mixes two configurations (``reload``);
- the watchdog is fed only while the scheduler still runs jobs (a heartbeat job) and no cycle has
  gone without sending a request for hours, so a hung daemon is restarted by systemd
  (``liveness``).

This module ties those parts together: the Daemon owns the threads, the scheduler and the main
loop. Signal handlers only set flags (``signals``); all logging happens in the main loop.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from apscheduler.schedulers.base import BaseScheduler

from mappings.spec import MappingSpec
from state.store import Store
from syncd.engine.cycle import Cycle, CycleResult
from syncd.engine.pairs import Pair
from syncd.errors import (
    AuthError,
    ConfigError,
    FatalRemoteError,
    GuardError,
    QuotaExhaustedError,
    RemoteError,
    StateError,
    SyncdError,
)
from syncd.push.endpoint import PushServer, create_push_app, push_limits
from syncd.runtime import Remotes, build_remotes, cycle_options, open_store, utc_now
from syncd.service.background import background_scheduler, bridge_scheduler_logs
from syncd.service.health import PairHealth, cycle_done, quota_reached, rest, status_line
from syncd.service.history import prune_old_history, put_prune_job
from syncd.service.liveness import HEARTBEAT_EVERY_S, Liveness, Watchdog
from syncd.service.push_trigger import PushRuns
from syncd.service.reload import Generation, Generations, read_new_config, settings_changes
from syncd.service.scheduler import CycleJobs, Heartbeat, add_heartbeat, add_startup_job
from syncd.service.signals import install_signal_handlers
from syncd.service.startup import await_remotes
from syncd.service.systemd import Notifier, watchdog_interval
from syncd.settings import Settings, resolve_config_path

log = structlog.get_logger(__name__)

KEEP_RESULTS = 20


class Daemon:
    """The service. Jobs run in APScheduler's worker threads; the main thread only ticks (reload,
    liveness, watchdog) and handles signals, so it stays responsive whatever a cycle does."""

    def __init__(
        self,
        settings: Settings,
        base_dir: Path,
        config_path: Path | None,
        store: Store,
        notifier: Notifier | None = None,
        now: Callable[[], datetime] = utc_now,
        remotes_factory: Callable[[Settings, list[MappingSpec]], Remotes] = build_remotes,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        scheduler_factory: Callable[[], BaseScheduler] = background_scheduler,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.base_dir = base_dir
        self.config_path = config_path
        self.store = store
        self.env = env
        self.notifier = notifier or Notifier(env)
        self.now = now
        self.monotonic = monotonic
        self.remotes_factory = remotes_factory
        self.scheduler_factory = scheduler_factory
        self.stop_event = threading.Event()
        self.reload_requested = threading.Event()
        self.fatal: SyncdError | None = None
        self.health: dict[str, PairHealth] = {}
        self.running_since: dict[str, float] = {}
        self.results: deque[CycleResult] = deque(maxlen=KEEP_RESULTS)
        self.heartbeat = Heartbeat(monotonic)
        self._locks: dict[str, threading.Lock] = {}
        self._cycle_jobs = CycleJobs()
        self._signal: str | None = None
        self._reloader: threading.Thread | None = None
        self._scheduler: BaseScheduler | None = None
        self._watchdog = Watchdog(self.notifier, watchdog_interval(env), monotonic)
        self._liveness = Liveness(self.heartbeat, self._watchdog, monotonic)
        self._push = PushRuns(
            lambda: self._scheduler,
            self._run_pushed,
            lambda: self.settings.push.debounce,
            now,
            self.stop_event,
        )
        self._gens = Generations(self._build(settings))
        self._adopt(self._gens.current)

    # -- the configuration in force ---------------------------------------------------------

    def _build(self, settings: Settings) -> Generation:
        return Generation.build(settings, self.base_dir, self.store, self.remotes_factory)

    def _adopt(self, gen: Generation) -> None:
        for name in gen.pairs:
            self.health.setdefault(name, PairHealth())
            self._locks.setdefault(name, threading.Lock())
        for name in [n for n in self.health if n not in gen.pairs]:
            del self.health[name]

    @property
    def generation(self) -> Generation:
        """Everything built from the configuration in force."""
        return self._gens.current

    @property
    def settings(self) -> Settings:
        return self._gens.current.settings

    @property
    def pairs(self) -> dict[str, Pair]:
        """The pairs of the configuration in force, contacts before tasks."""
        return dict(self._gens.current.pairs)

    # -- one job -------------------------------------------------------------------------

    def run_pair(self, name: str, full: bool, pushed_only: bool = False) -> None:
        """One cycle of ``name``. Never raises: a months-long service logs and backs off instead.

        Cycles of the same pair are serialised by the pair's lock (an incremental cycle that falls
        due while the full scan runs waits for it); other pairs run side by side."""
        lock = self._locks.get(name)
        if lock is None or self.stop_event.is_set():
            return
        with lock:
            gen = self._gens.enter(self.stop_event)
            if gen is None:
                return
            try:
                ran = self._run_locked(gen, name, full, pushed_only)
            finally:
                self._gens.leave()
                self._try_swap()
        if ran and not self.stop_event.is_set():
            self.notifier.status(self.status_line())

    def _run_locked(self, gen: Generation, name: str, full: bool, pushed_only: bool = False) -> bool:
        pair = gen.pairs.get(name)
        health = self.health.get(name)
        if pair is None or health is None:
            return False
        if health.paused_until is not None and self.now() < health.paused_until:
            log.debug("cycle.skipped", pair=name, paused_for=health.paused_for)
            return False
        self.running_since[name] = self.monotonic()
        log.debug("cycle.started", pair=name, full=full, pushed_only=pushed_only)
        try:
            options = cycle_options(gen.settings, dry_run=False, force_delete=False, full=full)
            options = replace(options, pushed_only=pushed_only)
            result = Cycle(self.store, pair, options, self.now, should_stop=self._should_yield).run()
        except GuardError as exc:
            log.error("cycle.guard", pair=name, error=str(exc))
            rest(name, health, "guard", f"stopped by the mass-delete guard: {exc}", self.now())
        except (AuthError, FatalRemoteError, ConfigError, StateError) as exc:
            self._fatal(exc, pair=name)
        except QuotaExhaustedError as exc:
            quota_reached(name, health, exc, self.now())
        except RemoteError as exc:
            rest(name, health, "outage", str(exc), self.now())
        except Exception as exc:  # a bug must not kill a months-long service: log it and back off
            log.exception("cycle.crashed", pair=name)
            rest(name, health, "outage", f"{type(exc).__name__}: {exc}", self.now())
        else:
            self.results.append(_slim(result))
            cycle_done(name, health, result, full, stopping=self._should_yield, now=self.now)
        finally:
            self.running_since.pop(name, None)
        return True

    def _fatal(self, exc: SyncdError, **context: Any) -> None:
        if self.fatal is None:
            self.fatal = exc
            log.error("daemon.fatal", error=str(exc), exit_code=exc.exit_code, **context)
        self.stop_event.set()

    def _should_yield(self) -> bool:
        """Cycles stop after their operation in flight when the daemon stops or reloads."""
        return self.stop_event.is_set() or self._gens.reloading

    def status_line(self) -> str:
        return status_line(self.health)

    def contact_changed(self, contact_id: str) -> None:
        """A pushed contact change is queued: the contact mappings run a push-only cycle (reading
        just the pushed contacts) ``push.debounce`` later (see ``push_trigger``)."""
        self._push.contact_changed(contact_id)

    def _run_pushed(self) -> None:
        if self.store.pending_pushed_changes(limit=1):  # else a scheduled cycle took them
            for name, pair in self.pairs.items():
                if pair.mapper.spec.planfix_entity == "contact":
                    self.run_pair(name, False, pushed_only=True)

    # -- reload ----------------------------------------------------------------------------

    def reload(self) -> bool:
        """Read the config file and mappings again. A bad config is rejected (one log line) and
        the old one kept; a good one takes over once the cycles in flight have finished their
        current operation. New credentials are tried first: rejected ones are a bad config."""
        gen = read_new_config(self.config_path, self._build)
        if gen is None:
            return False
        changes = settings_changes(self.settings, gen.settings)
        # Said before it takes effect, so the log reads in the order things happen.
        log.info("config.reload_accepted", waiting_for=sorted(self.running_since))
        self._gens.offer(gen, changes)
        self._try_swap()
        return True

    def _reload_safely(self) -> None:
        try:
            self.reload()
        except Exception:  # a reload must never take the service down
            log.exception("config.reload_rejected", kept="the previous configuration")

    def _try_swap(self) -> bool:
        return self._gens.swap(self._take_over)

    def _take_over(self, gen: Generation) -> None:
        self._adopt(gen)
        if self._scheduler is not None:
            self.schedule(self._scheduler, initial=False)

    # -- liveness ------------------------------------------------------------------------

    def alive(self) -> bool:
        """The scheduler still runs jobs, and no cycle has gone without a request for hours."""
        running = self._scheduler is not None and bool(self._scheduler.running)
        return self._liveness.alive(running, self.running_since)

    # -- the loop --------------------------------------------------------------------------

    def schedule(self, sched: BaseScheduler, initial: bool = True) -> None:
        """Put the jobs of the configuration in force on ``sched``. On reload only jobs whose
        interval changed are replaced (the others keep their next run), and jobs of pairs that
        are gone are removed; a new pair runs at once."""
        gen = self._gens.current
        now = self.now()
        pairs: list[tuple[str, str]] = [(name, p.mapper.spec.planfix_entity) for name, p in gen.pairs.items()]
        self._cycle_jobs.put(sched, pairs, gen.settings.schedule, self.run_pair, now, initial)
        if initial:
            add_startup_job(sched, self.run_all, now)
            add_heartbeat(sched, self.heartbeat, HEARTBEAT_EVERY_S, now)
        put_prune_job(sched, self.prune_history, gen.settings.state.keep_history, now)

    def prune_history(self) -> None:
        """Delete history older than ``[state] keep_history`` (the setting in force, so a reload
        changes it), batch by batch between cycles' writes. A failure waits for the next hour."""
        prune_old_history(self.store, timedelta(seconds=self.settings.state.keep_history), self.now())

    def start_scheduler(self) -> BaseScheduler:
        """Create the scheduler, put the jobs on it and start it (``serve`` does this after both
        systems answered)."""
        bridge_scheduler_logs()
        sched = self.scheduler_factory()
        self.schedule(sched, initial=True)
        sched.start()
        self._scheduler = sched
        return sched

    def run_all(self) -> None:
        """Every pair once, contacts before tasks, so a task's client is linked before the task."""
        for name in list(self._gens.current.pairs):
            self.run_pair(name, False)

    def check_remotes(self) -> None:
        """Both systems must answer before READY=1: a wrong secret fails here, at start."""
        self._gens.current.check()

    def tick(self) -> None:
        """One turn of the main loop: start a requested reload, let an accepted one take over,
        track progress, feed the watchdog while alive."""
        if self.reload_requested.is_set() and (self._reloader is None or not self._reloader.is_alive()):
            self.reload_requested.clear()
            log.info("config.reload_requested", signal="SIGHUP")
            self._reloader = threading.Thread(target=self._reload_safely, name="syncd-reload", daemon=True)
            self._reloader.start()
        self._try_swap()
        self._liveness.note_progress(sum(self._gens.current.remotes.requests().values()))
        self._liveness.judge(self.alive(), sorted(self.running_since))

    def serve(self, tick_s: float = 1.0) -> int:
        """Run until stopped; the process exit code (0, or the fatal error's)."""
        try:
            started = await_remotes(
                self.check_remotes, self.stop_event, self.notifier, self._watchdog, self.monotonic, tick_s
            )
        except SyncdError as exc:
            self._fatal(exc, phase="start")
            self.notifier.status(f"stopped: {exc}")
            self.close()
            return exc.exit_code
        if not started:
            self.notifier.stopping()
            self.close()
            log.info("daemon.stopped", signal=self._signal, exit_code=0)
            return 0
        sched = self.start_scheduler()
        self.notifier.ready("running; first cycles starting")
        schedule = self.settings.schedule
        log.info(
            "daemon.started",
            mappings=sorted(self._gens.current.pairs),
            tasks_every_s=schedule.tasks_every,
            contacts_every_s=schedule.contacts_every,
            full_scan_every_s=schedule.full_scan_every,
        )
        try:
            while not self.stop_event.wait(timeout=tick_s):
                try:
                    self.tick()
                except Exception:  # keep serving; a tick that keeps failing starves the watchdog
                    log.exception("daemon.tick_failed")
        finally:
            running = sorted(self.running_since)
            log.info("daemon.stopping", signal=self._signal, running=running)
            waiting = f"; finishing the operation in flight of {', '.join(running)}" if running else ""
            self.notifier.notify(f"STATUS=stopping{waiting}", "STOPPING=1")
            sched.shutdown(wait=True)
            self.close()
        code = self.fatal.exit_code if self.fatal is not None else 0
        log.info("daemon.stopped", exit_code=code)
        return code

    def close(self) -> None:
        """Release the HTTP clients (the store belongs to the caller)."""
        self._gens.close()

    def install_signal_handlers(self) -> None:
        install_signal_handlers(self._stop_by_signal, self.reload_requested.set)

    def _stop_by_signal(self, name: str) -> None:
        self._signal = name
        self.stop_event.set()


def _slim(result: CycleResult) -> CycleResult:
    """The result without the records read: kept results must not hold whole listings."""
    return replace(
        result,
        listings={side: replace(lst, records=(), deleted=()) for side, lst in result.listings.items()},
    )


def run_daemon(settings: Settings, base_dir: Path, args: argparse.Namespace) -> int:
    config_path = resolve_config_path(getattr(args, "config", None))
    with open_store(settings.state.path) as store:
        daemon = Daemon(settings, base_dir, config_path, store)
        daemon.install_signal_handlers()
        if not settings.push.enabled:
            return daemon.serve()
        # The endpoint shares the daemon's store (one writer) and its settings are read at start:
        # changing [push] needs a restart, not a reload.
        app = create_push_app(store, settings.push, daemon.contact_changed, utc_now)
        with PushServer(app, settings.push.listen, push_limits(settings.push, app)):
            log.info("push.listening", listen=settings.push.listen)
            return daemon.serve()


__all__ = ["Daemon", "run_daemon"]
