"""One sync's worth of Planfix requests, sent by syncd's real connectors and recorded.

The connectors run against the emulator over real HTTP through a ``RecordingTransport``, doing what
a sync does: list (full and "modified since"), get, read several tasks at once, create, update,
set a marker, find by marker, delete or archive, and log in with a login and password. The records
they write are what the shipped default mappings make of a PlanningPME event or customer, so the
bodies are the ones a real sync sends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mappings.context import MappingContext
from mappings.engine import Mapper
from mappings.loading import load_mapping
from syncd.connectors.base import RemoteRecord
from syncd.connectors.planfix import PlanfixConnectors, build_planfix
from tests.planfix.conformance.pages import Recording, RecordingTransport
from tests.planfix.conftest import FAST_RETRY, Planfix, fast_limiter

ROOT = Path(__file__).resolve().parents[3]
LEGACY: dict[str, Any] = {"api_key": "demo-key", "token": None, "login": "demo", "password": "demo"}


def recorded_connectors(planfix: Planfix, recording: Recording, **settings: Any) -> PlanfixConnectors:
    """syncd's Planfix connectors for the emulator, every request body kept in ``recording``."""
    return build_planfix(
        planfix.settings(**settings),
        fast_limiter(),
        transport=RecordingTransport(recording),
        retry=FAST_RETRY,
    )


@dataclass(frozen=True)
class Mappers:
    """The shipped default mappings: what syncd writes to Planfix for a PlanningPME record."""

    tasks: Mapper
    contacts: Mapper

    @classmethod
    def load(cls) -> Mappers:
        ctx = MappingContext(ZoneInfo("Europe/Moscow"), ZoneInfo("Europe/Madrid"))
        return cls(
            Mapper(load_mapping("default:tasks", ROOT), ctx),
            Mapper(load_mapping("default:contacts", ROOT), ctx),
        )

    def task(self, event: dict[str, Any], fields: list[str] | None = None) -> dict[str, Any]:
        canonical = self.tasks.canonical("planningpme", event)
        return self.tasks.payload("planfix", canonical, fields or self.tasks.fields_written_to("planfix"))

    def contact(self, customer: dict[str, Any], fields: list[str] | None = None) -> dict[str, Any]:
        canonical = self.contacts.canonical("planningpme", customer)
        wanted = fields or self.contacts.fields_written_to("planfix")
        return self.contacts.payload("planfix", canonical, wanted)


def event(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "key": 17, "label": "Монтаж — Calle Mayor 5", "start": "2026-11-23T07:00:00",
        "end": "2026-11-23T15:30:00", "allDay": False,
        "resources": [{"key": "R2", "label": "María García"}, {"key": "R4", "label": "John Smith"}],
        "customers": [], "project": {"key": "P1"}, "category": {"key": "C2", "label": "In progress"},
        "status": 0, "remark": "", "description": "Замена фильтра", "fields": {"PLANFIX_ID": ""},
        "place": "Madrid",
    }  # fmt: skip
    record.update(changes)
    return record


def customer(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "key": 88, "label": "Мария Кузнецова", "company": "ООО Ромашка", "type": "Individual", "title": "",
        "firstName": "Мария", "lastName": "Кузнецова", "phone": "+7 916 765-43-21", "mobile": "",
        "email": "m.kuznetsova@romashka.example", "address": "", "zip": "", "city": "", "country": "",
        "webSite": "", "notValid": False, "fields": {"PLANFIX_ID": ""},
    }  # fmt: skip
    record.update(changes)
    return record


