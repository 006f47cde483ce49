"""Hybrid retrieval over a game's rulebook chunks: vector and full-text results fused with
reciprocal-rank fusion (k and weights from the tool config). The full-text query reads each
number both ways ("four" and "4"), as rulebooks print tables in digits and prose in words, and
a verb with its particle also as one word ("set up" and "setup"). Among the passages kept, a
chunk whose section another of them also comes from moves up a little (`section_support`).
Optionally a cross-encoder (`reranker`: a model alias) reads the best fused candidates with
the question and keeps the best of them instead.

Each hit also says how close the question comes to the rulebook's text: the cosine similarity
of question and chunk, and that of the question and the chunk's closest sentence. A chunk's
embedding averages its sentences, so the one sentence that settles a question is diluted by
its neighbours; a sentence alone lacks its subject, so it is read with its heading
("Which men may be removed: Men standing in a mill are protected.")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lifeos.errors import ProviderUnavailable
from lifeos.llm.router import Router
from lifeos.logging import get_logger
from lifeos.vectors import VectorStore
from plugins.board_games.tools.rulebooks.text import full_text_query, sentences

log = get_logger(__name__)

CORPUS = "rulebook_chunks"
# The alias whose model embeds chunks at indexing and questions at retrieval: the two must agree.
EMBED_ALIAS = "embed"


class RetrievalConfig(BaseModel):
    """How passages are found; a tool's params extend it (`RulesQAParams`)."""

    model_config = ConfigDict(extra="forbid")

    top_k: int = Field(5, ge=1, le=50, description="passages kept (and shown to the player)")
    candidates: int = Field(20, ge=1, le=500, description="per retriever, before fusion")
    rrf_k: int = Field(60, ge=1, description="reciprocal-rank fusion: weight / (rrf_k + rank)")
    vector_weight: float = Field(1.0, ge=0)
    text_weight: float = Field(1.0, ge=0)
    section_support: float = Field(
        0.03,
        ge=0,
        le=1,
        description=(
            "share of the score of another kept chunk from its section a kept chunk gains "
            "(`supported_by_section`); 0 turns it off"
        ),
    )
    reranker: str | None = Field(
        None,
        description=(
            "model alias of a cross-encoder that reorders the best fused candidates (`rerank` in "
            "models.yaml); none: fusion's order"
        ),
    )
    rerank_candidates: int = Field(
        10,
        ge=1,
        le=100,
        description=("fused candidates the reranker reads, of which the best `top_k` are kept"),
    )


@dataclass
class Hit:
    row: dict[str, Any]
    score: float
    vector_rank: int | None
    text_rank: int | None
    similarity: float = 0.0  # cosine similarity of question and chunk embeddings
    sentence_similarity: float = 0.0  # ... and the question and the chunk's closest sentence
    # (0 for rows indexed before sentences were)
    rerank_score: float | None = None  # the reranker's, where one is configured

    @property
    def page(self) -> int:
        return int(self.row["page"])

    @property
    def evidence(self) -> float:
        """How close the rulebook's text here comes to the question: the better of the two."""
        return max(self.similarity, self.sentence_similarity)


def retrieve(
    question: str,
    *,
    router: Router,
    store: VectorStore,
    documents: list[str],
    config: RetrievalConfig,
) -> list[Hit]:
    vector = router.embed([question], EMBED_ALIAS, tool="rules_qa.retrieve").vectors[0]
    by_vector = store.vector_search(CORPUS, vector, documents=documents, limit=config.candidates)
    by_text = store.text_search(
        CORPUS, full_text_query(question), documents=documents, limit=config.candidates
    )
    fused: dict[str, Hit] = {}
    for rank, row in enumerate(by_vector, start=1):
        hit = fused.setdefault(row["id"], Hit(row, 0.0, None, None))
        hit.vector_rank = rank
        hit.score += config.vector_weight / (config.rrf_k + rank)
    for rank, row in enumerate(by_text, start=1):
        hit = fused.setdefault(row["id"], Hit(row, 0.0, None, None))
        hit.text_rank = rank
        hit.score += config.text_weight / (config.rrf_k + rank)
    ranked = sorted(fused.values(), key=lambda h: -h.score)
    hits = None
    if config.reranker:
        hits = reranked(
            question,
            ranked[: max(config.top_k, config.rerank_candidates)],
            router=router,
            alias=config.reranker,
            keep=config.top_k,
        )
    if hits is None:
        hits = supported_by_section(ranked[: config.top_k], config.section_support)
    for hit in hits:
        hit.similarity = _cosine(vector, hit.row["vector"])
        hit.sentence_similarity = max(
            (_cosine(vector, v) for v in hit.row.get("sentence_vectors") or ()), default=0.0
        )
    return hits


def reranked(
    question: str, hits: list[Hit], *, router: Router, alias: str, keep: int
) -> list[Hit] | None:
    """The best `keep` of `hits` by a cross-encoder's reading of the question with each
    passage (its section path, then its text). None when the reranker's server cannot be
    reached: fusion's order then stands, with a warning, rather than no answer. A reranker
    that is misconfigured (an unknown alias, a folder that is not a model) is an error."""
    texts = [
        f"{h.row['section']}: {h.row['content']}" if h.row.get("section") else str(h.row["content"])
        for h in hits
    ]
    try:
        scores = router.rerank(question, texts, alias, tool="rules_qa.rerank").scores
    except ProviderUnavailable as exc:
        log.warning("rerank_unavailable", alias=alias, error=exc.message)
        return None
    for hit, score in zip(hits, scores, strict=True):
        hit.rerank_score = score
    return sorted(hits, key=lambda h: -(h.rerank_score or 0.0))[:keep]


def supported_by_section(hits: list[Hit], weight: float) -> list[Hit]:
    """The kept hits, each one's score raised by `weight` times the best score of another kept
    hit from the same section, and reordered by it. A question is about one section more often
    than about one chunk, and the section it is about tends to come up through two of its
    chunks (the rule and its table, a rule and its exception). RRF scores of neighbouring ranks
    differ by ~1/3600, so the default (0.03 of a ~1/30 score, ~1/1000) breaks near-ties, about
    two ranks in one list, and never overturns a clear lead or brings in a chunk that was not
    kept. Measured: docs/journal/2026-11-27-1915-rules-qa-night.md."""
    if weight <= 0:
        return hits
    bonus = [
        weight
        * max(
            (
                o.score
                for o in hits
                if o is not h and o.row.get("section_key") == h.row.get("section_key")
            ),
            default=0.0,
        )
        for h in hits
    ]
    for hit, extra in zip(hits, bonus, strict=True):
        hit.score += extra
    return sorted(hits, key=lambda h: -h.score)


def evidence_sentences(heading: str, content: str) -> list[str]:
    """A chunk's sentences of three words or more, each read with the chunk's own heading
    (the last of its section path): what `sentence_similarity` compares the question with
    (embedded when the chunk is)."""
    return [f"{heading}: {s}" if heading else s for s in sentences(content) if len(s.split()) >= 3]


def _cosine(a: list[float], b: Any) -> float:
    """Embeddings are normalised: the dot product is the cosine similarity."""
    return float(sum(x * y for x, y in zip(a, b, strict=True)))
