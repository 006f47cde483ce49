"""Evaluate rules Q&A on a folder of rulebook PDFs and a `questions.jsonl` (the format of
shared/data/rulebooks): ingest what is missing, ask every question, score it."""

from __future__ import annotations

import json
import re
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from lifeos.db.engine import session_scope
from lifeos.db.models import EvalRun, utcnow
from lifeos.errors import BadRequest, LifeOSError, NotFound
from lifeos.logging import get_logger
from plugins.board_games.tools.rulebooks.service import Rulebooks, file_sha256
from plugins.board_games.tools.rulebooks.text import normalize, words
from plugins.board_games.tools.rules_qa import RulesAnswer, RulesQA

log = get_logger(__name__)

METRICS = (
    "n_questions",
    "recall_at_1",
    "recall_at_5",
    "citation_page_accuracy",
    "answer_correctness",
    "abstention_precision",
    "abstention_recall",
    "false_abstention_rate",
    "latency_p50_s",
    "latency_p95_s",
)


@dataclass
class Question:
    id: str
    rulebook: str
    game: str
    question: str
    answer: str
    pages: list[int]
    answerable: bool
    kind: str


def load_questions(folder: Path) -> list[Question]:
    path = Path(folder) / "questions.jsonl"
    if not path.is_file():
        raise BadRequest(f"{folder} has no questions.jsonl")
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            out.append(
                Question(
                    id=raw["id"],
                    rulebook=raw["rulebook"],
                    game=raw["game"],
                    question=raw["question"],
                    answer=raw.get("answer", ""),
                    pages=list(raw.get("pages", [])),
                    answerable=bool(raw.get("answerable", True)),
                    kind=raw.get("kind", ""),
                )
            )
        except (json.JSONDecodeError, KeyError) as exc:
            raise BadRequest(f"{path}:{number}: not a question record ({exc})") from None
    return out


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+", text))


def supported(gold_answer: str, answer: RulesAnswer) -> bool:
    """The gold answer is supported by what we said and quoted: all its numbers and at least
    half of its content words occur in the answer or the cited quotes."""
    evidence = normalize(answer.answer + " " + " ".join(c.quote for c in answer.citations))
    gold_words = words(gold_answer)
    if not _numbers(gold_answer) <= _numbers(evidence):
        return False
    return not gold_words or len(gold_words & words(evidence)) / len(gold_words) >= 0.5


def score(questions: list[Question], answers: list[RulesAnswer]) -> dict[str, Any]:
    answerable = [(q, a) for q, a in zip(questions, answers, strict=True) if q.answerable]
    unanswerable = [(q, a) for q, a in zip(questions, answers, strict=True) if not q.answerable]
    answered = [(q, a) for q, a in answerable if not a.abstained]
    abstained = [(q, a) for q, a in zip(questions, answers, strict=True) if a.abstained]

    def ratio(num: int, den: int) -> float | None:
        return round(num / den, 4) if den else None

    latencies = sorted(a.latency_s for a in answers)
    return {
        "n_questions": len(questions),
        "recall_at_1": ratio(
            sum(
                bool(a.retrieved_pages[:1] and a.retrieved_pages[0] in q.pages)
                for q, a in answerable
            ),
            len(answerable),
        ),
        "recall_at_5": ratio(
            sum(bool(set(a.retrieved_pages[:5]) & set(q.pages)) for q, a in answerable),
            len(answerable),
        ),
        "citation_page_accuracy": ratio(
            sum(bool({c.page for c in a.citations} & set(q.pages)) for q, a in answered),
            len(answered),
        ),
        "answer_correctness": ratio(
            sum(
                bool({c.page for c in a.citations} & set(q.pages)) and supported(q.answer, a)
                for q, a in answered
            ),
            len(answerable),
        ),
        "abstention_precision": ratio(sum(not q.answerable for q, _ in abstained), len(abstained)),
        "abstention_recall": ratio(sum(a.abstained for _, a in unanswerable), len(unanswerable)),
        "false_abstention_rate": ratio(sum(a.abstained for _, a in answerable), len(answerable)),
        "latency_p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "latency_p95_s": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 3)
        if latencies
        else None,
    }


