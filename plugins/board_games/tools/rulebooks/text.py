"""Text helpers shared by retrieval and the rules Q&A: normalising for quote matching, content
words (numbers spelled out read as digits), sentences, what a passage can be quoted by, and a
passage's most relevant sentences."""

from __future__ import annotations

import re
from collections.abc import Iterator

STOP = set(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "is",
        "are",
        "be",
        "can",
        "do",
        "does",
        "i",
        "my",
        "me",
        "you",
        "your",
        "it",
        "its",
        "and",
        "or",
        "if",
        "what",
        "when",
        "how",
        "which",
        "who",
        "whom",
        "why",
        "with",
        "for",
        "from",
        "as",
        "by",
        "that",
        "this",
        "there",
        "their",
        "they",
        "we",
        "our",
        "may",
        "must",
        "will",
        "would",
        "should",
        "could",
        "not",
        "no",
        "yes",
    ]
)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")


# Typography a player does not type: ligature glyphs, the Unicode hyphens some typesetters
# break words with, no-break spaces.
TYPOGRAPHY = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "st",
        "\ufb06": "st",
        "\u2010": "-",
        "\u2011": "-",
        "\u00a0": " ",
        "\u202f": " ",
    }
)
# A word broken at a line end: "oppo-" then "nent". A capital after the break keeps the
# hyphen ("Anti-" "Clockwise"), as it is more likely a compound than a syllable.
BROKEN_WORD = re.compile(r"(\w)-[ \t]*\n\s*(?=[a-zß-öø-ÿ])")


def _rejoined(broken: re.Match[str]) -> str:
    """A word broken at a line end, whole again ("oppo-" "nent"); a number keeps its hyphen
    ("2-" "player"). A compound broken at its own hyphen ("two-" "game") is joined too: telling
    it from a closed compound the vocabulary lacks ("rule-" "book") needs the book's own
    spelling, which page-level matching does not have."""
    return broken.group(1) + ("-" if broken.group(1).isdigit() else "")


def clean_line(text: str) -> str:
    """One line of a PDF's text as read: typographic ligatures as their letters ("ﬁ" → "fi"),
    Unicode hyphens and spaces as plain ones, and soft hyphens dropped, except one that ends
    the line, where the word was broken and the reader saw a hyphen. Real-world PDFs have all
    of these; the player types none."""
    text = text.translate(TYPOGRAPHY).strip()
    ends_broken = text.endswith("\u00ad")
    text = text.replace("\u00ad", "")
    return text + "-" if ends_broken and text[-1:].isalpha() else text


def unwrap(text: str) -> str:
    """The lines of one paragraph (or table cell) as one line, words broken over two lines
    whole again."""
    return " ".join(
        line.strip() for line in BROKEN_WORD.sub(_rejoined, text).split("\n") if line.strip()
    )


# A glyph the PDF gives no letters for (a ligature without a Unicode mapping): Docling reads it
# as U+FFFD, other parsers as a control character.
LOST = "\ufffd\x00-\x08\x0b\x0c\x0e-\x1f"
LOST_GLYPH = re.compile(f"[{LOST}]")
LOST_WORD = re.compile(rf"[\w{LOST}]*[{LOST}][\w{LOST}]*")
LIGATURE_LETTERS = ("fi", "ff", "fl", "ffi", "ffl")  # the usual ones, most frequent first
SUFFIXES = ("s", "es", "d", "ed", "ing", "ly", "er", "ers")


def restore_lost_glyphs(text: str, known: set[str]) -> str:
    """Words with a lost glyph ("�rst", "shu�es") spelt with the ligature that makes a known
    word ("first", "shuffles", by the word or its stem), else with "fi"."""

    def restore(match: re.Match[str]) -> str:
        word = match.group(0)
        for letters in LIGATURE_LETTERS:
            candidate = LOST_GLYPH.sub(letters, word)
            lower = candidate.lower()
            if lower in known or any(
                lower.endswith(end) and lower[: -len(end)] in known for end in SUFFIXES
            ):
                return candidate
        return LOST_GLYPH.sub(LIGATURE_LETTERS[0], word)

    return LOST_WORD.sub(restore, text)


def join_lines(text: str, line: str) -> str:
    """A paragraph's text so far and its next line."""
    return unwrap(f"{text}\n{line}")


def normalize(text: str) -> str:
    """Case, hyphenation at line ends, quotes, dashes and whitespace folded for matching."""
    text = text.translate(TYPOGRAPHY).replace("\u00ad", "").replace("’", "'").replace("‘", "'")
    text = text.replace("“", '"').replace("”", '"').replace("–", "-").replace("—", "-")
    text = BROKEN_WORD.sub(_rejoined, text)
    text = re.sub(r"[|#*_`>]", " ", text)
    return " ".join(text.lower().split())


NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}


DIGIT_WORDS = {digit: word for word, digit in NUMBER_WORDS.items()}


