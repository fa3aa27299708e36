"""A richly filled Planfix task keeps everything syncd does not map when its event changes.

``ПланФикс_API_task.update.md``: every parameter ``task.update`` is not given is reset to its default.
So the one write syncd makes after an edit in PlanningPME must carry the task as it is — process,
check flag, owner, parent, project, client, worker groups, members, auditors (users and groups),
duration, every unmapped custom value — with only the mapped fields changed, and silently
(``<silent>1</silent>``, ``XML_API_v1.md``: no notification, no history entry).
"""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import World
from tests.e2e.scenarios.harness import links, no_writes, planfix, planningpme
from tests.e2e.scenarios.people import People, pme_time

UNMAPPED = (
    "importance",
    "status",
    "statusSet",
    "checkResult",
    "type",
    "owner",
    "parent",
    "template",
    "project",
    "client",
    "beginDateTime",
    "duration",
    "durationUnit",
    "isSummary",
    "members",
    "auditors",
)


def unmapped(task: dict[str, Any]) -> dict[str, Any]:
    kept = {name: task[name] for name in UNMAPPED}
    kept["worker groups"] = task["workers"]["groups"]
    kept["custom"] = {c["field"]["id"]: c["value"] for c in task["customData"] if c["field"]["id"] != "101"}
    return kept


def test_a_rich_task_keeps_every_unmapped_field_and_nobody_is_notified(world: World, people: People) -> None:
    client = people.add_contact("Lucía", "Fernández", "lucia@example.es")
    parent = people.tasks.create({"title": "Contrato de mantenimiento 2027"}, None).key  # undated
    task = people.add_task(
        "Revisión anual de la caldera",
        importance="HIGH",
        statusSet="2",
        status="2",
        checkResult=True,
        owner={"id": "3"},
        parent={"id": parent},
        project={"id": "2"},
        client={"id": client},
        isSummary=False,
        duration="90",
        durationUnit="0",
        workers=[{"id": "1"}],
        workerGroups=[{"id": "1"}],
        members=[{"id": "2"}, {"id": "5"}],
        memberGroups=[{"id": "2"}],
        auditors=[{"id": "4"}],
        auditorGroups=[{"id": "3"}],
        customData={
            "102": "Calle Mayor 5",
            "103": "1500",
            "104": "4",
            "105": "01-06-2027",
            "106": "Warranty",
            "108": "Llave en portería",
        },
    )
    world.sync()
    event = links(world, "tasks")[task]
    before = planfix(world, "tasks")[task]
    assert before["members"]["groups"] == [{"id": "2", "name": "Сервисная служба"}]

    people.edit_event(
        event, label="Revisión anual — caldera nueva", start=pme_time(10, 8, 30), end=pme_time(10, 10, 0)
    )
    world.reset_stats()
    world.sync()

    after = planfix(world, "tasks")[task]
    assert after["title"] == "Revisión anual — caldera nueva"
    assert after["startTime"] != before["startTime"], "the new start (08:30 in Madrid) was written"
    assert unmapped(after) == unmapped(before)
    stats = world.pf("GET", "stats")
    assert stats["by_method"].get("task.update") == 1
    assert stats["notifications"] == 0, "every write was silent"
    assert planningpme(world, "events")[event]["label"] == after["title"]

    world.reset_stats()
    world.sync()
    assert no_writes(world), "an idle cycle writes nothing"
