"""`entity_embeddings`: every live entity of the library as a vector in LanceDB (the
`entities` table: one row per entity, at its revision), for search and for the context tools
get. A materialization embeds only the entities changed since the last one and drops the
deleted ones; its check says every entity is there once, at its revision."""

from typing import Any

import dagster as dg

from lifeos.db.engine import session_scope
from lifeos.schemas import EntityOut
from lifeos.store import EntityStore, to_out
from lifeos.vectors import VectorStore
from resources.workbench import WorkbenchResource

CORPUS = "entities"
EMBED_ALIAS = "embed"
MAX_CHARS = 2_000  # of an entity's text (the embedder reads about 256 tokens)


def entity_text(entity: EntityOut) -> str:
    """What an entity is about, in words: its name, kind, tags and the text of its data."""
    parts = [entity.name, entity.kind.replace("_", " "), " ".join(entity.tags)]

    def walk(value: Any) -> None:
        if isinstance(value, str) and value.strip():
            parts.append(value.strip())
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(entity.data)
    return "\n".join(p for p in parts if p)[:MAX_CHARS]


def _live(url: str) -> list[EntityOut]:
    with session_scope(url) as session:
        return [to_out(e) for e in EntityStore(session).iter_all() if e.deleted_at is None]


@dg.asset(
    group_name="library",
    kinds={"lancedb"},
    description="Every live entity embedded (name, tags and the text of its data) in LanceDB: "
    "only what changed since the last run is embedded again.",
)
def entity_embeddings(
    context: dg.AssetExecutionContext, workbench: WorkbenchResource
) -> dg.MaterializeResult:
    settings = workbench.settings()
    store = VectorStore(settings.lancedb_dir)
    live = _live(settings.database_url)
    have = {r["document"]: r["revision"] for r in store.documents(CORPUS, ["revision"])}
    todo = [e for e in live if have.get(e.id) != e.revision]
    gone = sorted(set(have) - {e.id for e in live})
    with workbench.router() as router:
        dim = router.embedding_dim(EMBED_ALIAS)
        texts = [entity_text(e) for e in todo]
        result = router.embed(texts, EMBED_ALIAS, tool="entity_embeddings") if texts else None
    rows = {
        e.id: [{"kind": e.kind, "name": e.name, "revision": e.revision, "text": t, "vector": v}]
        for e, t, v in zip(todo, texts, result.vectors if result else [], strict=True)
    }
    store.replace_documents(CORPUS, rows, dim, drop=gone)
    context.log.info(f"embedded {len(todo)} entities, dropped {len(gone)}")
    return dg.MaterializeResult(
        metadata={
            "entities": len(live),
            "embedded_now": len(todo),
            "dropped": len(gone),
            "dimension": dim,
            "lancedb_table": CORPUS,
            "lancedb_version": store.version(CORPUS) or 0,
            "embedded_ids": dg.MetadataValue.json([e.id for e in todo][:200]),
        }
    )


@dg.asset_check(
    asset=entity_embeddings,
    description="Every live entity has one row, at its current revision, and no deleted one "
    "has any; vectors have the embedder's dimension.",
)
def entity_embeddings_current(
    workbench: WorkbenchResource,
) -> dg.AssetCheckResult:
    settings = workbench.settings()
    store = VectorStore(settings.lancedb_dir)
    live = {e.id: e.revision for e in _live(settings.database_url)}
    rows = store.documents(CORPUS, ["revision", "vector"])
    with workbench.router() as router:
        dim = router.embedding_dim(EMBED_ALIAS)
    seen = [r["document"] for r in rows]
    problems = {
        "missing": sorted(set(live) - set(seen))[:20],
        "deleted": sorted(set(seen) - set(live))[:20],
        "duplicated": sorted({d for d in seen if seen.count(d) > 1})[:20],
        "old_revision": sorted(
            r["document"] for r in rows if live.get(r["document"], r["revision"]) != r["revision"]
        )[:20],  # fmt: skip
        "wrong_dimension": sorted(r["document"] for r in rows if len(r["vector"]) != dim)[:20],
    }
    return dg.AssetCheckResult(
        passed=not any(problems.values()),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rows": len(rows), **{k: dg.MetadataValue.json(v) for k, v in problems.items()}},
    )