def evaluate(
    folder: Path,
    rulebooks: Rulebooks,
    qa: RulesQA,
    *,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Ingest what is not ingested yet, ask every question, score. A rulebook that cannot be
    ingested, or a question whose answer fails, is that question's result (mode "error",
    not an abstention, so it counts against every metric), not the end of the run."""
    folder = Path(folder)
    questions = load_questions(folder)

    def say(message: str) -> None:
        if progress:
            progress(message)

    # Each book is ingested under the game its first question names (see `_ask`).
    game_of = {q.rulebook: q.game for q in reversed(questions)}
    for book, game in sorted(game_of.items()):
        try:
            sha = file_sha256(folder / book)
            known = {d["sha256"]: d for d in rulebooks.list()}
            if sha not in known or known[sha]["status"] != "ready":
                say(f"ingesting {book}")
                rulebooks.add(folder / book, game=game)
                rulebooks.ingest(sha)
        except Exception as exc:  # noqa: BLE001 - one unreadable book fails its questions only
            log.warning("eval_ingest_failed", rulebook=book, error=str(exc))
            say(f"{book} could not be ingested: {exc}")
    # Models load before the first question, not in it: latency is the answers' alone.
    try:
        say(f"models loaded in {qa.warm():.1f} s")
    except LifeOSError as exc:  # the questions then try the model's fallbacks, one by one
        log.warning("eval_warm_failed", error=exc.message)
    answers = []
    for i, q in enumerate(questions, start=1):
        say(f"[{i}/{len(questions)}] {q.id}")
        started = time.perf_counter()
        try:
            answers.append(_ask(qa, q, game_of[q.rulebook]))
        except Exception as exc:  # noqa: BLE001 - likewise for one question
            log.warning("eval_question_failed", id=q.id, error=str(exc))
            answers.append(
                RulesAnswer(
                    question=q.question,
                    answer=f"error: {exc}"[:600],
                    abstained=False,
                    confidence=0.0,
                    mode="error",
                    latency_s=round(time.perf_counter() - started, 3),
                )
            )
    metrics = score(questions, answers)
    rows = pl.DataFrame(
        [
            {
                "id": q.id,
                "rulebook": q.rulebook,
                "kind": q.kind,
                "answerable": q.answerable,
                "gold_pages": q.pages,
                "retrieved_pages": a.retrieved_pages,
                "cited_pages": [c.page for c in a.citations],
                "abstained": a.abstained,
                "mode": a.mode,
                "supported": supported(q.answer, a) if not a.abstained else False,
                "confidence": a.confidence,
                "p_none": a.p_none,
                "evidence": a.evidence,
                "latency_s": a.latency_s,
                "question": q.question,
                "answer": a.answer,
                "gold_answer": q.answer,
            }
            for q, a in zip(questions, answers, strict=True)
        ]
    )
    return metrics, rows


def _ask(qa: RulesQA, q: Question, book_game: str) -> RulesAnswer:
    """Ask under the game the question names, or, where no game of that name has a rulebook
    ("Mill" for "Mill (Nine Men's Morris)"), under the game its book was ingested as."""
    try:
        return qa.run({"question": q.question, "game": q.game})
    except NotFound:
        if q.game == book_game:
            raise
        return qa.run({"question": q.question, "game": book_game})


def save(
    url: str,
    metrics: dict[str, Any],
    rows: pl.DataFrame,
    out_dir: Path,
    name: str,
    *,
    qa: RulesQA,
    run_id: str | None = None,
) -> tuple[str, Path]:
    """Store the run in the library DB (`eval_runs`: metrics, config, every question's result)
    and as Parquet + JSON under out_dir/<set>-<stamp>/. Returns (eval run id, folder)."""
    cfg = qa.configs.get(qa.name)
    run = EvalRun(
        id=str(uuid.uuid4()),
        created_at=utcnow(),
        tool=qa.name,
        question_set=name,
        model=cfg.model,
        metrics=metrics,
        run_id=run_id,
        config={"model": cfg.model, "params": cfg.params.model_dump()},
        results=json.loads(rows.write_json()),
    )
    with session_scope(url) as session:
        session.add(run)
    target = Path(out_dir) / f"{name}-{run.created_at.strftime('%Y%m%dT%H%M%SZ')}"
    target.mkdir(parents=True, exist_ok=True)
    rows.write_parquet(target / "answers.parquet")
    (target / "metrics.json").write_text(
        json.dumps(
            {**metrics, "set": name, "at": run.created_at.isoformat(), "eval_run": run.id}, indent=2
        )
    )
    return run.id, target


def eval_runs_frame(url: str, tool: str = "rules_qa") -> pl.DataFrame:
    """Every stored evaluation of a tool, oldest first: one row per run, one column per metric."""
    stmt = (
        sa.select(
            EvalRun.id, EvalRun.created_at, EvalRun.question_set, EvalRun.model, EvalRun.metrics
        )
        .where(EvalRun.tool == tool)
        .order_by(EvalRun.created_at)
    )
    with session_scope(url) as session:
        rows = session.execute(stmt).all()
    return pl.DataFrame(
        [
            {
                "id": r.id,
                "at": r.created_at,
                "set": r.question_set,
                "model": r.model,
                **{k: r.metrics.get(k) for k in METRICS},
            }
            for r in rows
        ],
        schema={
            "id": pl.String,
            "at": pl.Datetime("us", "UTC"),
            "set": pl.String,
            "model": pl.String,
            **{k: (pl.Int64 if k == "n_questions" else pl.Float64) for k in METRICS},
        },
    )


def eval_results(url: str, eval_id: str) -> pl.DataFrame:
    """The per-question results of one stored evaluation."""
    with session_scope(url) as session:
        run = session.get(EvalRun, eval_id)
        if run is None:
            raise NotFound(f"no evaluation {eval_id}")
        return pl.DataFrame(run.results)
