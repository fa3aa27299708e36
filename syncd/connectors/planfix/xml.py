"""The Planfix XML envelope: requests built with lxml, replies parsed with a hardened parser.

Requests are trees of ``(tag, value)`` pairs, so every value is escaped by lxml and nothing is
ever assembled as a string. Characters XML 1.0 cannot carry (most C0 controls, lone surrogates)
are removed, with a warning naming the element: a stray control character in a description must
not make a record fail for ever.

Replies come from the network and are parsed without DTDs, entity expansion, network access or
huge-tree mode; a reply that carries a DTD at all is refused (billion laughs, XXE). The readers
are tolerant of what real replies do: unknown elements and attributes, missing optional elements,
CDATA, empty lists, a missing ``<?xml?>`` declaration and any attribute order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import structlog
from lxml import etree

from syncd.errors import ProtocolError

Element: TypeAlias = etree._Element
Param: TypeAlias = "tuple[str, ParamValue]"
ParamValue: TypeAlias = "str | int | Sequence[Param]"
"""A request parameter: a text value, or the child elements of a nested one (tags may repeat)."""

SYSTEM = "planfix"
_NOT_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

log = structlog.get_logger(__name__)


def xml_safe(value: str, where: str) -> str:
    """``value`` without the characters XML 1.0 cannot carry (a warning says where)."""
    cleaned, removed = _NOT_XML_CHARS.subn("", value)
    if removed:
        log.warning("planfix.xml.characters_removed", element=where, removed=removed)
    return cleaned


def _append(parent: Element, params: Sequence[Param], path: str) -> None:
    for tag, value in params:
        child = etree.SubElement(parent, tag)
        where = f"{path}/{tag}"
        if isinstance(value, str | int):
            child.text = xml_safe(str(value), where)
        else:
            _append(child, value, where)


def build_request(
    method: str, account: str, params: Sequence[Param], *, sid: str | None = None, silent: bool = False
) -> bytes:
    """The request body for ``method``; ``sid`` only in legacy (login/password) mode.

    ``silent`` adds ``<silent>1</silent>`` at the root (allowed on any request, ``XML_API_v1.md``):
    the change then notifies nobody and writes nothing into the record's history.
    """
    root = etree.Element("request", method=method)
    head: list[Param] = [("account", account)]
    if sid is not None:
        head.append(("sid", sid))
    if silent:
        head.append(("silent", "1"))
    _append(root, [*head, *params], "request")
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)


def request_shape(params: Sequence[Param], prefix: str = "") -> list[str]:
    """The element paths of a request without any value: safe to log when the remote rejects it."""
    paths: list[str] = []
    for tag, value in params:
        path = f"{prefix}/{tag}" if prefix else tag
        if isinstance(value, str | int):
            if path not in paths:
                paths.append(path)
        else:
            paths.extend(p for p in request_shape(value, path) if p not in paths)
    return paths


@dataclass(frozen=True)
class Reply:
    """A parsed ``<response>``: ``root`` is the response element, ``code`` set on errors."""

    ok: bool
    root: Element
    code: str | None = None
    message: str = ""


def _parser() -> etree.XMLParser:
    # A new parser per reply: lxml parsers must not be shared between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_reply(body: bytes, *, method: str) -> Reply:
    """Parse a reply body; ``ProtocolError`` when it is not a usable Planfix response."""
    where = f"reply to {method}"
    if not body.strip():
        raise ProtocolError(f"{where}: empty body", system=SYSTEM)
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise ProtocolError(f"{where}: not well-formed XML ({exc})", system=SYSTEM) from None
    if root.getroottree().docinfo.internalDTD is not None:
        raise ProtocolError(f"{where}: carries a DTD, which Planfix never sends; refused", system=SYSTEM)
    if root.tag != "response":
        raise ProtocolError(f"{where}: root element is <{root.tag}>, expected <response>", system=SYSTEM)
    status = (root.get("status") or "").strip().lower()
    code = child_text(root, "code").strip()
    if status == "ok":
        return Reply(True, root)
    if status == "error" or code:
        message = child_text(root, "message").strip()
        return Reply(False, root, code or "????", message)
    raise ProtocolError(f"{where}: <response> has neither status='ok' nor an error code", system=SYSTEM)


def inner_text(el: Element | None) -> str:
    """All text of ``el``, keeping child markup (an unescaped HTML description arrives as children)."""
    if el is None:
        return ""
    if len(el) == 0:
        return el.text or ""
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str):
            parts.append(etree.tostring(child, encoding="unicode", with_tail=True))
        else:
            parts.append(child.tail or "")
    return "".join(parts)


def child_text(el: Element, path: str) -> str:
    """The text at ``path`` ("" when the element is missing or empty)."""
    return inner_text(el.find(path))


def child_id(el: Element, tag: str) -> str:
    """The id of a reference (``<owner><id>..</id></owner>``); "" when unset (missing or ``0``)."""
    value = child_text(el, f"{tag}/id").strip()
    return "" if value in ("", "0") else value


@dataclass(frozen=True)
class ListPage:
    """One page of a list reply: its items and the list's ``totalCount`` (None if not given)."""

    items: list[Element]
    total: int | None


def _count(value: str | None, name: str, where: str) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        number = int(value.strip())
    except ValueError:
        raise ProtocolError(f"{where}: {name}={value!r} is not a number", system=SYSTEM) from None
    if number < 0:
        raise ProtocolError(f"{where}: {name}={value!r} is negative", system=SYSTEM)
    return number


def list_page(root: Element, list_tag: str, item_tag: str, *, method: str) -> ListPage:
    """The items of ``<list_tag count totalCount><item_tag>…`` (an absent list is an empty page)."""
    where = f"reply to {method}"
    container = root.find(list_tag)
    if container is None:
        return ListPage(root.findall(item_tag), None)
    items = container.findall(item_tag)
    _count(container.get("count"), "count", where)
    return ListPage(items, _count(container.get("totalCount"), "totalCount", where))
