"""`lifeos rulebook ...`, `lifeos ask`, `lifeos eval rules`: board-game rulebooks."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from apps.cli.common import (
    console,
    emit_json,
    err_console,
    settings,
    want_json,
)
from lifeos.errors import BadRequest, NotFound

app = typer.Typer(help="Board-game rulebooks: add, list, reindex, delete.", no_args_is_help=True)
eval_app = typer.Typer(help="Measure AI tools on question sets.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _services():  # noqa: ANN202 - tools import heavy libraries: only when a command runs
    from plugins.board_games.tools.rules_qa import rules_services

    return rules_services(settings())


def ingest_with_progress(rulebooks: Any, sha: str, label: str) -> Any:
    """A stored rulebook's ingestion as a Dagster run in this process, with a progress bar on
    stderr that follows its steps (read from the rulebook's row as the run writes it). The run
    stays in the main thread, so Ctrl-C interrupts it and marks the rulebook failed."""

    from plugins.board_games.pipelines import ingest_rulebook
    from plugins.board_games.tools.rulebooks.service import INGEST_STEPS, ingest_progress

    with Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
    ) as progress:
        task = progress.add_task(f"{label}: queued", total=len(INGEST_STEPS))

        def show(*, final: bool = False) -> None:
            doc = rulebooks.get(sha)
            if doc["status"] == "ready" and not final:
                return  # reindexing: the last ingestion's state, until this run starts
            done, doing = ingest_progress(doc)
            progress.update(task, completed=done, description=f"{label}: {doing}"[:100])

        def watch() -> None:
            while not stop.wait(0.25):
                show()

        stop = threading.Event()
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            return ingest_rulebook(settings(), sha, source="cli")
        finally:
            stop.set()
            watcher.join()
            show(final=True)


@app.command()
def add(
    path: Path,
    game: Annotated[str | None, typer.Option(help="board game name or id")] = None,
    wait: Annotated[
        bool,
        typer.Option(
            help="ingest now, as a Dagster run in this process, and wait; --no-wait hands the "
            "file to the inbox sensor (the Dagster daemon ingests it)"
        ),
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Store a rulebook PDF (by content hash) and ingest it."""
    want_json(as_json)
    rulebooks, _ = _services()
    doc = rulebooks.add(path, game=game)
    if doc["status"] != "ready" and not wait:
        inbox = settings().inbox_dir
        inbox.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, inbox / path.name)  # registered already: the game is kept
    elif doc["status"] != "ready":
        run = ingest_with_progress(rulebooks, doc["sha256"], path.name)
        doc = rulebooks.get(doc["sha256"])
        if doc["status"] != "ready":
            raise BadRequest(
                f"{path.name} was not ingested: {doc['error'] or 'see Dagster run ' + run.run_id}"
            )
    if as_json:
        emit_json(doc)
    else:
        console.print(
            f"{path.name}: {doc['status']}, {doc['pages']} pages, {doc['chunks']} "
            f"chunks ({doc['sha256'][:12]})"
        )


