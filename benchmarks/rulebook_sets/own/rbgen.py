"""Tiny rulebook typesetter (reportlab) used to build the generated DEV rulebooks.

Copied unchanged (apart from these two lines) from the shared dev-set tools
(shared/data/rulebooks/tools/rbgen.py) to build our own held-out-style set.

A book is a list of blocks:
  ("title", title, subtitle, lines)      title page (own page)
  ("h1", text) / ("h2", text)            headings
  ("p", text)                            paragraph (reportlab mini-markup allowed)
  ("ul", [items]) / ("ol", [items])      lists
  ("table", rows, col_widths_mm)         first row is the header
  ("box", title, text)                   shaded call-out box
  ("diagram", kind)                      board drawing
  ("caption", text)
  ("page",)                              page break (next page is two-column)
  ("col",)                               column break
"""

from __future__ import annotations

from reportlab.graphics.shapes import Circle, Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Frame,
    FrameBreak,
    KeepTogether,
    ListFlowable,
    ListItem,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

W, H = A4
M = 18 * mm
GAP = 8 * mm
COLW = (W - 2 * M - GAP) / 2

ss = getSampleStyleSheet()
BODY = ParagraphStyle(
    "body", parent=ss["BodyText"], fontName="Times-Roman", fontSize=10.5, leading=13.5, spaceAfter=5
)
H1 = ParagraphStyle(
    "h1",
    parent=ss["Heading1"],
    fontName="Helvetica-Bold",
    fontSize=15,
    leading=18,
    textColor=colors.HexColor("#7a1f1f"),
    spaceBefore=4,
    spaceAfter=8,
)
H2 = ParagraphStyle(
    "h2",
    parent=ss["Heading2"],
    fontName="Helvetica-Bold",
    fontSize=11.5,
    leading=14,
    textColor=colors.HexColor("#333366"),
    spaceBefore=8,
    spaceAfter=4,
)
CAP = ParagraphStyle("cap", parent=BODY, fontName="Times-Italic", fontSize=9, alignment=TA_CENTER)
CELL = ParagraphStyle("cell", parent=BODY, fontSize=9, leading=11, spaceAfter=0)
CELLB = ParagraphStyle("cellb", parent=CELL, fontName="Helvetica-Bold", fontSize=8.5)
BOXT = ParagraphStyle("boxt", parent=BODY, fontName="Helvetica-Bold", fontSize=10)
TT = ParagraphStyle(
    "tt",
    parent=BODY,
    fontName="Helvetica-Bold",
    fontSize=30,
    leading=36,
    alignment=TA_CENTER,
    textColor=colors.HexColor("#7a1f1f"),
)
TS = ParagraphStyle(
    "ts", parent=BODY, fontName="Helvetica", fontSize=15, leading=20, alignment=TA_CENTER
)
TL = ParagraphStyle("tl", parent=BODY, fontSize=12, leading=16, alignment=TA_CENTER)


def _footer(game):
    def draw(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 8.5)
        canvas.setFillColor(colors.grey)
        canvas.line(M, 14 * mm, W - M, 14 * mm)
        canvas.drawString(M, 9 * mm, f"{game} - Rulebook")
        canvas.drawRightString(W - M, 9 * mm, f"Page {doc.page}")
        canvas.restoreState()

    return draw


def _diagram(kind):
    d = Drawing(COLW, COLW * 0.9)
    s = COLW * 0.8
    ox, oy = (COLW - s) / 2, COLW * 0.05
    if kind == "morris":
        for k in range(3):
            inset = k * s / 6
            d.add(
                Rect(
                    ox + inset,
                    oy + inset,
                    s - 2 * inset,
                    s - 2 * inset,
                    fillColor=None,
                    strokeWidth=1.5,
                )
            )
        mid = s / 2
        d.add(Line(ox + mid, oy, ox + mid, oy + s / 3, strokeWidth=1.5))
        d.add(Line(ox + mid, oy + 2 * s / 3, ox + mid, oy + s, strokeWidth=1.5))
        d.add(Line(ox, oy + mid, ox + s / 3, oy + mid, strokeWidth=1.5))
        d.add(Line(ox + 2 * s / 3, oy + mid, ox + s, oy + mid, strokeWidth=1.5))
        for k in range(3):
            inset = k * s / 6
            for x in (inset, mid, s - inset):
                for y in (inset, mid, s - inset):
                    if x == mid and y == mid:
                        continue
                    d.add(Circle(ox + x, oy + y, 3.2, fillColor=colors.black))
    elif kind == "kalah":
        d = Drawing(COLW, COLW * 0.45)
        d.add(Rect(2, 2, COLW - 4, COLW * 0.42, fillColor=colors.HexColor("#e8d5b0")))
        pw = (COLW - 4) / 8
        d.add(Rect(6, 8, pw - 8, COLW * 0.42 - 12, fillColor=colors.white))
        d.add(Rect(COLW - pw + 2, 8, pw - 8, COLW * 0.42 - 12, fillColor=colors.white))
        for i in range(6):
            for row in (0, 1):
                d.add(
                    Circle(
                        pw * (i + 1.5), COLW * (0.11 + row * 0.2), pw * 0.38, fillColor=colors.white
                    )
                )
        d.add(String(COLW / 2, COLW * 0.43 - 2, "", fontSize=6))
    return d


