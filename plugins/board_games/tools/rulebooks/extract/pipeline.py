"""`extract()`: a PDF's pages as Markdown, as a short list of named steps over the modules of
this package (each step's reasons are told where it is defined)."""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from lifeos.errors import RulebookError
from lifeos.logging import get_logger
from plugins.board_games.tools.rulebooks.extract.chars import pdfplumber_pass
from plugins.board_games.tools.rulebooks.extract.headings import (
    HeadingLevels,
    SectionPath,
    body_size,
    is_heading_like,
)
from plugins.board_games.tools.rulebooks.extract.layout import docling_layout
from plugins.board_games.tools.rulebooks.extract.model import (
    Extraction,
    Line,
    Page,
    PageSizes,
    Rule,
    Table,
    lines_by_page,
)
from plugins.board_games.tools.rulebooks.extract.ocr import (
    SPARSE_PAGE_CHARS,
    ocr_page,
    overlaps,
    scaled_to,
)
from plugins.board_games.tools.rulebooks.extract.pdf import (
    check_pdf,
    docling_lines,
    pdfplumber_lines,
)
from plugins.board_games.tools.rulebooks.extract.repair import (
    LEGIBLE,
    legibility,
    restore_ligatures,
    without_shadows,
)
from plugins.board_games.tools.rulebooks.extract.running import is_running, running_lines
from plugins.board_games.tools.rulebooks.extract.tables import inside, page_tables

log = get_logger(__name__)

BULLET = re.compile(r"^\s*([•·▪◦‣●○■□–—*-]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s+")


def extract(
    path: Path,
    *,
    max_bytes: int = 100_000_000,
    max_pages: int = 500,
    layout_artifacts: Path | None = None,
) -> Extraction:
    """Check the PDF, then read it with Docling's layout models where they are configured, or
    recover its structure from the text layer (and OCR) otherwise."""
    started = time.perf_counter()
    path = Path(path)
    page_count = check_pdf(path, max_bytes=max_bytes, max_pages=max_pages)
    if layout_artifacts is not None:
        pages = _with_layout_models(path, layout_artifacts, page_count)
    else:
        book = _read_text_layer(path, page_count)
        _read_unreadable_pages(book)
        _read_pages_without_text(book)
        _drop_running_lines(book)
        pages = _write_pages(book)
    return Extraction(pages, time.perf_counter() - started)


@dataclass
class _Book:
    """What the steps of structure recovery read and add to, page by page."""

    path: Path
    page_count: int
    parser: str  # docling-native, or pdfplumber where Docling's parser failed
    lines: list[Line]
    sizes: PageSizes
    tables: dict[int, list[Table]]  # ruled tables, by page
    rules: dict[int, list[Rule]]  # horizontal rules outside them, by page
    body: float = 10.0  # the body text's size
    unreadable: dict[int, list[Line]] = field(default_factory=dict)  # OCR lines, by page
    ocr_pages: list[int] = field(default_factory=list)  # pages read by OCR alone
    completed: set[int] = field(default_factory=set)  # pages whose text layer OCR completed


def _with_layout_models(path: Path, artifacts: Path, page_count: int) -> list[Page]:
    """Docling's full pipeline; a page it finds no text on is read by OCR, as on the default
    path."""
    pages = docling_layout(path, artifacts, page_count)
    for i, page in enumerate(pages):
        if page.extractor == "empty":
            ocr = ocr_page(path, page.number)
            pages[i] = Page(
                page.number,
                "\n".join(ln.text for ln in ocr),
                "rapidocr" if ocr else "empty",
                section_path=page.section_path,
            )
    return pages


def _read_text_layer(path: Path, page_count: int) -> _Book:
    """The text layer's lines (Docling's parser; pdfplumber's, column by column, where it
    fails on a file that opened), drawn-twice lines once, lost ligatures spelt again, and what
    pdfplumber sees under them: ruled tables, rules, type sizes and weights, bullets, boxes."""
    try:
        lines, sizes = docling_lines(path)
        parser = "docling-native"
    except RulebookError as exc:
        log.warning("docling_parser_failed", pdf=path.name, error=str(exc))
        lines, sizes = pdfplumber_lines(path)
        parser = "pdfplumber"
    lines = without_shadows(lines)
    for ln, text in zip(lines, restore_ligatures([ln.text for ln in lines]), strict=True):
        ln.text = text
    tables, rules = pdfplumber_pass(path, lines)
    lines = [ln for ln in lines if ln.text]  # a line of icons only says nothing
    return _Book(path, page_count, parser, lines, sizes, tables, rules)