@dataclass
class Exercise:
    """Runs the steps of a sync against the emulator; a failed step is noted, the others still run."""

    pf: PlanfixConnectors
    mappers: Mappers
    failures: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)

    def step(self, name: str, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception as exc:  # a failed step must not hide what the other steps send
            self.failures.append(f"{name}: {type(exc).__name__}: {exc}")

    def keep(self, name: str, create: Callable[[], RemoteRecord]) -> None:
        self.step(f"create {name}", lambda: self.keys.__setitem__(name, create().key))

    def key(self, name: str) -> str:
        if name not in self.keys:
            raise LookupError(f"{name} was not created")
        return self.keys[name]

    def contacts(self) -> None:
        pf, m = self.pf.contacts, self.mappers
        company = customer(
            key=91,
            type="Company",
            label="ООО Ромашка",
            firstName="",
            lastName="",
            email="office@romashka.example",
        )
        self.keep("person", lambda: pf.create(m.contact(customer()), "pme-customer-88"))
        self.keep("company", lambda: pf.create(m.contact(company), "pme-customer-91"))
        self.step("list contacts", lambda: pf.list_changed(None))
        self.step("get a contact", lambda: pf.get(self.key("person")))
        self.step("get contacts", lambda: pf.get_many([self.key("person"), self.key("company")]))
        renamed = m.contact(customer(firstName="Мария-Луиза", email="ml@romashka.example"))
        self.step("update a contact", lambda: pf.update(self.key("person"), renamed))
        self.step("set a contact marker", lambda: pf.set_marker(self.key("company"), "pme-customer-92"))
        self.step("find a contact by marker", lambda: pf.find_by_marker("pme-customer-88"))
        self.step("delete a contact", lambda: pf.delete(self.key("company")))

    def tasks(self) -> None:
        pf, m = self.pf.tasks, self.mappers
        self.keep("task", lambda: pf.create(m.task(event()), "pme-event-17"))
        self.keep("other task", lambda: pf.create(m.task(event(key=18, label="Осмотр")), "pme-event-18"))
        self.step("list tasks", lambda: pf.list_changed(None))
        since = datetime.now(UTC) - timedelta(hours=1)
        self.step("list changed tasks", lambda: pf.list_changed(since))
        self.step("get a task", lambda: pf.get(self.key("task")))
        self.step("get tasks", lambda: pf.get_many([self.key("task"), self.key("other task")]))
        moved = m.task(event(start="2026-11-24T07:00:00", end="2026-11-24T15:30:00"), ["start", "end"])
        self.step("update a task", lambda: pf.update(self.key("task"), moved))

        def update_read_ahead() -> None:
            keys = [self.key("task"), self.key("other task")]
            pf.expect_updates(keys)
            for key in keys:
                pf.update(key, m.task(event(label=f"Перенесено {key}"), ["title"]))

        self.step("update announced tasks", update_read_ahead)
        self.step("set a task marker", lambda: pf.set_marker(self.key("task"), "pme-event-19"))
        self.step("find a task by marker", lambda: pf.find_by_marker("pme-event-19"))
        self.step("archive a task", lambda: pf.delete(self.key("other task")))

    def legacy_login(self, legacy: PlanfixConnectors) -> None:
        self.step("log in and list tasks (login/password)", lambda: legacy.tasks.list_changed(None))


@dataclass(frozen=True)
class Session:
    """What one exercise sent: with token auth, in login/password mode, and the steps that failed."""

    recording: Recording
    legacy: Recording
    failures: list[str]

    def failed(self) -> str:
        if not self.failures:
            return ""
        return "\nsteps that failed (their requests may be missing):\n  " + "\n  ".join(self.failures)


def record_session(planfix: Planfix) -> Session:
    """Empty the emulator, then run the exercise with token auth and in login/password mode."""
    planfix.control("POST", "reset")
    recording, legacy_recording = Recording(), Recording()
    pf = recorded_connectors(planfix, recording)
    legacy = recorded_connectors(planfix, legacy_recording, **LEGACY)
    exercise = Exercise(pf, Mappers.load())
    try:
        exercise.contacts()
        exercise.tasks()
        exercise.legacy_login(legacy)
    finally:
        pf.close()
        legacy.close()
    return Session(recording, legacy_recording, exercise.failures)
