"""What extraction reads and writes: text lines with their boxes, tables, pages, the result.
Every other module of the package imports these; this one imports none of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from plugins.board_games.tools.rulebooks.text import unwrap

# One character as pdfplumber reads it (its keys: "text", "x0", "x1", "top", "bottom",
# "size", "fontname", "upright", ...); pdfplumber ships no types for it.
Char = dict[str, Any]
Rule = tuple[float, float, float]  # a horizontal rule's segment: top, left, right
Box = tuple[float, float, float, float]  # left, top, right, bottom
PageSizes = dict[int, tuple[float, float]]  # a page's width and height, by page number


@dataclass
class Line:
    page: int
    text: str
    left: float
    top: float  # distance from the top of the page (bigger = lower)
    bottom: float
    right: float
    size: float = 0.0  # the type's size in points, as the PDF sets it (0: not known, as in OCR)
    bold: bool = False
    # The line cut where its characters stand far apart: Docling joins table cells a short gap
    # apart into one line ("Cards removed   2 of clubs   none"). Empty: no such gap.
    cells: list[Line] = field(default_factory=list)
    # Where its words stand (left, right, word), where the characters are known: a table's
    # header line can then be cut at the columns the rows under it set.
    words: list[tuple[float, float, str]] = field(default_factory=list)
    # Led by a bullet drawn as a shape, not typed as a glyph (`chars.mark_bullets`).
    bullet: bool = False
    # Stands in a drawn box smaller than the page (a call-out: an example, a tip).
    boxed: bool = False

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def em(self) -> float:
        """How big the type is: its set size where known, else the height of its box. Box
        heights depend on the font's design (DejaVu's box is a tenth taller than Times' at the
        same size), so a heading one point bigger than the body text may not look it."""
        return self.size or self.height


@dataclass
class Table:
    top: float
    bottom: float
    left: float
    right: float
    # Its rows' cells; None: a cell pdfplumber's ruled table leaves empty (a merged cell).
    rows: Sequence[Sequence[str | None]]

    def markdown(self) -> str:
        width = max(len(r) for r in self.rows)
        rows = [
            [unwrap(c or "").replace("|", "\\|") for c in r] + [""] * (width - len(r))
            for r in self.rows
        ]
        head, *body = rows
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * width]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)


@dataclass
class Page:
    number: int  # 1-based PDF page index
    markdown: str
    extractor: str  # docling-native[+pdfplumber][+rapidocr] | pdfplumber[+rapidocr] (Docling's
    # parser failed) | docling-layout | rapidocr | empty
    headings: list[tuple[int, str]] = field(default_factory=list)
    section_path: list[str] = field(default_factory=list)  # where the page starts
    tables: int = 0


@dataclass
class Extraction:
    pages: list[Page]
    seconds: float

    @property
    def tables(self) -> int:
        return sum(p.tables for p in self.pages)


def lines_by_page(lines: list[Line]) -> dict[int, list[Line]]:
    """The lines of each page, in their order, pages in the order they first come."""
    by_page: dict[int, list[Line]] = {}
    for ln in lines:
        by_page.setdefault(ln.page, []).append(ln)
    return by_page
