"""What pdfplumber sees under Docling's lines, in one pass over the pages: tables by their ruling
lines, the horizontal rules outside them, and each line's characters (the type's size and weight,
where its words stand, cells a wide gap apart, display type spelt again), the bullets drawn as
shapes before it and the call-out box it stands in."""

from __future__ import annotations

import re
import statistics
from bisect import bisect_left, bisect_right
from itertools import pairwise
from pathlib import Path
from typing import Any

from plugins.board_games.tools.rulebooks.extract.model import (
    Box,
    Char,
    Line,
    Rule,
    Table,
    lines_by_page,
)
from plugins.board_games.tools.rulebooks.extract.repair import (
    CELL_GAP,
    WORD_GAP,
    respelt,
    type_size,
    without_pictograms,
)
from plugins.board_games.tools.rulebooks.text import clean_line

BOLD = re.compile(r"bold|black|heavy|demi|semibold", re.IGNORECASE)


def pdfplumber_pass(
    path: Path, lines: list[Line]
) -> tuple[dict[int, list[Table]], dict[int, list[Rule]]]:
    """One pass of pdfplumber over the pages: tables by their ruling lines, the horizontal
    rules outside them (for `tables.rows_between_rules`), and what each text line's characters
    say that Docling's boxes do not: the type's size and weight (their median and majority),
    where its words stand, and where the line is cut by a gap wider than a word space can be."""
    import pdfplumber

    found: dict[int, list[Table]] = {}
    rules: dict[int, list[Rule]] = {}
    by_page = lines_by_page(lines)
    with pdfplumber.open(str(path)) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            page = page.dedupe_chars()  # glyphs drawn twice over (faux bold) count once
            # pdfplumber measures from the media box's corner, Docling from the crop box's: a
            # print PDF's media box holds the bleed and the crop marks around the page.
            dx, dy = page.cropbox[0], page.cropbox[1]
            tables = _ruled_tables(page, dx, dy)
            if tables:
                found[number] = tables
            rules[number] = _rules_outside(page, dx, dy, found.get(number, []))
            on_page = by_page.get(number, [])
            read_chars(on_page, [_shifted(c, dx, dy) for c in page.chars])
            mark_bullets(
                on_page,
                [
                    (s["x0"] - dx, s["top"] - dy, s["x1"] - dx, s["bottom"] - dy)
                    for s in page.curves + page.rects
                    if s["width"] <= 12 and s["height"] <= 12
                ],
            )
            _mark_boxed(on_page, _callout_boxes(page, dx, dy))
    return found, rules


# pdfplumber ships no types: `page` is its Page, `dx` and `dy` where its crop box starts.
def _ruled_tables(page: Any, dx: float, dy: float) -> list[Table]:
    """The page's tables by their ruling lines, of two rows and two columns at least."""
    found: list[Table] = []
    for table in page.find_tables():
        rows = [r for r in table.extract() if any((c or "").strip() for c in r)]
        if len(rows) >= 2 and max(len(r) for r in rows) >= 2:
            x0, top, x1, bottom = table.bbox
            found.append(Table(top - dy, bottom - dy, x0 - dx, x1 - dx, rows))
    return found


def _rules_outside(page: Any, dx: float, dy: float, tables: list[Table]) -> list[Rule]:
    """The page's horizontal rules (flat rectangles and lines, 10 points long or more) that do
    not start inside one of its ruled tables."""
    return [
        (r["top"] - dy, r["x0"] - dx, r["x1"] - dx)
        for r in page.rects + page.lines
        if r["bottom"] - r["top"] <= 2
        and r["x1"] - r["x0"] >= 10
        and not any(
            t.top - 2 <= r["top"] - dy <= t.bottom + 2 and t.left - 2 <= r["x0"] - dx <= t.right
            for t in tables
        )
    ]


def _shifted(char: Char, dx: float, dy: float) -> Char:
    """A character measured from the crop box's corner, as Docling measures."""
    return {
        **char,
        "x0": char["x0"] - dx,
        "x1": char["x1"] - dx,
        "top": char["top"] - dy,
        "bottom": char["bottom"] - dy,
    }


