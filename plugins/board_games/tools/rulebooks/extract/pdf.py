"""The PDF itself: checked before anything reads it (size, header, pages, encryption, damage,
each refused with its reason), and its text lines read by Docling's model-free parser, or by
pdfplumber, column by column, where that parser fails on a file that opens."""

from __future__ import annotations

import os
from pathlib import Path

from lifeos.errors import RulebookError
from plugins.board_games.tools.rulebooks.extract.layout import reading_order
from plugins.board_games.tools.rulebooks.extract.model import Line, PageSizes
from plugins.board_games.tools.rulebooks.text import clean_line


def check_pdf(path: Path, *, max_bytes: int, max_pages: int) -> int:
    """Refuse what is not a readable, unencrypted PDF within the limits; return its page count."""
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise RulebookError(
            f"{path.name} is {size / 1e6:.1f} MB; the limit is "
            f"{max_bytes / 1e6:.0f} MB (LIFEOS_RULEBOOK_MAX_BYTES)"
        )
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
        pages: int = len(pdf)
    finally:
        pdf.close()
    if pages == 0:
        raise RulebookError(f"{path.name} has no pages")
    if pages > max_pages:
        raise RulebookError(
            f"{path.name} has {pages} pages; the limit is {max_pages} (LIFEOS_RULEBOOK_MAX_PAGES)"
        )
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


def docling_lines(path: Path) -> tuple[list[Line], PageSizes]:
    """Every text line, in Docling's reading order, with boxes measured from the page top."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from docling.datamodel.base_models import InputFormat
    from docling.datamodel.document import TextItem
    from docling.datamodel.pipeline_options import NativePdfPipelineOptions
    from docling.document_converter import DocumentConverter, NativePdfFormatOption

    options = NativePdfPipelineOptions(generate_page_images=False, generate_picture_images=False)
    converter = DocumentConverter(
        format_options={InputFormat.PDF: NativePdfFormatOption(pipeline_options=options)}
    )
    try:
        doc = converter.convert(str(path)).document
    except Exception as exc:  # noqa: BLE001 - Docling raises many kinds; all mean "cannot read"
        raise RulebookError(f"{Path(path).name} could not be parsed ({exc})") from None
    sizes = {n: (p.size.width, p.size.height) for n, p in doc.pages.items()}
    lines = []
    for item, _level in doc.iterate_items():
        if not isinstance(item, TextItem):  # a group, a picture, a table: no text of its own
            continue
        text = clean_line(item.text)
        if not text or not item.prov:
            continue
        prov = item.prov[0]
        height = sizes[prov.page_no][1]
        box = prov.bbox.to_top_left_origin(page_height=height)
        lines.append(Line(prov.page_no, text, box.l, box.t, box.b, box.r))
    return lines, sizes


def pdfplumber_lines(path: Path) -> tuple[list[Line], PageSizes]:
    """Every text line by pdfplumber, column by column, in the crop box's frame as Docling's:
    the fallback for a PDF that Docling's parser cannot read."""
    import pdfplumber

    lines: list[Line] = []
    sizes: PageSizes = {}
    try:
        with pdfplumber.open(str(path)) as pdf:
            for number, page in enumerate(pdf.pages, start=1):
                dx, dy = page.cropbox[0], page.cropbox[1]
                sizes[number] = (float(page.width), float(page.height))
                found = [
                    Line(
                        number,
                        clean_line(row["text"]),
                        row["x0"] - dx,
                        row["top"] - dy,
                        row["bottom"] - dy,
                        row["x1"] - dx,
                    )
                    for row in page.dedupe_chars().extract_text_lines()
                    if clean_line(row["text"])
                ]
                lines += reading_order(found, float(page.width))
    except Exception as exc:  # noqa: BLE001 - pdfminer raises many kinds; all mean "cannot read"
        raise RulebookError(f"{Path(path).name} could not be parsed ({exc})") from None
    return lines, sizes
