"""The vendor's Planfix method pages as test data: documented element paths and recorded requests.

The fixtures in ``fixtures/`` are the request and reply examples of the method pages in
``../shared/reference/planfix-docs/`` (each file names its page in its first comment), kept in the
repository so the tests never depend on anything outside it. A request example becomes the set of
element paths it documents (``request/task/workers/users/id``); a recorded request body becomes
the set of paths syncd sent; the difference is what syncd sends that the page does not know.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from lxml import etree

Element = etree._Element

FIXTURES = Path(__file__).parent / "fixtures"

METHOD_PAGES: dict[str, str] = {
    "auth.login": "ПланФикс_API_Аутентификация.md",
    **{
        method: f"ПланФикс_API_{method}.md"
        for method in (
            "task.get",
            "task.getList",
            "task.getMulti",
            "task.add",
            "task.update",
            "task.updateCustomData",
            "task.changeStatus",
            "contact.get",
            "contact.getList",
            "contact.add",
            "contact.update",
            "contact.delete",
        )
    },
}
"""Every Planfix method syncd calls, and the page that documents it."""

ENVELOPE = frozenset({"request/account", "request/sid", "request/signature"})
"""Elements of every request's envelope (``sid`` only in login/password mode)."""
SILENT = "request/silent"
SILENT_PAGE = "XML_API_v1.md"
"""'В корень любого запроса возможно добавить параметр <silent>1</silent>' (XML_API_v1.md)."""

FILTER_FIXTURES = {"task": "filters.task.xml", "contact": "filters.contact.xml"}
FILTER_PAGES = {"task": "ПланФикс_API_Фильтры_задач.md", "contact": "ПланФикс_API_Фильтры_контактов.md"}
"""A filter's children (and the object form of ``value``) are documented on the filter pages."""

_SOURCE = re.compile(r"Source:\s*(\S+\.md)")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(remove_comments=True, resolve_entities=False, no_network=True)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def load(name: str) -> Element:
    """A fixture's root element, comments dropped."""
    return etree.fromstring(fixture_bytes(name), _parser())


def source_page(name: str) -> str:
    """The method page a fixture names in its first comment."""
    match = _SOURCE.search(fixture_bytes(name).decode("utf-8"))
    if match is None:
        raise AssertionError(f"fixture {name} does not name its source page")
    return match.group(1)


def element_paths(root: Element, prefix: str = "") -> set[str]:
    """Every element path in ``root``'s tree, ``root`` included (``request/task/id``)."""
    path = f"{prefix}/{root.tag}" if prefix else str(root.tag)
    paths = {path}
    for child in root:
        if isinstance(child.tag, str):
            paths |= element_paths(child, path)
    return paths


def documented_request(method: str) -> frozenset[str]:
    """The element paths a request for ``method`` may carry, per its page (plus envelope and silent)."""
    paths = element_paths(load(f"{method}.request.xml")) | ENVELOPE | {SILENT}
    filters = "request/filters/filter"
    if filters in paths:
        entity = method.split(".", 1)[0]
        paths |= element_paths(load(FILTER_FIXTURES[entity]), "request/filters")
    return frozenset(paths)


def request_method(body: bytes) -> str:
    root = etree.fromstring(body, _parser())
    return str(root.get("method") or "")


def undocumented(body: bytes) -> list[str]:
    """The element paths of a request body that its method's page does not document."""
    root = etree.fromstring(body, _parser())
    method = str(root.get("method") or "")
    if method not in METHOD_PAGES:
        return [f"{method or '(no method)'}: no documented method page"]
    return sorted(element_paths(root) - documented_request(method))


def describe(method: str, problems: Iterable[str]) -> str:
    """A failure message naming the paths and the page that should have documented them."""
    listed = "\n  ".join(problems)
    extra = f" (or {FILTER_PAGES[method.split('.', maxsplit=1)[0]]})" if method.endswith("getList") else ""
    return (
        f"{method}: syncd sends elements that {METHOD_PAGES[method]}{extra} does not document "
        f"(envelope account/sid/signature and root silent ({SILENT_PAGE}) are allowed):\n  {listed}"
    )


@dataclass
class Recording:
    """Requests as they went over the wire, in order (bodies already read)."""

    requests: list[httpx.Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __repr__(self) -> str:
        return f"Recording({len(self.requests)} requests)"

    def add(self, request: httpx.Request) -> None:
        request.read()
        with self.lock:
            self.requests.append(request)

    def sent(self, method: str | None = None) -> list[httpx.Request]:
        """The requests for ``method`` (all of them when None)."""
        with self.lock:
            requests = list(self.requests)
        return [r for r in requests if method is None or request_method(r.content) == method]

    def raw(self, method: str) -> list[bytes]:
        return [request.content for request in self.sent(method)]

    def of(self, method: str) -> list[Element]:
        """The parsed bodies of the requests for ``method``."""
        return [etree.fromstring(body, _parser()) for body in self.raw(method)]

    def methods(self) -> set[str]:
        return {request_method(request.content) for request in self.sent()}


class RecordingTransport(httpx.BaseTransport):
    """A real HTTP transport that keeps every request it sends."""

    def __init__(self, recording: Recording) -> None:
        self._inner = httpx.HTTPTransport()
        self.recording = recording

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.recording.add(request)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


# ---------------------------------------------------------------- the pages themselves


def reference_dir(start: Path = Path(__file__)) -> Path | None:
    """``shared/reference/planfix-docs`` next to the repository (or a worktree's parent)."""
    for parent in start.resolve().parents:
        candidate = parent / "shared" / "reference" / "planfix-docs"
        if candidate.is_dir():
            return candidate
    return None


def page_blocks(page: Path) -> list[str]:
    """The indented (code) blocks of a method page, blank lines dropped."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("    "):
            current.append(line[4:])
        elif line.strip() and current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    texts = ["\n".join(line for line in block if line.strip()) for block in blocks]
    return [text for text in texts if text.strip()]


def page_examples(page: Path) -> list[str]:
    """The XML examples of a method page: its code blocks that start with ``<?xml``."""
    return [text for text in page_blocks(page) if text.lstrip().startswith("<?xml")]
