"""Chunks → rows of the `rulebook_chunks` corpus (embedding + full-text) for one document."""

from __future__ import annotations

from lifeos.llm.router import Router
from lifeos.vectors import VectorStore
from tools.rulebooks.chunk import Chunk
from tools.rulebooks.retrieve import CORPUS


def index_chunks(document: str, chunks: list[Chunk], *, router: Router, store: VectorStore,
                 embed_alias: str = "embed") -> dict[str, int]:
    """Replace the document's rows with these chunks. Returns rows and vector dimension."""
    result = router.embed([c.text for c in chunks], embed_alias, tool="rulebook_index")
    rows = [{
        "id": f"{document}:{c.ordinal:05d}", "ordinal": c.ordinal, "page": c.page,
        "pages": c.pages, "section": " > ".join(c.section_path), "section_key": c.section_key,
        "text": c.text, "content": c.content, "char_start": c.char_start,
        "char_end": c.char_end, "tokens": c.tokens, "kind": c.kind, "vector": vector,
    } for c, vector in zip(chunks, result.vectors, strict=True)]
    count = store.replace_document(CORPUS, document, rows, dim=result.dim)
    return {"rows": count, "dim": result.dim}
