"""The long-lived service: scheduler, signals, sd_notify, backoff after outages, reload on SIGHUP.

Failure handling follows what the admin needs from a service that runs for months:
- a transient outage of either system fails the cycle softly and backs that pair off
  exponentially (capped); it recovers by itself and says so;
- the quota reserve being reached pauses the pair until the quota resets, and says so;
- bad credentials or an unusable account stop the daemon with one clear log line and exit code 3,
  so systemd shows the unit failed instead of retrying forever; READY=1 is sent only once both
  systems have answered;
- SIGTERM/SIGINT let each cycle finish the operation in flight (every operation is its own
  transaction with the intent journal), then exit 0; SIGHUP reloads config and mappings: a bad
  new config is rejected and the old one kept, a good one takes over once the cycles in flight
  have finished their current operation, so no cycle ever mixes two configurations;
- the watchdog is fed only while the scheduler still runs jobs (a heartbeat job) and no cycle has
  gone without sending a request for hours, so a hung daemon is restarted by systemd.

Signal handlers only set flags; all logging happens in the main loop, never inside a handler.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import SecretStr

from mappings.spec import MappingSpec
from state.errors import StateFileError
from state.store import Store
from syncd.engine.cycle import Cycle, CycleResult
from syncd.engine.pairs import Pair
from syncd.engine.planner import Side
from syncd.errors import (
    AuthError,
    ConfigError,
    FatalRemoteError,
    GuardError,
    QuotaExhaustedError,
    RecordError,
    RemoteError,
    StateError,
    SyncdError,
)
from syncd.logs import remember_secrets
from syncd.push.endpoint import PushServer, create_push_app, push_limits
from syncd.runtime import (
    Remotes,
    build_pairs,
    build_remotes,
    cycle_options,
    load_mappings,
    open_store,
    utc_now,
)
from syncd.service.scheduler import (
    Heartbeat,
    add_heartbeat,
    add_startup_job,
    build_scheduler,
    job_specs,
    pair_of,
)
from syncd.service.systemd import Notifier, watchdog_interval
from syncd.settings import Settings, load_settings, resolve_config_path

log = structlog.get_logger(__name__)

BACKOFF_BASE_S = 30.0
BACKOFF_CAP_S = 30 * 60.0
STARTUP_RETRY_BASE_S = 5.0
"""First wait when a system does not answer at start (doubling, up to ``BACKOFF_CAP_S``)."""
STUCK_AFTER_S = 2 * 3600.0
"""A cycle that has not sent a single request for this long is stuck. Long enough for a healthy
cycle that waits for the PlanningPME hourly budget, short enough to be restarted the same day."""
HEARTBEAT_EVERY_S = 5.0
HEARTBEAT_STALE_S = 60.0
"""The heartbeat job has not run for this long: the scheduler thread or its worker pool is stuck."""
KEEP_RESULTS = 20
PUSH_JOB = "push"
"""Prefix of the one-off jobs of push-triggered runs. Each run has an id of its own: APScheduler
removes a fired one-off job by id after submitting it, which could take a follow-up with it. No
``:`` in the id: these jobs belong to no pair's schedule, and a reload leaves them alone."""
PRUNE_JOB = "prune-history"
PRUNE_EVERY_S = 3600.0
"""History older than ``[state] keep_history`` is pruned hourly (a quarter of it, if that is
shorter): each run then deletes little."""


def backoff(failures_in_a_row: int, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S) -> float:
    """How long a failing pair rests: ``base``, twice that, four times … never more than ``cap``."""
    if failures_in_a_row < 1:
        return 0.0
    return min(cap, base * 2.0 ** min(failures_in_a_row - 1, 32))


@dataclass
class PairHealth:
    """How one pair is doing; feeds STATUS=, ``status_line`` and the soak report."""

    failures_in_a_row: int = 0
    paused_until: datetime | None = None
    paused_for: str | None = None
    """Why the pair rests: ``outage``, ``quota`` or ``guard``."""
    last_summary: str = "not run yet"
    cycles: int = 0
    failed_cycles: int = 0


@dataclass
class _Generation:
    """Everything built from one version of the config; replaced whole on reload."""

    settings: Settings
    remotes: Remotes
    pairs: dict[str, Pair]


class _Watchdog:
    """Sends WATCHDOG=1 at half systemd's timeout, and only while the daemon is alive."""

    def __init__(self, notifier: Notifier, every_s: float | None, monotonic: Callable[[], float]) -> None:
        self.notifier = notifier
        self.every_s = every_s
        self.monotonic = monotonic
        self._last: float | None = None

    def maybe_ping(self, alive: bool) -> None:
        if self.every_s is None or not alive:
            return
        now = self.monotonic()
        if self._last is None or now - self._last >= self.every_s:
            self.notifier.watchdog()
            self._last = now


