"""A Parquet snapshot of the library, for notebooks and analytics."""

import json
from pathlib import Path

import dagster as dg
import polars as pl

from resources.library import LibraryResource

SNAPSHOT_COLUMNS: dict[str, pl.DataType | type[pl.DataType]] = {
    "id": pl.String,
    "kind": pl.String,
    "name": pl.String,
    "tags": pl.List(pl.String),
    "favorite": pl.Boolean,
    "revision": pl.Int64,
    "created_at": pl.Datetime("us", "UTC"),
    "updated_at": pl.Datetime("us", "UTC"),
    "data_json": pl.String,
}


def snapshot_path(library: LibraryResource) -> Path:
    return Path(library.exports_dir) / "library_snapshot.parquet"


@dg.asset(
    group_name="library",
    kinds={"polars", "parquet"},
    description="Every live entity of the library as one Parquet table.",
)
def library_snapshot(
    context: dg.AssetExecutionContext, library: LibraryResource
) -> dg.MaterializeResult:
    with library.store() as store:
        rows = [
            {
                "id": e.id,
                "kind": e.kind,
                "name": e.name,
                "tags": e.tags,
                "favorite": e.favorite,
                "revision": e.revision,
                "created_at": e.created_at,
                "updated_at": e.updated_at,
                "data_json": json.dumps(e.data, sort_keys=True),
            }
            for e in store.iter_all()
            if e.deleted_at is None
        ]
    frame = pl.DataFrame(rows, schema=SNAPSHOT_COLUMNS)
    path = snapshot_path(library)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    frame.write_parquet(tmp)
    tmp.replace(path)
    per_kind = dict(frame.group_by("kind").len().sort("kind").iter_rows())
    context.log.info(f"wrote {frame.height} entities to {path}")
    return dg.MaterializeResult(
        metadata={
            "rows": dg.MetadataValue.int(frame.height),
            "rows_per_kind": dg.MetadataValue.json(per_kind),
            "path": dg.MetadataValue.path(str(path)),
        }
    )


@dg.asset_check(
    asset=library_snapshot,
    description="The snapshot holds exactly the live "
    "entities of the library, one row each, with valid JSON data.",
)
def library_snapshot_matches_library(library: LibraryResource) -> dg.AssetCheckResult:
    frame = pl.read_parquet(snapshot_path(library))
    with library.store() as store:
        expected = store.counts()
    actual = dict(frame.group_by("kind").len().iter_rows())
    duplicates = frame.height - frame["id"].n_unique()
    bad_json = sum(1 for text in frame["data_json"] if not isinstance(json.loads(text), dict))
    passed = actual == expected and duplicates == 0 and bad_json == 0
    return dg.AssetCheckResult(
        passed=passed,
        metadata={
            "expected_per_kind": dg.MetadataValue.json(expected),
            "actual_per_kind": dg.MetadataValue.json(actual),
            "duplicate_ids": duplicates,
            "invalid_json_rows": bad_json,
        },
    )


@dg.asset_check(
    asset=library_snapshot,
    description="Every link of the library joins two entities that exist (none points at a "
    "purged one; links of entities in the trash stay, for undo).",
)
def library_links_resolve(library: LibraryResource) -> dg.AssetCheckResult:
    import sqlalchemy as sa

    from lifeos.db.models import Entity, EntityLink

    with library.store() as store:
        session = store.session
        src, dst = sa.orm.aliased(Entity), sa.orm.aliased(Entity)
        orphans = session.execute(
            sa.select(EntityLink.src_id, EntityLink.relation, EntityLink.dst_id)
            .outerjoin(src, src.id == EntityLink.src_id)
            .outerjoin(dst, dst.id == EntityLink.dst_id)
            .where(sa.or_(src.id.is_(None), dst.id.is_(None)))
            .limit(100)
        ).all()
    return dg.AssetCheckResult(
        passed=not orphans,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "orphan_links": len(orphans),
            "examples": dg.MetadataValue.json([list(o) for o in orphans[:20]]),
        },
    )
