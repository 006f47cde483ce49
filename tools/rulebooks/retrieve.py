"""Hybrid retrieval over a game's rulebook chunks: vector and full-text results fused with
reciprocal-rank fusion (k and weights from the tool config). The full-text query reads each
number both ways ("four" and "4"), as rulebooks print tables in digits and prose in words, and
a verb with its particle also as one word ("set up" and "setup").

Each hit also says how close the question comes to the rulebook's text: the cosine similarity
of question and chunk, and that of the question and the chunk's closest sentence. A chunk's
embedding averages its sentences, so the one sentence that settles a question is diluted by
its neighbours; a sentence alone lacks its subject, so it is read with its heading
("Which men may be removed: Men standing in a mill are protected.")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lifeos.llm.router import Router
from lifeos.vectors import VectorStore
from tools.rulebooks.text import full_text_query, sentences

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
    similarity: float = 0.0           # cosine similarity of question and chunk embeddings
    sentence_similarity: float = 0.0  # ... and the question and the chunk's closest sentence
                                      # (0 for rows indexed before sentences were)

    @property
    def page(self) -> int:
        return int(self.row["page"])

    @property
    def evidence(self) -> float:
        """How close the rulebook's text here comes to the question: the better of the two."""
        return max(self.similarity, self.sentence_similarity)


def retrieve(question: str, *, router: Router, store: VectorStore, documents: list[str],
             config: RetrievalConfig, embed_alias: str = "embed") -> list[Hit]:
    vector = router.embed([question], embed_alias, tool="rules_qa.retrieve").vectors[0]
    by_vector = store.vector_search(CORPUS, vector, documents=documents, limit=config.candidates)
    by_text = store.text_search(CORPUS, full_text_query(question), documents=documents,
                                limit=config.candidates)
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
    for hit in hits:
        hit.similarity = _cosine(vector, hit.row["vector"])
        hit.sentence_similarity = max((_cosine(vector, v) for v in
                                       hit.row.get("sentence_vectors") or ()), default=0.0)
    return hits


def evidence_sentences(heading: str, content: str) -> list[str]:
    """A chunk's sentences of three words or more, each read with the chunk's own heading
    (the last of its section path): what `sentence_similarity` compares the question with
    (embedded when the chunk is)."""
    return [f"{heading}: {s}" if heading else s for s in sentences(content)
            if len(s.split()) >= 3]


def _cosine(a: list[float], b: Any) -> float:
    """Embeddings are normalised: the dot product is the cosine similarity."""
    return float(sum(x * y for x, y in zip(a, b, strict=True)))