def _callout_boxes(page: Any, dx: float, dy: float) -> list[Box]:
    """Boxes: rectangles, rounded ones (curves) and pictures a call-out is set on."""
    return [
        (r["x0"] - dx, r["top"] - dy, r["x1"] - dx, r["bottom"] - dy)
        for r in page.rects + page.curves + page.images
        if r["width"] >= 60
        and r["height"] >= 20
        and r["width"] * r["height"] < 0.6 * page.width * page.height
    ]


def _mark_boxed(lines: list[Line], boxes: list[Box]) -> None:
    """A line whose middle stands in a box is boxed."""
    for ln in lines:
        x, y = (ln.left + ln.right) / 2, (ln.top + ln.bottom) / 2
        ln.boxed = any(x0 <= x <= x1 and top <= y <= bottom for x0, top, x1, bottom in boxes)


def mark_bullets(lines: list[Line], shapes: list[Box]) -> None:
    """Lines led by a bullet drawn as a shape (a browser draws a list's discs and squares so;
    a word processor types a glyph): a dot or square under ~half the type's size, about as
    tall as wide, level with the line and just before where its text starts. Run after
    `read_chars`, which sets the type's size and the box the characters fill. A drawing of
    thousands of small shapes costs a search per line, not a pass over all of them."""
    shapes = sorted(shapes, key=lambda s: s[1] + s[3])
    middles = [(top + bottom) / 2 for _, top, _, bottom in shapes]
    for ln in lines:
        em = ln.em
        ln.bullet = any(
            0.1 * em <= min(x1 - x0, bottom - top)
            and max(x1 - x0, bottom - top) <= 0.7 * em
            and max(x1 - x0, bottom - top) <= 2 * min(x1 - x0, bottom - top)
            and 0 <= ln.left - x1 <= 2 * em
            for x0, top, x1, bottom in shapes[
                bisect_left(middles, ln.top) : bisect_right(middles, ln.bottom)
            ]
        )


def read_chars(lines: list[Line], chars: list[Char]) -> None:
    """Each line's own characters (their middles inside its box) say where it really stands,
    its type's size and weight, its words, its cells, and its text, display type spelt again."""
    chars = sorted(
        (c for c in chars if not c["text"].isspace()), key=lambda c: (c["top"] + c["bottom"]) / 2
    )
    middles = [(c["top"] + c["bottom"]) / 2 for c in chars]
    for ln in lines:
        inside = sorted(
            (
                c
                for c in chars[bisect_left(middles, ln.top) : bisect_right(middles, ln.bottom)]
                if ln.left <= (c["x0"] + c["x1"]) / 2 <= ln.right
            ),
            key=lambda c: c["x0"],
        )
        if inside:
            _read_line_chars(ln, inside)


def _read_line_chars(ln: Line, inside: list[Char]) -> None:
    """One line from its characters, left to right."""
    # Some producers' text boxes are a fraction of the type's height (Chromium's, as
    # Docling reads them): the characters' own boxes say where the line really stands.
    ln.top = min(ln.top, min(c["top"] for c in inside))
    ln.bottom = max(ln.bottom, max(c["bottom"] for c in inside))
    ln.size = round(statistics.median(map(type_size, inside)), 1)
    ln.bold = (
        sum(BOLD.search(c.get("fontname") or "") is not None for c in inside) > len(inside) / 2
    )
    runs, words = [[inside[0]]], [[inside[0]]]
    for before, char in pairwise(inside):
        gap = char["x0"] - before["x1"]
        if gap >= CELL_GAP * ln.size:
            runs.append([])
        if gap > WORD_GAP * char["size"]:
            words.append([])
        runs[-1].append(char)
        words[-1].append(char)
    ln.words = [(w[0]["x0"], max(c["x1"] for c in w), "".join(c["text"] for c in w)) for w in words]
    ln.text = respelt(without_pictograms(ln.text, inside), inside, ln.size)
    if len(runs) > 1:
        ln.cells = [
            Line(
                ln.page,
                clean_line(_spelt(run)),
                run[0]["x0"],
                ln.top,
                ln.bottom,
                max(c["x1"] for c in run),
                ln.size,
                ln.bold,
            )
            for run in runs
        ]


def _spelt(chars: list[Char]) -> str:
    """Characters of one run as text, a space where they stand a word space apart."""
    out: str = chars[0]["text"]
    for before, char in pairwise(chars):
        if char["x0"] - before["x1"] > WORD_GAP * char["size"]:
            out += " "
        out += char["text"]
    return out
