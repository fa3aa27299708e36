"""Random edits, creates and deletes on both systems, random faults, sync cycles in between.

After a final fault-free pair of cycles both sides agree on every mapped field, nothing is
duplicated, nothing deleted came back, and one more cycle writes nothing (properties 1, 2, 3, 5, 6,
8, 10 over the real emulators and the real engine).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from mappings.context import StaticLinks
from mappings.engine import Mapper, MappingContext
from mappings.loading import load_mapping
from state.store import Store
from syncd.errors import RemoteError
from syncd.runtime import Remotes
from tests.e2e.conftest import World

TEXT = (
    st.text(
        alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzабвгдежзийклмнопрстуфхцчшщ ÁÉÍÓÚñ0123456789-"),
        min_size=1,
        max_size=20,
    )
    .map(str.strip)
    .filter(bool)
)
DAY = st.integers(min_value=1, max_value=20)
CHECKED: list[tuple[str, int]] = []
"""(pair, links checked) per finished run: proves the final check ran on real data."""

FAULT = st.sampled_from(
    [{"fail_next": 1, "error": 503}, {"fail_next": 2, "error": 502}, {"drop_next": 1}, {"malformed_next": 1}]
)


def _pf_day(offset: int) -> str:
    return (date(2026, 12, 1) + timedelta(days=offset)).strftime("%d-%m-%Y")


def _pme_day(offset: int) -> str:
    return (date(2026, 12, 1) + timedelta(days=offset)).isoformat()


class SyncMachine(RuleBasedStateMachine):
    world: World

    @initialize()
    def fresh(self) -> None:
        self.world.pf("POST", "reset")
        self.world.pme("POST", "reset")
        state = self.world.config_path.parent / "state.db"
        for path in state.parent.glob("state.db*"):
            path.unlink()
        self.remotes: Remotes = self.world.remotes()
        self.tasks = self.remotes.by_entity["task"]
        self.events = self.remotes.by_entity["event"]
        self.contacts = self.remotes.by_entity["contact"]
        self.customers = self.remotes.by_entity["customer"]
        self.gone: set[tuple[str, str]] = set()
        # Every run starts with something on each side, so its final check always has records to
        # compare (unless the random steps delete them all).
        self.contacts.create({"name": "Seed", "lastName": "Contact", "email": "seed@example.com"}, None)
        self.tasks.create(
            {
                "title": "Seed task",
                "startDate": _pf_day(0),
                "startTime": "08:00",
                "endDate": _pf_day(0),
                "endTime": "09:00",
                "status": "1",
            },
            None,
        )

    def teardown(self) -> None:
        remotes = getattr(self, "remotes", None)
        if remotes is not None:
            remotes.close()

    def _tasks_mapper(self) -> Mapper:
        """The default tasks mapping: what a test reads of a record, it reads the way syncd does."""
        ctx = MappingContext(
            planfix_zone=ZoneInfo(self.world.settings.planfix.timezone),
            planningpme_zone=ZoneInfo(self.world.settings.planningpme.timezone),
            links=StaticLinks({}),
        )
        return Mapper(load_mapping("default:tasks", Path(".")), ctx)

    def _marker(self, record: Any, side: str = "planfix") -> str | None:
        """The other system's key a task or event carries."""
        return self._tasks_mapper().marker(side, record)  # type: ignore[arg-type]

    def _keys(self, connector: Any) -> list[str]:
        return sorted(r.key for r in connector.list_changed(None, full=True).records)

    # -- people editing ---------------------------------------------------------------------

    @rule(title=TEXT, day=DAY)
    def planfix_creates_task(self, title: str, day: int) -> None:
        self.tasks.create(
            {
                "title": title,
                "startDate": _pf_day(day),
                "startTime": "09:00",
                "endDate": _pf_day(day),
                "endTime": "11:00",
                "status": "1",
            },
            None,
        )

    @rule(label=TEXT, day=DAY)
    def planningpme_creates_event(self, label: str, day: int) -> None:
        self.events.create(
            {
                "label": label,
                "start": f"{_pme_day(day)}T14:00:00",
                "end": f"{_pme_day(day)}T15:30:00",
                "category": {"key": "C2"},
            },
            None,
        )

    @rule(first=TEXT, last=TEXT, n=st.integers(0, 10**6))
    def planfix_creates_contact(self, first: str, last: str, n: int) -> None:
        self.contacts.create({"name": first, "lastName": last, "email": f"pf{n}@example.com"}, None)

    @rule(first=TEXT, n=st.integers(0, 10**6))
    def planningpme_creates_customer(self, first: str, n: int) -> None:
        self.customers.create(
            {"type": "Individual", "firstName": first, "lastName": "X", "email": f"pme{n}@example.es"}, None
        )

    @rule(data=st.data(), title=TEXT)
    def planfix_edits_task(self, data: st.DataObject, title: str) -> None:
        keys = [k for k in self._keys(self.tasks) if ("task", k) not in self.gone]
        if keys:
            self.tasks.update(data.draw(st.sampled_from(keys)), {"title": title})

    @rule(data=st.data(), label=TEXT)
    def planningpme_edits_event(self, data: st.DataObject, label: str) -> None:
        keys = self._keys(self.events)
        if keys:
            self.events.update(data.draw(st.sampled_from(keys)), {"label": label})

    @rule(data=st.data(), last=TEXT)
    def both_edit_a_contact(self, data: st.DataObject, last: str) -> None:
        pf_keys, pme_keys = self._keys(self.contacts), self._keys(self.customers)
        if pf_keys:
            self.contacts.update(data.draw(st.sampled_from(pf_keys)), {"lastName": last})
        if pme_keys:
            self.customers.update(data.draw(st.sampled_from(pme_keys)), {"lastName": last + " es"})

    @rule(data=st.data())
    def planningpme_deletes_event(self, data: st.DataObject) -> None:
        keys = self._keys(self.events)
        if keys:
            key = data.draw(st.sampled_from(keys))
            self.events.delete(key)
            self.gone.add(("event", key))

    @rule(data=st.data())
    def planfix_cancels_task(self, data: st.DataObject) -> None:
        keys = [k for k in self._keys(self.tasks) if ("task", k) not in self.gone]
        if keys:
            key = data.draw(st.sampled_from(keys))
            self.tasks.update(key, {"status": "4"})
            self.gone.add(("task", key))

    @rule(data=st.data())
    def planningpme_deletes_customer(self, data: st.DataObject) -> None:
        keys = self._keys(self.customers)
        if keys:
            key = data.draw(st.sampled_from(keys))
            self.customers.delete(key)
            self.gone.add(("customer", key))

    # -- a source deleted right after syncd created its counterpart --------------------------

    @rule(label=TEXT, day=DAY, categorised=st.booleans())
    def planningpme_deletes_an_event_right_after_its_task_was_made(
        self, label: str, day: int, categorised: bool
    ) -> None:
        """The task syncd makes from the event reads back with what Planfix filled in (a default
        status when the event has no category): that must not win over the deletion (property 17)."""
        key = self.events.create(
            {
                "label": label,
                "start": f"{_pme_day(day)}T07:00:00",
                "end": f"{_pme_day(day)}T08:00:00",
                "category": {"key": "C3"} if categorised else None,
            },
            None,
        ).key
        if not categorised:
            self.events.update(key, {"category": None})  # PlanningPME filled in its default
        if not self._sync():
            return
        made = [
            r.key for r in self.tasks.list_changed(None, full=True).records if self._marker(r.data) == key
        ]
        self.events.delete(key)
        self.gone.add(("event", key))
        if not self._sync() or not made:
            return  # a fault ended a cycle: the final check still covers the record
        tasks = {r.key: r for r in self.tasks.list_changed(None, full=True).records}
        mapper = self._tasks_mapper()
        assert all(mapper.is_archived("planfix", tasks[task].data) for task in made), (
            "canceled, by the policy"
        )
        events = self.events.list_changed(None, full=True).records
        assert not [e.key for e in events if self._marker(e.data, "planningpme") in made], "re-created"

    @rule(title=TEXT, day=DAY)
    def planfix_cancels_a_task_right_after_its_event_was_made(self, title: str, day: int) -> None:
        key = self.tasks.create(
            {
                "title": title,
                "startDate": _pf_day(day),
                "startTime": "18:00",
                "endDate": _pf_day(day),
                "endTime": "19:00",
            },
            None,
        ).key
        if not self._sync():
            return
        self.tasks.update(key, {"status": "4"})
        self.gone.add(("task", key))
        if not self._sync():
            return
        events = self.events.list_changed(None, full=True).records
        assert not [e.key for e in events if self._marker(e.data, "planningpme") == key], "not deleted"

    # -- the network and syncd -----------------------------------------------------------

    @rule(fault=FAULT, on_planfix=st.booleans())
    def sync_with_a_fault(self, fault: dict[str, Any], on_planfix: bool) -> None:
        """Faults hit syncd only: people's own edits above always go through."""
        (self.world.pf if on_planfix else self.world.pme)("POST", "faults", fault)
        self.sync()

    @rule()
    def sync(self) -> None:
        self._sync()

    def _sync(self) -> bool:
        """One run of every pair; whether it went through without failures."""
        try:
            results = self.world.sync()
        except RemoteError:
            return False  # a transient fault ended the cycle early; the next one goes on
        finally:
            self.world.pf("DELETE", "faults")
            self.world.pme("DELETE", "faults")
        return all(r.failed == 0 and (r.applied is None or r.applied.aborted is None) for r in results)

    # -- the end ------------------------------------------------------------------------------

    def check_converged(self) -> None:
        self.world.pf("DELETE", "faults")
        self.world.pme("DELETE", "faults")
        self.world.sync()
        self.world.sync()
        self.world.reset_stats()
        results = self.world.sync(full=True)
        assert self.world.writes() == {"planfix": 0, "planningpme": 0}, [
            (op.kind, op.target, op.reason) for r in results for op in r.plan.operations if op.writes
        ]
        state_path = self.world.config_path.parent / "state.db"
        with Store.open(state_path, readonly=True) as store:
            for pair_name, (pf_conn, pme_conn) in {
                "contacts": (self.contacts, self.customers),
                "tasks": (self.tasks, self.events),
            }.items():
                self._check_pair(store, pair_name, pf_conn, pme_conn)

    def _check_pair(self, store: Store, pair_name: str, pf_conn: Any, pme_conn: Any) -> None:
        pf = {r.key: r for r in pf_conn.list_changed(None, full=True).records}
        pme = {r.key: r for r in pme_conn.list_changed(None, full=True).records}
        spec = load_mapping(f"default:{pair_name}", Path("."))
        contact_links = {lk.planfix_key: lk.planningpme_key for lk in store.links("contacts")}
        ctx = MappingContext(
            planfix_zone=ZoneInfo(self.world.settings.planfix.timezone),
            planningpme_zone=ZoneInfo(self.world.settings.planningpme.timezone),
            links=StaticLinks({("contact", k): v for k, v in contact_links.items()}),
        )
        mapper = Mapper(spec, ctx)
        links = store.links(pair_name)
        # no duplicates: each record has at most one counterpart, and markers are unique
        pme_markers = Counter(mapper.marker("planningpme", r.data) for r in pme.values())
        pme_markers.pop(None, None)
        assert all(n == 1 for n in pme_markers.values()), pme_markers
        # every live PME record is linked (nothing is left out or copied twice)
        linked_pme = {lk.planningpme_key for lk in links}
        CHECKED.append((pair_name, len(links)))
        assert set(pme) <= linked_pme | {k for k in pme if not mapper.included("planningpme", pme[k].data)}
        for link in links:
            a, b = pf.get(link.planfix_key), pme.get(link.planningpme_key)
            assert a is not None and b is not None, (pair_name, link)
            left = mapper.canonical("planfix", a.data)
            right = mapper.canonical("planningpme", b.data)
            held = {name for values in link.echo.get("held", {}).values() for name in values}
            both = [f.name for f in spec.fields if f.direction == "both" and f.name not in held]
            assert {k: left[k] for k in both} == {k: right[k] for k in both}, (pair_name, link)
        # nothing deleted came back
        for entity, key in self.gone:
            if entity in ("event", "customer"):
                assert key not in pme or entity != pme_conn.entity


def test_random_edits_and_faults_converge(world: World) -> None:
    SyncMachine.world = world
    world.write_config(retry_backoff="1ms", max_attempts=1000)

    class Checked(SyncMachine):
        def teardown(self) -> None:
            try:
                if hasattr(self, "remotes"):
                    self.check_converged()
            finally:
                super().teardown()

    run_state_machine_as_test(
        Checked,
        settings=settings(
            max_examples=8,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    runs = len(CHECKED) // 2
    assert runs >= 8, CHECKED
    assert sum(n for _, n in CHECKED) >= 2 * runs, f"the runs linked almost nothing: {CHECKED}"
    print(CHECKED)
