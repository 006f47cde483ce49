"""Headings: lines whose type is clearly bigger than the body text's (or a little bigger and
bold), ranked into levels by size; short bold lines in the text's size as subheadings under them
all; and the section path the headings build from page to page."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

from plugins.board_games.tools.rulebooks.extract.model import Line

WORDLIKE = re.compile(r"[^\W\d_]{2}")  # two letters in a row: words, not a row of marks
HEADING_RATIO = 1.15  # a heading's type is this much bigger than the body text's,
BOLD_HEADING_RATIO = 1.04  # or this much and bold ("font size and weight")


def body_size(lines: list[Line]) -> float:
    """The body text's size: the commonest size (to a tenth) of the lines long enough to be
    text, 10 where there are none."""
    ems = [round(ln.em, 1) for ln in lines if len(ln.text) > 20]
    return statistics.mode(ems) if ems else 10.0


def is_heading_like(line: Line, body: float) -> bool:
    """Clearly bigger than body text (or a little bigger and bold, outside a call-out box,
    whose title heads the box only), short, made of words (not a row of drawn circles), and
    not ending in a word broken over the next line (an OCR box can be a sixth taller than its
    neighbours for no reason)."""
    text = line.text.replace(" ", "")
    repeated = bool(text) and max(Counter(text).values()) > 0.6 * len(text) and len(text) > 3
    ratio = line.em / body
    big = ratio >= HEADING_RATIO or (line.bold and not line.boxed and ratio >= BOLD_HEADING_RATIO)
    return (
        big
        and len(line.text) <= 90
        and not re.search(r"\w-$", line.text)
        and WORDLIKE.search(line.text) is not None
        and not repeated
    )


def is_subheading(line: Line, before: Line | None, after: Line | None, body: float) -> bool:
    """A short bold line in the text's own size, on a line of its own, over plain text: a
    subheading set by weight (or colour) alone. Not a bold paragraph's line, and not the
    title of a call-out box, whose text ends with the box, not at the next heading."""

    def bold_text(other: Line | None) -> bool:
        return (
            other is not None
            and other.page == line.page
            and other.bold
            and abs(other.em - line.em) < 0.5
        )

    return (
        line.bold
        and not line.boxed
        and line.em >= 0.97 * body
        and len(line.text) <= 60
        and len(line.text.split()) <= 8
        and not line.text.endswith((".", ",", ";", ":"))
        and WORDLIKE.search(line.text) is not None
        and after is not None
        and after.page == line.page
        and not after.bold
        and not bold_text(before)
    )


@dataclass(frozen=True)
class HeadingLevels:
    """A book's heading levels: each heading size's rank, biggest first (at most four)."""

    body: float  # the body text's size
    level_of: dict[int, int]  # a heading size (in whole points) -> its level
    # The top level of the headings after the cover page: a cover line ranked above it (a
    # subtitle set bigger than every chapter heading) is no section the later pages are in.
    later_top: int

    @classmethod
    def of(cls, lines: list[Line], body: float) -> HeadingLevels:
        heading_sizes = sorted(
            {round(ln.em) for ln in lines if is_heading_like(ln, body)}, reverse=True
        )
        level_of = {size: min(i + 1, 4) for i, size in enumerate(heading_sizes)}
        later_top = min(
            (level_of[round(ln.em)] for ln in lines if ln.page > 1 and is_heading_like(ln, body)),
            default=0,
        )
        return cls(body, level_of, later_top)

    @property
    def subheading_level(self) -> int:
        """A subheading set by weight alone ranks under every size of heading."""
        return min(len(self.level_of) + 1, 4)

    def level(self, line: Line, before: Line | None, after: Line | None) -> int | None:
        """The line's level as a heading or a subheading (`before` and `after` are the lines
        around it); None where it is neither."""
        size = round(line.em)
        if size in self.level_of and is_heading_like(line, self.body):
            return self.level_of[size]
        if is_subheading(line, before, after, self.body):
            return self.subheading_level
        return None


@dataclass
class SectionPath:
    """The headings open where the text has got to, each with its level."""

    headings: list[tuple[int, str]] = field(default_factory=list)

    def enter(self, level: int, title: str) -> None:
        """A heading closes those at its level and under, and opens its own section."""
        self.headings = [(lv, t) for lv, t in self.headings if lv < level] + [(level, title)]

    def keep_book_title_and_levels_from(self, top: int) -> None:
        """The first heading (the book's title: every chunk names its book) and those at
        level `top` or under stay open."""
        self.headings = self.headings[:1] + [(lv, t) for lv, t in self.headings[1:] if lv >= top]

    def titles(self) -> list[str]:
        return [t for _, t in self.headings]
