"""Rulebook ingestion steps, shared by the Dagster assets, the CLI and the API.

A rulebook is a PDF stored by content hash (the same file twice is one document), a row in
`documents` with its processing status, and a board_game entity it belongs to (created when
missing). Each step writes its output under LIFEOS_HOME/rulebooks/<sha>/ and can be re-run alone;
a failing file fails only itself, with a clear message, and can be retried.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from lifeos.db.engine import session_scope
from lifeos.db.models import Document, Entity, utcnow
from lifeos.errors import BadRequest, Conflict, NotFound, RulebookError
from lifeos.llm.router import Router
from lifeos.settings import Settings
from lifeos.store import EntityStore
from lifeos.vectors import VectorStore
from plugins.board_games.tools.rulebooks.chunk import Chunk, TokenCounter, chunk_pages
from plugins.board_games.tools.rulebooks.extract import Page, check_pdf, extract
from plugins.board_games.tools.rulebooks.index import index_chunks
from plugins.board_games.tools.rulebooks.retrieve import CORPUS, EMBED_ALIAS

T = TypeVar("T")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def find_game(store: EntityStore, game: str) -> str | None:
    """A board game by id, else by exact name (case-insensitive), else the best search hit."""
    try:
        return store.get("board_game", game).id
    except NotFound:
        pass
    matches = store.list("board_game", {"q": game, "limit": 20}).items
    exact = [g for g in matches if g.name.lower() == game.lower()]
    return (exact or matches)[0].id if (exact or matches) else None


def _since(moment: datetime) -> str:
    """How long ago, in words: "40 s", "12 min", "3 h 5 min"."""
    if moment.tzinfo is None:  # SQLite gives back naive datetimes, written in UTC
        moment = moment.replace(tzinfo=UTC)
    seconds = max(0, int((utcnow() - moment).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def update_document(url: str, sha: str, *, only_if: tuple[str, ...] = (), **fields: Any) -> bool:
    """Set a rulebook's fields (its game's `rulebook_status` follows its status); with
    `only_if`, only while its status is one of those. Whether it changed."""
    with session_scope(url) as session:
        doc = session.get(Document, sha)
        if doc is None:
            raise NotFound(f"rulebook {sha} not found")
        if only_if and doc.status not in only_if:
            return False
        for key, value in fields.items():
            setattr(doc, key, value)
        doc.updated_at = utcnow()
        if doc.entity_id and "status" in fields:
            EntityStore(session).update(
                "board_game", doc.entity_id, {"data": {"rulebook_status": fields["status"]}}
            )
        return True


INTERRUPTED = "interrupted before it finished"  # a rulebook's error when its run was stopped


def mark_interrupted(url: str, sha: str, run_id: str) -> bool:
    """A rulebook whose ingestion run was stopped (its process gone) is failed, saying so."""
    return update_document(
        url,
        sha,
        only_if=("queued", "processing"),
        status="failed",
        error=f"{INTERRUPTED} (its Dagster run {run_id[:8]} was stopped)",
    )


INGEST_STEPS = ("extracting pages", "chunking", "indexing")


def ingest_progress(doc: dict[str, Any]) -> tuple[int, str]:
    """How far a rulebook's ingestion has got, read from its row (`Rulebooks.get`): the steps
    done, of `len(INGEST_STEPS)`, and what it is doing, for a progress bar."""
    if doc["status"] == "ready":
        return len(INGEST_STEPS), f"ready: {doc['pages']} pages, {doc['chunks']} chunks"
    done = 2 if doc["chunks"] else 1 if doc["pages"] else 0
    if doc["status"] == "failed":
        return done, f"failed while {INGEST_STEPS[done]}: {doc['error']}"
    if doc["status"] == "queued":
        return 0, "queued"
    counts = {1: f" {doc['pages']} pages", 2: f" {doc['chunks']} chunks"}.get(done, "")
    return done, INGEST_STEPS[done] + counts


# Words a rulebook's file name carries that are not part of the game's name.
_FILENAME_NOISE = {
    "rules",
    "rule",
    "rulebook",
    "rulebooks",
    "book",
    "manual",
    "instructions",
    "reference",
    "guide",
    "en",
    "eng",
    "english",
    "final",
    "print",
    "web",
    "pdf",
    "the",
    "of",
    "and",
    "a",
}


def _name_words(text: str) -> set[str]:
    return {
        w
        for w in re.findall(r"[a-z0-9]+", text.lower())
        if w not in _FILENAME_NOISE and not re.fullmatch(r"v?\d+(?:\.\d+)*", w)
    }


def _game_from_filename(session: Any, stem: str) -> str | None:
    """A library board game whose name the file name spells out (`hearts_rules_v2` → Hearts):
    first a game whose every name word is in the file name (the longest such name: "Catan
    Seafarers" over "Catan"), else one whose name holds every word of the file name (the
    shortest: `catan.pdf` → "Catan" before "Catan Seafarers"). None when no game fits."""
    wanted = _name_words(stem)
    if not wanted:
        return None
    rows = session.execute(
        sa.select(Entity.id, Entity.name).where(
            Entity.kind == "board_game", Entity.deleted_at.is_(None)
        )
    ).all()
    fits = []
    for gid, name in rows:
        words = _name_words(name)
        if words and words <= wanted:
            fits.append((1, len(words), gid))
        elif words and wanted <= words:
            fits.append((0, -len(words), gid))
    return max(fits)[2] if fits else None


class Rulebooks:
    def __init__(self, settings: Settings, router: Router) -> None:
        self.settings = settings
        self.url = settings.database_url
        self.router = router
        self._store: VectorStore | None = None
        self._files: dict[tuple[str, str], tuple[tuple[int, int], Any]] = {}

    @property
    def vectors(self) -> VectorStore:
        if self._store is None:
            self._store = VectorStore(self.settings.lancedb_dir)
        return self._store

    # ---- files ---------------------------------------------------------------------------------

    def pdf_path(self, sha: str) -> Path:
        return self.settings.blob_path(sha, ".pdf")

    def work_dir(self, sha: str) -> Path:
        return self.settings.home.resolve() / "rulebooks" / sha

    # ---- documents -----------------------------------------------------------------------------

    def add(self, path: Path, *, game: str | None = None) -> dict[str, Any]:
        """Store the PDF by hash and register it (queued). Checks it is a readable PDF first."""
        path = Path(path)
        if path.is_dir():
            raise BadRequest(
                f"{path} is a folder: add its PDFs one at a time, or copy them "
                f"into {self.settings.inbox_dir} for the sensor to ingest"
            )
        if not path.is_file():
            raise NotFound(f"{path}: no such file")
        check_pdf(
            path,
            max_bytes=self.settings.rulebook_max_bytes,
            max_pages=self.settings.rulebook_max_pages,
        )
        sha = file_sha256(path)
        target = self.pdf_path(sha)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target.with_suffix(".tmp"))
            target.with_suffix(".tmp").replace(target)
        with session_scope(self.url) as session:
            doc = session.get(Document, sha)
            game_id = (
                self._game_id(session, game)
                if game
                else _game_from_filename(session, path.stem)
                or self._game_id(session, re.sub(r"[_-]+", " ", path.stem).title())
            )
            if doc is None:
                now = utcnow()
                doc = Document(
                    sha256=sha,
                    kind="rulebook",
                    filename=path.name[:255],
                    size_bytes=path.stat().st_size,
                    status="queued",
                    pages=0,
                    chunks=0,
                    entity_id=game_id,
                    stats={},
                    created_at=now,
                    updated_at=now,
                )
                session.add(doc)
            elif game:
                doc.entity_id = game_id
            session.flush()
            return self._describe(doc)

    def _game_id(self, session: Any, game: str) -> str:
        store = EntityStore(session)
        return (
            find_game(store, game)
            or store.create("board_game", {"name": game[:200], "tags": ["rulebook"]}).id
        )

    def _describe(self, doc: Document) -> dict[str, Any]:
        return {
            "sha256": doc.sha256,
            "filename": doc.filename,
            "status": doc.status,
            "error": doc.error,
            "pages": doc.pages,
            "chunks": doc.chunks,
            "board_game_id": doc.entity_id,
            "stats": doc.stats,
        }

    def get(self, sha: str) -> dict[str, Any]:
        with session_scope(self.url) as session:
            doc = session.get(Document, sha)
            if doc is None:
                raise NotFound(f"rulebook {sha} not found")
            return self._describe(doc)

    def list(self) -> list[dict[str, Any]]:
        with session_scope(self.url) as session:
            docs = session.scalars(
                sa.select(Document).where(Document.kind == "rulebook").order_by(Document.created_at)
            )
            return [self._describe(d) for d in docs]

    def documents_for_game(self, game: str) -> tuple[str, builtins.list[str]]:
        """(board game id, its ready rulebooks). A game with none ready is an error that says
        why: none added, one still being ingested (ask again soon), or one that failed."""
        with session_scope(self.url) as session:
            game_id = find_game(EntityStore(session), game)
            if game_id is None:
                raise NotFound(f"no board game {game!r}")
            docs = session.scalars(
                sa.select(Document).where(
                    Document.entity_id == game_id, Document.kind == "rulebook"
                )
            ).all()
            if any(d.status == "ready" for d in docs):
                return game_id, [d.sha256 for d in docs if d.status == "ready"]
            busy = [d for d in docs if d.status in ("queued", "processing")]
            if busy:
                # A run killed outright (power cut, kill -9) cannot say it stopped: how long
                # since the rulebook last moved lets the player tell a slow run from a dead one.
                doc = busy[0]
                raise Conflict(
                    f"the rulebook of {game!r} ({doc.filename}) is still being "
                    f"ingested ({doc.status}, last progress "
                    f"{_since(doc.updated_at)} ago): ask again in a minute. If its "
                    "run has stopped (the Dagster UI shows it), `lifeos rulebook "
                    f"reindex {doc.sha256[:12]}` starts it again"
                )
            if docs:
                raise NotFound(
                    f"the rulebook of {game!r} ({docs[0].filename}) could not be "
                    f"ingested: {docs[0].error} (`lifeos rulebook reindex "
                    f"{docs[0].sha256[:12]}` retries it)"
                )
        raise NotFound(
            f"{game!r} has no rulebook yet (`lifeos rulebook add PATH --game NAME`, "
            "or upload one in the studio)"
        )

    def _set(self, sha: str, **fields: Any) -> None:
        update_document(self.url, sha, **fields)

    # ---- steps ---------------------------------------------------------------------------------

    @contextmanager
    def _step(self, sha: str) -> Iterator[None]:
        """A step that does not finish marks its rulebook failed, with why: an unusable file, a
        broken model, a full disk or Ctrl-C. Left "processing", asking about the game would say
        "still being ingested" for ever. The exception goes on to Dagster (the run fails)."""
        try:
            yield
        except RulebookError as exc:
            self._set(sha, status="failed", error=exc.message)
            raise
        except Exception as exc:
            self._set(sha, status="failed", error=f"{type(exc).__name__}: {exc}")
            raise
        except BaseException:  # Ctrl-C, or a Dagster run being stopped
            self._set(sha, status="failed", error=INTERRUPTED)
            raise

    def extract_pages(self, sha: str) -> builtins.list[Page]:
        # pages and chunks are counted again: they tell how far this ingestion has got
        self._set(sha, status="processing", error=None, pages=0, chunks=0)
        with self._step(sha):
            result = extract(
                self.pdf_path(sha),
                max_bytes=self.settings.rulebook_max_bytes,
                max_pages=self.settings.rulebook_max_pages,
                layout_artifacts=self.settings.rulebook_layout_artifacts,
            )
            work = self.work_dir(sha)
            work.mkdir(parents=True, exist_ok=True)
            (work / "pages.json").write_text(json.dumps([asdict(p) for p in result.pages]))
        extractors: dict[str, int] = {}
        for page in result.pages:
            extractors[page.extractor] = extractors.get(page.extractor, 0) + 1
        self._set(
            sha,
            pages=len(result.pages),
            stats={
                "tables": result.tables,
                "extract_s": round(result.seconds, 3),
                "s_per_page": round(result.seconds / max(len(result.pages), 1), 4),
                "extractors": extractors,
            },
        )
        return result.pages

    def pages(self, sha: str) -> builtins.list[Page]:
        return self._read(
            sha,
            "pages.json",
            "extracted pages",
            lambda raw: [Page(**{**p, "headings": [tuple(h) for h in p["headings"]]}) for p in raw],
        )

    def chunk(self, sha: str) -> builtins.list[Chunk]:
        with self._step(sha):
            chunks = chunk_pages(self.pages(sha), self._token_counter())
            (self.work_dir(sha) / "chunks.json").write_text(json.dumps([asdict(c) for c in chunks]))
        self._set(sha, chunks=len(chunks))
        return chunks

    def chunks(self, sha: str) -> builtins.list[Chunk]:
        return self._read(sha, "chunks.json", "chunks", lambda raw: [Chunk(**c) for c in raw])

    def section(self, sha: str, section_key: str) -> builtins.list[Chunk]:
        """The chunks of one section of a rulebook, in reading order: the parent of a
        retrieved chunk, handed to the model as its context."""
        return [c for c in self.chunks(sha) if c.section_key == section_key]

    def _read(self, sha: str, name: str, what: str, parse: Callable[[Any], T]) -> T:
        """A step's output file, parsed once per version of the file: answering a question
        reads the same rulebook's pages and chunks many times. Callers must not mutate it."""
        path = self.work_dir(sha) / name
        try:
            info = path.stat()
        except FileNotFoundError:
            raise NotFound(f"rulebook {sha} has no {what} yet") from None
        stamp, key = (info.st_mtime_ns, info.st_size), (sha, name)
        cached = self._files.get(key)
        if cached is None or cached[0] != stamp:
            cached = self._files[key] = (stamp, parse(json.loads(path.read_text())))
        parsed: T = cached[1]  # what `parse` made of this file: each name has one parser
        return parsed

    def index(self, sha: str) -> dict[str, int]:
        with self._step(sha):
            result = index_chunks(sha, self.chunks(sha), router=self.router, store=self.vectors)
        self._set(sha, status="ready")
        return result

    def ingest(self, sha: str) -> dict[str, Any]:
        """All three steps in this process (the eval, the benchmark); the CLI, the API and the
        studio launch a Dagster run instead."""
        self.extract_pages(sha)
        self.chunk(sha)
        self.index(sha)
        return self.get(sha)

    def delete(self, sha: str) -> None:
        self.vectors.delete_document(CORPUS, sha)
        shutil.rmtree(self.work_dir(sha), ignore_errors=True)
        self.pdf_path(sha).unlink(missing_ok=True)
        with session_scope(self.url) as session:
            doc = session.get(Document, sha)
            if doc is None:
                raise NotFound(f"rulebook {sha} not found")
            session.delete(doc)

    def _token_counter(self) -> TokenCounter:
        alias = self.router.config.alias(EMBED_ALIAS)
        provider, _, model = alias.model.partition("/")
        local = self.router.provider("local")
        if provider == "local":
            return lambda texts: local.count_tokens(model, list(texts))
        # A server-side embedder: count with the default local tokenizer (a close proxy).
        return lambda texts: local.count_tokens("all-minilm-l6-v2", list(texts))
