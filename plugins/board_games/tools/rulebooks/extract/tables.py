"""Tables: ruled by their lines (found by pdfplumber in `chars.pdfplumber_pass`), ruled only
between their rows, set without rules (found by alignment), or flattened by a text layer into
lines of numbers; and which of a page's lines they hold."""

from __future__ import annotations

import math
import re
import statistics
from bisect import bisect_left
from collections.abc import Callable, Sequence
from itertools import pairwise

from plugins.board_games.tools.rulebooks.extract.headings import HEADING_RATIO
from plugins.board_games.tools.rulebooks.extract.model import Line, Rule, Table
from plugins.board_games.tools.rulebooks.text import clean_line

STACK_GAP = 200  # points between two rules of one table at most (a band of data rows)
CELL_CHARS = 32  # a table cell is short; body text lines are longer
# A rule (or rules end to end): top, left, right, and where its segments meet.
JoinedRule = tuple[float, float, float, tuple[float, ...]]


def page_tables(
    lines: list[Line], ruled: list[Table], rules: list[Rule], body: float, page_width: float
) -> list[Table]:
    """A page's tables, top to bottom: those `ruled` by their lines, those ruled between their
    rows (`rules`), those set by alignment and those flattened into lines of numbers, each from
    the lines that the tables found before it leave."""
    ruled = ruled + rows_between_rules(
        rules, [ln for ln in lines if not any(inside(ln, t) for t in ruled)]
    )
    # A line in type clearly bigger than the text's is a heading, never a table's cell.
    found = ruled + aligned_tables(
        [
            cell
            for ln in lines
            if not any(inside(ln, t) for t in ruled) and ln.em < HEADING_RATIO * body
            for cell in ln.cells or [ln]
        ],
        page_width,
    )
    found += number_rows([ln for ln in lines if not any(inside(ln, t) for t in found)])
    return sorted(found, key=lambda t: t.top)


def inside(line: Line, table: Table) -> bool:
    return (
        table.top - 2 <= line.top
        and line.bottom <= table.bottom + 2
        and table.left - 2 <= line.left
        and line.right <= table.right + 2
    )


def rows_between_rules(rules: list[Rule], lines: list[Line]) -> list[Table]:
    """Tables ruled only between their rows (a web page's, a word processor's, a typeset
    book's): a stack of horizontal rules with the same ends. The bands between the rules are the
    rows; the columns meet where each rule's segments do (browsers draw a rule cell by cell),
    or, where the rules run across whole, at the strips of white that no word crosses (a line
    that crosses a column's edge, cells a word space apart, is cut between its words). Short
    bold lines right above the first rule are the header. Most rows have two cells or more."""
    found = []
    for stack in _rule_stacks(_joined_rules(rules)):
        table = _table_in_stack(stack, lines) if len(stack) >= 2 else None
        if table is not None:
            found.append(table)
    return found


def _joined_rules(rules: list[Rule]) -> list[JoinedRule]:
    """Rules at one height (within half a point) that meet end to end as one, with where their
    segments meet (a browser draws a rule cell by cell)."""
    by_top: dict[float, list[Rule]] = {}
    for rule in sorted(rules):
        top = next((t for t in by_top if abs(t - rule[0]) <= 0.5), rule[0])
        by_top.setdefault(top, []).append(rule)
    joined: list[JoinedRule] = []
    for top, segments in sorted(by_top.items()):
        segments.sort(key=lambda r: r[1])
        chain = [segments[0]]
        for segment in segments[1:]:
            if segment[1] - chain[-1][2] <= 1:
                chain.append(segment)
                continue
            joined.append((top, chain[0][1], chain[-1][2], tuple(r[1] for r in chain[1:])))
            chain = [segment]
        joined.append((top, chain[0][1], chain[-1][2], tuple(r[1] for r in chain[1:])))
    return joined


