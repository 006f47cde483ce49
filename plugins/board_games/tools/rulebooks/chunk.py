"""Pages → retrieval chunks sized by the embedding model's own tokenizer.

Small chunks are what retrieval compares with a question; each knows its page(s), its section
path and its character offsets in the page text, and the key of its section, so the answering
step can hand the model the whole surrounding section (parent/child). A chunk never exceeds the
embedder's input limit (all-MiniLM-L6-v2 reads 256 tokens: the default target is 200, leaving
room for the section-path prefix). Tables stay whole when they fit; otherwise they are split by
rows with the header row repeated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from plugins.board_games.tools.rulebooks.extract import Page
from plugins.board_games.tools.rulebooks.text import join_lines

TokenCounter = Callable[[Sequence[str]], list[int]]
SENTENCE = re.compile(r"(?<=[.!?;:])\s+")


@dataclass
class Block:
    page: int
    start: int  # character offsets in the page's markdown
    end: int
    text: str
    kind: str  # heading | text | list | table
    level: int = 0


@dataclass
class Chunk:
    ordinal: int
    text: str  # what is embedded and searched (section path + content)
    content: str  # the chunk's own words, as on the page
    pages: list[int]
    section_path: list[str]
    section_key: str  # chunks of one section share it (parent lookup)
    char_start: int  # offsets into the first page's markdown
    char_end: int
    tokens: int
    kind: str = "text"  # text | table
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def page(self) -> int:
        return self.pages[0]


def page_blocks(page: Page) -> list[Block]:
    """Split a page's markdown into headings, paragraphs, list items and tables."""
    blocks: list[Block] = []
    offset = 0
    current: Block | None = None
    for line in page.markdown.splitlines(keepends=True):
        start, end = offset, offset + len(line.rstrip("\n"))
        offset += len(line)
        stripped = line.strip()
        if not stripped:
            current = None
            continue
        heading = re.match(r"^(#{1,6}) (.*)$", stripped)
        if heading:
            blocks.append(
                Block(page.number, start, end, heading.group(2), "heading", len(heading.group(1)))
            )
            current = None
            continue
        kind = (
            "table" if stripped.startswith("|") else "list" if stripped.startswith("- ") else "text"
        )
        continues = current is not None and (
            (kind == "table" and current.kind == "table")
            or (kind == "text" and current.kind in ("text", "list"))
        )
        if continues and current is not None:
            current.end = end
            current.text = (
                f"{current.text}\n{stripped}"
                if kind == "table"
                else join_lines(current.text, stripped)
            )
        else:
            current = Block(page.number, start, end, stripped, kind)
            blocks.append(current)
    return blocks


def chunk_pages(
    pages: list[Page], count_tokens: TokenCounter, *, max_tokens: int = 200
) -> list[Chunk]:
    chunks: list[Chunk] = []
    path: list[tuple[int, str]] = []
    if pages:
        path = [(i + 1, t) for i, t in enumerate(pages[0].section_path)]
    pending: list[Block] = []

    def section() -> list[str]:
        return [t for _, t in path]

    def flush() -> None:
        if pending:
            chunks.extend(_pack(pending, section(), count_tokens, max_tokens, len(chunks)))
            pending.clear()

    for page in pages:
        # The extractor says which headings a page starts under (a cover's subtitle is none
        # of the later pages' sections).
        kept = [(lv, t) for lv, t in path if t in page.section_path]
        if page is not pages[0] and kept != path:
            flush()
            path = kept
        for block in page_blocks(page):
            if block.kind == "heading":
                flush()
                path = [(lv, t) for lv, t in path if lv < block.level] + [(block.level, block.text)]
            else:
                pending.append(block)
    flush()
    for i, chunk in enumerate(chunks):
        chunk.ordinal = i
    return chunks


def _prefix(section: list[str]) -> str:
    return f"[{' > '.join(section)}]\n" if section else ""


def _pack(
    blocks: list[Block],
    section: list[str],
    count: TokenCounter,
    max_tokens: int,
    first_ordinal: int,
) -> list[Chunk]:
    """Greedily pack a section's blocks into chunks of at most `max_tokens` (prefix included)."""
    prefix = _prefix(section)
    key = " > ".join(section) or "(untitled)"
    pieces: list[tuple[Block, str]] = []
    for block in blocks:
        pieces += [(block, part) for part in _split_block(block, prefix, count, max_tokens)]
    sizes = count([prefix + text for _, text in pieces])
    out: list[Chunk] = []
    group: list[tuple[Block, str]] = []
    group_tokens = 0
    for (block, text), size in zip(pieces, sizes, strict=True):
        is_table = block.kind == "table"
        if group and (group_tokens + size > max_tokens or is_table or group[-1][0].kind == "table"):
            out.append(_make(group, prefix, key, count))
            group, group_tokens = [], 0
        group.append((block, text))
        group_tokens += size if not group_tokens else size - count([prefix])[0]
    if group:
        out.append(_make(group, prefix, key, count))
    return out


def _make(group: list[tuple[Block, str]], prefix: str, key: str, count: TokenCounter) -> Chunk:
    content = "\n".join(text for _, text in group)
    pages = sorted({b.page for b, _ in group})
    first = group[0][0]
    last_on_first = [b for b, _ in group if b.page == first.page][-1]
    text = prefix + content
    return Chunk(
        ordinal=0,
        text=text,
        content=content,
        pages=pages,
        section_path=[s for s in prefix.strip("[]\n").split(" > ") if s],
        section_key=key,
        char_start=first.start,
        char_end=last_on_first.end,
        tokens=count([text])[0],
        kind="table" if any(b.kind == "table" for b, _ in group) else "text",
    )


def _split_block(block: Block, prefix: str, count: TokenCounter, max_tokens: int) -> list[str]:
    """A block as one piece if it fits; else tables by rows (header repeated), text by
    sentences, and a sentence that is still too long by words."""
    if count([prefix + block.text])[0] <= max_tokens:
        return [block.text]
    if block.kind == "table":
        header, rule, *rows = block.text.split("\n")
        units, glue, head = rows, "\n", f"{header}\n{rule}\n"
    else:
        units, glue, head = SENTENCE.split(block.text), " ", ""
    parts: list[str] = []
    current: list[str] = []
    for unit in units:
        trial = head + glue.join([*current, unit])
        if current and count([prefix + trial])[0] > max_tokens:
            parts.append(head + glue.join(current))
            current = []
        if count([prefix + head + unit])[0] > max_tokens:
            parts += _split_words(unit, prefix + head, count, max_tokens, head)
            continue
        current.append(unit)
    if current:
        parts.append(head + glue.join(current))
    return parts


def _split_words(
    text: str, lead: str, count: TokenCounter, max_tokens: int, head: str
) -> list[str]:
    words = text.split()
    parts: list[str] = []
    current: list[str] = []
    for word in words:
        if current and count([lead + " ".join([*current, word])])[0] > max_tokens:
            parts.append(head + " ".join(current))
            current = []
        current.append(word)
    if current:
        parts.append(head + " ".join(current))
    return parts
