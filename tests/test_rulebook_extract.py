"""Rulebook extraction on the dev rulebooks (real PDFs) and on broken files of our own."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pypdf
import pytest

from lifeos.errors import RulebookError
from plugins.board_games.tools.rulebooks.extract import Extraction, check_pdf, extract
from tests.rulebook_pdfs import (
    make_messy_rulebook,
    with_unreadable_text_layer,
    without_ligature_mappings,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "rulebooks"
OWN = Path(__file__).resolve().parents[1] / "benchmarks" / "rulebook_sets" / "own"
WEB = OWN.parent / "web"  # the dev books printed from HTML by Chromium
BOOKS = ("dev_morris.pdf", "dev_kalah.pdf", "dev_hearts.pdf")
# From data/rulebooks/README.md: where the tables are.
TABLE_PAGES = {"dev_morris.pdf": {9, 10}, "dev_kalah.pdf": {6, 7}, "dev_hearts.pdf": {3, 4, 6, 7}}


def norm(text: str) -> str:
    text = text.lower().replace("’", "'").replace("-\n", "")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


@pytest.fixture(scope="module")
def extractions() -> dict[str, Extraction]:
    return {name: extract(DATA / name) for name in BOOKS}


def test_every_page_has_text_and_an_extractor(extractions: dict[str, Extraction]) -> None:
    for name, ex in extractions.items():
        assert [p.number for p in ex.pages] == list(range(1, len(ex.pages) + 1))
        for page in ex.pages:
            assert page.markdown.strip(), f"{name} p{page.number} is empty"
            assert page.extractor in {"docling-native", "docling-native+pdfplumber", "rapidocr"}
    assert extractions["dev_kalah.pdf"].pages[1].extractor == "rapidocr"


def test_tables_found_where_they_are(extractions: dict[str, Extraction]) -> None:
    for name, ex in extractions.items():
        assert {p.number for p in ex.pages if p.tables} == TABLE_PAGES[name], name
    variants = extractions["dev_morris.pdf"].pages[8].markdown
    assert "| Nine Men's Morris | 9 | three squares, 24 points | no | yes |" in variants


def test_lists_end_where_the_text_returns_to_the_margin(extractions: dict[str, Extraction]) -> None:
    """Typed bullets: an item's wrapped lines hang under its text and continue it; the
    paragraph after the list starts at the margin and is not glued to the last item."""
    components = extractions["dev_morris.pdf"].pages[2].markdown
    assert "- 9 light men and 9 dark men\n- this rulebook\n\nThe board consists" in components
    hints = extractions["dev_kalah.pdf"].pages[7].markdown
    assert "- Keep an empty pit on your side when your\nopponent has a large pile" in hints


def test_headings_build_the_section_path(extractions: dict[str, Extraction]) -> None:
    morris = extractions["dev_morris.pdf"].pages
    assert (2, "4. Mills and Removing Pieces") in morris[5].headings
    assert "## 4. Mills and Removing Pieces" in morris[5].markdown
    assert morris[6].section_path[-2:] == [
        "4. Mills and Removing Pieces",
        "Opening and closing a mill",
    ]
    faq = dict((t, lv) for lv, t in extractions["dev_kalah.pdf"].pages[7].headings)
    # a heading wrapped over two lines stays one heading
    assert faq["What if my last seed lands in my own store and I then have no seeds left?"] == 3


def test_running_headers_and_footers_are_dropped(extractions: dict[str, Extraction]) -> None:
    for ex in extractions.values():
        for page in ex.pages:  # OCR pages included: their footer matches the text layer's
            assert f"Page {page.number}" not in page.markdown.splitlines()


def test_ocr_recovers_the_image_only_page(extractions: dict[str, Extraction]) -> None:
    truth = json.loads((DATA / "page_text_fallback.json").read_text())["dev_kalah.pdf"]["2"]
    truth = truth.replace("Kalah - Rulebook Page 2", "")  # the running footer, dropped
    got = norm(extractions["dev_kalah.pdf"].pages[1].markdown)
    ratio = difflib.SequenceMatcher(None, got, norm(truth)).ratio()
    assert ratio > 0.85, ratio


def test_the_ocr_page_gets_headings_at_the_level_of_its_peers(
    extractions: dict[str, Extraction],
) -> None:
    """OCR line boxes go through the same structure recovery as the text layer: the scanned
    page's chapters are level-2 headings like the printed chapters around it, and a row of
    drawn circles taller than the text is not a heading."""
    kalah = extractions["dev_kalah.pdf"].pages
    assert kalah[1].headings == [(2, "1. Components"), (2, "2. Setting Up")]
    assert kalah[2].section_path == ["KALAH", "2. Setting Up"]
    assert (2, "3. Sowing") in kalah[2].headings


def test_two_column_ocr_lines_are_read_column_by_column() -> None:
    from plugins.board_games.tools.rulebooks.extract import Line, reading_order

    def line(text: str, left: float, top: float, width: float = 200) -> Line:
        return Line(1, text, left, top, top + 10, left + width)

    title = line("TITLE ACROSS", 100, 10, 400)
    a1, a2 = line("left one", 50, 40), line("left two", 50, 60)
    b1, b2 = line("right one", 320, 40), line("right two", 320, 60)
    wide = line("a wide table row", 50, 100, 500)
    c1 = line("after", 320, 120)
    ordered = reading_order([b2, c1, a2, wide, b1, a1, title], page_width=595)
    assert [ln.text for ln in ordered] == [
        "TITLE ACROSS",
        "left one",
        "left two",
        "right one",
        "right two",
        "a wide table row",
        "after",
    ]


def test_a_scanned_table_is_rebuilt_from_its_alignment() -> None:
    """Our own set's dominoes book has an image-only page with a table. OCR reads each cell as
    a line of its own; the rows of numbers ("2 7 7 14") must survive (they are not page
    numbers) and come out as a Markdown table, its wrapped header cells joined."""
    page = extract(OWN / "own_dominoes.pdf").pages[2]
    assert page.extractor == "rapidocr" and page.tables == 1
    assert "| Players | Tiles each, Block | Tiles each, Draw | Boneyard, Draw |" in page.markdown
    assert "| 3 | 7 | 6 | 10 |" in page.markdown


def test_aligned_tables_beside_body_text_and_not_in_it() -> None:
    from plugins.board_games.tools.rulebooks.extract import Line, aligned_tables

    def line(text: str, left: float, top: float, width: float = 40) -> Line:
        return Line(1, text, left, top, top + 10, left + width)

    body = [
        line("a long line of the right column's body text, one", 320, top, 240)
        for top in range(0, 120, 12)
    ]
    table = [
        line("Players", 50, 0),
        line("Cards", 120, 0),
        line("Packs", 190, 0),
        line("each", 120, 12),
        line("2", 50, 24),
        line("7", 120, 24),
        line("1", 190, 24),
        line("6", 50, 36),
        line("5", 120, 36),
        line("2", 190, 36),
    ]
    found = aligned_tables(body + table, page_width=612)
    assert [t.rows for t in found] == [
        [["Players", "Cards each", "Packs"], ["2", "7", "1"], ["6", "5", "2"]]
    ]
    two_columns = [
        line("left column body text that runs on and on", 50, top, 240) for top in range(0, 120, 12)
    ]
    assert aligned_tables(body + two_columns, page_width=612) == []
    assert aligned_tables(body + table[:4], page_width=612) == []  # one row is no table


def test_web_tables_ruled_only_between_rows() -> None:
    """A browser's PDF: tables ruled only under each row (each rule drawn cell by cell), cells a
    word space apart that the text layer reads as one line, headers over two lines, and a
    table that ends its column. Every table comes out whole, with its header, in its place."""
    pages = extract(WEB / "dev_hearts.pdf").pages
    assert [p.tables for p in pages] == [0, 0, 1, 1, 0, 1, 1, 0]
    deck = pages[2].markdown
    assert (
        "| Players | Cards removed before the deal | Cards per player |\n|---|---|---|\n"
        "| 3 | 2 of diamonds | 17 |" in deck
    )
    assert "| 6 | 2 of diamonds, 2 of clubs, 3 of diamonds, 4 of clubs | 8 |" in deck
    # the table ends the left column: it comes before the right column's first line
    assert deck.index("| 6 |") < deck.index("Removed cards are set aside")
    variants = pages[6].markdown
    assert "### 8. Variants\n| Variant | Change to the rules |" in variants
    assert (
        "| Spot Hearts | Each heart scores its face value; ace 14, king 13, queen 12, "
        "jack 11. |" in variants
    )
    kalah_pages = extract(WEB / "dev_kalah.pdf").pages
    # the cover's subtitle, set bigger than every chapter heading, is no section of page 3
    assert kalah_pages[2].section_path == ["KALAH", "2. Setting Up"]
    # the footer "2 / 8" that OCR reads as "2/8" on the image-only page is a footer too
    assert not re.search(r"\b2 ?/ ?8\b", kalah_pages[1].markdown)
    kalah = kalah_pages[5].markdown
    assert "| Seeds per pit | Total seeds | Typical length | Recommended for |" in kalah
    assert "| 6 | 72 | 20-30 minutes | experts |" in kalah
    assert "| 4 | 48 | 10-15 minutes | standard game |" in kalah  # no prose beside it
    # list bullets drawn as discs are list items, as the typeset book's glyphs are
    assert (
        "### 11. Strategy Hints\n- Early in the game, look for pits whose seed count\n"
        in kalah_pages[7].markdown
    )
    assert "- Keep an empty pit on your side when your opponent" in kalah_pages[7].markdown


def test_a_table_ruled_across_under_each_row(tmp_path: Path) -> None:
    """Rules drawn across the whole table under each row, nothing else: the rows are the bands
    between them, the columns meet at the strips of white no word crosses, even where two
    cells stand closer than a word space and a half (and the text layer reads them as one)."""
    from reportlab.lib import colors
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    body = getSampleStyleSheet()["BodyText"]
    table = Table(
        [
            ["Players", "Cards removed before the deal", "Cards per player"],
            ["3", "2 of diamonds", "17"],
            ["4", "none", "13"],
            ["6", "2 of diamonds, 2 of clubs, 3 of diamonds, 4 of clubs", "8"],
        ]
    )
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, -1), 0.5, colors.black),
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    path = tmp_path / "ruled.pdf"
    SimpleDocTemplate(str(path)).build(
        [
            Paragraph(
                "Remove the cards listed in the table so that the deck divides evenly. " * 3, body
            ),
            table,
            Paragraph(
                "Removed cards are set aside face down and take no part in that hand. " * 3, body
            ),
        ]
    )
    [page] = extract(path).pages
    assert page.tables == 1
    assert (
        "| Players | Cards removed before the deal | Cards per player |\n|---|---|---|\n"
        "| 3 | 2 of diamonds | 17 |\n| 4 | none | 13 |\n"
        "| 6 | 2 of diamonds, 2 of clubs, 3 of diamonds, 4 of clubs | 8 |" in page.markdown
    )
    assert "evenly." in page.markdown and "Removed cards" in page.markdown


def test_bullets_drawn_as_shapes_are_list_items(tmp_path: Path) -> None:
    """A browser draws a list's bullets as small discs and squares, not glyphs: each line led
    by one starts a list item, and the lines after it that hang under its text continue it;
    a line back at the margin starts a paragraph. A figure's dots with no text beside them,
    and a counter as big as the type before a line, are no bullets."""
    from reportlab.pdfgen.canvas import Canvas

    path = tmp_path / "bullets.pdf"
    canvas = Canvas(str(path))
    canvas.setFont("Helvetica", 10)
    lines = [
        (None, 66, "Each player takes the following pieces before the game starts:"),
        ("disc", 80, "nine men of one colour, which are kept beside the board"),
        (None, 80, "until they are placed on the board in phase one;"),
        ("square", 80, "one reference card that lists the order of a turn"),
        (None, 66, "After the list the rules go on at the margin, as a paragraph."),
        ("counter", 90, "A counter drawn this big marks a figure, not a list."),
    ]
    for i, (bullet, x, text) in enumerate(lines):
        y = 700 - 14 * i
        canvas.drawString(x, y, text)
        if bullet == "disc":
            canvas.circle(x - 7, y + 3.5, 1.5, stroke=0, fill=1)
        elif bullet == "square":
            canvas.rect(x - 8.5, y + 2, 3, 3, stroke=0, fill=1)
        elif bullet == "counter":
            canvas.circle(x - 10, y + 3.5, 6, stroke=1, fill=1)
    for row in range(3):  # a board's points: dots with no text beside them
        for col in range(3):
            canvas.circle(100 + 40 * col, 500 - 40 * row, 1.5, stroke=0, fill=1)
    canvas.drawString(80, 380, "The board above has nine points joined by lines.")
    canvas.save()
    [page] = extract(path).pages
    assert (
        "starts:\n- nine men of one colour, which are kept beside the board\n"
        "until they are placed on the board in phase one;\n"
        "- one reference card that lists the order of a turn\n\n"
        "After the list the rules go on at the margin, as a paragraph.\n"
        "A counter drawn this big" in page.markdown
    )
    assert page.markdown.count("- ") == 2
    assert "\nThe board above has nine points" in page.markdown


def test_display_type_reads_as_the_words_it_shows(tmp_path: Path) -> None:
    """Type set for show, as publishers' rulebooks set it: a heading with a drop shadow (drawn
    twice, a little apart), a subheading made bold by printing it twice, letter-spaced
    capitals, a paragraph opening with a drop cap, and icons set in a symbol font. Each reads
    once, as words, and an icon as no letter; a figure's evenly spaced labels stay as they
    are."""
    from reportlab.pdfgen.canvas import Canvas

    path = tmp_path / "display.pdf"
    canvas = Canvas(str(path), pagesize=(595, 842))
    canvas.setFillGray(0.6)
    canvas.setFont("Helvetica-Bold", 20)
    canvas.drawString(61.5, 778.5, "Setting Up the Game")
    canvas.setFillGray(0)
    canvas.drawString(60, 780, "Setting Up the Game")
    canvas.setFont("Helvetica", 13)
    for x in (60, 60.4):
        canvas.drawString(x, 750, "Before the first turn")
    canvas.setFont("Helvetica", 10)
    canvas.drawString(
        60, 730, "Each player takes the pieces of one colour and places them beside the board."
    )
    spaced = canvas.beginText(60, 700)
    spaced.setFont("Helvetica-Bold", 12)
    spaced.setCharSpace(4)
    spaced.textLine("SPECIAL CASES")
    spaced.setCharSpace(0)
    canvas.drawText(spaced)
    canvas.setFont("Helvetica-Bold", 44)
    canvas.drawString(60, 640, "W")
    canvas.setFont("Helvetica", 10)
    for i, text in enumerate(
        [
            "hen a player cannot move, that player loses their turn and",
            "the next player in clockwise order continues at once.",
            "A blocked player does not lose the game for it.",
        ]
    ):
        canvas.drawString(100, 670 - 14 * i, text)
    canvas.drawString(60, 590, "Gain 2")
    canvas.setFont("ZapfDingbats", 10)
    canvas.drawString(91, 590, "H")  # a star icon, read as a letter
    canvas.setFont("Helvetica", 10)
    canvas.drawString(102, 590, "for every full ship in your harbour.")
    canvas.setFont("ZapfDingbats", 10)
    canvas.drawString(60, 575, "H")  # an icon on a line of its own
    labels = canvas.beginText(80, 560)
    labels.setFont("Helvetica", 10)
    labels.setCharSpace(6)
    labels.textLine("abcdefgh")
    canvas.drawText(labels)
    canvas.save()
    [page] = extract(path).pages
    assert [title for _, title in page.headings] == [
        "Setting Up the Game",
        "Before the first turn",
        "SPECIAL CASES",
    ]
    assert page.markdown.count("Setting Up the Game") == 1
    assert "When a player cannot move, that player loses their turn" in page.markdown
    assert "a b c d e f g h" in page.markdown
    assert "\nGain 2 for every full ship in your harbour.\na b c" in page.markdown


@pytest.mark.parametrize(
    ("fontname", "icons"),
    [
        ("ZapfDingbats", True),
        ("ABCDEF+MaterialIcons-Regular", True),
        ("GameIcons", True),
        ("FontAwesome5Free-Solid", True),
        ("Wingdings-Regular", True),
        ("icomoon", True),
        ("ABCDEF+Lexicon-Roman", False),
        ("SiliconSans-Bold", False),
        ("Symbol", False),
        ("Helvetica", False),
    ],
)
def test_icon_fonts_are_told_by_the_words_of_their_names(fontname: str, icons: bool) -> None:
    from plugins.board_games.tools.rulebooks.extract.repair import _is_pictogram_font

    assert _is_pictogram_font(fontname) is icons


def test_subheadings_set_by_weight_alone_and_call_out_titles(tmp_path: Path) -> None:
    """A short bold line in the text's own size over plain text is a subheading, under every
    heading set bigger. A call-out box's title, even set a little bigger, heads the box
    only: the text after the box stays in the section before it."""
    from reportlab.pdfgen.canvas import Canvas

    path = tmp_path / "subheadings.pdf"
    canvas = Canvas(str(path), pagesize=(595, 842))
    canvas.setFont("Helvetica-Bold", 22)
    canvas.drawString(50, 790, "Harbour Traders")
    y = 750
    for title, text in [
        (
            "Loading Cargo",
            [
                "On your turn you may load up to three goods onto",
                "one ship. Each good costs one coin, paid to the bank.",
            ],
        ),
        (
            "Selling Goods",
            [
                "Goods sold at the market earn two coins each. The",
                "market closes when the last ship has sailed.",
            ],
        ),
    ]:
        canvas.setFillColorRGB(0.7, 0.1, 0.1)
        canvas.setFont("Helvetica-Bold", 9.5)
        canvas.drawString(50, y, title)
        canvas.setFillGray(0)
        canvas.setFont("Helvetica", 9.5)
        for line in text:
            y -= 13
            canvas.drawString(50, y, line)
        y -= 24
    canvas.setFillGray(0.92)
    canvas.rect(45, y - 50, 300, 66, stroke=1, fill=1)
    canvas.setFillGray(0)
    canvas.setFont("Helvetica-Bold", 10)
    canvas.drawString(50, y, "Example")
    canvas.setFont("Helvetica", 9.5)
    canvas.drawString(50, y - 14, "Anna loads three spices onto the blue ship, which is full.")
    canvas.drawString(50, y - 28, "It sails at the end of the round and she gains two stars.")
    canvas.drawString(50, y - 80, "A storm sinks one good from every ship still in harbour.")
    canvas.save()
    [page] = extract(path).pages
    assert page.headings == [(1, "Harbour Traders"), (2, "Loading Cargo"), (2, "Selling Goods")]
    assert "## Selling Goods\nGoods sold" in page.markdown
    assert "\nExample\nAnna loads" in page.markdown


def test_a_table_ruled_above_and_below_its_header_and_below_its_last_row(tmp_path: Path) -> None:
    """The typeset book's table (three rules: over the header, under it, under the table): the
    band of data rows is cut into rows where a line starts the first column; a cell wrapped
    onto a second line stays in its row."""
    from reportlab.lib import colors
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    body = getSampleStyleSheet()["BodyText"]
    table = Table(
        [
            ["Result", "Points"],
            ["Win", "2"],
            ["Draw", "1"],
            ["Loss by forfeit", "0 (the opponent\nscores 2)"],
            ["Loss", "0"],
        ]
    )
    table.setStyle(
        TableStyle(
            [
                ("LINEABOVE", (0, 0), (-1, 0), 1, colors.black),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("LINEBELOW", (0, -1), (-1, -1), 1, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    path = tmp_path / "booktabs.pdf"
    SimpleDocTemplate(str(path)).build(
        [
            Paragraph("Match points are awarded per game as the table shows. " * 3, body),
            table,
            Paragraph(
                "Ties are broken by the games the two players played against each other. " * 3, body
            ),
        ]
    )
    [page] = extract(path).pages
    assert page.tables == 1
    assert (
        "| Result | Points |\n|---|---|\n| Win | 2 |\n| Draw | 1 |\n"
        "| Loss by forfeit | 0 (the opponent scores 2) |\n| Loss | 0 |" in page.markdown
    )


def test_a_two_column_table_in_a_text_column_with_a_bold_header() -> None:
    """Within one column of the page two cells side by side make a table row; a cell may be
    longer where its row keeps the table's columns; the bold line right above is the header,
    cut between its words at the columns (its cells a word space apart, read as one line)."""
    from plugins.board_games.tools.rulebooks.extract import Line, aligned_tables

    def line(
        text: str,
        left: float,
        top: float,
        bold: bool = False,
        words: list[tuple[float, float, str]] | None = None,
    ) -> Line:
        right = left + 5.0 * len(text)
        return Line(1, text, left, top, top + 9, right, size=9, bold=bold, words=words or [])

    header = line(
        "Hand Pass to",
        330,
        40,
        bold=True,
        words=[(330, 350, "Hand"), (380, 400, "Pass"), (405, 415, "to")],
    )
    rows = [
        line("1st, 5th", 330, 54),
        line("the player on your left", 380, 54),
        line("2nd, 6th", 330, 66),
        line("the player on your right", 380, 66),
        line("3rd, 7th", 330, 78),
        line("the player sitting across from you", 380, 78),
    ]
    body = [
        line("left column text that runs on and on, a paragraph", 40, top)
        for top in range(20, 100, 12)
    ]
    [table] = aligned_tables(body + [header] + rows, page_width=612)
    assert table.rows == [
        ["Hand", "Pass to"],
        ["1st, 5th", "the player on your left"],
        ["2nd, 6th", "the player on your right"],
        ["3rd, 7th", "the player sitting across from you"],
    ]


def test_rows_flattened_into_lines_of_numbers_become_a_table() -> None:
    """A table whose text layer reads as "Cards each 17 13 10 8" lines, one under the other,
    is a table again; prose that ends in numbers is not."""
    from plugins.board_games.tools.rulebooks.extract import Line, number_rows

    def line(text: str, top: float, left: float = 50) -> Line:
        return Line(1, text, left, top, top + 10, left + 6 * len(text))

    lines = [
        line("Deal the cards as the table shows.", 0),
        line("Players 3 4 5 6", 14),
        line("Cards each 17 13 10 8", 28),
        line("Points to win 100 – 75 50", 42),
        line("Then the player left of the dealer leads.", 56),
    ]
    assert [t.rows for t in number_rows(lines)] == [
        [
            ["Players", "3", "4", "5", "6"],
            ["Cards each", "17", "13", "10", "8"],
            ["Points to win", "100", "–", "75", "50"],
        ]
    ]
    prose = [
        line("Rounds are scored as in 2 3", 0),
        line("and the rest is as in 4 5 6", 14),
        line("Players 3 4 5 6", 28),
        line("Cards each 17 13 10 8", 200),
    ]
    assert number_rows(prose) == []  # counts differ; a row far below is not the next row


def test_running_lines_count_pages_not_lines() -> None:
    from plugins.board_games.tools.rulebooks.extract import Line, running_lines

    footers = [Line(n, f"Page {n}", 300, 770, 780, 340) for n in range(1, 5)]
    numbers = [
        Line(2, str(n), left, 300, 310, left + 10)
        for n, left in ((2, 50), (7, 90), (14, 130), (9, 170))
    ]
    assert running_lines(footers + numbers, page_count=4) == {("Page#", round(770 / 8))}


def test_gold_evidence_is_on_its_pages(extractions: dict[str, Extraction]) -> None:
    """Every verbatim evidence snippet of the dev questions is found on one of its gold pages."""
    found = missing = 0
    misses = []
    for line in (DATA / "questions.jsonl").read_text().splitlines():
        q = json.loads(line)
        pages = extractions[q["rulebook"]].pages
        for snippet in q.get("evidence", []):
            if any(norm(snippet) in norm(pages[n - 1].markdown) for n in q["pages"]):
                found += 1
            else:
                missing += 1
                misses.append((q["id"], snippet))
    assert found / (found + missing) >= 0.97, misses


def make_pdf(path: Path, pages: int = 1) -> Path:
    writer = pypdf.PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    with path.open("wb") as fh:
        writer.write(fh)
    return path


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda p: p.write_text("just some notes, not a pdf"), "is not a PDF"),
        (lambda p: p.write_bytes((DATA / "dev_hearts.pdf").read_bytes()[:3000]), "damaged"),
        (lambda p: p.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 500), "damaged"),
        (lambda p: make_pdf(p, pages=0), "has no pages"),
        (lambda p: make_pdf(p, pages=12), "has 12 pages; the limit is 10"),
        (lambda p: p.write_bytes(b"%PDF-1.7\n" + b"x" * 3_000_000), "the limit is 2 MB"),
    ],
)
def test_bad_files_are_refused_with_a_reason(tmp_path: Path, build, message: str) -> None:  # noqa: ANN001
    path = tmp_path / "book.pdf"
    build(path)
    with pytest.raises(RulebookError, match=message):
        check_pdf(path, max_bytes=2_000_000, max_pages=10)


def test_encrypted_pdf_is_refused(tmp_path: Path) -> None:
    writer = pypdf.PdfWriter(clone_from=DATA / "dev_hearts.pdf")
    writer.encrypt(user_password="secret", owner_password="owner")
    path = tmp_path / "locked.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    with pytest.raises(RulebookError, match="encrypted"):
        extract(path)


def test_a_pdf_locked_only_against_editing_is_read(
    tmp_path: Path, extractions: dict[str, Extraction]
) -> None:
    """Many published rulebooks are encrypted with an owner password only (no printing or
    editing) and open without one: they are read like any other."""
    writer = pypdf.PdfWriter(clone_from=DATA / "dev_hearts.pdf")
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-256")
    path = tmp_path / "permissions.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    assert [p.markdown for p in extract(path).pages] == [
        p.markdown for p in extractions["dev_hearts.pdf"].pages
    ]


def test_docling_layout_models_missing_is_a_clear_error(tmp_path: Path) -> None:
    """The full Docling pipeline is used only when its layout models are configured; a folder
    without them fails that rulebook with a message saying what to do."""
    from lifeos.errors import RulebookError
    from plugins.board_games.tools.rulebooks.extract import extract

    empty = tmp_path / "docling-models"
    empty.mkdir()
    with pytest.raises(RulebookError, match="layout models not found"):
        extract(DATA / "dev_kalah.pdf", layout_artifacts=empty)


# --- real-world flaws the generated books lack (tests/rulebook_pdfs.py) ---------------------


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Extraction:
    return extract(make_messy_rulebook(tmp_path_factory.mktemp("messy") / "messy.pdf"))


def test_ligatures_and_soft_hyphens_read_as_plain_words(messy: Extraction) -> None:
    from plugins.board_games.tools.rulebooks.chunk import page_blocks

    page = messy.pages[0]
    assert not re.search("[\ufb00-\ufb06\u00ad]", page.markdown)
    text = " ".join(b.text for b in page_blocks(page))
    for word in (
        "first player to flip",
        "this rulebook at hand",
        "whenever an opponent lights",
        "after the final round",
    ):
        assert word in text.lower(), text


def test_a_quote_across_a_broken_word_verifies_on_its_page(messy: Extraction) -> None:
    """Chunks join a word broken at a line end ("oppo-" "nent"); quote verification folds the
    page's line breaks the same way, so the quote is still found."""
    from plugins.board_games.tools.rulebooks.chunk import page_blocks
    from plugins.board_games.tools.rules_qa import verify

    page = messy.pages[0]
    sentence = next(
        s for b in page_blocks(page) for s in b.text.split(": ") if s.startswith("whenever")
    )
    assert "opponent" in sentence and verify(sentence, page.markdown)
    assert not verify(sentence.replace("opponent", "opposer"), page.markdown)