def _rule_stacks(joined: list[JoinedRule]) -> list[list[JoinedRule]]:
    """Rules one under the other with the same ends and the same joins, each at most
    `STACK_GAP` under the one above, top to bottom."""
    stacks: list[list[JoinedRule]] = []
    for rule in sorted(joined):
        stack = next(
            (
                s
                for s in stacks
                if abs(s[-1][1] - rule[1]) <= 2
                and abs(s[-1][2] - rule[2]) <= 2
                and len(s[-1][3]) == len(rule[3])
                and all(abs(a - b) <= 2 for a, b in zip(s[-1][3], rule[3], strict=True))
                and rule[0] - s[-1][0] <= STACK_GAP
            ),
            None,
        )
        if stack is None:
            stacks.append([rule])
        else:
            stack.append(rule)
    return stacks


def _table_in_stack(stack: list[JoinedRule], lines: list[Line]) -> Table | None:
    """The table a stack of two rules or more rules: its bands' lines as rows, its header the
    short bold lines right above it; None where most rows do not have two cells or more."""
    _, left, right, joins = stack[0]
    within = [ln for ln in lines if left - 2 <= (ln.left + ln.right) / 2 <= right + 2]
    bands = [
        [ln for ln in within if upper[0] < (ln.top + ln.bottom) / 2 < lower[0]]
        for upper, lower in pairwise(stack)
    ]
    # Rules drawn cell by cell bound every row; rules across the whole table may bound
    # only some (a rule under the header and one under the table): within a band, a line
    # that starts the first column starts a row.
    segmented = bool(joins)
    joins = joins or _gutters([ln for band in bands for ln in band])
    if not joins:
        return None
    cell_em = statistics.median(ln.em for band in bands for ln in band) if any(bands) else 0.0
    header = _bold_lines_above(
        [ln for ln in within if ln.bottom <= stack[0][0] + 1],
        stack[0][0],
        lambda ln: ln.height,
        max_em=HEADING_RATIO * cell_em,
    )  # not a heading over it
    top = min([stack[0][0], *(ln.top for ln in header)])
    rows = [
        _cells(band, joins)
        for band in ([header] if header else [])
        + [row for band in bands for row in ([band] if segmented else _rows_in_band(band, joins))]
        if band
    ]
    if len(rows) >= 2 and sum(sum(map(bool, row)) >= 2 for row in rows) * 2 >= len(rows):
        return Table(top, stack[-1][0], left, right, rows)
    return None


def _rows_in_band(band: list[Line], joins: tuple[float, ...]) -> list[list[Line]]:
    """The table rows of one band between two rules: a line that puts text in the first
    column starts one; a line that does not continues it (a cell wrapped over lines)."""
    rows: list[list[Line]] = []
    for line in _visual_rows(band):
        if not rows or _cells(line, joins)[0]:
            rows.append([])
        rows[-1] += line
    return rows


def _gutters(lines: list[Line]) -> tuple[float, ...]:
    """Where a table's columns meet when its rules run across it whole: the middles of the
    strips of white that no word of any of its rows crosses, wider by a quarter than the
    rows' own word spaces (their median; cells are padded apart)."""
    spaces = [b[0] - a[1] for ln in lines for a, b in pairwise(ln.words) if 0 < b[0] - a[1] < ln.em]
    if not spaces:
        return ()
    gutter = 1.25 * statistics.median(spaces)
    spans = sorted((x0, x1) for ln in lines for x0, x1, _ in ln.words)
    columns: list[list[float]] = []
    for x0, x1 in spans:
        if columns and x0 - columns[-1][1] <= gutter:
            columns[-1][1] = max(columns[-1][1], x1)
        else:
            columns.append([x0, x1])
    return tuple((a[1] + b[0]) / 2 for a, b in pairwise(columns))


def _cells(lines: list[Line], joins: tuple[float, ...]) -> list[str]:
    """One table row's text by column, the columns' edges at `joins`."""
    cells = [""] * (len(joins) + 1)
    for ln in sorted(lines, key=lambda ln: (ln.top, ln.left)):
        for i, text in _by_column(ln, joins, bisect_left(joins, (ln.left + ln.right) / 2)):
            cells[i] = f"{cells[i]} {text}".strip()
    return cells


def _by_column(line: Line, bounds: Sequence[float], column: int) -> list[tuple[int, str]]:
    """A line's text by column, the columns' edges at `bounds`: the line whole in `column`,
    or, where its words stand in two columns or more (cells a word space apart, read as one
    line), cut between its words."""
    words = [(bisect_left(bounds, (x0 + x1) / 2), clean_line(word)) for x0, x1, word in line.words]
    return words if len({i for i, _ in words}) > 1 else [(column, line.text)]


