#!/usr/bin/env python3
"""Check a rulebook question set: every gold page really states the answer.

Copied unchanged (apart from these two lines) from the shared dev-set tools
(shared/data/rulebooks/tools/verify_questions.py), so this folder can be checked on its own.

    python verify_questions.py [--ocr] SET_FOLDER [SET_FOLDER ...]

--ocr: for pages without a text layer, use tesseract OCR (needs the `tesseract` binary)
instead of page_text_fallback.json.

SET_FOLDER holds the rulebook PDFs and questions.jsonl (optionally page_text_fallback.json,
the true text of pages that deliberately have no text layer).

Checks, per question:
  * schema: id, rulebook, game, question, answer, pages, answerable, kind; unique ids;
    kind in the allowed set; answerable <=> pages non-empty; unanswerable => kind "unanswerable";
    multi_page => 2+ pages; pages are 1-based and inside the PDF.
  * evidence (if the question has an "evidence" list of verbatim snippets): every snippet is
    found on at least one listed page, and every listed page contains at least one snippet.
  * answer key words: the content words and all numbers of the gold answer appear in the text
    of the listed pages (numbers: all of them; words: at least 60%). Questions marked
    "computed": true (the answer is arithmetic on stated rules) skip the number check.
Per PDF: it opens, page count, which pages have no text layer.
Text is compared after normalisation (lower case, hyphenation joined, punctuation -> space).
Prints every failure and exits 1 if there is any.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

import pypdfium2 as pdfium

KINDS = {"fact", "number", "table", "multi_page", "edge_case", "unanswerable"}
FIELDS = {
    "id": str,
    "rulebook": str,
    "game": str,
    "question": str,
    "answer": str,
    "pages": list,
    "answerable": bool,
    "kind": str,
}
STOP = set(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "than",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "into",
        "onto",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "you",
        "your",
        "yours",
        "i",
        "my",
        "me",
        "we",
        "our",
        "they",
        "their",
        "them",
        "he",
        "she",
        "his",
        "her",
        "can",
        "may",
        "must",
        "not",
        "no",
        "yes",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "as",
        "so",
        "such",
        "only",
        "also",
        "any",
        "all",
        "each",
        "every",
        "one's",
        "which",
        "who",
        "whom",
        "what",
        "when",
        "where",
        "how",
        "there",
        "here",
        "up",
        "out",
        "off",
        "over",
        "under",
        "again",
        "more",
        "most",
        "other",
        "some",
        "same",
        "own",
        "just",
        "both",
        "either",
        "neither",
        "nor",
        "very",
        "will",
        "would",
        "should",
        "could",
        "game",
        "player",
        "players",
    ]
)
NUMWORDS = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "thirteen": "13",
    "fourteen": "14",
    "fifteen": "15",
    "sixteen": "16",
    "twenty": "20",
}


def norm(text: str) -> str:
    t = text.replace("\ufffe", "-").replace("\u00ad", "-").replace("\u2010", "-")
    t = re.sub(r"-\s*[\r\n]+\s*", "", t)  # join words hyphenated at line ends
    t = t.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
    t = t.replace("\u201d", '"').replace("\u2212", "-").replace("\u2013", "-")
    t = t.lower()
    t = re.sub(r"[^a-z0-9]+", " ", t)
    return " " + re.sub(r"\s+", " ", t).strip() + " "


def stem(w: str) -> str:
    for suf in ("ing", "es", "s", "ed"):
        if len(w) > 4 and w.endswith(suf):
            return w[: -len(suf)]
    return w


OCR = False


def ocr_page(page) -> str:
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".png") as f:
        page.render(scale=300 / 72).to_pil().save(f.name)
        return subprocess.run(
            ["tesseract", f.name, "-"], capture_output=True, text=True, check=True
        ).stdout


def page_texts(pdf_path: Path, fallback: dict) -> tuple[list[str], list[int]]:
    pdf = pdfium.PdfDocument(str(pdf_path))
    texts, empty = [], []
    for i in range(len(pdf)):
        t = pdf[i].get_textpage().get_text_range()
        if len(t.strip()) < 20:
            empty.append(i + 1)
            t = ocr_page(pdf[i]) if OCR else fallback.get(pdf_path.name, {}).get(str(i + 1), t)
        texts.append(t)
    pdf.close()
    return texts, empty


def verify(folder: Path) -> int:
    print(f"== {folder}")
    fails: list[str] = []
    fb_path = folder / "page_text_fallback.json"
    fallback = json.loads(fb_path.read_text()) if fb_path.exists() else {}
    pages_of: dict[str, list[str]] = {}
    for pdf_path in sorted(folder.glob("*.pdf")):
        try:
            texts, empty = page_texts(pdf_path, fallback)
        except Exception as e:  # noqa: BLE001
            fails.append(f"{pdf_path.name}: cannot open ({e})")
            continue
        pages_of[pdf_path.name] = [norm(t) for t in texts]
        fb = [] if OCR else sorted(int(p) for p in fallback.get(pdf_path.name, {}))
        note = f"no text layer on pages {empty}" if empty else "text layer on every page"
        if fb:
            note += f" (fallback text for {fb})"
        elif empty and OCR:
            note += " (OCR used for them)"
        print(
            f"  PDF {pdf_path.name}: {len(texts)} pages, "
            f"{pdf_path.stat().st_size // 1024} KiB, {note}"
        )
    qs = [
        json.loads(line)
        for line in (folder / "questions.jsonl").read_text().splitlines()
        if line.strip()
    ]
    ids = Counter(q.get("id") for q in qs)
    for i, count in ids.items():
        if count > 1:
            fails.append(f"duplicate id {i}")
    for q in qs:
        qid = q.get("id", "?")
        for f, typ in FIELDS.items():
            if not isinstance(q.get(f), typ):
                fails.append(f"{qid}: field {f!r} missing or not {typ.__name__}")
        if q.get("kind") not in KINDS:
            fails.append(f"{qid}: bad kind {q.get('kind')!r}")
        if q.get("rulebook") not in pages_of:
            fails.append(f"{qid}: rulebook {q.get('rulebook')!r} not in folder")
            continue
        pages, book = q.get("pages", []), pages_of[q["rulebook"]]
        if not q.get("answerable"):
            if pages or q.get("kind") != "unanswerable":
                fails.append(
                    f"{qid}: unanswerable question must have pages [] and kind unanswerable"
                )
            continue
        if q.get("kind") == "unanswerable" or not pages:
            fails.append(
                f"{qid}: answerable question needs pages and a kind other than unanswerable"
            )
            continue
        if q.get("kind") == "multi_page" and len(set(pages)) < 2:
            fails.append(f"{qid}: multi_page question lists fewer than 2 pages")
        if any(not isinstance(p, int) or p < 1 or p > len(book) for p in pages):
            fails.append(f"{qid}: page out of range {pages} (book has {len(book)})")
            continue
        text = " ".join(book[p - 1] for p in pages)
        ev = q.get("evidence") or []
        for snip in ev:
            if not any(norm(snip) in book[p - 1] for p in pages):
                where = [i + 1 for i, t in enumerate(book) if norm(snip) in t]
                fails.append(f"{qid}: evidence {snip!r} not on pages {pages} (found on {where})")
        for p in pages:
            if ev and not any(norm(s) in book[p - 1] for s in ev):
                fails.append(f"{qid}: listed page {p} holds none of the evidence")
        words = norm(q["answer"]).split()
        nums = {w for w in words if w.isdigit()}
        tokens = set(text.split())
        stems = {stem(t) for t in tokens}
        for n in set() if q.get("computed") else nums:
            if n not in tokens and n not in {NUMWORDS.get(t) for t in tokens}:
                fails.append(f"{qid}: number {n} of the answer not on pages {pages}")
        content = {w for w in words if not w.isdigit() and len(w) > 2 and w not in STOP}
        if content:
            hit = {w for w in content if w in tokens or stem(w) in stems}
            if len(hit) / len(content) < 0.6:
                fails.append(
                    f"{qid}: only {len(hit)}/{len(content)} answer words on pages "
                    f"{pages}; missing {sorted(content - hit)}"
                )
    kinds = Counter(q.get("kind") for q in qs)
    books = Counter(q.get("rulebook") for q in qs)
    una = sum(1 for q in qs if not q.get("answerable"))
    print(f"  questions: {len(qs)}; unanswerable: {una} ({100 * una / max(1, len(qs)):.0f}%)")
    print(f"  by kind: {dict(sorted(kinds.items()))}")
    print(f"  by rulebook: {dict(sorted(books.items()))}")
    for f in fails:
        print(f"  FAIL {f}")
    print(f"  failures: {len(fails)}")
    return len(fails)


def main(argv: list[str]) -> int:
    global OCR
    if argv and argv[0] == "--ocr":
        OCR, argv = True, argv[1:]
    if not argv:
        print(__doc__)
        return 2
    total = sum(verify(Path(a)) for a in argv)
    print(f"TOTAL failures: {total}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
