"""People at work in both systems: what a planner or a salesperson does by hand, sent through each
system's own API (the connectors, as any other API client would), never through syncd's engine.

Dates are relative to today, so every event lies inside the PlanningPME scan window.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from syncd.connectors.base import Connector
from syncd.runtime import Remotes


def day(offset: int = 10) -> date:
    return date.today() + timedelta(days=offset)


def pf_date(offset: int = 10) -> str:
    """A Planfix date (dd-mm-yyyy), ``offset`` days from today."""
    return day(offset).strftime("%d-%m-%Y")


def pme_time(offset: int = 10, hour: int = 9, minute: int = 0) -> str:
    """A PlanningPME local date-time, ``offset`` days from today."""
    return f"{day(offset).isoformat()}T{hour:02d}:{minute:02d}:00"


class People:
    """Edits made by people, in Planfix and in PlanningPME. Returns the keys the systems gave."""

    def __init__(self, remotes: Remotes) -> None:
        self._remotes = remotes
        self.tasks: Connector = remotes.by_entity["task"]
        self.contacts: Connector = remotes.by_entity["contact"]
        self.events: Connector = remotes.by_entity["event"]
        self.customers: Connector = remotes.by_entity["customer"]

    def close(self) -> None:
        self._remotes.close()

    # -- Planfix ----------------------------------------------------------------------------

    def add_task(
        self, title: str, *, offset: int = 10, hours: tuple[int, int] = (9, 11), **extra: Any
    ) -> str:
        record = {
            "title": title,
            "description": "<p>Created by hand in Planfix</p>",
            "startDate": pf_date(offset),
            "startTime": f"{hours[0]:02d}:00",
            "endDate": pf_date(offset),
            "endTime": f"{hours[1]:02d}:00",
            "workers": [{"id": "1"}],
            **extra,
        }
        return self.tasks.create(record, None).key

    def edit_task(self, key: str, **changes: Any) -> None:
        self.tasks.update(key, changes)

    def cancel_task(self, key: str) -> None:
        """Planfix has no task delete: a person cancels the task (task.changeStatus to 4)."""
        self.tasks.delete(key)

    def add_contact(self, name: str, last_name: str, email: str, **extra: Any) -> str:
        record = {"name": name, "lastName": last_name, "email": email, **extra}
        return self.contacts.create(record, None).key

    def edit_contact(self, key: str, **changes: Any) -> None:
        self.contacts.update(key, changes)

    def delete_contact(self, key: str) -> None:
        self.contacts.delete(key)

    # -- PlanningPME --------------------------------------------------------------------------

    def add_event(
        self, label: str, *, offset: int = 10, hours: tuple[int, int] = (9, 11), **extra: Any
    ) -> str:
        record = {
            "label": label,
            "start": pme_time(offset, hours[0]),
            "end": pme_time(offset, hours[1]),
            "allDay": False,
            "resources": [{"key": "R2"}],
            "category": {"key": "C1"},
            "description": "Created by hand in PlanningPME",
            **extra,
        }
        return self.events.create(record, None).key

    def edit_event(self, key: str, **changes: Any) -> None:
        self.events.update(key, changes)

    def delete_event(self, key: str) -> None:
        self.events.delete(key)

    def add_customer(self, first_name: str, last_name: str, email: str, **extra: Any) -> str:
        record = {
            "label": f"{first_name} {last_name}",
            "type": "Individual",
            "firstName": first_name,
            "lastName": last_name,
            "email": email,
            **extra,
        }
        return self.customers.create(record, None).key

    def edit_customer(self, key: str, **changes: Any) -> None:
        self.customers.update(key, changes)

    def delete_customer(self, key: str) -> None:
        self.customers.delete(key)


def same_moment(offset: int, hour: int, planfix_zone: str, planningpme_zone: str) -> str:
    """The PlanningPME local time of ``hour``:00 Planfix time, ``offset`` days from today."""
    moment = datetime.combine(day(offset), time(hour), ZoneInfo(planfix_zone))
    return moment.astimezone(ZoneInfo(planningpme_zone)).strftime("%Y-%m-%dT%H:%M:%S")