CELL_CHARS = 32  # a table cell is short; body text lines are longer


def aligned_tables(
    lines: list[Line], page_width: float, *, min_rows: int = 3, min_columns: int = 3
) -> list[Table]:
    """Tables without ruling lines, found by alignment (a scanned page's tables, whose rules
    pdfplumber cannot see, or a web page's, ruled only between rows): at least `min_rows`
    rows, one under the other, in which short lines stand side by side. The row with most
    cells gives the columns. A row that leaves the first column empty continues the row above
    (a cell wrapped over two lines: "Tiles each," over "Block"). Full-width tables need
    `min_columns` cells in a row; within the left or the right column of the page, looked at
    next, two are enough (prose does not stand side by side there). Bold lines stacked right
    above a table are its header (`_header_above`)."""
    middle = page_width / 2
    left = [ln for ln in lines if ln.right <= middle + 4]
    right = [ln for ln in lines if ln.left >= middle - 4]
    found = _aligned_runs(lines, min_rows, min_columns)
    used = {id(cell) for run in found for row in run for cell in row}
    for half in (left, right):
        found += _aligned_runs(
            [ln for ln in half if id(ln) not in used], min_rows, min(2, min_columns)
        )
    used = {id(cell) for run in found for row in run for cell in row}
    free = [ln for ln in lines if id(ln) not in used]
    return [_as_table(run, _header_above(run, free)) for run in found]


def _visual_rows(lines: list[Line]) -> list[list[Line]]:
    """Lines grouped by height on the page (their middles within half a line), left to right."""
    rows: list[list[Line]] = []
    for ln in sorted(lines, key=lambda ln: (ln.top + ln.bottom) / 2):
        middle = (ln.top + ln.bottom) / 2
        if rows:
            first = rows[-1][0]
            if abs(middle - (first.top + first.bottom) / 2) <= first.height / 2:
                rows[-1].append(ln)
                continue
        rows.append([ln])
    return [sorted(row, key=lambda ln: ln.left) for row in rows]


def _aligned_runs(lines: list[Line], min_rows: int, min_columns: int) -> list[list[list[Line]]]:
    """Runs of visual rows that form a table: each run a list of rows, each row its cells."""
    runs: list[list[list[Line]]] = [[]]
    for row in _visual_rows(lines):
        previous = runs[-1][-1] if runs[-1] else None
        near = (
            previous is not None
            and row[0].top - max(c.bottom for c in previous) <= 1.5 * row[0].height
        )
        # Cells are short; a longer one may follow where its row keeps the run's columns.
        starts = [c.left for r in runs[-1] for c in r] if near and len(row) >= 2 else []
        short = all(
            len(c.text) <= CELL_CHARS
            or (len(c.text) <= 2 * CELL_CHARS and any(abs(c.left - x) <= 3 for x in starts))
            for c in row
        )
        # A lone cell right of the first column continues a wrapped row of the table.
        tabular = short and (len(row) >= 2 or (near and row[0].left > runs[-1][0][0].right))
        if tabular and (near or not runs[-1]):
            runs[-1].append(row)
        elif tabular:
            runs.append([row])
        elif runs[-1]:
            runs.append([])
    return [
        run for run in runs if len(run) >= min_rows and max(len(row) for row in run) >= min_columns
    ]


def _header_above(run: list[list[Line]], lines: list[Line]) -> list[Line]:
    """Short bold lines stacked right above a table, starting within its width: its header,
    set apart from the rows (a rule under it; its cells centred in a row taller than theirs,
    "Cards per" over "player" beside a one-line "Players")."""
    cells = [c for row in run for c in row]
    left, right = min(c.left for c in cells), max(c.right for c in cells)
    gap = 1.5 * statistics.median(c.height for c in cells)
    top = min(c.top for c in run[0])
    return _bold_lines_above(
        [ln for ln in lines if ln.bottom <= top + 2 and left - 2 <= ln.left < right],
        top,
        lambda _: gap,
    )


