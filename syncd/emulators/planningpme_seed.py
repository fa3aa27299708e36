"""Sample data for the PlanningPME emulator: realistic, multilingual, reproducible from a seed.

Labels mix Spanish, other Latin-script languages and Cyrillic, customers are both companies and
individuals, and many optional properties are left empty, because that is what real accounts look
like and what a sync must survive. The records go through the same validation as API writes
and carry no marker: they have never been synced.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from syncd.emulators.planningpme_model import write_when
from syncd.emulators.planningpme_reference import CATEGORIES, PROJECTS, RESOURCES, TASK_TYPES
from syncd.emulators.planningpme_store import PlanningPmeStore

_COMPANIES = (
    "Construcciones Pérez S.L.",
    "Talleres Núñez",
    "Clínica Dental Sonrisa",
    "Hotel Mirador del Sol",
    "Ferretería La Española",
    "Panadería Güell",
    "Boulangerie Côté Sud",
    "Müller & Söhne GmbH",
    "ООО «Вектор»",
    "ИП Соколова",
    "Cafetería O'Donnell",
)
_FIRST = ("José", "Lucía", "Begoña", "Iñaki", "Renée", "Иван", "Ольга", "Zoë", "Ángel", "Mónica")
_LAST = ("García", "Núñez", "Ibáñez", "Muñoz", "Smirnova", "Кузнецов", "Dubois", "Peña", "Öztürk")
_CITIES = (
    ("Madrid", "28013", "España"),
    ("Sevilla", "41004", "España"),
    ("A Coruña", "15001", "España"),
    ("Lyon", "69002", "France"),
    ("Москва", "101000", "Россия"),
)
_STREETS = ("Calle Mayor", "Avenida de la Constitución", "Plaza España", "ул. Тверская", "Rue de la Paix")
_WORK = (
    "Revisión de caldera",
    "Instalación de aire acondicionado",
    "Mantenimiento de ascensor",
    "Reparación de fuga",
    "Sustitución de ventanas",
    "Puesta en marcha",
    "Проверка котла",
    "Монтаж кондиционера",
    "Révision annuelle",
)
_NOTES = ("", "", "Llamar antes de ir.", "Llave en recepción.\nAparcar en la calle.", "Позвонить заранее.")


def _phone(rng: random.Random) -> str:
    return rng.choice(("", f"+34 9{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}"))


def sample_customer(rng: random.Random, index: int) -> dict[str, Any]:
    city, zip_code, country = rng.choice(_CITIES)
    base: dict[str, Any] = {
        "address": rng.choice(("", f"{rng.choice(_STREETS)}, {rng.randint(1, 120)}")),
        "zip": zip_code,
        "city": city,
        "country": country,
        "phone": _phone(rng),
        "number": rng.choice(("", f"CL-{1000 + index}")),
    }
    if rng.random() < 0.5:
        company = rng.choice(_COMPANIES)
        slug = "".join(c for c in company.lower() if c.isascii() and c.isalnum())[:12] or "empresa"
        base.update(
            type="Company",
            label=company,
            company=company,
            email=rng.choice(("", f"info{index}@{slug}.example")),
            webSite=rng.choice(("", f"https://{slug}.example")),
        )
    else:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        base.update(
            type="Individual",
            label=f"{first} {last}",
            firstName=first,
            lastName=last,
            title=rng.choice(("", "Mr", "Ms")),
            mobile=_phone(rng),
            email=rng.choice(("", f"cliente{index}@correo.example")),
        )
    return base


def sample_event(rng: random.Random, today: datetime, customers: list[int]) -> dict[str, Any]:
    day = today.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=rng.randint(-60, 120))
    all_day = rng.random() < 0.1
    start = day if all_day else day + timedelta(hours=rng.randint(8, 16))
    end = start + (timedelta(hours=23, minutes=59) if all_day else timedelta(hours=rng.randint(1, 4)))
    body: dict[str, Any] = {
        "label": rng.choice(_WORK),
        "start": write_when(start),
        "end": write_when(end),
        "allDay": all_day,
        "resources": [{"key": r.key} for r in rng.sample(RESOURCES, rng.choice((1, 1, 2)))],
        "category": {"key": rng.choice(CATEGORIES).key},
        "description": rng.choice(_NOTES),
        "place": rng.choice(("", f"{rng.choice(_STREETS)}, {rng.randint(1, 99)}")),
    }
    if customers and rng.random() < 0.8:
        body["customers"] = [{"key": rng.choice(customers)}]
    if rng.random() < 0.5:
        body["project"] = {"key": rng.choice(PROJECTS).key}
    if rng.random() < 0.5:
        body["task"] = {"key": rng.choice(TASK_TYPES).key}
    return body


def _count(params: dict[str, Any], name: str) -> int:
    value = params.get(name, 0)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 200_000:
        raise ValueError(f"seed.{name}: expected a whole number from 0 to 200000")
    return value


def seed_store(store: PlanningPmeStore, params: dict[str, Any]) -> dict[str, int]:
    """Add ``{"customers": N, "events": N}`` sample records (``"seed"`` fixes the random choices)."""
    unknown = sorted(set(params) - {"events", "customers", "seed"})
    if unknown:
        raise ValueError(f"seed: unknown keys {unknown}; allowed: ['customers', 'events', 'seed']")
    n_customers, n_events = _count(params, "customers"), _count(params, "events")
    seed = params.get("seed", 1)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError("seed.seed: expected a whole number")
    rng = random.Random(seed)
    start = store.tables["customer"].next_key
    for i in range(n_customers):
        store.create("customer", sample_customer(rng, start + i), "seed", history=False)
    customer_keys = sorted(store.tables["customer"].records)
    today = datetime.strptime(store.now_local(), "%Y-%m-%dT%H:%M:%S")
    for _ in range(n_events):
        store.create("do", sample_event(rng, today, customer_keys), "seed", history=False)
    return {"customers": n_customers, "events": n_events}
