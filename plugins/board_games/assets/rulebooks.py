"""Rulebook ingestion as Dagster assets, one dynamic partition per rulebook (its sha256):
rulebook_pages → rulebook_chunks → rulebook_index, with checks on the index, and a sensor
that turns PDFs dropped into LIFEOS_HOME/inbox/ into partitions and runs."""

import json
import shutil
from pathlib import Path

import dagster as dg

from lifeos.errors import RulebookError
from plugins.board_games.tools.rulebooks.retrieve import CORPUS, EMBED_ALIAS
from plugins.board_games.tools.rulebooks.service import Rulebooks
from resources.workbench import WorkbenchResource

RULEBOOK_PARTITIONS = "rulebooks"  # the dynamic partitions' name: one partition per PDF
rulebook_partitions = dg.DynamicPartitionsDefinition(name=RULEBOOK_PARTITIONS)
GROUP = "rulebooks"
RULEBOOK_FILES = dg.AssetKey("rulebook_files")
rulebook_files = dg.AssetSpec(
    RULEBOOK_FILES,
    partitions_def=rulebook_partitions,
    group_name=GROUP,
    kinds={"pdf"},
    description="The rulebook PDFs as stored (blobs/, by sha256): recorded as each is added.",
)


def rulebook_file_event(sha: str, filename: str) -> dg.AssetMaterialization:
    """A stored rulebook file, as its external asset's partition (its version: its hash)."""
    return dg.AssetMaterialization(
        RULEBOOK_FILES,
        partition=sha,
        metadata={"file": filename} if filename else {},
        tags={"dagster/data_version": sha},
    )


def _rulebooks(workbench: WorkbenchResource, router) -> Rulebooks:  # noqa: ANN001
    return Rulebooks(workbench.settings(), router)


@dg.asset(
    partitions_def=rulebook_partitions,
    group_name=GROUP,
    kinds={"pdf", "docling"},
    tags={"lifeos/heavy": "true"},
    description="Per-page Markdown of the rulebook, structure recovered from the PDF.",
)
def rulebook_pages(
    context: dg.AssetExecutionContext, workbench: WorkbenchResource
) -> dg.MaterializeResult:
    sha = context.partition_key
    with workbench.router() as router:
        books = _rulebooks(workbench, router)
        try:
            pages = books.extract_pages(sha)
        except RulebookError as exc:
            raise dg.Failure(description=exc.message) from None
        doc = books.get(sha)
    return dg.MaterializeResult(
        metadata={
            "file": doc["filename"],
            "pages": len(pages),
            "tables": doc["stats"]["tables"],
            "seconds_per_page": doc["stats"]["s_per_page"],
            "extractors": dg.MetadataValue.json(doc["stats"]["extractors"]),
            # JSON's keys are strings: the page numbers as the stored event will give them back
            "page_extractor": dg.MetadataValue.json({str(p.number): p.extractor for p in pages}),
            # the rows it wrote: the `documents` row, its board game, the pages file
            "document": sha,
            "board_game_id": doc["board_game_id"] or "",
            "pages_file": dg.MetadataValue.path(str(books.work_dir(sha) / "pages.json")),
        }
    )


@dg.asset(
    partitions_def=rulebook_partitions,
    group_name=GROUP,
    deps=[rulebook_pages],
    description="Retrieval chunks sized by the embedder's tokenizer, with section paths.",
)
def rulebook_chunks(
    context: dg.AssetExecutionContext, workbench: WorkbenchResource
) -> dg.MaterializeResult:
    sha = context.partition_key
    with workbench.router() as router:
        books = _rulebooks(workbench, router)
        chunks = books.chunk(sha)
    return dg.MaterializeResult(
        metadata={
            "chunks": len(chunks),
            "tables": sum(c.kind == "table" for c in chunks),
            "max_tokens": max((c.tokens for c in chunks), default=0),
            "document": sha,
            "chunks_file": dg.MetadataValue.path(str(books.work_dir(sha) / "chunks.json")),
        }
    )


@dg.asset(
    partitions_def=rulebook_partitions,
    group_name=GROUP,
    deps=[rulebook_chunks],
    kinds={"lancedb"},
    tags={"lifeos/heavy": "true"},
    description="Embeddings and full-text index of the chunks in LanceDB.",
)
def rulebook_index(
    context: dg.AssetExecutionContext, workbench: WorkbenchResource
) -> dg.MaterializeResult:
    with workbench.router() as router:
        books = _rulebooks(workbench, router)
        result = books.index(context.partition_key)
        version = books.vectors.version(CORPUS)
    return dg.MaterializeResult(
        metadata={
            "rows": result["rows"],
            "dimension": result["dim"],
            "sentences": result["sentences"],
            # where the rows are: the LanceDB table and the version this run left it at
            "lancedb_table": CORPUS,
            "lancedb_version": version or 0,
        }
    )