@app.command()
def reindex(
    sha256: Annotated[
        str | None,
        typer.Argument(
            help="the rulebook's sha256 or its first characters; every rulebook when left out"
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Ingest stored rulebooks again, one Dagster run each: after an upgrade that indexes more
    (such as sentence vectors), or to retry one that failed."""

    want_json(as_json)
    rulebooks, _ = _services()
    docs = [d for d in rulebooks.list() if sha256 is None or d["sha256"].startswith(sha256)]
    if sha256 is not None and len(docs) != 1:
        raise NotFound(f"{len(docs)} rulebooks match {sha256!r}: give more of the sha256")
    done = []
    for d in docs:
        ingest_with_progress(rulebooks, d["sha256"], d["filename"])
        doc = rulebooks.get(d["sha256"])
        done.append(doc)
        if not as_json:
            console.print(
                f"{doc['filename']}: {doc['status']}, {doc['chunks']} chunks"
                + (f" ({doc['error']})" if doc["error"] else "")
            )
    if as_json:
        emit_json(done)
    if any(d["status"] != "ready" for d in done):
        raise typer.Exit(1)


@app.command("list")
def list_(as_json: JsonFlag = False) -> None:
    """Rulebooks and their processing status."""
    want_json(as_json)
    rulebooks, _ = _services()
    docs = rulebooks.list()
    if as_json:
        emit_json(docs)
        return
    table = Table("sha256", "file", "status", "pages", "chunks", "error")
    for d in docs:
        table.add_row(
            d["sha256"][:12],
            d["filename"],
            d["status"],
            str(d["pages"]),
            str(d["chunks"]),
            d["error"] or "",
        )
    console.print(table)


@app.command()
def delete(sha256: str) -> None:
    """Remove a rulebook: its file, pages, chunks and index rows."""
    rulebooks, _ = _services()
    rulebooks.delete(sha256)
    console.print(f"deleted {sha256}")


def ask(
    question: str,
    game: Annotated[str, typer.Option(help="board game name or id")],
    as_json: JsonFlag = False,
) -> None:
    """Ask a rules question; the answer cites rulebook pages (or says it isn't there)."""
    want_json(as_json)
    _, qa = _services()
    answer = (
        qa.ask(question, game)
        if as_json or not err_console.is_terminal
        else _ask_live(qa, question, game)
    )
    if as_json:
        emit_json(answer)
        return
    console.print(answer.answer, style="bold")
    for c in answer.citations:
        console.print(f"  p. {c.page} · {c.section}\n    “{c.quote}”")
    if answer.abstained and answer.passages:
        console.print("Closest passages:")
        for c in answer.passages:
            console.print(f"  p. {c.page} · {c.section}: {c.quote[:120]}")
    console.print(
        f"confidence {answer.confidence:.2f} · {answer.latency_s:.1f} s · "
        f"{answer.model or answer.mode}",
        style="dim",
    )


def _ask_live(qa: Any, question: str, game: str) -> Any:
    """In a terminal: the best passages as soon as retrieval has them and the answer as the
    model writes it, dim and on stderr, replaced by the answer and its citations when done."""

    passages: list[Any] = []
    written = ""
    with Live(
        Text("finding passages…", style="dim"),
        console=err_console,
        transient=True,
        refresh_per_second=12,
    ) as live:
        for what, value in qa.ask_events(question, game):
            if what == "answer":
                return value
            if what == "passages":
                passages = value
            else:
                written += value
            live.update(
                Text(
                    "\n".join(
                        [
                            written + " …" if written else "reading…",
                            *(f"  p. {c.page}: {c.quote[:100]}" for c in passages),
                        ]
                    ),
                    style="dim",
                )
            )
    raise AssertionError("ask_events ends with the answer")  # pragma: no cover


@eval_app.command("rules")
def eval_rules(folder: Path, as_json: JsonFlag = False) -> None:
    """Ingest the folder's PDFs, ask its questions.jsonl, print the metrics."""
    from plugins.board_games.tools.rulebooks.evaluate import METRICS, evaluate, save

    want_json(as_json)
    rulebooks, qa = _services()
    log = (lambda _m: None) if as_json else (lambda m: console.print(m, style="dim"))
    metrics, rows = evaluate(folder, rulebooks, qa, progress=log)
    eval_id, saved = save(
        settings().database_url,
        metrics,
        rows,
        settings().exports_dir / "evals",
        Path(folder).name,
        qa=qa,
    )
    if as_json:
        print(json.dumps({k: metrics[k] for k in METRICS}))
        return
    table = Table(
        "metric", "value", title=f"rules Q&A on {folder} (evaluation {eval_id[:8]}, {saved})"
    )
    for key in METRICS:
        table.add_row(key, str(metrics[key]))
    console.print(table)
