"""The dev set's rulebooks typeset again with the flaws of real-world PDFs, to see whether the
rules Q&A holds up on them (the dev README: "ligatures lost in extraction, soft hyphens, tables
flattened into runs of numbers, figure pages whose text is drawn as outlines, no page-number
footer"). Same blocks, same questions, same gold pages (checked by the dev set's verifier):

- body text in DejaVu Serif Condensed with the ligature glyphs ﬁ ﬂ ﬀ ﬃ ﬄ in place of their
  letters, as typesetters set them, and with no Unicode mapping for those glyphs in the font
  (so a parser reads "�rst" for "first");
- words hyphenated at line ends (pyphen), so the text layer breaks words ("oppo-" "nent");
- no running footer (no "Page N", no title line), so nothing tells page numbers but the PDF;
- page 2 of Kalah image-only, as in the dev set.

    python benchmarks/rulebook_sets/messy/make_rulebooks.py

Needs reportlab, pypdf, pypdfium2 and pyphen, and the dev set's tools (../shared)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The imports below need the path above: this script runs from anywhere.
sys.path.insert(0, str(HERE.parents[2]))

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from benchmarks.rulebook_sets.dev_made_over import BOOKS, finish, rbgen
from tests.rulebook_pdfs import without_ligature_mappings

FONTS = Path("/usr/share/fonts/truetype/dejavu")
LIGATURES = [
    ("ffi", "\ufb03"),
    ("ffl", "\ufb04"),
    ("ff", "\ufb00"),
    ("fi", "\ufb01"),
    ("fl", "\ufb02"),
]


def ligatures(text: str) -> str:
    """Letters → ligature glyphs, outside reportlab's mini-markup tags."""

    def swap(part: str) -> str:
        if part.startswith("<"):
            return part
        for letters, glyph in LIGATURES:
            part = part.replace(letters, glyph)
        return part

    return "".join(swap(p) for p in re.split(r"(<[^>]*>)", text))


def messy(blocks: list[tuple]) -> list[tuple]:
    out = []
    for block in blocks:
        kind = block[0]
        if kind in ("p", "caption"):
            block = (kind, ligatures(block[1]))
        elif kind in ("ul", "ol"):
            block = (kind, [ligatures(x) for x in block[1]])
        elif kind == "box":
            block = (kind, block[1], ligatures(block[2]))
        out.append(block)
    return out


def main() -> None:
    for name, file in (
        ("Serif", "DejaVuSerifCondensed.ttf"),
        ("SerifBold", "DejaVuSerifCondensed-Bold.ttf"),
        ("SerifItalic", "DejaVuSerifCondensed-Italic.ttf"),
    ):
        pdfmetrics.registerFont(TTFont(name, str(FONTS / file)))
    pdfmetrics.registerFontFamily(
        "Serif", normal="Serif", bold="SerifBold", italic="SerifItalic", boldItalic="SerifBold"
    )
    for style in (rbgen.BODY, rbgen.CELL, rbgen.TL, rbgen.CAP):
        style.fontName = "SerifItalic" if style is rbgen.CAP else "Serif"
        style.hyphenationLang = "en_GB"
        style.uriWasteReduce = 0.3
    rbgen.BODY.fontSize, rbgen.CELL.fontSize = 10, 8.5
    rbgen._footer = lambda game: lambda canvas, doc: None
    for book, game, blocks in BOOKS:
        rbgen.build(str(HERE / book), game, messy(blocks))
        without_ligature_mappings(HERE / book, HERE / book)
    finish(HERE, A4)


if __name__ == "__main__":
    main()
