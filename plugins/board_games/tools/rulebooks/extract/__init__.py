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

The package's modules, in the order a page goes through them: `pdf` (checks, text lines),
`repair` (typography), `chars` (pdfplumber's characters, ruled tables, bullets, boxes),
`running` (headers and footers), `ocr`, `headings`, `tables`, `layout` (reading order,
Docling's layout models), and `pipeline`, whose `extract()` runs them as named steps; `model`
holds the types they share.
"""

from plugins.board_games.tools.rulebooks.extract.layout import reading_order
from plugins.board_games.tools.rulebooks.extract.model import Extraction, Line, Page, Table
from plugins.board_games.tools.rulebooks.extract.pdf import check_pdf, docling_lines
from plugins.board_games.tools.rulebooks.extract.pipeline import extract
from plugins.board_games.tools.rulebooks.extract.repair import known_words
from plugins.board_games.tools.rulebooks.extract.running import running_lines
from plugins.board_games.tools.rulebooks.extract.tables import aligned_tables, number_rows

__all__ = [
    "Extraction",
    "Line",
    "Page",
    "Table",
    "aligned_tables",
    "check_pdf",
    "docling_lines",
    "extract",
    "known_words",
    "number_rows",
    "reading_order",
    "running_lines",
]
