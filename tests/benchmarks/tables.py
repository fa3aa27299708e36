"""Result tables: printed as aligned text, saved as JSON (one object per table)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Cell = str | int | float | None


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    goal: str = ""

    def add(self, *cells: Cell) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.key}: {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(list(cells))

    def render(self) -> str:
        text = [[_text(c) for c in row] for row in self.rows]
        widths = [max([len(c)] + [len(r[i]) for r in text]) for i, c in enumerate(self.columns)]
        numeric = [
            all(isinstance(r[i], int | float) or r[i] is None for r in self.rows) for i in range(len(widths))
        ]

        def line(cells: list[str]) -> str:
            out = [
                c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True)
            ]
            return "  ".join(out).rstrip()

        parts = [self.title, "=" * len(self.title)]
        if self.goal:
            parts.append(f"goal: {self.goal}")
        parts += [line(self.columns), line(["-" * w for w in widths]), *(line(r) for r in text)]
        parts += [f"  * {note}" for note in self.notes]
        return "\n".join(parts)

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "goal": self.goal,
            "columns": self.columns,
            "rows": [dict(zip(self.columns, row, strict=True)) for row in self.rows],
            "notes": self.notes,
        }


def _text(cell: Cell) -> str:
    if cell is None:
        return "–"
    if isinstance(cell, float):
        return f"{cell:,.3f}" if abs(cell) < 10 else f"{cell:,.1f}"
    if isinstance(cell, int):
        return f"{cell:,}"
    return cell


def ratio(value: float, bound: float) -> float | None:
    return round(value / bound, 3) if bound else None