def _read_unreadable_pages(book: _Book) -> None:
    """Pages whose text layer reads as no language (a font with a wrong or made-up encoding
    gives "Gur cynlre" for "The player" on a page that looks right) are read by OCR instead
    (their text layer's lines and tables are dropped). A page that OCR reads no better (a book
    in a language the word list lacks) ends the search: the rest is taken as written."""
    for number, own in sorted(lines_by_page(book.lines).items()):
        score = legibility(own)
        if score is None or score >= LEGIBLE:
            continue
        ocr = ocr_page(book.path, number)
        if (legibility(ocr) or 0.0) < score + LEGIBLE:
            break
        log.warning(
            "text_layer_unreadable", pdf=book.path.name, page=number, legibility=round(score, 2)
        )
        book.unreadable[number] = ocr
    if book.unreadable:
        book.lines = [ln for ln in book.lines if ln.page not in book.unreadable]
        for number in book.unreadable:
            book.tables.pop(number, None)
            book.rules.pop(number, None)


def _read_pages_without_text(book: _Book) -> None:
    """Pages without a text layer are read by OCR, their line heights scaled so that their
    body text is as tall as the rest and their headings snapped to the text layer's heading
    sizes (running headers and footers left out). So are pages whose text layer says little (a
    caption, a page number) where the rest is drawn (a figure whose labels are outlines, a
    scanned page with a typed header): their OCR lines join the text layer's where it has
    none."""
    book.body = body_size(book.lines)
    with_text = {ln.page for ln in book.lines} | set(book.tables)
    book.ocr_pages = [n for n in range(1, book.page_count + 1) if n not in with_text]
    running = running_lines(book.lines, book.page_count)
    said: Counter[int] = Counter()
    for ln in book.lines:
        if not is_running(ln, running):
            said[ln.page] += len(ln.text)
    known = sorted(
        {
            round(ln.em)
            for ln in book.lines
            if is_heading_like(ln, book.body) and not is_running(ln, running)
        }
    )
    sparse = [n for n in sorted(with_text - set(book.tables)) if said[n] < SPARSE_PAGE_CHARS]
    for number in book.ocr_pages:
        ocr = book.unreadable[number] if number in book.unreadable else ocr_page(book.path, number)
        book.lines += scaled_to(ocr, book.body, known)
    for number in sparse:
        own = [ln for ln in book.lines if ln.page == number]
        extra = [
            ln
            for ln in scaled_to(ocr_page(book.path, number), book.body, known, reference=own)
            if not any(overlaps(ln, o) for o in own)
        ]
        if extra:
            book.lines += extra
            book.completed.add(number)


def _drop_running_lines(book: _Book) -> None:
    """Running headers and footers, found again over all pages (a mostly scanned book has
    them in OCR), say nothing a page's text needs."""
    running = running_lines(book.lines, book.page_count)
    book.lines = [ln for ln in book.lines if not is_running(ln, running)]


def _write_pages(book: _Book) -> list[Page]:
    """Each page's Markdown: its tables found, its headings ranked into levels over the whole
    book, the section path carried from page to page."""
    levels = HeadingLevels.of(book.lines, book.body)
    by_page = lines_by_page(book.lines)
    section = SectionPath()
    pages: list[Page] = []
    for number in range(1, book.page_count + 1):
        if number == 2:
            section.keep_book_title_and_levels_from(levels.later_top)
        start_path = section.titles()
        lines = by_page.get(number, [])
        tables = page_tables(
            lines,
            book.tables.get(number, []),
            book.rules.get(number, []),
            book.body,
            book.sizes.get(number, (612.0, 792.0))[0],
        )
        markdown, headings = _page_markdown(lines, tables, levels, section)
        pages.append(
            Page(
                number,
                markdown,
                _extractor(book, number, lines, tables),
                headings,
                start_path,
                len(tables),
            )
        )
    return pages


