"""Analyses kept in the library: analyze a file (stored by content hash), list results,
accept suggestions into the library (the picture becomes an `image` entity when it is not one)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lifeos.blobs import write_blob
from lifeos.db.engine import session_scope
from lifeos.db.models import ImageAnalysis, utcnow
from lifeos.errors import BadRequest, NotFound
from lifeos.llm.router import Router
from lifeos.settings import Settings
from lifeos.store import EntityStore
from plugins.images.tools.analyze.core import (
    MAX_PIXELS,
    Analyzers,
    open_image,
    validate_suggestions,
)
from plugins.images.tools.analyze.suggestions import Analysis, Backend

MAX_FILE_BYTES = 60_000_000
SUFFIXES = {"PNG": ".png", "JPEG": ".jpeg", "WEBP": ".webp"}


class AnalysisService:
    def __init__(self, settings: Settings, router: Router) -> None:
        self.settings = settings
        self.url = settings.database_url
        self.analyzers = Analyzers(router, self.url)

    def store_file(self, path: Path) -> tuple[str, bytes]:
        path = Path(path)
        if not path.is_file():
            raise NotFound(f"{path}: no such file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise BadRequest(f"{path.name}: larger than {MAX_FILE_BYTES // 1_000_000} MB")
        data = path.read_bytes()
        image = open_image(data, name=path.name)
        suffix = SUFFIXES.get(image.format or "")
        if suffix is None:
            raise BadRequest(
                f"{path.name}: {image.format} pictures are not kept; use PNG, JPEG or WebP"
            )
        return write_blob(self.settings, data, suffix), data

    def blob(self, sha: str) -> tuple[Path, bytes]:
        for suffix in SUFFIXES.values():
            path = self.settings.blob_path(sha, suffix)
            if path.is_file():
                return path, path.read_bytes()
        raise NotFound(f"no stored picture {sha}")

    def analyze_file(
        self, path: Path, *, kinds: list[str] | None = None, backend: Backend | None = None
    ) -> tuple[str, Analysis]:
        sha, data = self.store_file(path)
        return self.analyze_stored(sha, kinds=kinds, backend=backend, filename=Path(path).name)

    def analyze_stored(
        self,
        sha: str,
        *,
        kinds: list[str] | None = None,
        backend: Backend | None = None,
        filename: str = "",
        run_id: str | None = None,
    ) -> tuple[str, Analysis]:
        _, data = self.blob(sha)
        analysis = self.analyzers.analyze(
            data, sha256=sha, kinds=kinds, backend=backend, name=filename or sha[:12]
        )
        row = ImageAnalysis(
            id=str(uuid.uuid4()),
            sha256=sha,
            created_at=utcnow(),
            filename=filename[:255],
            backend=analysis.backend,
            model=analysis.model[:200],
            latency_s=analysis.latency_s,
            result=analysis.model_dump(mode="json"),
            accepted=[],
            run_id=run_id,
        )
        with session_scope(self.url) as session:
            session.add(row)
        return row.id, analysis

    def get(self, analysis_id: str) -> tuple[Analysis, list[str], str]:
        with session_scope(self.url) as session:
            row = session.get(ImageAnalysis, analysis_id)
            if row is None:
                raise NotFound(f"no analysis {analysis_id}")
            return Analysis.model_validate(row.result), list(row.accepted), row.filename

    def latest(self, limit: int = 50) -> list[dict[str, Any]]:
        with session_scope(self.url) as session:
            rows = session.scalars(
                sa.select(ImageAnalysis).order_by(ImageAnalysis.created_at.desc()).limit(limit)
            )
            return [
                {
                    "id": r.id,
                    "sha256": r.sha256,
                    "filename": r.filename,
                    "backend": r.backend,
                    "model": r.model,
                    "latency_s": r.latency_s,
                    "suggestions": len(r.result.get("suggestions", [])),
                    "accepted": len(r.accepted),
                    "created_at": r.created_at.isoformat(),
                }
                for r in rows
            ]

    def image_entity(self, sha: str, filename: str) -> str:
        """The picture's `image` entity (made when it has none)."""
        path, data = self.blob(sha)
        with session_scope(self.url) as session:
            store = EntityStore(session)
            same = store.list("image", {"where": {"sha256": sha}, "limit": 1}).items
            if same:
                return same[0].id
            image = open_image(data)
            return store.create(
                "image",
                {
                    "name": (filename or sha[:12])[:200],
                    "tags": ["analyzed"],
                    "data": {
                        "sha256": sha,
                        "width": image.width,
                        "height": image.height,
                        "source": "uploaded",
                        "mime_type": f"image/{path.suffix[1:]}",
                        "title": filename[:200],
                    },
                },
            ).id

    def accept(
        self,
        analysis_id: str,
        suggestions: list[Any] | None = None,
        indices: list[int] | None = None,
    ) -> list[str]:
        """Accept edited suggestions, or the analysis's own ones by index (all when neither)."""

        analysis, accepted, filename = self.get(analysis_id)
        if suggestions is not None:
            chosen = validate_suggestions(
                [s if isinstance(s, dict) else s.model_dump() for s in suggestions]
            )
        else:
            picks = indices if indices is not None else range(len(analysis.suggestions))
            bad = [i for i in picks if not 0 <= i < len(analysis.suggestions)]
            if bad:
                raise BadRequest(f"no suggestion {bad[0]} (there are {len(analysis.suggestions)})")
            chosen = [analysis.suggestions[i] for i in picks]
        image_id = self.image_entity(analysis.sha256, filename)
        ids = self.analyzers.accept(image_id, chosen)
        with session_scope(self.url) as session:
            row = session.get(ImageAnalysis, analysis_id)
            if row is None:  # deleted while its suggestions were being accepted
                raise NotFound(f"no analysis {analysis_id}")
            row.accepted = list(dict.fromkeys([*row.accepted, *ids]))
        return ids


def analysis_services(settings: Settings) -> AnalysisService:
    from lifeos.llm.router import get_router

    return AnalysisService(settings, get_router(settings.database_url))


__all__ = ["MAX_PIXELS", "AnalysisService", "analysis_services"]