def test_a_figure_page_drawn_as_outlines_is_read_by_ocr_too(messy: Extraction) -> None:
    """Page 2's text layer is its caption and footer; the rest is outlines, read by OCR and
    kept beside the caption (once: the caption is not read twice)."""
    page = messy.pages[1]
    assert page.extractor == "docling-native+rapidocr"
    text = norm(page.markdown)
    assert "seven lanterns" in text and "harbour track" in text, page.markdown
    assert text.count("the harbour board") == 1
    assert [p.extractor for p in (messy.pages[0], messy.pages[2])] == ["docling-native"] * 2


@pytest.mark.parametrize(
    ("lines", "joined"),
    [
        (["each oppo-", "nent lights"], "each opponent lights"),
        (["answer truth-", "fully"], "answer truthfully"),
        (["the rule-", "book"], "the rulebook"),  # a closed compound the vocabulary lacks
        (["the 2-", "player game"], "the 2-player game"),  # a number keeps its hyphen
        (["turn anti-", "Clockwise"], "turn anti- Clockwise"),  # a capital: a compound, kept
        (["ends here.", "Next line"], "ends here. Next line"),
        (["a dash -", "b"], "a dash - b"),
    ],
)
def test_joined_lines_and_normalised_pages_agree(lines: list[str], joined: str) -> None:
    """What a chunk says (lines joined) normalises to what the page says (lines kept), so a
    quote taken from a chunk is found on its page. A word broken at a line end is whole again;
    a number keeps its hyphen."""
    from plugins.board_games.tools.rulebooks.text import clean_line, join_lines, normalize

    assert join_lines(*lines) == joined
    assert normalize(joined) == normalize("\n".join(lines))
    assert clean_line(" rule\u00adbook with a bro\u00ad ") == "rulebook with a bro-"
    assert clean_line("\ufb01nal \ufb02ip o\ufb00er") == "final flip offer"
    assert join_lines(clean_line("each oppo\u2010"), "nent") == "each opponent"