def _extractor(book: _Book, number: int, lines: list[Line], tables: list[Table]) -> str:
    """Which extractors served the page (`Page.extractor`)."""
    if number in book.ocr_pages:
        return "rapidocr" if lines else "empty"
    name = book.parser
    if tables and book.parser != "pdfplumber":
        name += "+pdfplumber"
    if number in book.completed:
        name += "+rapidocr"
    return name


def _page_markdown(
    lines: list[Line], tables: list[Table], levels: HeadingLevels, section: SectionPath
) -> tuple[str, list[tuple[int, str]]]:
    """A page's lines as Markdown blocks in reading order: headings (a heading wrapped over two
    lines is one), list items, paragraphs; each table put where it stands in the flow. The
    page's headings move `section` on."""
    blocks: list[tuple[Line, str]] = []  # text in reading order, with where it stands
    headings: list[tuple[int, str]] = []
    previous: Line | None = None
    item_at: float | None = None  # where the open list item's text starts
    for i, ln in enumerate(lines):
        if any(inside(ln, t) for t in tables):
            previous = item_at = None
            continue  # inside a table: the table's Markdown says it
        level = levels.level(
            ln, lines[i - 1] if i else None, lines[i + 1] if i + 1 < len(lines) else None
        )
        if level is not None:
            title, where = ln.text, ln
            if (
                headings
                and previous is not None
                and _continues_heading(ln, previous, level, levels)
            ):
                level, title = headings.pop()
                title = f"{title} {ln.text}"
                where = blocks.pop()[0]
            headings.append((level, title))
            section.enter(level, title)
            blocks.append((where, f"{'#' * level} {title}"))
            item_at = None
        elif ln.bullet or BULLET.match(ln.text):
            blocks.append((ln, "- " + BULLET.sub("", ln.text, count=1)))
            item_at = _item_text_left(ln)
        elif item_at is not None and ln.left < item_at - 0.5 * ln.em and not ln.text[:1].islower():
            # Back at the margin, left of the item's text, and no sentence running on: the
            # list is over, and this line starts a paragraph of its own.
            blocks.append((ln, "\n" + ln.text))
            item_at = None
        else:
            blocks.append((ln, ln.text))
        previous = ln
    return _merge(blocks, tables), headings


def _continues_heading(line: Line, previous: Line, level: int, levels: HeadingLevels) -> bool:
    """The line right under a heading of its own level, closer than a line's height: the
    heading's second line."""
    return (
        is_heading_like(previous, levels.body)
        and levels.level_of.get(round(previous.em)) == level
        and 0 <= line.top - previous.bottom < previous.height
    )


def _item_text_left(line: Line) -> float | None:
    """Where a list item's text starts: the line's own left where its bullet was drawn apart,
    else the left of the word after a typed bullet ("•", "2.") where the characters were read.
    Continuation lines hang there; None where that is not known (OCR)."""
    if line.bullet:
        return line.left
    return line.words[1][0] if len(line.words) > 1 else None


def _merge(blocks: list[tuple[Line, str]], tables: list[Table]) -> str:
    """Keep the text blocks in reading order and put each table before the first block that
    starts below it within its width (the next text of its column), or, where none does,
    after the last block within its width (a table that ends its column)."""

    def beside(ln: Line, table: Table) -> bool:
        return min(ln.right, table.right) > max(ln.left, table.left)

    after: dict[int, list[str]] = {}
    for table in sorted(tables, key=lambda t: t.top):
        below = [i for i, (ln, _) in enumerate(blocks) if ln.top > table.top and beside(ln, table)]
        column = [i for i, (ln, _) in enumerate(blocks) if beside(ln, table)]
        at = below[0] if below else column[-1] + 1 if column else len(blocks)
        after.setdefault(at, []).append(table.markdown())
    out: list[str] = []
    for i, (_, text) in enumerate(blocks):
        out += after.get(i, [])
        out.append(text)
    return "\n".join(out + after.get(len(blocks), []))
