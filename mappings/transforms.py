"""The registry of named transforms a mapping file may use.

Every transform is a pure function pair (``forward``: native → canonical, ``inverse``: canonical →
native) with typed parameters; nothing from the file is evaluated. ``REGISTRY`` is the single
list of them; the README's transform table follows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from mappings.datetime_transform import DateTime
from mappings.reference_transforms import Link, Lookup, ValueMap
from mappings.text_transforms import Company, Constant, Default, Email, HtmlText, Name, Phone, Text
from mappings.transform_base import Shape, Transform

REGISTRY: Mapping[str, type[Transform[Any]]] = MappingProxyType(
    {
        t.name: t
        for t in (
            Text,
            HtmlText,
            DateTime,
            ValueMap,
            Lookup,
            Link,
            Name,
            Email,
            Phone,
            Company,
            Constant,
            Default,
        )
    }
)
"""Every transform a mapping file may name, by name."""


def transform_names() -> list[str]:
    return sorted(REGISTRY)


__all__ = ["REGISTRY", "Shape", "Transform", "transform_names"]
