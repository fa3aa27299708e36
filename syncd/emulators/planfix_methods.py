"""The emulated API methods by name, and which of them write (a write without ``<silent>`` notifies).

The handlers live in ``planfix_tasks``, ``planfix_contacts`` and ``planfix_reference``; each follows
its method page.
There is no ``task.delete`` in the XML API (an unknown method, 0008).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from syncd.emulators import planfix_contacts as contacts
from syncd.emulators import planfix_reference as reference
from syncd.emulators import planfix_tasks as tasks
from syncd.emulators.planfix_context import Handler

METHODS: Final[Mapping[str, Handler]] = MappingProxyType(
    {
        "task.get": tasks.task_get,
        "task.getList": tasks.task_get_list,
        "task.getMulti": tasks.task_get_multi,
        "task.add": tasks.task_add,
        "task.update": tasks.task_update,
        "task.updateCustomData": tasks.task_update_custom_data,
        "task.changeStatus": tasks.task_change_status,
        "contact.get": contacts.contact_get,
        "contact.getList": contacts.contact_get_list,
        "contact.add": contacts.contact_add,
        "contact.update": contacts.contact_update,
        "contact.delete": contacts.contact_delete,
        "user.getList": reference.user_get_list,
        "taskStatus.getSetList": reference.task_status_get_set_list,
        "taskStatus.getListOfSet": reference.task_status_get_list_of_set,
    }
)
WRITE_METHODS: Final = frozenset(
    {
        "task.add",
        "task.update",
        "task.updateCustomData",
        "task.changeStatus",
        "contact.add",
        "contact.update",
        "contact.delete",
    }
)
