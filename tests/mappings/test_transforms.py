"""Every invertible transform round-trips stably: native → canonical → native (either side) →
the same canonical. Plus the documented behaviour of each transform, by example."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.context import StaticLinks
from mappings.errors import MappingValueError, UnresolvedLinkError
from mappings.sides import SIDES, Side
from mappings.transforms import REGISTRY
from tests.mappings.helpers import assert_round_trips, ctx, make

sides = st.sampled_from(SIDES)
texts = st.text(st.characters(codec="utf-8"), max_size=60) | st.text(" \t\n\r\xa0ab<>&;", max_size=30)


def test_registry_names_and_flags() -> None:
    assert sorted(REGISTRY) == [
        "company", "constant", "datetime", "default", "email", "html_text", "link", "lookup", "name",
        "phone", "text", "value_map",
    ]  # fmt: skip
    assert [n for n, t in REGISTRY.items() if not t.invertible] == ["constant"]
    assert all(t.summary for t in REGISTRY.values())


# ----------------------------------------------------------------------------------------- text


@given(texts, sides, st.none() | st.integers(1, 20), st.booleans())
def test_text_round_trips(value: str, side: Side, max_length: int | None, multiline: bool) -> None:
    t = make("text", ["title"], ["label"], {"max_length": max_length, "multiline": multiline})
    canonical = assert_round_trips(t, ctx(), side, [value])
    assert max_length is None or len(canonical) <= max_length
    assert canonical == canonical.strip()


def test_text_normalises_whitespace_and_truncates() -> None:
    t = make("text", ["title"], ["label"])
    assert t.forward("planfix", ["  Fix \t the\npump  "], ctx()) == "Fix the pump"
    assert t.forward("planningpme", [None], ctx()) == ""
    short = make("text", ["title"], ["label"], {"max_length": 8})
    assert short.forward("planfix", ["Replace the pump"], ctx()) == "Replace"
    multi = make("text", ["title"], ["description"], {"multiline": True})
    assert multi.forward("planfix", ["a  \r\n\r\n\r\n  b\n"], ctx()) == "a\n\nb"


@given(texts, sides)
def test_default_round_trips(value: str, side: Side) -> None:
    t = make("default", ["title"], ["label"], {"value": "(untitled)"})
    assert assert_round_trips(t, ctx(), side, [value])


def test_default_fills_empty_values() -> None:
    t = make("default", ["title"], ["label"], {"value": "(untitled)"})
    assert t.forward("planfix", ["  "], ctx()) == "(untitled)"
    assert t.forward("planfix", [" x "], ctx()) == "x"


# ------------------------------------------------------------------------------------ html_text

html_fragments = st.lists(
    st.sampled_from(
        ["<p>", "</p>", "<br>", "<br/>", "<b>", "</b>", "<div>", "</div>", "<ul>", "<li>", "</li>", "</ul>",
         "&amp;", "&lt;", "&nbsp;", "&#39;", "&bogus;", " ", "\n", "Ω", "<script>x</script>", "<", ">"]
    )
    | texts,
    max_size=12,
).map("".join)  # fmt: skip


@given(html_fragments)
def test_html_text_round_trips_from_html(markup: str) -> None:
    t = make("html_text", ["description"], ["description"])
    text = assert_round_trips(t, ctx(), "planfix", [markup])
    # html → text → html → text equals the first text
    html = t.inverse("planfix", text, ctx())[0]
    assert t.forward("planfix", [html], ctx()) == text


@given(texts, st.none() | st.integers(1, 30))
def test_html_text_round_trips_from_text(text: str, max_length: int | None) -> None:
    t = make("html_text", ["description"], ["description"], {"max_length": max_length})
    assert_round_trips(t, ctx(), "planningpme", [text])


def test_html_text_examples() -> None:
    t = make("html_text", ["description"], ["description"])
    assert (
        t.forward("planfix", ["<p>Hello&nbsp;<b>world</b></p><p>a &lt; b</p>"], ctx())
        == "Hello world\n\na < b"
    )
    assert t.inverse("planfix", "line 1\nx < y & z", ctx()) == ("line 1<br>x &lt; y &amp; z",)
    assert t.inverse("planningpme", "line 1\nline 2", ctx()) == ("line 1\nline 2",)
    flipped = make("html_text", ["title"], ["description"], {"html_side": "planningpme"})
    assert flipped.forward("planningpme", ["a<br>b"], ctx()) == "a\nb"


# ---------------------------------------------------------------------------------- value_map

STATUS = {"1": "C1", "2": "C2", "3": "C3", "4": "C4", "5": "C5"}


@given(st.sampled_from([*STATUS, "9", "", None]), st.sampled_from([None, "1"]))
def test_value_map_round_trips_from_planfix(status: str | None, default: str | None) -> None:
    t = make("value_map", ["status"], ["category"], {"map": STATUS, "default": default})
    assert_round_trips(t, ctx(), "planfix", [status])


@given(st.sampled_from([*STATUS.values(), "C9"]).map(lambda k: {"key": k, "label": "x"}) | st.none())
def test_value_map_round_trips_from_planningpme(category: dict[str, str] | None) -> None:
    t = make("value_map", ["status"], ["category"], {"map": STATUS, "default": "1"})
    assert_round_trips(t, ctx(), "planningpme", [category])


def test_value_map_examples() -> None:
    t = make("value_map", ["status"], ["category"], {"map": STATUS, "default": "1"})
    assert t.forward("planningpme", [{"key": "C3", "label": "Done"}], ctx()) == "3"
    assert t.forward("planningpme", [{"key": "C9"}], ctx()) == "1"  # unmapped → default
    assert t.forward("planfix", ["7"], ctx()) == "1"
    assert t.inverse("planningpme", "4", ctx()) == ({"key": "C4"},)
    assert t.inverse("planfix", "4", ctx()) == ("4",)
    assert t.inverse("planningpme", None, ctx()) == (None,)
    no_default = make("value_map", ["importance"], ["fields.PRIORITY"], {"map": {"HIGH": "1", "LOW": "3"}})
    assert no_default.forward("planfix", ["AVERAGE"], ctx()) is None
    assert no_default.inverse("planningpme", "HIGH", ctx()) == ("1",)


# ------------------------------------------------------------------------------------- lookup

USERS = {"1": "R1", "2": "R2", "3": "R3", "4": "R4", "5": "R5"}
LABELS = {"R1": "Иван Петров", "R2": "María García"}
user_ids = st.sampled_from(["1", "2", "3", "4", "5", "9", "0"])


@given(st.lists(user_ids, max_size=6))
def test_lookup_round_trips_from_planfix(ids: list[str]) -> None:
    t = make("lookup", ["workers"], ["resources"], {"table": USERS, "labels": LABELS})
    canonical = assert_round_trips(t, ctx(), "planfix", [[{"id": i, "name": "n"} for i in ids]])
    assert canonical == sorted({i for i in ids if i in USERS}, key=int)


@given(st.lists(st.sampled_from(["R1", "R2", "R3", "R4", "R5", "R9"]), max_size=6))
def test_lookup_round_trips_from_planningpme(keys: list[str]) -> None:
    t = make("lookup", ["workers"], ["resources"], {"table": USERS, "labels": LABELS})
    assert_round_trips(t, ctx(), "planningpme", [[{"key": k, "label": "x"} for k in keys]])


def test_lookup_examples() -> None:
    t = make("lookup", ["workers"], ["resources"], {"table": USERS, "labels": LABELS})
    workers = [{"id": "2", "name": "b"}, {"id": "1", "name": "a"}, {"id": "9", "name": "z"}]
    assert t.forward("planfix", [workers], ctx()) == ["1", "2"]
    assert t.inverse("planningpme", ["1", "3"], ctx()) == (
        [{"key": "R1", "label": "Иван Петров"}, {"key": "R3"}],
    )
    assert t.inverse("planfix", ["3"], ctx()) == ([{"id": "3"}],)
    # With the current record, entries the table does not know are kept.
    assert t.inverse("planfix", ["3"], ctx(), [workers]) == ([{"id": "3"}, {"id": "9", "name": "z"}],)
    single = make("lookup", ["owner"], ["fields.OWNER"], {"table": USERS})
    assert single.forward("planfix", [{"id": "2", "name": "x"}], ctx()) == "2"
    assert single.inverse("planningpme", "2", ctx()) == ("R2",)
    assert single.inverse("planfix", "2", ctx()) == ({"id": "2"},)


# --------------------------------------------------------------------------------------- link

LINKS = StaticLinks({("contact", "12"): "5", ("contact", "13"): "6"})


@given(st.sampled_from(["12", "13", None]))
def test_link_round_trips_from_planfix(client: str | None) -> None:
    t = make("link", ["client"], ["customers"])
    native = None if client is None else {"id": client, "name": "ACME"}
    assert_round_trips(t, ctx(links=LINKS), "planfix", [native])


@given(st.lists(st.sampled_from([5, 6, 7, 8]), max_size=3))
def test_link_round_trips_from_planningpme(keys: list[int]) -> None:
    t = make("link", ["client"], ["customers"])
    canonical = t.forward("planningpme", [[{"key": k, "label": "c"} for k in keys]], ctx(links=LINKS))
    # a customer that is not linked yet can be written to PlanningPME but not to Planfix
    if isinstance(canonical, str) and canonical.startswith("planningpme:"):
        back = t.inverse("planningpme", canonical, ctx(links=LINKS))
        assert t.forward("planningpme", back, ctx(links=LINKS)) == canonical
        with pytest.raises(UnresolvedLinkError):
            t.inverse("planfix", canonical, ctx(links=LINKS))
    else:
        assert_round_trips(t, ctx(links=LINKS), "planningpme", [[{"key": k} for k in keys]])


def test_link_examples() -> None:
    t = make("link", ["client"], ["customers"])
    c = ctx(links=LINKS)
    assert t.forward("planfix", [{"id": "12", "name": "ACME"}], c) == "12"
    assert t.forward("planfix", [None], c) is None
    assert t.forward("planningpme", [[{"key": 6}, {"key": 5}]], c) == "12"  # the lowest key
    assert t.forward("planningpme", [[{"key": 8, "label": "New"}]], c) == "planningpme:8"
    assert t.inverse("planningpme", "12", c) == ([{"key": 5}],)
    assert t.inverse("planningpme", None, c) == ([],)
    assert t.inverse("planfix", "12", c) == ({"id": "12"},)
    assert t.related("planningpme", [[{"key": 8}, {"key": 5}]]) == [("customer", "5"), ("customer", "8")]
    with pytest.raises(UnresolvedLinkError, match="contact 99 has no counterpart on the PlanningPME side"):
        t.inverse("planningpme", "99", c)


# --------------------------------------------------------------------------- name, email, phone


@given(texts, texts, st.sampled_from(["first_last", "last_first"]))
def test_name_round_trips(first: str, last: str, order: str) -> None:
    t = make("name", ["name", "lastName"], ["label"], {"order": order}, entities=("contact", "customer"))
    canonical = assert_round_trips(t, ctx(), "planfix", [first, last])
    assert_round_trips(t, ctx(), "planningpme", [canonical])


def test_name_examples() -> None:
    t = make("name", ["name", "lastName"], ["label"], entities=("contact", "customer"))
    assert t.forward("planfix", [" Ana ", "López"], ctx()) == "Ana López"
    assert t.inverse("planfix", "Ana María López", ctx()) == ("Ana María", "López")
    assert t.inverse("planfix", "Cher", ctx()) == ("Cher", "")
    russian = make(
        "name", ["name", "lastName"], ["label"], {"order": "last_first"}, entities=("contact", "customer")
    )
    assert russian.forward("planfix", ["Иван", "Петров"], ctx()) == "Петров Иван"
    assert russian.inverse("planfix", "Петров Иван Сергеевич", ctx()) == ("Иван Сергеевич", "Петров")


@given(texts | st.emails(), sides)
def test_email_round_trips(value: str, side: Side) -> None:
    t = make("email", ["email"], ["email"], entities=("contact", "customer"))
    assert_round_trips(t, ctx(), side, [value])


def test_email_examples() -> None:
    t = make("email", ["email"], ["email"], entities=("contact", "customer"))
    assert t.forward("planfix", ["  Ana.Lopez@Example.COM "], ctx()) == "Ana.Lopez@example.com"
    assert t.forward("planningpme", [None], ctx()) == ""


phone_lists = st.lists(
    st.fixed_dictionaries({"number": texts, "typeId": st.sampled_from(["1", "2"])}), max_size=3
)


@given(phone_lists)
def test_phone_round_trips_from_planfix(phones: list[dict[str, str]]) -> None:
    t = make("phone", ["phones"], ["phone"], entities=("contact", "customer"))
    canonical = assert_round_trips(t, ctx(), "planfix", [phones])
    # with the current list, the other numbers are kept and the result still reads the same
    native = t.inverse("planfix", canonical, ctx(), [phones])
    assert t.forward("planfix", native, ctx()) == canonical


def test_phone_examples() -> None:
    t = make("phone", ["phones"], ["phone"], {"type_id": "3"}, entities=("contact", "customer"))
    phones = [
        {"number": " ", "typeId": "1"},
        {"number": "+34  91 123\t4567", "typeId": "2"},
        {"number": "5", "typeId": "1"},
    ]
    assert t.forward("planfix", [phones], ctx()) == "+34 91 123 4567"
    assert t.inverse("planfix", "+7 495 000", ctx()) == ([{"number": "+7 495 000", "typeId": "3"}],)
    assert t.inverse("planfix", "+7 495 000", ctx(), [phones]) == (
        [phones[0], {"number": "+7 495 000", "typeId": "2"}, phones[2]],
    )
    assert t.inverse("planfix", "", ctx(), [phones]) == ([],)
    assert t.inverse("planningpme", "+7 495 000", ctx()) == ("+7 495 000",)


# ------------------------------------------------------------------------------------- company


@given(st.booleans() | st.sampled_from(["1", "0", "true", None]), texts)
def test_company_round_trips_from_planfix(flag: Any, name: str) -> None:
    t = make("company", ["isCompany", "companyName"], ["type", "company"], entities=("contact", "customer"))
    assert_round_trips(t, ctx(), "planfix", [flag, name])


@given(st.sampled_from(["Company", "Individual", "company", "", None]), texts)
def test_company_round_trips_from_planningpme(kind: str | None, name: str) -> None:
    t = make("company", ["isCompany", "companyName"], ["type", "company"], entities=("contact", "customer"))
    assert_round_trips(t, ctx(), "planningpme", [kind, name])


def test_company_examples() -> None:
    t = make("company", ["isCompany", "companyName"], ["type", "company"], entities=("contact", "customer"))
    assert t.forward("planfix", [True, " ACME  SL "], ctx()) == {"company": "ACME SL", "is_company": True}
    assert t.forward("planningpme", ["Individual", ""], ctx()) == {"company": "", "is_company": False}
    assert t.inverse("planningpme", {"company": "ACME", "is_company": True}, ctx()) == ("Company", "ACME")
    assert t.inverse("planfix", {"company": "ACME", "is_company": False}, ctx()) == (False, "ACME")


def test_an_individuals_company_name_takes_no_part_unless_asked() -> None:
    """Planfix keeps a company name only on companies: an employer's name would read back cleared."""
    sides = (["isCompany", "companyName"], ["type", "company"])
    t = make("company", *sides, entities=("contact", "customer"))
    assert t.forward("planningpme", ["Individual", "ACME"], ctx()) == {"company": "", "is_company": False}
    kept = make("company", *sides, {"individual_company": "sync"}, entities=("contact", "customer"))
    assert kept.forward("planningpme", ["Individual", "ACME"], ctx()) == {
        "company": "ACME",
        "is_company": False,
    }


# ------------------------------------------------------------------------------------ constant


def test_constant_writes_its_value_one_way() -> None:
    from mappings.paths import resolve
    from mappings.transform_base import Shape

    shape = Shape((), (resolve("event", "allDay"),))
    t = REGISTRY["constant"].build({"value": False}, shape)
    assert t.problems("to_planningpme") == []
    assert t.forward("planfix", [], ctx()) is False
    assert t.inverse("planningpme", False, ctx()) == (False,)
    category = REGISTRY["constant"].build({"value": "C1"}, Shape((), (resolve("event", "category"),)))
    assert category.problems("to_planningpme") == []
    assert category.inverse("planningpme", "C1", ctx()) == ({"key": "C1"},)


def test_bad_native_value_is_a_mapping_value_error() -> None:
    t = make("datetime", ["startDate", "startTime"], ["start"])
    with pytest.raises(MappingValueError, match="not a Planfix date"):
        t.forward("planfix", ["2026-11-23", "10:00"], ctx())
