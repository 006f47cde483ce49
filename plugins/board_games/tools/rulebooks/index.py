"""Chunks → rows of the `rulebook_chunks` corpus for one document: the chunk's embedding, its
sentences' embeddings (each read with its heading: `retrieve.evidence_sentences`), full text."""

from __future__ import annotations

import pyarrow as pa

from lifeos.llm.router import Router
from lifeos.vectors import VectorStore
from plugins.board_games.tools.rulebooks.chunk import Chunk
from plugins.board_games.tools.rulebooks.retrieve import CORPUS, EMBED_ALIAS, evidence_sentences


def index_chunks(
    document: str, chunks: list[Chunk], *, router: Router, store: VectorStore
) -> dict[str, int]:
    """Replace the document's rows with these chunks. Returns rows, vector dimension and the
    number of sentences embedded."""
    sentences = [
        evidence_sentences(c.section_path[-1] if c.section_path else "", c.content) for c in chunks
    ]
    texts = [c.text for c in chunks] + [s for found in sentences for s in found]
    result = router.embed(texts, EMBED_ALIAS, tool="rulebook_index")
    chunk_vectors, vectors = result.vectors[: len(chunks)], iter(result.vectors[len(chunks) :])
    rows = [
        {
            "id": f"{document}:{c.ordinal:05d}",
            "ordinal": c.ordinal,
            "page": c.page,
            "pages": c.pages,
            "section": " > ".join(c.section_path),
            "section_key": c.section_key,
            "text": c.text,
            "content": c.content,
            "char_start": c.char_start,
            "char_end": c.char_end,
            "tokens": c.tokens,
            "kind": c.kind,
            "vector": vector,
            "sentence_vectors": [next(vectors) for _ in found],
        }
        for c, vector, found in zip(chunks, chunk_vectors, sentences, strict=True)
    ]
    count = store.replace_document(
        CORPUS,
        document,
        rows,
        dim=result.dim,
        types={"sentence_vectors": pa.list_(pa.list_(pa.float32()))},
    )
    return {"rows": count, "dim": result.dim, "sentences": len(texts) - len(chunks)}
