"""Running headers and footers: the same text (its numbers aside) at the same height on most
pages, dropped from the pages' text."""

from __future__ import annotations

import re

from plugins.board_games.tools.rulebooks.extract.model import Line

Running = set[tuple[str, int]]  # (a line's text without its numbers, its height band)


def _running_key(text: str) -> str:
    """A header's or footer's text with its numbers and spaces left out: "2 / 8" from the text
    layer and "2/8" from OCR are one footer."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def is_running(line: Line, running: Running) -> bool:
    key = _running_key(line.text)
    band = round(line.top / 8)
    return any((key, b) in running for b in (band - 1, band, band + 1))


def running_lines(lines: list[Line], page_count: int) -> Running:
    """Headers and footers: the same text (digits ignored) at the same height on many pages.
    Pages are counted, not lines: a table row of numbers ("2 7 7 14") is four lines of "#" at
    one height on one page, and must not pass for a page number."""
    if page_count < 3:
        return set()
    pages: dict[tuple[str, int], set[int]] = {}
    for ln in lines:
        pages.setdefault((_running_key(ln.text), round(ln.top / 8)), set()).add(ln.page)
    threshold = max(3, int(page_count * 0.5))
    return {k for k, seen in pages.items() if len(seen) >= threshold}