def test_a_bold_subheading_a_little_bigger_than_the_text_is_a_heading(messy: Extraction) -> None:
    """Headings come from the type's set size and weight (read from the PDF's characters, not
    from box heights, which differ between fonts): bold and 5 % bigger is a heading; bold at
    text size in a shaded box (a call-out title) or a little bigger but plain is not."""
    page = messy.pages[2]
    assert [h for h in page.markdown.splitlines() if h.startswith("#")] == [
        "# Scoring",
        "## Ties",
    ], page.markdown
    assert "Quick tip" in page.markdown and "Good luck in the harbour" in page.markdown


def test_ligatures_the_pdf_gives_no_letters_for_are_restored(tmp_path: Path) -> None:
    """With the ligature glyphs' Unicode mappings taken out of the font (as in PDFs whose
    fonts map only plain letters), the parser reads "�rst"; the word is spelt again with the
    ligature that makes a known word."""
    lost = without_ligature_mappings(
        make_messy_rulebook(tmp_path / "book.pdf"), tmp_path / "lost.pdf"
    )
    from plugins.board_games.tools.rulebooks.extract import docling_lines

    assert any("\ufffd" in ln.text for ln in docling_lines(lost)[0])  # as the parser reads it
    text = extract(lost).pages[0].markdown
    assert "The first player to flip a lantern" in text and "After the final" in text, text
    assert "\ufffd" not in text


