"""The dev set's rulebooks laid out as a web page and printed to PDF by Chromium, to see whether
the rules Q&A holds up on a PDF producer and a layout it was never fitted on. Same blocks, same
questions, same gold pages (checked by the dev set's verifier):

- Chromium's PDF (Skia): subsetted fonts, text placed word by word, no reportlab structure;
- US Letter, DejaVu Sans 9 pt body text, CSS columns balanced on each page;
- tables with no vertical rules and no cell grid (a rule under the header and between rows);
- call-out boxes as bordered panels, board figures as inline SVG;
- a running header (the game's name) and a footer "N / M" printed by the browser;
- page 2 of Kalah image-only, as in the dev set.

    python benchmarks/rulebook_sets/web/make_rulebooks.py

Needs playwright (the Python package; the browser is Debian's chromium, never a download),
reportlab, pypdf and pypdfium2, and the dev set's tools (../shared)."""

from __future__ import annotations

import html
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The imports below need the path above: this script runs from anywhere.
sys.path.insert(0, str(HERE.parents[2]))

from pypdf import PdfReader
from reportlab.lib.pagesizes import LETTER

from benchmarks.rulebook_sets.dev_made_over import BOOKS, finish

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

CSS = """
@page { size: Letter; margin: 16mm 15mm 16mm 15mm; }
body { font-family: 'DejaVu Sans', sans-serif; font-size: 9pt; line-height: 1.3; margin: 0; }
section { break-after: page; }
section.cols { column-count: 2; column-gap: 7mm; }
section.title { text-align: center; padding-top: 50mm; }
section.title h1 { font-size: 28pt; color: #1f4e79; margin-bottom: 6mm; }
section.title .sub { font-size: 14pt; margin-bottom: 18mm; }
section.title p { font-size: 11pt; }
h1 { font-size: 13pt; color: #1f4e79; margin: 3mm 0 2mm; break-after: avoid; }
h2 { font-size: 10.5pt; color: #444; margin: 3mm 0 1.5mm; break-after: avoid; }
p { margin: 0 0 2mm; }
ul, ol { margin: 0 0 2mm; padding-left: 5mm; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; font-size: 8pt;
        break-inside: avoid; }
th { text-align: left; border-bottom: 1.2pt solid #333; padding: 1pt 3pt; }
td { border-bottom: 0.4pt solid #bbb; padding: 1pt 3pt; vertical-align: top; }
.box { border: 1pt solid #1f4e79; background: #eef4fa; padding: 2mm; margin: 1mm 0 3mm;
       break-inside: avoid; }
.box b.t { display: block; margin-bottom: 1mm; }
.caption { font-style: italic; text-align: center; font-size: 8pt; }
svg { display: block; margin: 1mm auto; }
"""

HEADER = (
    '<div style="font-size:7pt;width:100%;margin:0 15mm;color:#777;'
    'font-family:DejaVu Sans">{game}: official rules</div>'
)
FOOTER = (
    '<div style="font-size:7pt;width:100%;text-align:center;color:#777;'
    'font-family:DejaVu Sans"><span class="pageNumber"></span> / '
    '<span class="totalPages"></span></div>'
)


def markup(text: str) -> str:
    """reportlab's mini-markup is nearly HTML: keep its tags, drop <font> attributes."""
    return re.sub(r"<font[^>]*>|</font>", "", text)


def svg(kind: str) -> str:
    if kind == "morris":
        s, mid = 180, 90
        parts = [
            f'<rect x="{10 + k * 30}" y="{10 + k * 30}" width="{s - 2 * k * 30}" '
            f'height="{s - 2 * k * 30}" fill="none" stroke="black" stroke-width="1.5"/>'
            for k in range(3)
        ]
        for x1, y1, x2, y2 in (
            (mid, 0, mid, 60),
            (mid, 120, mid, s),
            (0, mid, 60, mid),
            (120, mid, s, mid),
        ):
            parts.append(
                f'<line x1="{10 + x1}" y1="{10 + y1}" x2="{10 + x2}" y2="{10 + y2}" '
                'stroke="black" stroke-width="1.5"/>'
            )
        for k in range(3):
            inset = k * 30
            for x in (inset, mid, s - inset):
                for y in (inset, mid, s - inset):
                    if (x, y) != (mid, mid):
                        parts.append(f'<circle cx="{10 + x}" cy="{10 + y}" r="3.5"/>')
        return f'<svg width="200" height="200">{"".join(parts)}</svg>'
    pits = "".join(
        f'<circle cx="{45 + i * 26}" cy="{28 + row * 36}" r="10" fill="white" stroke="black"/>'
        for i in range(6)
        for row in (0, 1)
    )
    return (
        '<svg width="220" height="92"><rect x="1" y="1" width="218" height="90" '
        'fill="#e8d5b0" stroke="black"/><rect x="6" y="8" width="22" height="76" '
        'fill="white" stroke="black"/><rect x="192" y="8" width="22" height="76" '
        f'fill="white" stroke="black"/>{pits}</svg>'
    )


def to_html(game: str, blocks: list[tuple]) -> tuple[str, int]:
    """The book as one HTML document, one <section> per page. Returns it and the page count."""
    pages: list[list[str]] = [[]]
    for b in blocks:
        kind, out = b[0], pages[-1]
        if kind == "title":
            _, title, sub, lines = b
            out.append(
                f'<h1>{markup(title)}</h1><div class="sub">{markup(sub)}</div>'
                + "".join(f"<p>{markup(x)}</p>" for x in lines)
            )
            pages.append([])
        elif kind in ("h1", "h2"):
            out.append(f"<{kind}>{markup(b[1])}</{kind}>")
        elif kind == "p":
            out.append(f"<p>{markup(b[1])}</p>")
        elif kind in ("ul", "ol"):
            out.append(f"<{kind}>" + "".join(f"<li>{markup(x)}</li>" for x in b[1]) + f"</{kind}>")
        elif kind == "table":
            head, *rows = b[1]
            out.append(
                "<table><tr>"
                + "".join(f"<th>{markup(str(c))}</th>" for c in head)
                + "</tr>"
                + "".join(
                    "<tr>" + "".join(f"<td>{markup(str(c))}</td>" for c in r) + "</tr>"
                    for r in rows
                )
                + "</table>"
            )
        elif kind == "box":
            out.append(f'<div class="box"><b class="t">{markup(b[1])}</b>{markup(b[2])}</div>')
        elif kind == "diagram":
            out.append(svg(b[1]))
        elif kind == "caption":
            out.append(f'<p class="caption">{markup(b[1])}</p>')
        elif kind == "page":
            pages.append([])
        elif kind == "col":
            out.append('<div style="break-before: column"></div>')
        else:
            raise ValueError(kind)
    body = "".join(
        f'<section class="{"title" if i == 0 else "cols"}">{"".join(page)}</section>'
        for i, page in enumerate(pages)
    )
    head = f'<meta charset="utf-8"><title>{html.escape(game)} rules</title><style>{CSS}</style>'
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>", len(pages)


def main() -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        for book, game, blocks in BOOKS:
            document, count = to_html(game, blocks)
            page.set_content(document)
            page.pdf(
                path=str(HERE / book),
                format="Letter",
                display_header_footer=True,
                header_template=HEADER.format(game=html.escape(game)),
                footer_template=FOOTER,
                print_background=True,
            )
            printed = len(PdfReader(str(HERE / book)).pages)
            if printed != count:  # a page overflowed: every later gold page would be wrong
                raise SystemExit(f"{book}: {printed} pages printed for {count} in the blocks")
        browser.close()
    finish(HERE, LETTER)


if __name__ == "__main__":
    main()