def with_number_forms(text: str) -> str:
    """The text's words with each number up to twenty also in its other form ("four 4", "4
    four"): a full-text query then finds tables that print "4" for a player who asks about
    "four of us", and prose that spells out what the player typed in digits."""
    out: list[str] = []
    for word in re.findall(r"[A-Za-z0-9']+", text):
        out.append(word)
        other = NUMBER_WORDS.get(word.lower()) or DIGIT_WORDS.get(word)
        if other:
            out.append(other)
    return " ".join(out)


PARTICLES = frozenset({"up", "down", "out", "off", "over"})


def full_text_query(text: str) -> str:
    """What the full-text search is asked: the words with their number forms
    (`with_number_forms`), and each verb with its particle also as the closed compound a
    rulebook prints as a noun ("set up" → "setup", "pick up" → "pickup", "run out" →
    "runout"): a player asks "when we set up", the book says "After setup"."""
    found = re.findall(r"[A-Za-z]+", text)
    compounds = [
        a + b
        for a, b in zip(found, found[1:], strict=False)
        if b.lower() in PARTICLES and len(a) > 2
    ]
    return " ".join([with_number_forms(text), *compounds])


def words(text: str) -> set[str]:
    """Content words, numbers spelled out read as digits (players write "five players",
    tables print "5")."""
    found = (NUMBER_WORDS.get(w, w) for w in re.findall(r"[a-z0-9']+", text.lower()))
    return {w for w in found if w not in STOP and (len(w) > 1 or w.isdigit())}


def numbers(text: str) -> set[str]:
    return {w for w in words(text) if w.isdigit()}


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for line in text.split("\n"):
        line = line.strip().removeprefix("- ").strip()
        if line:
            out += [s.strip() for s in SENTENCE_END.split(line) if s.strip()]
    return out


ELLIPSIS = " … "
TABLE_RULE = re.compile(r"[|:\s-]+")


def table_lines(text: str) -> Iterator[tuple[str, str | None]]:
    """The passage's lines, each table data row with its table's header row (`None` for a
    line of text); header and rule rows themselves are not yielded."""
    header: str | None = None
    for line in text.split("\n"):
        row = line.strip()
        if not row.startswith("|"):
            header = None
            yield line, None
        elif header is None:
            header = row
        elif not TABLE_RULE.fullmatch(row):
            yield row, header


def quotable(text: str) -> list[str]:
    """What a passage can be quoted by: its sentences, and each row of a table read with the
    table's header row ("| Players | Target score | … | 4 | 200 |"), since a row of numbers
    alone says nothing and a header alone answers nothing. Each part is verbatim."""
    out: list[str] = []
    for line, header in table_lines(text):
        out += sentences(line) if header is None else [f"{header}{ELLIPSIS}{line}"]
    return out


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


# What a table's first column prints for a count: "4", "4 players", "5-6", "1 to 5 seeds",
# "7+", "16 seeds or more", "up to 3".
KEY_RANGE = re.compile(r"^(\d+)\s*(?:[-–—]|to)\s*(\d+)\b")
KEY_AT_LEAST = re.compile(r"^(\d+)\s*(?:\+|(?:[a-z]+\s+)?or more\b)")
KEY_AT_MOST = re.compile(r"^(?:up to|at most)\s+(\d+)\b")
KEY_ONE = re.compile(r"^(\d+)\b")


def _key_holds(cell: str, n: int) -> bool:
    """Whether a first-column cell is the row for the count `n`."""
    cell = cell.lower()
    if m := KEY_RANGE.match(cell):
        return int(m.group(1)) <= n <= int(m.group(2))
    if m := KEY_AT_LEAST.match(cell):
        return n >= int(m.group(1))
    if m := KEY_AT_MOST.match(cell):
        return n <= int(m.group(1))
    m = KEY_ONE.match(cell)
    return m is not None and int(m.group(1)) == n


def table_row_for(text: str, question: str) -> str | None:
    """The row of the passage's table that a count in the question picks out ("there are four
    of us" → the row whose first cell is 4, or 3-4, or 4+), each cell with its column's name:
    "Players: 4; Packs: 1; Cards dealt to each player: 5". Player-count and score tables are
    grids of numbers that a small model misreads row for row; the row alone it reads right.
    None unless exactly one row of the passage's tables matches a count the question names."""
    asked = {int(n) for n in numbers(question)}
    found: list[str] = []
    for line, header in table_lines(text):
        if header is None:
            continue
        cells = _cells(line)
        if any(_key_holds(cells[0], n) for n in asked):
            found.append(
                "; ".join(
                    f"{name}: {cell}" if name else cell
                    for name, cell in zip(_cells(header), cells, strict=False)
                    if cell
                )
            )
    return found[0] if len(found) == 1 else None


def best_sentences(text: str, target: set[str], limit_words: int) -> list[str]:
    """The passage's sentences most like `target`, in their original order, within a budget."""
    sents = sentences(text)
    ranked = sorted(range(len(sents)), key=lambda i: (-len(words(sents[i]) & target), i))
    keep: set[int] = set()
    budget = limit_words
    for i in ranked:
        n = len(sents[i].split())
        if keep and n > budget:
            continue
        keep.add(i)
        budget -= n
        if budget <= 0:
            break
    return [sents[i] for i in sorted(keep)]