def test_a_text_layer_that_reads_as_no_language_is_read_by_ocr(tmp_path: Path) -> None:
    """Pages whose fonts map every letter wrongly ("Gur cynlre" for "The player") look right
    but read as nonsense: OCR reads them instead, tables included; other pages are untouched."""
    book = with_unreadable_text_layer(DATA / "dev_hearts.pdf", tmp_path / "book.pdf", {3})
    from plugins.board_games.tools.rulebooks.extract import docling_lines

    assert any("Cynlref naq gur Qrpx" in ln.text for ln in docling_lines(book)[0])
    pages = extract(book).pages
    assert pages[2].extractor == "rapidocr" and pages[2].tables == 1
    assert "Hearts is played with a standard deck of 52 cards" in norm_spaces(pages[2].markdown)
    assert "Cynlref" not in pages[2].markdown
    assert pages[3].extractor == "docling-native+pdfplumber"
    assert pages[3].markdown == extract(DATA / "dev_hearts.pdf").pages[3].markdown


def test_a_book_in_a_language_the_word_list_lacks_keeps_its_text_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finnish reads as no English, but OCR reads it no better: the first such page settles it,
    and the text layer stands for the whole book (no OCR page by page)."""
    from reportlab.pdfgen import canvas

    from plugins.board_games.tools.rulebooks.extract import Line, pipeline
    from plugins.board_games.tools.rulebooks.extract import ocr as ocr_module

    text = (
        "Pelaajat siirtävät nappuloitaan vuorotellen. Nappula liikkuu viistosti eteenpäin "
        "vapaaseen ruutuun. Jos vastustajan nappula on vieressä ja sen takana on tyhjä "
        "ruutu, se on hypättävä yli ja poistettava laudalta."
    )
    path = tmp_path / "tammi.pdf"
    pdf = canvas.Canvas(str(path))
    words = (text + " " + text).split()  # enough text that no page is taken for a figure
    for page in range(3):
        words = words[page:] + words[:page]  # and not the same lines on every page (a header)
        for i in range(0, len(words), 8):
            pdf.drawString(60, 760 - 3 * i, " ".join(words[i : i + 8]))
        pdf.showPage()
    pdf.save()
    calls: list[int] = []
    real = ocr_module.ocr_page

    def counted(path: Path, number: int) -> list[Line]:
        calls.append(number)
        return real(path, number)

    monkeypatch.setattr(pipeline, "ocr_page", counted)
    pages = extract(path).pages
    assert calls == [1]
    assert [p.extractor for p in pages] == ["docling-native"] * 3
    assert "Pelaajat siirtävät" in pages[0].markdown


def norm_spaces(text: str) -> str:
    return " ".join(text.split())


def test_lost_glyphs_take_the_ligature_that_makes_a_known_word() -> None:
    from plugins.board_games.tools.rulebooks.extract import known_words
    from plugins.board_games.tools.rulebooks.text import restore_lost_glyphs

    lost = "The \ufffdrst to \ufffdip shu\ufffdes; o\ufffdce, e\ufffdect, O\ufffder, zq\ufffdx."
    assert (
        restore_lost_glyphs(lost, set(known_words()))
        == "The first to flip shuffles; office, effect, Offer, zqfix."
    )


def test_table_cells_a_short_gap_apart_are_cells_not_one_line(tmp_path: Path) -> None:
    """Docling joins cells that stand a short gap apart into one line ("Cards removed 2 of
    clubs none"); the characters' positions cut it again, so the unruled table's cells land
    in their columns."""
    from reportlab.pdfgen.canvas import Canvas

    path = tmp_path / "table.pdf"
    canvas = Canvas(str(path), pagesize=(595, 842))
    canvas.setFont("Helvetica", 10)
    canvas.drawString(72, 760, "The cards each player gets depend on the number of players.")
    rows = [
        ["Players", "3", "4", "5"],
        ["Cards each", "17", "13", "10"],
        ["Cards removed", "2 of clubs", "none", "2 of clubs and diamonds"],
    ]
    for r, row in enumerate(rows):
        for left, cell in zip((72, 160, 225, 290), row, strict=True):
            canvas.drawString(left, 730 - 14 * r, cell)
    canvas.drawString(72, 670, "After dealing, the player left of the dealer leads.")
    canvas.save()
    page = extract(path).pages[0]
    assert page.tables == 1
    assert "| Cards removed | 2 of clubs | none | 2 of clubs and diamonds |" in page.markdown
    assert "The cards each player gets depend on the number of players." in page.markdown


def _landscape_rules(canvas) -> None:  # noqa: ANN001
    canvas.setFont("Helvetica-Bold", 16)
    canvas.drawString(60, 520, "3. Setting Up")
    canvas.setFont("Helvetica-Bold", 11.5)
    canvas.drawString(60, 490, "Where the pieces go")
    canvas.setFont("Times-Roman", 10.5)
    for i, text in enumerate(
        [
            "Each player places twelve men on the dark squares of the three",
            "rows nearest to them. The two middle rows stay empty.",
            "Decide who takes the dark pieces by any fair method.",
        ]
    ):
        canvas.drawString(60, 470 - 13 * i, text)


@pytest.fixture(scope="module")
def draughts() -> Extraction:
    """Our own set's draughts book, as it is: the reference for its made-over copies."""
    return extract(OWN / "own_draughts.pdf")


def test_turned_pages_read_like_upright_ones(tmp_path: Path, draughts: Extraction) -> None:
    """A landscape page stored as a turned portrait page (/Rotate 90 or 270, its content drawn
    sideways) reads exactly like a landscape page; a page turned sideways on screen keeps its
    headings (pdfminer gives a turned character's width as its size, Docling's boxes are as
    long as the line: the type's size is the character box's side across the line)."""
    from reportlab.pdfgen.canvas import Canvas

    upright = tmp_path / "landscape.pdf"
    canvas = Canvas(str(upright), pagesize=(842, 595))
    _landscape_rules(canvas)
    canvas.save()
    expected = extract(upright).pages[0].markdown
    assert expected.startswith("# 3. Setting Up\n## Where the pieces go\nEach player")
    for rotate, (dx, dy, angle) in {90: (0, 842, -90), 270: (595, 0, 90)}.items():
        path = tmp_path / f"turned{rotate}.pdf"
        canvas = Canvas(str(path), pagesize=(595, 842))
        canvas.translate(dx, dy)
        canvas.rotate(angle)
        _landscape_rules(canvas)
        canvas.save()
        writer = pypdf.PdfWriter(clone_from=path)
        writer.pages[0].rotate(rotate)
        writer.write(path)
        assert extract(path).pages[0].markdown == expected
    sideways = pypdf.PdfWriter(clone_from=OWN / "own_draughts.pdf")
    for page in sideways.pages:
        page.rotate(90)
    sideways.write(tmp_path / "sideways.pdf")
    turned = extract(tmp_path / "sideways.pdf")
    for number in (4, 5):  # the rules pages: chapter headings, subheadings, call-out boxes
        assert [h for h in turned.pages[number - 1].markdown.splitlines() if h[:1] == "#"] == [
            h for h in draughts.pages[number - 1].markdown.splitlines() if h[:1] == "#"
        ]


def test_a_print_pdf_with_bleed_reads_like_the_page_itself(
    tmp_path: Path, draughts: Extraction
) -> None:
    """Print PDFs put the page (crop box) inside a bigger media box that holds the bleed and
    the crop marks. Docling measures from the crop box, pdfplumber from the media box: its
    tables and characters are moved into Docling's frame, or tables swallow the text beside
    them and headings read the wrong characters' sizes."""
    from pypdf.generic import RectangleObject

    writer = pypdf.PdfWriter(clone_from=OWN / "own_draughts.pdf")
    for page in writer.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        page.mediabox = RectangleObject([-30, -30, width + 30, height + 30])
        page.cropbox = page.trimbox = RectangleObject([0, 0, width, height])
    writer.write(tmp_path / "print.pdf")
    printed = extract(tmp_path / "print.pdf")
    assert [p.markdown for p in printed.pages] == [p.markdown for p in draughts.pages]


def test_a_pdf_docling_cannot_parse_is_read_by_pdfplumber(
    extractions: dict[str, Extraction], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file opens (pdfium), but Docling's parser fails on it: pdfplumber's lines, in
    column order, go through the same structure recovery, and the book reads with the same
    headings and tables."""
    import plugins.board_games.tools.rulebooks.extract.pipeline as extraction

    def fails(path: Path) -> None:
        raise RulebookError(f"{path.name} could not be parsed (a parser bug)")

    monkeypatch.setattr(extraction, "docling_lines", fails)
    book = extract(DATA / "dev_hearts.pdf")
    for page, reference in zip(book.pages, extractions["dev_hearts.pdf"].pages, strict=True):
        assert page.extractor == "pdfplumber"
        assert page.tables == reference.tables
        assert [h for h in page.markdown.splitlines() if h[:1] == "#"] == [
            h for h in reference.markdown.splitlines() if h[:1] == "#"
        ]
    assert "the player holding the 2 of clubs leads it" in norm(book.pages[4].markdown)
