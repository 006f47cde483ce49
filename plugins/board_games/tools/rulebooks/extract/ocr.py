"""OCR: a page rendered and read by RapidOCR (its models ship inside its package), its lines in
reading order, and their boxes scaled to the type they hold so that they go through the same
structure recovery as a text layer's."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import TYPE_CHECKING

from plugins.board_games.tools.rulebooks.extract.headings import HEADING_RATIO
from plugins.board_games.tools.rulebooks.extract.layout import reading_order
from plugins.board_games.tools.rulebooks.extract.model import Line
from plugins.board_games.tools.rulebooks.text import clean_line

if TYPE_CHECKING:
    from rapidocr import RapidOCR

OCR_DPI = 200
SPARSE_PAGE_CHARS = 200  # a page whose text layer holds less (headers and footers aside) is
# read by OCR too: the rest of it may be drawn (a title page of a
# generated book has ~250 characters, a page of rules 600-1,500)


def ocr_page(path: Path, number: int) -> list[Line]:
    """Render one page and read it with RapidOCR: its lines in reading order (column by column
    where the page has two columns), boxes in points from the page top like Docling's."""
    import numpy as np
    import pypdfium2 as pdfium
    from rapidocr import RapidOCR
    from rapidocr.utils.output import RapidOCROutput

    pdf = pdfium.PdfDocument(str(path))
    try:
        image = pdf[number - 1].render(scale=OCR_DPI / 72).to_pil().convert("RGB")
    finally:
        pdf.close()
    result = _ocr_engine(RapidOCR)(np.asarray(image))
    # With detection and recognition on (as the engine is made), RapidOCR answers with
    # boxes and their texts, or with neither where it read nothing.
    if not isinstance(result, RapidOCROutput) or result.txts is None or result.boxes is None:
        return []
    scale = 72 / OCR_DPI
    lines = [
        Line(
            number,
            clean_line(text),
            min(p[0] for p in box) * scale,
            min(p[1] for p in box) * scale,
            max(p[1] for p in box) * scale,
            max(p[0] for p in box) * scale,
        )
        for box, text in zip(result.boxes, result.txts, strict=True)
        if clean_line(text)
    ]
    return reading_order(lines, image.width * scale)


_ENGINE: RapidOCR | None = None


def _ocr_engine(factory: type[RapidOCR]) -> RapidOCR:
    """One RapidOCR engine per process (loading its three ONNX models takes ~1.5 s)."""
    global _ENGINE
    if _ENGINE is None:
        import logging

        # "error": a page with nothing to read (a sparse page that is only a caption) is no
        # cause for a warning.
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        _ENGINE = factory(params={"Global.log_level": "error"})
    return _ENGINE


def scaled_to(
    lines: list[Line], body: float, heading_sizes: list[int], reference: list[Line] | None = None
) -> list[Line]:
    """OCR boxes are taller than the type they hold: scale one page's line heights so that its
    body text (the median long line) measures `body`, keeping each line's top. A heading then
    takes the nearest heading size of the text layer, so it gets the same level as its peers
    instead of a size (and a level) of its own. Where the page also has a text layer
    (`reference`), the OCR lines that read it give the factor instead."""
    pairs = [
        ref.em / ln.height
        for ln in lines
        for ref in reference or []
        if overlaps(ln, ref) and ln.height > 0
    ]
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


def overlaps(a: Line, b: Line) -> bool:
    """The two boxes share most of the shorter one's height, side by side or not at all."""
    shared = min(a.bottom, b.bottom) - max(a.top, b.top)
    return min(a.right, b.right) > max(a.left, b.left) and shared > 0.5 * min(a.height, b.height)