def _bold_lines_above(
    candidates: list[Line], top: float, gap: Callable[[Line], float], *, max_em: float = math.inf
) -> list[Line]:
    """Short bold lines stacked over `top`, from the nearest up, each at most `gap(line)` above
    the one below it and in type no bigger than `max_em`: a table's header."""
    header: list[Line] = []
    for ln in sorted(candidates, key=lambda ln: -ln.bottom):
        if (
            top - ln.bottom > gap(ln)
            or not ln.bold
            or len(ln.text) > 2 * CELL_CHARS
            or ln.em > max_em
        ):
            break
        header.append(ln)
        top = min(top, ln.top)
    return header


def _as_table(rows: list[list[Line]], header: Sequence[Line] = ()) -> Table:
    widest = max(rows, key=len)
    columns = [(c.left, c.right) for c in widest]

    def column(cell: Line) -> int:
        overlap = [min(cell.right, r) - max(cell.left, lft) for lft, r in columns]
        best = max(range(len(columns)), key=lambda i: overlap[i])
        if overlap[best] > 0:
            return best
        return min(
            range(len(columns)),
            key=lambda i: abs((cell.left + cell.right) - (columns[i][0] + columns[i][1])),
        )

    # A word belongs to the column whose span (all its cells'), widened to halfway to its
    # neighbours, holds it.
    spans: dict[int, list[Line]] = {}
    for cell in (c for row in rows for c in row):
        spans.setdefault(column(cell), []).append(cell)
    extent = [
        (min(c.left for c in spans[i]), max(c.right for c in spans[i]))
        if i in spans
        else columns[i]
        for i in range(len(columns))
    ]
    bounds = [(a[1] + b[0]) / 2 for a, b in pairwise(extent)]

    def place(row: list[Line]) -> list[str]:
        """The row's text by column; a line that runs over a column's start (cells a word
        space apart, read as one line) is cut between its words."""
        cells = [""] * len(columns)
        for cell in row:
            for i, text in _by_column(cell, bounds, column(cell)):
                cells[i] = f"{cells[i]} {text}".strip()
        return cells

    table: list[list[str]] = []
    for row in rows:
        cells = place(row)
        if table and not cells[0]:
            table[-1] = [f"{a} {b}".strip() for a, b in zip(table[-1], cells, strict=True)]
        else:
            table.append(cells)
    if header:
        table.insert(0, place(sorted(header, key=lambda ln: (ln.top, ln.left))))
    every = [c for row in rows for c in row] + list(header)
    return Table(
        min(c.top for c in every),
        max(c.bottom for c in every),
        min(c.left for c in every),
        max(c.right for c in every),
        table,
    )


NUMBER_ROW = re.compile(
    r"^(?P<label>.{0,32}?)\s*(?P<cells>(?:(?:[-+−]?\d+(?:[.,/:]\d+)*[%+×]?"
    r"|[–—-])(?:\s+|$)){2,})$"
)


def number_rows(lines: list[Line]) -> list[Table]:
    """Tables whose rows the text layer flattened into lines of numbers ("Cards each 17 13 10
    8"): at least two lines one under the other, each a short label (or none) and the same
    number of numbers, two or more. The numbers are the cells; the first line is the header."""
    found: list[Table] = []
    run: list[tuple[Line, list[str]]] = []

    def close() -> None:
        if len(run) >= 2:
            cells = [[label, *numbers] for _, (label, *numbers) in run]
            found.append(
                Table(
                    run[0][0].top,
                    run[-1][0].bottom,
                    min(ln.left for ln, _ in run),
                    max(ln.right for ln, _ in run),
                    cells,
                )
            )
        run.clear()

    for ln in lines:
        row = NUMBER_ROW.match(ln.text)
        cells = [row.group("label"), *row.group("cells").split()] if row else None
        if run and cells is not None:
            last, last_cells = run[-1]
            if (
                len(cells) != len(last_cells)
                or abs(ln.left - last.left) > 4
                or not 0 <= ln.top - last.bottom <= 1.5 * ln.height
            ):
                close()
        elif cells is None:
            close()
        if cells is not None:
            run.append((ln, cells))
    close()
    return found