@dg.asset_check(
    asset=rulebook_index,
    blocking=True,  # what reads it waits for it to pass (in a run, and for automation)
    description="Every page with text has a chunk, no chunk "
    "is empty, vectors (of chunks and sentences) have the model's dimension, "
    "rows == chunks.",
)
def rulebook_index_complete(
    context: dg.AssetCheckExecutionContext, workbench: WorkbenchResource
) -> dg.AssetCheckResult:
    sha = context.partition_key if context.has_partition_key else None
    with workbench.router() as router:
        books = _rulebooks(workbench, router)
        shas = [sha] if sha else [d["sha256"] for d in books.list() if d["status"] == "ready"]
        problems: list[str] = []
        dim = router.embedding_dim(EMBED_ALIAS)
        for doc in shas:
            pages = books.pages(doc)
            chunks = books.chunks(doc)
            rows = books.vectors.rows(CORPUS, doc)
            covered = {p for c in chunks for p in c.pages}
            uncovered = [p.number for p in pages if p.markdown.strip() and p.number not in covered]
            if uncovered:
                problems.append(f"{doc[:12]}: pages without chunks {uncovered}")
            if any(not c.content.strip() for c in chunks):
                problems.append(f"{doc[:12]}: empty chunks")
            if any(
                len(v) != dim
                for r in rows
                for v in [r["vector"], *(r.get("sentence_vectors") or ())]
            ):
                problems.append(f"{doc[:12]}: vectors are not {dim}-dimensional")
            if any(r.get("sentence_vectors") is None for r in rows):
                problems.append(
                    f"{doc[:12]}: indexed without sentence vectors by an older "
                    "version (lifeos rulebook reindex)"
                )
            if len(rows) != len(chunks):
                problems.append(f"{doc[:12]}: {len(rows)} index rows for {len(chunks)} chunks")
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={"problems": dg.MetadataValue.json(problems), "rulebooks": len(shas)},
    )


rulebook_ingest_job = dg.define_asset_job(
    "rulebook_ingest",
    selection=[rulebook_pages, rulebook_chunks, rulebook_index],
    tags={"lifeos/ingest": "rulebook"},
)  # queued one at a time (lifeos/dagster_home.py)


@dg.sensor(
    job=rulebook_ingest_job,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="PDFs dropped into LIFEOS_HOME/inbox/ become rulebook partitions.",
)
def rulebook_inbox_sensor(
    context: dg.SensorEvaluationContext, workbench: WorkbenchResource
) -> dg.SensorResult | dg.SkipReason:
    settings = workbench.settings()
    inbox = settings.inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    requests, new_keys, rejected, files = [], [], [], []
    for path in sorted(p for p in inbox.iterdir() if p.is_file()):
        stamp = f"{path.stat().st_size}:{path.stat().st_mtime_ns}"
        if seen.get(path.name) == stamp:
            continue
        seen[path.name] = stamp
        with workbench.router() as router:
            try:
                doc = _rulebooks(workbench, router).add(path)
            except RulebookError as exc:
                rejected.append(_reject(path, exc.message))
                continue
        sha = doc["sha256"]
        if not context.instance.has_dynamic_partition(RULEBOOK_PARTITIONS, sha):
            new_keys.append(sha)
        files.append(rulebook_file_event(sha, path.name))
        requests.append(
            dg.RunRequest(
                run_key=f"{sha}:{stamp}",
                partition_key=sha,
                tags={"lifeos/rulebook": path.name[:60]},
            )
        )
    cursor = json.dumps(seen, sort_keys=True)
    if not requests and not rejected:
        return dg.SkipReason("no new files in the inbox")
    return dg.SensorResult(
        run_requests=requests,
        asset_events=files,
        cursor=cursor,
        dynamic_partitions_requests=[rulebook_partitions.build_add_request(new_keys)]
        if new_keys
        else [],
    )


def _reject(path: Path, reason: str) -> str:
    """Move a file that is not a usable rulebook aside, with the reason next to it."""
    target = path.parent / "rejected"
    target.mkdir(exist_ok=True)
    shutil.move(str(path), target / path.name)
    (target / f"{path.name}.reason.txt").write_text(reason + "\n")
    return path.name


question_sets = dg.DynamicPartitionsDefinition(name="question_sets")


class EvalConfig(dg.Config):
    folders: dict[str, str] = {}  # question set name -> folder; default: LIFEOS_HOME/eval/<name>


@dg.asset(
    partitions_def=question_sets,
    group_name=GROUP,
    kinds={"parquet"},
    tags={"lifeos/heavy": "true"},
    description="Rules Q&A measured on a question set (a folder of PDFs and "
    "questions.jsonl): recall@k, citation accuracy, abstention, latency.",
)
def rules_qa_eval(
    context: dg.AssetExecutionContext, config: EvalConfig, workbench: WorkbenchResource
) -> dg.MaterializeResult:
    from plugins.board_games.tools.rulebooks.evaluate import METRICS, evaluate, save
    from plugins.board_games.tools.rules_qa import RulesQA

    name = context.partition_key
    settings = workbench.settings()
    folder = Path(config.folders.get(name) or settings.home.resolve() / "eval" / name)
    with workbench.router() as router:
        books = Rulebooks(settings, router)
        qa = RulesQA(router=router, rulebooks=books)
        metrics, rows = evaluate(folder, books, qa, progress=context.log.info)
    eval_id, saved = save(
        settings.database_url,
        metrics,
        rows,
        settings.exports_dir / "evals",
        name,
        qa=qa,
        run_id=context.run.run_id,
    )
    return dg.MaterializeResult(
        metadata={
            **{k: metrics[k] for k in METRICS if metrics[k] is not None},
            # the rows it wrote: the `eval_runs` row (every question's result) and its Parquet
            "eval_run": eval_id,
            "answers": dg.MetadataValue.path(str(saved / "answers.parquet")),
        }
    )
