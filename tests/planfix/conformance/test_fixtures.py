"""The fixtures are the pages' examples: each names its page, and matches it.

The vendor's pages live next to the repository (``../shared/reference/planfix-docs/``); the tests
that use the fixtures never read them, but these do, so a fixture that drifts from its page (a
copy mistake, an element added by hand) fails here. Request fixtures are verbatim copies; reply
fixtures have the page's structure (the same element paths, an item repeated where the page says
"..."), with values filled in or left empty; both contact replies fix the page's unclosed
``typeId``/``typeName`` the same way here as in the fixture.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from tests.planfix.conformance.pages import (
    FILTER_FIXTURES,
    FILTER_PAGES,
    FIXTURES,
    METHOD_PAGES,
    element_paths,
    fixture_bytes,
    load,
    page_blocks,
    page_examples,
    reference_dir,
    source_page,
)

ALL = sorted(path.name for path in FIXTURES.glob("*.xml"))
UNCLOSED = {"<typeId><typeId>": "<typeId></typeId>", "<typeName><typeName>": "<typeName></typeName>"}


@pytest.fixture(scope="module")
def docs() -> Path:
    found = reference_dir()
    assert found is not None, (
        "the vendor's method pages were not found in shared/reference/planfix-docs next to the "
        "repository (or a parent directory of it)"
    )
    return found


def _fixed(example: str) -> str:
    for wrong, right in UNCLOSED.items():
        example = example.replace(wrong, right)
    return example


def _example(docs: Path, page: str, kind: str) -> str:
    """The page's request example, or its reply to a successful call."""
    marker = "<request" if kind == "request" else 'status="ok"'
    found = [text for text in page_examples(docs / page) if marker in text]
    assert found, f"{page}: no {kind} example"
    return found[0]


def _paths(xml: str) -> set[str]:
    parser = etree.XMLParser(remove_comments=True)
    return element_paths(etree.fromstring(_fixed(xml).encode("utf-8"), parser))


@pytest.mark.parametrize("name", ALL)
def test_every_fixture_names_a_page_that_exists(name: str, docs: Path) -> None:
    assert (docs / source_page(name)).is_file(), f"{name} names {source_page(name)}, which is not there"


@pytest.mark.parametrize("method", sorted(METHOD_PAGES))
def test_request_fixtures_are_verbatim_copies(method: str, docs: Path) -> None:
    name = f"{method}.request.xml"
    assert source_page(name) == METHOD_PAGES[method]
    lines = fixture_bytes(name).decode("utf-8").splitlines()
    copied = "\n".join(line for i, line in enumerate(lines) if i != 1 and line.strip())
    assert copied == _example(docs, METHOD_PAGES[method], "request")


@pytest.mark.parametrize("name", sorted(n for n in ALL if ".reply" in n))
def test_reply_fixtures_have_their_pages_structure(name: str, docs: Path) -> None:
    page = source_page(name)
    assert _paths(fixture_bytes(name).decode("utf-8")) == _paths(_example(docs, page, "reply"))


def test_the_error_fixture_is_the_documented_error_reply(docs: Path) -> None:
    errors = [text for text in page_examples(docs / source_page("error.xml")) if 'status="error"' in text]
    assert errors
    assert element_paths(load("error.xml")) == _paths(errors[0])


@pytest.mark.parametrize("entity", sorted(FILTER_FIXTURES))
def test_filter_fixtures_are_the_filter_pages(entity: str, docs: Path) -> None:
    """A filter's children are the ones the page lists; the value object is the page's example."""
    name = FILTER_FIXTURES[entity]
    page = docs / FILTER_PAGES[entity]
    assert source_page(name) == FILTER_PAGES[entity]
    text = page.read_text(encoding="utf-8")
    for child in ("type", "operator", "value", "field"):
        assert f"  * {child} - " in text, f"{page.name} does not list the filter parameter {child}"
    value_object = next(block for block in page_blocks(page) if block.lstrip().startswith("<value>"))
    value = load(name).find("value")
    assert value is not None
    assert element_paths(value) == _paths(value_object)
    assert {str(child.tag) for child in load(name)} == {"type", "operator", "value", "field"}