class _SchedulerLogBridge(logging.Handler):
    """APScheduler logs through the standard library; its warnings (e.g. "skipped: maximum number
    of running instances reached" while a long cycle of that pair still runs) join syncd's
    structured log, so the journal holds JSON lines only."""

    def emit(self, record: logging.LogRecord) -> None:
        say = log.error if record.levelno >= logging.ERROR else log.warning
        say("scheduler.said", message=record.getMessage(), logger=record.name)


def _bridge_scheduler_logs() -> None:
    logger = logging.getLogger("apscheduler")
    if not any(isinstance(h, _SchedulerLogBridge) for h in logger.handlers):
        logger.addHandler(_SchedulerLogBridge(logging.WARNING))
        logger.setLevel(logging.WARNING)
        logger.propagate = False


def _background_scheduler() -> BaseScheduler:
    return BackgroundScheduler(timezone="UTC")


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
        scheduler_factory: Callable[[], BaseScheduler] = _background_scheduler,
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
        self._cond = threading.Condition()
        self._active = 0
        self._pending: _Generation | None = None
        self._pending_changes: list[str] = []
        self._locks: dict[str, threading.Lock] = {}
        self._scheduled: dict[str, tuple[float, float]] = {}
        self._requests_seen = -1
        self._progress_at = monotonic()
        self._stuck_logged = False
        self._signal: str | None = None
        self._reloader: threading.Thread | None = None
        self._scheduler: BaseScheduler | None = None
        self._push_lock = threading.Lock()
        self._push_busy = False
        """A push-triggered run is scheduled or running."""
        self._push_dirty = False
        """A push arrived that the push-triggered runs so far may not have read."""
        self._push_runs = itertools.count(1)
        self._watchdog = _Watchdog(self.notifier, watchdog_interval(env), monotonic)
        self._gen = self._build(settings)
        self._adopt(self._gen)

    # -- building ------------------------------------------------------------------------

    def _build(self, settings: Settings) -> _Generation:
        specs = load_mappings(settings, self.base_dir)
        remotes = self.remotes_factory(settings, specs)
        try:
            pairs = {p.name: p for p in build_pairs(settings, specs, remotes, self.store)}
        except BaseException:
            remotes.close()
            raise
        return _Generation(settings, remotes, pairs)

    def _adopt(self, gen: _Generation) -> None:
        for name in gen.pairs:
            self.health.setdefault(name, PairHealth())
            self._locks.setdefault(name, threading.Lock())
        for name in [n for n in self.health if n not in gen.pairs]:
            del self.health[name]

    @property
    def settings(self) -> Settings:
        return self._gen.settings

    @property
    def pairs(self) -> dict[str, Pair]:
        """The pairs of the configuration in force, contacts before tasks."""
        return dict(self._gen.pairs)

    # -- one job -------------------------------------------------------------------------

    def run_pair(self, name: str, full: bool, pushed_only: bool = False) -> None:
        """One cycle of ``name``. Never raises: a months-long service logs and backs off instead.

        Cycles of the same pair are serialised by the pair's lock (an incremental cycle that falls
        due while the full scan runs waits for it); other pairs run side by side."""
        lock = self._locks.get(name)
        if lock is None or self.stop_event.is_set():
            return
        with lock:
            gen = self._enter()
            if gen is None:
                return
            try:
                ran = self._run_locked(gen, name, full, pushed_only)
            finally:
                self._leave()
        if ran and not self.stop_event.is_set():
            self.notifier.status(self.status_line())

    def _run_locked(self, gen: _Generation, name: str, full: bool, pushed_only: bool = False) -> bool:
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
            self._rest(name, health, "guard", f"stopped by the mass-delete guard: {exc}")
        except (AuthError, FatalRemoteError, ConfigError, StateError) as exc:
            self._fatal(exc, pair=name)
        except QuotaExhaustedError as exc:
            self._quota_reached(name, health, exc)
        except RemoteError as exc:
            self._rest(name, health, "outage", str(exc))
        except Exception as exc:  # a bug must not kill a months-long service: log it and back off
            log.exception("cycle.crashed", pair=name)
            self._rest(name, health, "outage", f"{type(exc).__name__}: {exc}")
        else:
            self._done(name, health, result, full)
        finally:
            self.running_since.pop(name, None)
        return True

    def _done(self, name: str, health: PairHealth, result: CycleResult, full: bool) -> None:
        self.results.append(_slim(result))
        health.cycles += 1
        aborted = result.applied.aborted if result.applied is not None else None
        if aborted is not None and not self._should_yield():
            # The applier gave up after several transient failures in a row: the remote went away.
            self._rest(name, health, "outage", aborted)
            return
        was = health.paused_for
        attempts = health.failures_in_a_row
        health.failures_in_a_row = 0
        health.paused_until = None
        health.paused_for = None
        health.last_summary = _one_line(result)
        if aborted is not None:
            health.last_summary = f"stopped after the operation in flight ({health.last_summary})"
            log.info("cycle.interrupted", pair=name, reason=aborted)
            return
        if was == "quota":
            log.info("quota.resumed", pair=name)
        elif was is not None:
            log.info("cycle.recovered", pair=name, after_failures=attempts, was=was)
        log.info("cycle.done", pair=name, full=full, summary=health.last_summary, failed=result.failed)

    def _rest(self, name: str, health: PairHealth, why: str, error: str) -> None:
        """Soft failure: the pair rests for an exponentially growing, capped time."""
        health.cycles += 1
        health.failed_cycles += 1
        health.failures_in_a_row += 1
        wait = backoff(health.failures_in_a_row)
        health.paused_until = self.now() + timedelta(seconds=wait)
        health.paused_for = why
        health.last_summary = f"failing ({health.failures_in_a_row}x): {error}; retry in {wait:.0f}s"
        log.warning(
            "cycle.failed",
            pair=name,
            reason=why,
            error=error,
            attempt=health.failures_in_a_row,
            retry_in_s=wait,
        )

    def _quota_reached(self, name: str, health: PairHealth, exc: QuotaExhaustedError) -> None:
        wait = exc.retry_after if exc.retry_after is not None else BACKOFF_CAP_S
        health.cycles += 1
        health.paused_until = self.now() + timedelta(seconds=wait)
        health.paused_for = "quota"
        resume = health.paused_until.isoformat(timespec="seconds")
        health.last_summary = f"quota reserve reached: no writes (nor reads) until {resume}"
        log.warning(
            "quota.reserve_reached",
            pair=name,
            system=exc.system,
            error=str(exc),
            resume_at=resume,
            note="the reserve is left for people's own scripts; syncd resumes after the reset",
        )

    def _fatal(self, exc: SyncdError, **context: Any) -> None:
        if self.fatal is None:
            self.fatal = exc
            log.error("daemon.fatal", error=str(exc), exit_code=exc.exit_code, **context)
        self.stop_event.set()

    def status_line(self) -> str:
        return "; ".join(f"{name}: {h.last_summary}" for name, h in list(self.health.items()))

    def contact_changed(self, contact_id: str) -> None:
        """A pushed contact change is queued: the contact mappings run a push-only cycle (reading
        just the pushed contacts) ``push.debounce`` later. Pushes within that delay share the run;
        a push that arrives while the run is going on gets a follow-up run."""
        log.info("push.queued", contact=contact_id)
        with self._push_lock:
            self._push_dirty = True
            if not self._push_busy:
                self._push_busy = self._schedule_push_run()

    def _schedule_push_run(self) -> bool:
        if self._scheduler is None:
            return False  # not started: the start-up pass reads the queue anyway
        self._scheduler.add_job(
            self._run_pushed,
            "date",
            run_date=self.now() + timedelta(seconds=self.settings.push.debounce),
            id=f"{PUSH_JOB}-{next(self._push_runs)}",
            name=PUSH_JOB,
            misfire_grace_time=None,
        )
        return True

    def _run_pushed(self) -> None:
        with self._push_lock:
            self._push_dirty = False  # what arrives from now on may be missed by this run
        try:
            if self.store.pending_pushed_changes(limit=1):  # else a scheduled cycle took them
                for name, pair in self.pairs.items():
                    if pair.mapper.spec.planfix_entity == "contact":
                        self.run_pair(name, False, pushed_only=True)
        finally:
            with self._push_lock:
                follow_up = self._push_dirty and not self.stop_event.is_set()
                self._push_busy = follow_up and self._schedule_push_run()

    # -- generations: cycles never mix two configurations -----------------------------------

    def _enter(self) -> _Generation | None:
        """Admit one cycle under the configuration in force; wait while a reload takes over."""
        with self._cond:
            while self._pending is not None and not self.stop_event.is_set():
                self._cond.wait(timeout=0.5)
            if self.stop_event.is_set():
                return None
            self._active += 1
            return self._gen

    def _leave(self) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()
        self._try_swap()

    def _should_yield(self) -> bool:
        """Cycles stop after their operation in flight when the daemon stops or reloads."""
        return self.stop_event.is_set() or self._pending is not None

    def _try_swap(self) -> bool:
        with self._cond:
            if self._pending is None or self._active:
                return False
            old, new, changes = self._gen, self._pending, self._pending_changes
            self._gen, self._pending = new, None
            _carry_limits(old, new)
            self._adopt(new)
            if self._scheduler is not None:
                self.schedule(self._scheduler, initial=False)
            self._cond.notify_all()
        old.remotes.close()
        log.info("config.reloaded", changes=changes or ["none"], mappings=sorted(new.pairs))
        return True

    # -- liveness ------------------------------------------------------------------------

    def alive(self) -> bool:
        """The scheduler still runs jobs, and no cycle has gone without a request for hours."""
        if self._scheduler is None or not self._scheduler.running:
            return False
        if not self.heartbeat.fresh(HEARTBEAT_STALE_S):
            return False
        now = self.monotonic()
        return all(
            now - max(since, self._progress_at) < STUCK_AFTER_S for since in list(self.running_since.values())
        )

    def _note_progress(self) -> None:
        total = sum(self._gen.remotes.requests().values())
        if total != self._requests_seen:
            self._requests_seen = total
            self._progress_at = self.monotonic()

    # -- reload ----------------------------------------------------------------------------

    def reload(self) -> bool:
        """Read the config file and mappings again. A bad config is rejected (one log line) and
        the old one kept; a good one takes over once the cycles in flight have finished their
        current operation. New credentials are tried first: rejected ones are a bad config."""
        if self.config_path is None:
            log.error("config.reload_rejected", error="started without a config file", kept="previous")
            return False
        try:
            settings = load_settings(self.config_path)
            remember_secrets(settings.secret_values())  # masked from now on, even if rejected below
            gen = self._build(settings)
        except SyncdError as exc:
            log.error("config.reload_rejected", error=str(exc), kept="the previous configuration")
            return False
        try:
            self._check(gen)
        except (AuthError, FatalRemoteError) as exc:
            gen.remotes.close()
            log.error("config.reload_rejected", error=str(exc), kept="the previous configuration")
            return False
        except RemoteError as exc:
            log.warning("config.reload_unverified", error=str(exc), note="credentials not checked")
        changes = settings_changes(self._gen.settings, settings)
        # Said before it takes effect, so the log reads in the order things happen.
        log.info("config.reload_accepted", waiting_for=sorted(self.running_since))
        with self._cond:
            stale, self._pending = self._pending, gen
            self._pending_changes = changes
        if stale is not None:
            stale.remotes.close()
        self._try_swap()
        return True

    def _reload_safely(self) -> None:
        try:
            self.reload()
        except Exception:  # a reload must never take the service down
            log.exception("config.reload_rejected", kept="the previous configuration")

    # -- the loop --------------------------------------------------------------------------

    def schedule(self, sched: BaseScheduler, initial: bool = True) -> None:
        """Put the jobs of the configuration in force on ``sched``. On reload only jobs whose
        interval changed are replaced (the others keep their next run), and jobs of pairs that
        are gone are removed; a new pair runs at once."""
        gen = self._gen
        now = self.now()
        schedule = gen.settings.schedule
        specs = job_specs(
            [(name, p.mapper.spec.planfix_entity) for name, p in gen.pairs.items()], schedule, now
        )
        wanted = {s.job_id: (s.every_s, schedule.jitter) for s in specs}
        for job in sched.get_jobs():
            if pair_of(job.id) is not None and job.id not in wanted:
                job.remove()
        known = {pair_of(job_id) for job_id in self._scheduled}
        changed = [s for s in specs if initial or self._scheduled.get(s.job_id) != wanted[s.job_id]]
        changed = [
            replace(s, first_run=now) if not initial and not s.full and s.pair not in known else s
            for s in changed
        ]
        build_scheduler(changed, self.run_pair, schedule.jitter, sched)
        self._scheduled = wanted
        if initial:
            add_startup_job(sched, self.run_all, now)
            add_heartbeat(sched, self.heartbeat, HEARTBEAT_EVERY_S, now)
        prune_every = timedelta(seconds=min(PRUNE_EVERY_S, gen.settings.state.keep_history / 4))
        job = sched.get_job(PRUNE_JOB)
        if job is None or job.trigger.interval != prune_every:
            sched.add_job(
                self.prune_history,
                trigger=IntervalTrigger(seconds=prune_every.total_seconds(), timezone="UTC"),
                id=PRUNE_JOB,
                name=PRUNE_JOB,
                next_run_time=now + prune_every / 60,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
                replace_existing=True,
            )

    def prune_history(self) -> None:
        """Delete history older than ``[state] keep_history`` (the setting in force, so a reload
        changes it), batch by batch between cycles' writes. A failure waits for the next hour."""
        keep = timedelta(seconds=self._gen.settings.state.keep_history)
        try:
            deleted = self.store.prune_history(self.now() - keep)
        except StateFileError as exc:
            log.error("history.prune_failed", error=str(exc))
            return
        if any(deleted.values()):
            log.info("history.pruned", keep_days=round(keep / timedelta(days=1), 2), **deleted)

    def start_scheduler(self) -> BaseScheduler:
        """Create the scheduler, put the jobs on it and start it (``serve`` does this after both
        systems answered)."""
        _bridge_scheduler_logs()
        sched = self.scheduler_factory()
        self.schedule(sched, initial=True)
        sched.start()
        self._scheduler = sched
        return sched

    def run_all(self) -> None:
        """Every pair once, contacts before tasks, so a task's client is linked before the task."""
        for name in list(self._gen.pairs):
            self.run_pair(name, False)

    def _check(self, gen: _Generation) -> None:
        for connector in gen.remotes.by_entity.values():
            # A RecordError means the system answered; it only did not like the probe.
            with contextlib.suppress(RecordError):
                connector.get("0")

    def check_remotes(self) -> None:
        """Both systems must answer before READY=1: a wrong secret fails here, at start."""
        self._check(self._gen)

    def _await_remotes(self, tick_s: float) -> bool:
        """Wait until both systems answer; False when asked to stop meanwhile. Auth and account
        errors raise: waiting would not help."""
        attempt = 0
        while not self.stop_event.is_set():
            try:
                self.check_remotes()
                return True
            except (AuthError, FatalRemoteError):
                raise
            except RemoteError as exc:
                attempt += 1
                wait = backoff(attempt, base=STARTUP_RETRY_BASE_S)
                log.warning("daemon.waiting_for_remote", error=str(exc), attempt=attempt, retry_in_s=wait)
                self.notifier.status(f"waiting for {exc.system or 'a remote system'}: {exc}")
                deadline = self.monotonic() + wait
                while not self.stop_event.wait(timeout=min(tick_s, wait)):
                    self._watchdog.maybe_ping(True)
                    if self.monotonic() >= deadline:
                        break
        return False

    def tick(self) -> None:
        """One turn of the main loop: start a requested reload, let an accepted one take over,
        track progress, feed the watchdog while alive."""
        if self.reload_requested.is_set() and (self._reloader is None or not self._reloader.is_alive()):
            self.reload_requested.clear()
            log.info("config.reload_requested", signal="SIGHUP")
            self._reloader = threading.Thread(target=self._reload_safely, name="syncd-reload", daemon=True)
            self._reloader.start()
        self._try_swap()
        self._note_progress()
        alive = self.alive()
        if not alive and not self._stuck_logged:
            log.error(
                "daemon.stuck", running=sorted(self.running_since), note="the watchdog is no longer fed"
            )
        self._stuck_logged = not alive
        self._watchdog.maybe_ping(alive)

    def serve(self, tick_s: float = 1.0) -> int:
        """Run until stopped; the process exit code (0, or the fatal error's)."""
        try:
            started = self._await_remotes(tick_s)
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
        schedule = self._gen.settings.schedule
        log.info(
            "daemon.started",
            mappings=sorted(self._gen.pairs),
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
        with self._cond:
            pending, self._pending = self._pending, None
            self._cond.notify_all()
        if pending is not None:
            pending.remotes.close()
        self._gen.remotes.close()

    def install_signal_handlers(self) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            self._signal = signal.Signals(signum).name
            self.stop_event.set()

        def hup(signum: int, frame: FrameType | None) -> None:
            self.reload_requested.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, hup)


def _carry_limits(old: _Generation, new: _Generation) -> None:
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


def _one_line(result: CycleResult) -> str:
    counts: dict[str, int] = {}
    ops = result.applied.done if result.applied else []
    for op in ops:
        if op.writes or op.kind in ("link", "conflict"):
            counts[op.kind] = counts.get(op.kind, 0) + 1
    done = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no changes"
    failed = f", {result.failed} failed" if result.failed else ""
    return f"{done}{failed} at {result.started_at.strftime('%H:%M:%S')}"


def _slim(result: CycleResult) -> CycleResult:
    """The result without the records read: kept results must not hold whole listings."""
    return replace(
        result,
        listings={side: replace(lst, records=(), deleted=()) for side, lst in result.listings.items()},
    )


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


__all__ = ["Daemon", "PairHealth", "backoff", "run_daemon", "settings_changes"]
