"""Page layout: the reading order of lines on a page of one or two columns, and Docling's full
layout pipeline (layout and table-structure models), used instead of structure recovery where
its models are configured."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from lifeos.errors import RulebookError
from plugins.board_games.tools.rulebooks.extract.headings import SectionPath
from plugins.board_games.tools.rulebooks.extract.model import Line, Page
from plugins.board_games.tools.rulebooks.extract.repair import restore_ligatures
from plugins.board_games.tools.rulebooks.text import clean_line

if TYPE_CHECKING:
    from docling.datamodel.document import DoclingDocument


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


def docling_layout(path: Path, artifacts: Path, page_count: int) -> list[Page]:
    """Docling's full pipeline (layout and table-structure models from `artifacts`): per-page
    Markdown with its headings and section path. Used when the models are configured."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    artifacts = Path(artifacts).expanduser()
    if not artifacts.is_dir() or not any(artifacts.iterdir()):
        raise RulebookError(
            f"Docling layout models not found in {artifacts} "
            "(LIFEOS_RULEBOOK_LAYOUT_ARTIFACTS): download them with "
            "`docling-tools models download` where you are online, or unset it"
        )
    doc = _converted_with_layout_models(path, artifacts)
    section = SectionPath()
    pages = [_layout_page(doc, number, section) for number in range(1, page_count + 1)]
    for page, markdown in zip(pages, restore_ligatures([p.markdown for p in pages]), strict=True):
        page.markdown = markdown
    return pages


def _converted_with_layout_models(path: Path, artifacts: Path) -> DoclingDocument:
    from docling.datamodel.base_models import InputFormat
    from docling.datamodel.pipeline_options import PdfPipelineOptions
    from docling.document_converter import DocumentConverter, PdfFormatOption

    options = PdfPipelineOptions(
        artifacts_path=str(artifacts), do_table_structure=True, do_ocr=False
    )
    converter = DocumentConverter(
        format_options={InputFormat.PDF: PdfFormatOption(pipeline_options=options)}
    )
    try:
        return converter.convert(str(path)).document
    except Exception as exc:  # noqa: BLE001 - missing weights, damaged files: one message
        raise RulebookError(
            f"{Path(path).name}: Docling's layout pipeline failed ({exc})"
        ) from None


def _layout_page(doc: DoclingDocument, number: int, section: SectionPath) -> Page:
    """One page of Docling's document: its Markdown, its headings, the section it starts in
    (`section` then moves on to where the page ends)."""
    from docling.datamodel.document import SectionHeaderItem

    start_path = section.titles()
    headings = []
    for item, _level in doc.iterate_items(page_no=number):
        if isinstance(item, SectionHeaderItem):
            level = max(1, int(getattr(item, "level", 1)))
            headings.append((level, item.text))
            section.enter(level, item.text)
    markdown = "\n".join(
        clean_line(line) for line in doc.export_to_markdown(page_no=number).split("\n")
    )
    tables = markdown.count("\n|---") + markdown.count("\n| ---")
    return Page(
        number,
        markdown,
        "docling-layout" if markdown.strip() else "empty",
        headings,
        start_path,
        tables,
    )