def build(path, game, blocks):
    doc = BaseDocTemplate(
        path,
        pagesize=A4,
        leftMargin=M,
        rightMargin=M,
        topMargin=M,
        bottomMargin=20 * mm,
        title=f"{game} Rulebook",
        author="Board-game Q&A evaluation data (generated)",
    )
    full = Frame(M, 20 * mm, W - 2 * M, H - M - 20 * mm, id="full")
    c1 = Frame(M, 20 * mm, COLW, H - M - 20 * mm, id="c1")
    c2 = Frame(M + COLW + GAP, 20 * mm, COLW, H - M - 20 * mm, id="c2")
    doc.addPageTemplates(
        [
            PageTemplate("title", [full], onPage=_footer(game)),
            PageTemplate("two", [c1, c2], onPage=_footer(game)),
        ]
    )
    story = []
    for b in blocks:
        k = b[0]
        if k == "title":
            _, t, sub, lines = b
            story += [
                Spacer(1, 55 * mm),
                Paragraph(t, TT),
                Spacer(1, 8 * mm),
                Paragraph(sub, TS),
                Spacer(1, 20 * mm),
            ]
            story += [Paragraph(x, TL) for x in lines]
            story += [NextPageTemplate("two"), PageBreak()]
        elif k == "h1":
            story += [CondPageBreak(40 * mm), Paragraph(b[1], H1)]
        elif k == "h2":
            story += [CondPageBreak(25 * mm), Paragraph(b[1], H2)]
        elif k == "p":
            story.append(Paragraph(b[1], BODY))
        elif k in ("ul", "ol"):
            items = [ListItem(Paragraph(x, BODY), leftIndent=12) for x in b[1]]
            story.append(
                ListFlowable(
                    items,
                    bulletType="bullet" if k == "ul" else "1",
                    start=None if k == "ol" else None,
                    leftIndent=12,
                    bulletFontSize=8 if k == "ul" else 10,
                )
            )
        elif k == "table":
            rows = [
                [Paragraph(str(c), CELLB if i == 0 else CELL) for c in r]
                for i, r in enumerate(b[1])
            ]
            t = Table(rows, colWidths=[w * mm for w in b[2]], repeatRows=1)
            t.setStyle(
                TableStyle(
                    [
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#333366")),
                        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
                        (
                            "ROWBACKGROUNDS",
                            (0, 1),
                            (-1, -1),
                            [colors.white, colors.HexColor("#eeeef6")],
                        ),
                        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                )
            )
            rows[0] = [Paragraph(f'<font color="white">{c.text}</font>', CELLB) for c in rows[0]]
            t = Table(rows, colWidths=[w * mm for w in b[2]], repeatRows=1)
            t.setStyle(
                TableStyle(
                    [
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#333366")),
                        (
                            "ROWBACKGROUNDS",
                            (0, 1),
                            (-1, -1),
                            [colors.white, colors.HexColor("#eeeef6")],
                        ),
                        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                )
            )
            story += [Spacer(1, 3), t, Spacer(1, 8)]
        elif k == "box":
            t = Table([[Paragraph(b[1], BOXT)], [Paragraph(b[2], BODY)]], colWidths=[COLW - 4])
            t.setStyle(
                TableStyle(
                    [
                        ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#f6efd9")),
                        ("BOX", (0, 0), (-1, -1), 0.8, colors.HexColor("#7a1f1f")),
                    ]
                )
            )
            story += [Spacer(1, 4), KeepTogether(t), Spacer(1, 8)]
        elif k == "diagram":
            story += [_diagram(b[1]), Spacer(1, 3)]
        elif k == "caption":
            story.append(Paragraph(b[1], CAP))
        elif k == "page":
            story.append(PageBreak())
        elif k == "col":
            story.append(FrameBreak())
        else:
            raise ValueError(k)
    doc.build(story)
