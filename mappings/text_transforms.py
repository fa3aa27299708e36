"""Transforms of text-like values: plain and HTML text, names, e-mail, phone, company, constants.

Each is pure and, except ``constant``, invertible: its canonical value reads back unchanged
after a write to either side (see ``transform_base.Transform``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field, PositiveInt, field_validator

from mappings.context import MappingContext
from mappings.paths import Slot
from mappings.sides import SIDE_TITLES, Direction, Side, reads_from
from mappings.text import html_to_text, multi_line, one_line, text_to_html, truncate
from mappings.transform_base import (
    SCALAR_KINDS,
    Params,
    Transform,
    as_text,
    describe,
    dicts,
    expect_single,
    scalar_out,
    truthy,
)

JsonScalar = str | bool | int | float


class TextParams(Params):
    max_length: PositiveInt | None = None
    multiline: bool = False


class Text(Transform[TextParams]):
    name = "text"
    summary = "trims and collapses whitespace; optional truncation"
    params_model = TextParams

    def _normal(self, value: Any) -> str:
        text = as_text(value)
        normal = multi_line(text) if self.params.multiline else one_line(text)
        return truncate(normal, self.params.max_length, multiline=self.params.multiline)

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        return self._normal(values[0])

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        return (as_text(canonical),)


class DefaultParams(Params):
    value: str = Field(min_length=1)

    @field_validator("value")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not one_line(value):
            raise ValueError("the default value must not be blank")
        return value


class Default(Transform[DefaultParams]):
    name = "default"
    summary = "like text, but an empty value reads as the given default"
    params_model = DefaultParams

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        return one_line(as_text(values[0])) or one_line(self.params.value)

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        return (as_text(canonical),)


class HtmlTextParams(Params):
    html_side: Side = "planfix"
    max_length: PositiveInt | None = None


class HtmlText(Transform[HtmlTextParams]):
    name = "html_text"
    summary = "HTML on one side ↔ plain text on the other; canonical is normalised plain text"
    params_model = HtmlTextParams

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        raw = as_text(values[0])
        text = html_to_text(raw) if side == self.params.html_side else multi_line(raw)
        return truncate(text, self.params.max_length, multiline=True)

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        text = as_text(canonical)
        return (text_to_html(text) if side == self.params.html_side else text,)


class Email(Transform[Params]):
    name = "email"
    summary = "trimmed e-mail address with the domain in lower case"

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        text = "".join(as_text(values[0]).split())
        local, at, domain = text.rpartition("@")
        return f"{local}@{domain.lower()}" if at else text

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        return (as_text(canonical),)


class NameParams(Params):
    order: Literal["first_last", "last_first"] = "first_last"


class Name(Transform[NameParams]):
    name = "name"
    summary = "full name on one side ↔ first and last name on the other"
    params_model = NameParams

    def check_side(self, side: Side, slots: tuple[Slot, ...], direction: Direction) -> str | None:
        if 1 <= len(slots) <= 2 and all(s.kind in SCALAR_KINDS for s in slots):
            return None
        return (
            f"transform 'name' needs one path (the full name) or two paths (first name, last name)"
            f" on the {SIDE_TITLES[side]} side, got {describe(slots)}"
        )

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        parts = [one_line(as_text(v)) for v in values]
        if len(parts) == 2 and self.params.order == "last_first":
            parts.reverse()
        return " ".join(p for p in parts if p)

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        full = one_line(as_text(canonical))
        if len(self.shape.of(side)) == 1:
            return (full,)
        words = full.split(" ") if full else []
        if self.params.order == "first_last":
            first, last = (" ".join(words[:-1]), words[-1]) if len(words) > 1 else (full, "")
        else:
            last, first = (words[0], " ".join(words[1:])) if words else ("", "")
        return (first, last)


class PhoneParams(Params):
    type_id: str = "1"
    """Planfix phone type given to a number syncd adds to a contact that had none."""


class Phone(Transform[PhoneParams]):
    name = "phone"
    summary = "first phone number of a Planfix contact ↔ a phone string, spacing normalised"
    params_model = PhoneParams

    def check_side(self, side: Side, slots: tuple[Slot, ...], direction: Direction) -> str | None:
        return expect_single(self.name, side, slots, SCALAR_KINDS | {"phones"}, "phone (or phones list)")

    def keeps_current(self, side: Side) -> bool:
        return self.shape.of(side)[0].kind == "phones"  # the other numbers of the list are kept

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        value = values[0]
        if self.shape.of(side)[0].kind == "phones":
            numbers = [one_line(as_text(p.get("number"))) for p in dicts(value)]
            return next((n for n in numbers if n), "")
        return one_line(as_text(value))

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        number = one_line(as_text(canonical))
        if self.shape.of(side)[0].kind != "phones":
            return (number,)
        if not number:
            return ([],)
        phones = [dict(p) for p in dicts(current[0])] if current else []
        for phone in phones:
            if one_line(as_text(phone.get("number"))):
                phone["number"] = number
                return (phones,)
        return ([{"number": number, "typeId": self.params.type_id}, *phones],)


class CompanyParams(Params):
    company_type: str = "Company"
    individual_type: str = "Individual"
    individual_company: Literal["ignore", "sync"] = "ignore"
    """``ignore``: an individual's company name (an employer, say) takes no part, because a system
    that keeps a company name only on companies (Planfix) could not hold it: it would read back as
    cleared and the sync would clear it on the other side."""


class Company(Transform[CompanyParams]):
    name = "company"
    summary = "company flag + company name ↔ customer type + company; canonical {is_company, company}"
    params_model = CompanyParams

    def check_side(self, side: Side, slots: tuple[Slot, ...], direction: Direction) -> str | None:
        if len(slots) == 2 and slots[0].kind in SCALAR_KINDS | {"bool"} and slots[1].kind in SCALAR_KINDS:
            return None
        return (
            f"transform 'company' needs two paths on the {SIDE_TITLES[side]} side: the company flag or"
            f" type (e.g. 'isCompany' or 'type') and the company name, got {describe(slots)}"
        )

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        flag, company = values
        if self.shape.of(side)[0].kind == "bool":
            is_company = truthy(flag)
        else:
            is_company = one_line(as_text(flag)).casefold() == self.params.company_type.casefold()
        if not is_company and self.params.individual_company == "ignore":
            company = ""
        return {"company": one_line(as_text(company)), "is_company": is_company}

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        value = canonical if isinstance(canonical, Mapping) else {}
        is_company = bool(value.get("is_company"))
        company = as_text(value.get("company"))
        if self.shape.of(side)[0].kind == "bool":
            return (is_company, company)
        return (self.params.company_type if is_company else self.params.individual_type, company)


class ConstantParams(Params):
    value: JsonScalar


class Constant(Transform[ConstantParams]):
    name = "constant"
    summary = "always writes the given value (one way; reads nothing)"
    invertible = False
    params_model = ConstantParams

    def check_side(self, side: Side, slots: tuple[Slot, ...], direction: Direction) -> str | None:
        title = SIDE_TITLES[side]
        if direction != "both" and reads_from(direction, side):
            if slots:
                return f"transform 'constant' reads nothing: leave the {title} side empty ({side} = [])"
            return None
        if len(slots) == 1 and slots[0].kind in SCALAR_KINDS | {"bool", "ref"}:
            return None
        return f"transform 'constant' writes one path on the {title} side, got {describe(slots)}"

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        return self.params.value

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        slot = self.shape.of(side)[0]
        return (scalar_out(slot, as_text(self.params.value)) if slot.kind == "ref" else self.params.value,)
