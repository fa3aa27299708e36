"""Sample records that look like a real account: mixed scripts, HTML, gaps, every status.

Tasks are richly filled the way people fill them (a process, members, auditors, worker groups,
a parent, a project, a duration, several custom values nobody maps), so that a client that loses
what it does not map is caught. Contacts are people and companies (``isCompany`` = 1, the name in
``name``); a person may belong to companies (``contractors``).

Generation is deterministic for a given seed, so a test or a demo can rely on what it gets.
Contacts come first so that task clients can be drawn from them.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from syncd.emulators.planfix_model import (
    EQUIPMENT,
    IMPORTANCES,
    PROCESSES,
    PROJECTS,
    USER_GROUPS,
    USERS,
    VISIT_KINDS,
    Contact,
    DateTimeSlot,
    People,
    Phone,
    PlanfixStore,
    Task,
)

_JOBS = (
    "Замена фильтра кондиционера",
    "Монтаж видеонаблюдения",
    "Установка счётчика воды",
    "Проверка котла",
    "Boiler inspection",
    "Network cabling",
    "Revisión de caldera",
    "Instalación de aire acondicionado",
    "Ремонт кассы — ТЦ «Галерея»",
    "Quarterly maintenance & safety check",
)
_PLACES = ("офис 12", "склад №3", "Calle Mayor 5", "2nd floor", "ул. Ленина, д. 7", "")
_DESCRIPTIONS = (
    "<p>Клиент просит <b>перезвонить</b> за час до визита.</p>",
    "<p>Bring the spare parts:</p><ul><li>filter&nbsp;F7</li><li>gasket 3/4&quot;</li></ul>",
    "<p>Acceso por la puerta trasera &amp; pedir la llave en recepción.</p>",
    "<div>Код домофона: <i>45#</i><br/>Собака во дворе!</div>",
    "",
)
_FIRST = ("Алексей", "Мария", "Sergio", "Emma", "Дмитрий", "Lucía", "Ольга", "Peter", "Nuria", "Юлия")
_LAST = ("Кузнецов", "Иванова", "Fernández", "Brown", "Соколов", "Martín", "Попова", "Müller", "", "Волкова")
_COMPANIES = ("ООО «Ромашка»", "Acme Heating S.L.", "ИП Сидоров", "Brightside Ltd", "Café Olé & Co")
_POSTS = ("Директор", "Office manager", "Главный инженер", "Administradora")
_DOMAINS = ("example.com", "example.org", "пример.рф", "mail.example.es")


def _slot(rng: random.Random, base: datetime) -> DateTimeSlot:
    if rng.random() < 0.3:
        return DateTimeSlot()
    day = (base + timedelta(days=rng.randint(-5, 20))).date()
    at = time(rng.choice((8, 9, 10, 13, 15, 17)), rng.choice((0, 15, 30, 45))) if rng.random() < 0.7 else None
    return DateTimeSlot(day, at)


def _contact(store: PlanfixStore, rng: random.Random, now: datetime, index: int) -> Contact:
    contact_id, userid, general = store.next_contact_ids()
    company = rng.random() < 0.25
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    email = "" if rng.random() < 0.2 else f"client{general}@{rng.choice(_DOMAINS)}"
    phones = [
        Phone(f"+7 9{rng.randint(10, 99)} {rng.randint(100, 999)}-{rng.randint(10, 99)}-{index:02d}", 2)
    ]
    if rng.random() < 0.3:
        phones.append(Phone(f"+34 91 {rng.randint(100, 999)} {rng.randint(10, 99)} {rng.randint(10, 99)}", 1))
    if rng.random() < 0.2:
        phones = []
    companies = [c.id for c in store.contacts.values() if c.is_company]
    return Contact(
        id=contact_id,
        userid=userid,
        general=general,
        modified=now - timedelta(minutes=rng.randint(5, 4000), seconds=rng.randint(0, 59)),
        name=rng.choice(_COMPANIES) if company else first,
        last_name="" if company else last,
        post="" if company or rng.random() < 0.5 else rng.choice(_POSTS),
        email=email,
        phones=phones,
        address=rng.choice(_PLACES) if rng.random() < 0.5 else "",
        description=rng.choice(_DESCRIPTIONS) if rng.random() < 0.3 else "",
        is_company=company,
        contractors=[rng.choice(companies)] if companies and not company and rng.random() < 0.4 else [],
        custom={202: f"C-{general:05d}"} if rng.random() < 0.6 else {},
    )


def _people(rng: random.Random, most: int, groups: float) -> People:
    users = sorted(rng.sample(list(USERS), rng.randint(0, most)))
    return People(users, sorted(rng.sample(list(USER_GROUPS), 1)) if rng.random() < groups else [])


def _custom(rng: random.Random, place: str, now: datetime) -> dict[int, str]:
    custom: dict[int, str] = {}
    if place and rng.random() < 0.5:
        custom[102] = place
    if rng.random() < 0.5:
        custom[103] = str(rng.choice((1500, 2400, 18000, 99990)))
    if rng.random() < 0.5:
        custom[104] = rng.choice(EQUIPMENT)[0]
    if rng.random() < 0.3:
        custom[105] = (now + timedelta(days=rng.randint(30, 700))).strftime("%d-%m-%Y")
    if rng.random() < 0.5:
        custom[106] = rng.choice(VISIT_KINDS)[0]
    if rng.random() < 0.3:
        custom[108] = rng.choice(("Ключ у охраны", "Call on arrival", "Вход со двора"))
    return custom


def _task(store: PlanfixStore, rng: random.Random, now: datetime, clients: list[int]) -> Task:
    task_id, general = store.next_task_ids()
    start = _slot(rng, now)
    end = DateTimeSlot()
    if start.day is not None and rng.random() < 0.8:
        end_day = start.day + timedelta(days=rng.choice((0, 0, 1, 3)))
        end = DateTimeSlot(end_day, time(18, 0) if start.at else None)
    place = rng.choice(_PLACES)
    process = rng.choice(list(PROCESSES))
    created = now - timedelta(days=rng.randint(1, 60), minutes=rng.randint(0, 1440))
    parents = [t.id for t in store.tasks.values() if t.parent == 0]
    parent = rng.choice(parents) if parents and rng.random() < 0.2 else 0
    if parent:
        store.tasks[parent].is_summary = True
    has_duration = rng.random() < 0.4
    return Task(
        id=task_id,
        general=general,
        title=f"{rng.choice(_JOBS)}{' — ' + place if place else ''}",
        created=created,
        modified=max(created, now - timedelta(minutes=rng.randint(5, 4000), seconds=rng.randint(0, 59))),
        description=rng.choice(_DESCRIPTIONS),
        importance=rng.choice(IMPORTANCES),
        status=rng.choice(PROCESSES[process].statuses),
        status_set=process,
        check_result=rng.random() < 0.3,
        owner=rng.choice(list(USERS)),
        parent=parent,
        client=rng.choice(clients) if clients and rng.random() < 0.7 else 0,
        project=rng.choice([0, *PROJECTS]),
        start=start,
        end=end,
        duration=rng.choice((30, 90, 2, 4)) if has_duration else None,
        duration_unit=rng.choice((0, 1)) if has_duration else 0,
        workers=_people(rng, 3, 0.3),
        members=_people(rng, 2, 0.3),
        auditors=_people(rng, 1, 0.2),
        custom=_custom(rng, place, now),
        starred=rng.random() < 0.1,
    )


def seed_store(store: PlanfixStore, tasks: int, contacts: int, seed: int, now: datetime) -> dict[str, int]:
    """Add ``contacts`` contacts and ``tasks`` tasks; returns how many of each were created."""
    if tasks < 0 or contacts < 0 or tasks > 100_000 or contacts > 100_000:
        raise ValueError("seed: tasks and contacts must be between 0 and 100000")
    rng = random.Random(seed)
    for index in range(contacts):
        contact = _contact(store, rng, now, index)
        store.contacts[contact.id] = contact
    clients = sorted(store.contacts)
    for _ in range(tasks):
        task = _task(store, rng, now, clients)
        store.tasks[task.id] = task
    return {"tasks": tasks, "contacts": contacts}
