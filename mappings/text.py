"""Text normalisation and HTML ↔ plain text, the pure helpers behind the text transforms.

Canonical text must compare equal when two values mean the same to a person: runs of whitespace,
trailing blanks, Windows line ends and invisible control characters do not change meaning. Every
function here is idempotent (applying it twice changes nothing), which is what makes the round
trips of the transforms stable.
"""

from __future__ import annotations

import html
import unicodedata
from html.parser import HTMLParser


def _visible(text: str) -> str:
    """Drop control characters (other than whitespace) and lone surrogates: they carry no meaning
    a person can see, and surrogates cannot even be encoded for hashing."""
    return "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cs"))


def one_line(text: str) -> str:
    """Trimmed, every run of whitespace (line breaks included) turned into one space."""
    return " ".join(_visible(text).split())


def multi_line(text: str) -> str:
    """Lines kept, each one trimmed and collapsed; at most one empty line in a row; no empty
    lines at the start or end."""
    lines: list[str] = []
    for raw in _visible(text).splitlines():
        line = " ".join(raw.split())
        if line or (lines and lines[-1]):
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def truncate(text: str, max_length: int | None, *, multiline: bool = False) -> str:
    """At most ``max_length`` characters, never ending in whitespace (so it stays normalised)."""
    if max_length is None or len(text) <= max_length:
        return text
    cut = text[:max_length]
    return multi_line(cut) if multiline else one_line(cut)


_BLOCK = frozenset(
    {
        "address", "article", "aside", "dd", "div", "dl", "dt", "figcaption", "figure", "footer",
        "form", "header", "hr", "main", "nav", "section", "td", "th", "tr",
    }
)  # fmt: skip
_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "ul", "ol", "table"})
_SKIP = frozenset({"script", "style", "head", "title"})


class _TextExtractor(HTMLParser):
    """Reads HTML the way a browser would show it: tags gone, entities decoded, source line
    breaks insignificant, ``<br>`` a line break, blocks on their own lines, paragraphs apart."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skipping = 0

    def _flush(self, *, force: bool = False) -> None:
        line = " ".join("".join(self.current).split())
        if line or force:
            self.lines.append(line)
        self.current = []

    def _paragraph(self) -> None:
        self._flush()
        if self.lines and self.lines[-1]:
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag == "br":
            self._flush(force=True)
        elif tag == "li":
            self._flush()
            self.current.append("- ")
        elif tag in _PARAGRAPH:
            self._paragraph()
        elif tag in _BLOCK:
            self._flush()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIP:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _PARAGRAPH:
            self._paragraph()
        elif tag in _BLOCK or tag == "li":
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.current.append(data)

    def text(self) -> str:
        self.close()
        self._flush()
        return multi_line("\n".join(self.lines))


def html_to_text(markup: str) -> str:
    """The normalised plain text a person reads in ``markup``."""
    parser = _TextExtractor()
    parser.feed(markup)
    return parser.text()


def text_to_html(text: str) -> str:
    """HTML that shows ``text``: special characters escaped, line breaks as ``<br>``.

    ``html_to_text(text_to_html(t)) == multi_line(t)`` for every string ``t``.
    """
    return "<br>".join(html.escape(line, quote=False) for line in multi_line(text).split("\n"))
