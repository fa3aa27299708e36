"""What a bad network and busy people do to both systems while syncd runs: injected faults,
short outages (the server goes away and comes back on the same port), and edits, creates and
deletes on both sides, including the same record edited on both sides at once.

Every choice comes from one seeded ``random.Random``, so a run can be repeated. The "person"
uses its own connectors (its own limiter, like people's own scripts) and may fail; a failed
edit is counted, never fatal.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
from starlette.types import ASGIApp

from syncd.emulators.common import EmulatorServer
from syncd.errors import SyncdError
from syncd.runtime import Remotes

Side = str  # "planfix" | "planningpme"


class Restartable:
    """An emulator that can go down and come back on the same port with the same data."""

    def __init__(self, app: ASGIApp, name: str) -> None:
        self.app = app
        self.name = name
        self.server = EmulatorServer(app).start()  # type: ignore[arg-type]
        self.port = self.server.port
        self.base_url = self.server.base_url
        self.down = False

    def stop(self) -> None:
        self.server.stop()
        self.down = True

    def start(self) -> None:
        if self.down:
            self.server = EmulatorServer(self.app, port=self.port).start()  # type: ignore[arg-type]
            self.down = False


@dataclass
class ChaosStats:
    faults: Counter[str] = field(default_factory=Counter)
    edits: Counter[str] = field(default_factory=Counter)
    edit_failures: int = 0
    outages: int = 0


FAULTS: dict[Side, list[dict[str, Any]]] = {
    "planfix": [
        {"error_rate": 0.15, "error": 503},
        {"error_rate": 0.1, "error": "0007"},
        {"error_rate": 0.05, "error": "3014"},
        {"latency_ms": 150},
        {"drop_next": 2},
        {"malformed_next": 2},
        {"fail_next": 3, "error": 500},
    ],
    "planningpme": [
        {"error_rate": 0.15, "error": 503},
        {"error_rate": 0.1, "error": 429},
        {"latency_ms": 150},
        {"drop_next": 2},
        {"malformed_next": 2},
        {"fail_next": 3, "error": 502},
    ],
}


class Chaos:
    def __init__(
        self,
        rng: random.Random,
        http: httpx.Client,
        servers: dict[Side, Restartable],
        person: Remotes,
        outage_s: tuple[float, float] = (2.0, 6.0),
    ) -> None:
        self.rng = rng
        self.http = http
        self.servers = servers
        self.person = person
        self.outage_s = outage_s
        self.stats = ChaosStats()
        self._back_at: dict[Side, float] = {}
        self._n = 0

    # -- the control API ----------------------------------------------------------------------

    def control(self, side: Side, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"{self.servers[side].base_url}/_emulator/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def records(self, side: Side, kind: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.control(side, "GET", f"records/{kind}")
        return found

    # -- one step -----------------------------------------------------------------------------

    def step(self) -> None:
        """One random action; outages end on their own time."""
        now = time.monotonic()
        for side, at in list(self._back_at.items()):
            if now >= at:
                self.servers[side].start()
                del self._back_at[side]
        roll = self.rng.random()
        side = self.rng.choice(["planfix", "planningpme"])
        if self.servers[side].down:
            return
        try:
            if roll < 0.25:
                fault = self.rng.choice(FAULTS[side])
                self.control(side, "POST", "faults", fault)
                self.stats.faults[f"{side}:{','.join(sorted(fault))}"] += 1
            elif roll < 0.40:
                self.control(side, "DELETE", "faults")
            elif roll < 0.44:
                self.servers[side].stop()
                self._back_at[side] = now + self.rng.uniform(*self.outage_s)
                self.stats.outages += 1
            else:
                self.edit()
        except httpx.HTTPError:
            pass  # the other side went down under us: the next step goes on

    def calm(self) -> None:
        """No more faults: both servers up, faults cleared."""
        for side, server in self.servers.items():
            server.start()
            self.control(side, "DELETE", "faults")
        self._back_at.clear()

    # -- edits --------------------------------------------------------------------------------

    def edit(self) -> None:
        actions: list[tuple[float, str, Callable[[], None]]] = [
            (3, "task.title", self._task_title),
            (1, "task.cancel", self._task_cancel),
            (3, "event.label", self._event_label),
            (1, "event.delete", self._event_delete),
            (3, "contact.last_name", self._contact_last_name),
            (3, "customer.last_name", self._customer_last_name),
            (1, "customer.delete", self._customer_delete),
            (2, "contact.create", self._contact_create),
            (2, "customer.create", self._customer_create),
            (2, "event.create", self._event_create),
            (2, "both.same_record", self._both_sides),
        ]
        weights = [a[0] for a in actions]
        _, name, action = self.rng.choices(actions, weights=weights)[0]
        self._n += 1
        try:
            action()
        except SyncdError:
            self.stats.edit_failures += 1
            return
        self.stats.edits[name] += 1

    def _pick(self, side: Side, kind: str, key: str) -> str | None:
        found = self.records(side, kind)
        return str(self.rng.choice(found)[key]) if found else None

    def _words(self) -> str:
        return f"{self.rng.choice(['Revisión', 'Проверка', 'Check', 'Montage'])} #{self._n}"

    def _task_title(self) -> None:
        if key := self._pick("planfix", "tasks", "id"):
            self.person.by_entity["task"].update(key, {"title": f"Task {self._words()}"})

    def _task_cancel(self) -> None:
        if key := self._pick("planfix", "tasks", "id"):
            self.person.by_entity["task"].update(key, {"status": "4"})

    def _event_label(self) -> None:
        if key := self._pick("planningpme", "events", "key"):
            self.person.by_entity["event"].update(key, {"label": f"Event {self._words()}"})

    def _event_delete(self) -> None:
        if key := self._pick("planningpme", "events", "key"):
            self.person.by_entity["event"].delete(key)

    def _contact_last_name(self) -> None:
        if key := self._pick("planfix", "contacts", "id"):
            self.person.by_entity["contact"].update(key, {"lastName": f"Contact {self._words()}"})

    def _customer_last_name(self) -> None:
        if key := self._pick("planningpme", "customers", "key"):
            self.person.by_entity["customer"].update(key, {"lastName": f"Customer {self._words()}"})

    def _customer_delete(self) -> None:
        if key := self._pick("planningpme", "customers", "key"):
            self.person.by_entity["customer"].delete(key)

    def _contact_create(self) -> None:
        n = self._n
        self.person.by_entity["contact"].create(
            {"name": "Soak", "lastName": f"Person {n}", "email": f"soak-pf-{n}@example.test"}, None
        )

    def _customer_create(self) -> None:
        n = self._n
        self.person.by_entity["customer"].create(
            {
                "type": "Individual",
                "firstName": "Soak",
                "lastName": f"Kunde {n}",
                "email": f"soak-pme-{n}@example.test",
            },
            None,
        )

    def _event_create(self) -> None:
        day = date.today() + timedelta(days=self.rng.randint(1, 20))
        hour = self.rng.randint(7, 16)
        self.person.by_entity["event"].create(
            {
                "label": f"Soak visit {self._n}",
                "start": f"{day.isoformat()}T{hour:02d}:00:00",
                "end": f"{day.isoformat()}T{hour + 1:02d}:00:00",
                "allDay": False,
                "resources": [{"key": self.rng.choice(["R1", "R2", "R3", "R4", "R5"])}],
                "category": {"key": "C2"},
            },
            None,
        )

    def _both_sides(self) -> None:
        """The same linked task edited in both systems at once: a conflict for the mapping's rule."""
        linked = [
            (str(task["id"]), str(item["value"]))
            for task in self.records("planfix", "tasks")
            for item in task.get("customData") or []
            if item["field"]["id"] == "101" and item.get("value")
        ]
        if not linked:
            return
        task, event = self.rng.choice(linked)
        self.person.by_entity["task"].update(task, {"title": f"Both {self._words()} (Planfix)"})
        self.person.by_entity["event"].update(event, {"label": f"Both {self._words()} (PlanningPME)"})
