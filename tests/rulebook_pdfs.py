"""Rulebook PDFs with the flaws of real-world ones that the generated dev books lack
(data/rulebooks/README.md: ligatures, soft hyphens, words broken at line ends, figure pages
whose text is drawn as outlines), typeset with reportlab in Vera, which reportlab ships."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _outlined(canvas: Any, font: Any, text: str, x: float, y: float, size: float) -> None:
    """Draw `text` as glyph outlines, no text layer (as some figures and exported art are)."""
    from fontTools.pens.basePen import BasePen

    glyphs, scale, cmap = font.getGlyphSet(), size / font["head"].unitsPerEm, font.getBestCmap()
    path = canvas.beginPath()

    class Pen(BasePen):
        def __init__(self, origin: float) -> None:
            super().__init__(glyphs)
            self.origin = origin

        def at(self, p: tuple[float, float]) -> tuple[float, float]:
            return self.origin + p[0] * scale, y + p[1] * scale

        def _moveTo(self, p: tuple[float, float]) -> None:
            path.moveTo(*self.at(p))

        def _lineTo(self, p: tuple[float, float]) -> None:
            path.lineTo(*self.at(p))

        def _curveToOne(self, *points: tuple[float, float]) -> None:
            path.curveTo(*(xy for p in points for xy in self.at(p)))

        def _closePath(self) -> None:
            path.close()

    for char in text:
        name = cmap[ord(char)]
        glyphs[name].draw(Pen(x))
        x += font["hmtx"][name][0] * scale
    canvas.drawPath(path, stroke=0, fill=1)


def make_messy_rulebook(path: Path) -> Path:
    """Three pages set in Vera (shipped with reportlab): ligature glyphs and soft hyphens on
    page 1, a figure page whose only text layer is its caption and footer, and a footer on
    every page."""
    import reportlab
    from fontTools.ttLib import TTFont
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont as PdfFont
    from reportlab.pdfgen.canvas import Canvas

    vera = str(Path(reportlab.__file__).parent / "fonts" / "Vera.ttf")
    pdfmetrics.registerFont(PdfFont("Vera", vera))
    pdfmetrics.registerFont(PdfFont("VeraBd", vera.replace("Vera.ttf", "VeraBd.ttf")))
    canvas = Canvas(str(path), pagesize=(595, 842))
    pages = [
        [
            "Lantern Run",
            "The \ufb01rst player to \ufb02ip a lantern takes the harbour token.",
            "Keep this rule\u00adbook at hand: whenever an oppo-",
            "nent lights a lantern, the active player draws one more",
            "card and passes the dice to the left. After the \ufb01nal",
            "round, the player with the most lit lanterns is the winner.",
        ],
        ["Figure 1: the harbour board"],
        [
            "Scoring",
            "Each lit lantern scores two points and each harbour token",
            "scores five points, counted at the end of the final round.",
        ],
    ]
    for number, (title, *body) in enumerate(pages, start=1):
        canvas.setFont("Vera", 18)
        canvas.drawString(72, 760, title)
        canvas.setFont("Vera", 10)
        for i, line in enumerate(body):
            canvas.drawString(72, 730 - 14 * i, line)
        if number == 2:
            font = TTFont(vera)
            for i, line in enumerate(
                ["Each player starts with seven lanterns", "on the harbour track beside the board."]
            ):
                _outlined(canvas, font, line, 72, 700 - 14 * i, 10)
        if number == 3:  # a subheading half a point bigger than the text, in bold; a call-out
            canvas.setFillGray(0.9)  # box, its title in bold at text size; a bigger plain line
            canvas.roundRect(64, 628, 300, 36, 6, stroke=0, fill=1)
            canvas.setFillGray(0)
            for top, face, size, text in (
                (690, "VeraBd", 10.5, "Ties"),
                (676, "Vera", 10, "A tie goes to the younger player of the two."),
                (650, "VeraBd", 10, "Quick tip"),
                (636, "Vera", 10, "Count the lanterns twice before you score them."),
                (610, "Vera", 10.5, "Good luck in the harbour"),
            ):
                canvas.setFont(face, size)
                canvas.drawString(72, top, text)
            canvas.setFont("Vera", 10)
        canvas.drawString(280, 40, f"Page {number}")
        canvas.showPage()
    canvas.save()
    return path


def without_ligature_mappings(source: Path, target: Path) -> Path:
    """`source` with the ligature glyphs' entries taken out of its fonts' ToUnicode maps, as in
    PDFs whose fonts map only plain letters: parsers read "�rst" for "first"."""
    import re

    import pypdf
    from pypdf.generic import DictionaryObject

    writer = pypdf.PdfWriter(clone_from=source)
    for page in writer.pages:
        resources = page["/Resources"]
        assert isinstance(resources, DictionaryObject)
        fonts = resources["/Font"]
        assert isinstance(fonts, DictionaryObject)
        for font in fonts.values():
            if "/ToUnicode" in font.get_object():
                cmap = font.get_object()["/ToUnicode"].get_object()
                cmap.set_data(
                    re.sub(rb"<[0-9A-F]+> <FB0[0-6]>\s*", b"", cmap.get_data(), flags=re.IGNORECASE)
                )
    with target.open("wb") as fh:
        writer.write(fh)
    return target


def with_unreadable_text_layer(source: Path, target: Path, pages: set[int]) -> Path:
    """`source` with the text layer of `pages` (1-based) made unreadable while the page looks
    the same: each font there gets a ToUnicode map that maps every letter to the one 13 places
    on ("Gur cynlre" for "The player"), as a PDF whose fonts carry a wrong or made-up
    encoding reads. Only OCR can read such a page."""
    import pypdf
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, PdfObject

    def copied(obj: PdfObject) -> DictionaryObject:
        """A copy of the dictionary `obj` is or refers to."""
        resolved = obj.get_object()
        assert isinstance(resolved, DictionaryObject)
        return DictionaryObject(resolved)

    def rot13(code: int) -> int:
        for base in (ord("a"), ord("A")):
            if base <= code < base + 26:
                return base + (code - base + 13) % 26
        return code

    codes = range(32, 127)  # printable ASCII: one bfchar block holds up to 100
    entries = "\n".join(f"<{c:02X}> <{rot13(c):04X}>" for c in codes)
    cmap = (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Scrambled-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<00> <FF>\nendcodespacerange\n"
        f"{len(codes)} beginbfchar\n{entries}\nendbfchar\nendcmap\n"
        "CMapName currentdict /CMap defineresource pop\nend\nend\n"
    )
    writer = pypdf.PdfWriter(clone_from=source)
    stream = DecodedStreamObject()
    stream.set_data(cmap.encode())
    to_unicode = writer._add_object(stream)  # noqa: SLF001
    for number, page in enumerate(writer.pages, start=1):
        if number not in pages:
            continue
        # copies of the page's resources and fonts, so that other pages keep theirs
        resources = copied(page["/Resources"])
        fonts = copied(resources["/Font"])
        for name in list(fonts):
            font = copied(fonts[name])
            font[NameObject("/ToUnicode")] = to_unicode
            fonts[NameObject(name)] = writer._add_object(font)  # noqa: SLF001
        resources[NameObject("/Font")] = fonts
        page[NameObject("/Resources")] = resources
    with target.open("wb") as fh:
        writer.write(fh)
    return target
