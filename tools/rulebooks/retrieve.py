"""Hybrid retrieval over a game's rulebook chunks: vector and full-text results fused with
reciprocal-rank fusion (k and weights from the tool config)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lifeos.llm.router import Router
from lifeos.vectors import VectorStore

CORPUS = "rulebook_chunks"


@dataclass
class RetrievalConfig:
    top_k: int = 5
    candidates: int = 20
    rrf_k: int = 60
    vector_weight: float = 1.0
    text_weight: float = 1.0


@dataclass
class Hit:
    row: dict[str, Any]
    score: float
    vector_rank: int | None
    text_rank: int | None
    similarity: float = 0.0       # cosine similarity of question and chunk embeddings

    @property
    def page(self) -> int:
        return int(self.row["page"])


def retrieve(question: str, *, router: Router, store: VectorStore, documents: list[str],
             config: RetrievalConfig, embed_alias: str = "embed") -> list[Hit]:
    vector = router.embed([question], embed_alias, tool="rules_qa.retrieve").vectors[0]
    by_vector = store.vector_search(CORPUS, vector, documents=documents, limit=config.candidates)
    by_text = store.text_search(CORPUS, question, documents=documents, limit=config.candidates)
    fused: dict[str, Hit] = {}
    for rank, row in enumerate(by_vector, start=1):
        hit = fused.setdefault(row["id"], Hit(row, 0.0, None, None))
        hit.vector_rank = rank
        hit.score += config.vector_weight / (config.rrf_k + rank)
    for rank, row in enumerate(by_text, start=1):
        hit = fused.setdefault(row["id"], Hit(row, 0.0, None, None))
        hit.text_rank = rank
        hit.score += config.text_weight / (config.rrf_k + rank)
    hits = sorted(fused.values(), key=lambda h: -h.score)[:config.top_k]
    for hit in hits:  # embeddings are normalised: the dot product is the cosine similarity
        hit.similarity = float(sum(a * b for a, b in zip(vector, hit.row["vector"], strict=True)))
    return hits
