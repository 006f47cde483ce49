"""`bgg_catalogue`: keeps the library's board games' BoardGameGeek metadata fresh — a weekly
scheduled backfill of the games older than the cache window, paced by the shared rate limit.

`bgg_responses` are BoardGameGeek's answers as the library keeps them (`http_cache`), written by
the catalogue's refresh and by games added by hand; the `observe_bgg` sensor records a new
version of them whenever one changed, so the Dagster UI shows when the metadata last moved."""

import hashlib
from datetime import timedelta

import dagster as dg
import sqlalchemy as sa

from assets.sources import DATA_VERSION, digest, observer
from lifeos.db.engine import session_scope
from lifeos.db.models import HttpCache
from lifeos.settings import Settings
from plugins.board_games.resources import BGGClient
from plugins.board_games.tools.games import Games
from resources.workbench import WorkbenchResource


@dg.asset(
    group_name="games",
    kinds={"bgg"},
    description="BoardGameGeek metadata of the library's board games, refreshed when "
    "older than the cache window (7 days), 20 games per request, at most one "
    "request per second across every process.",
)
def bgg_catalogue(
    context: dg.AssetExecutionContext, workbench: WorkbenchResource, bgg: BGGClient
) -> dg.MaterializeResult:
    games = Games(workbench.settings(), bgg)
    stale = games.stale(older_than=timedelta(days=bgg.cache_days))
    context.log.info(f"{len(stale)} games to refresh")
    refreshed = games.add([g.data["bgg_id"] for g in stale]) if stale else []
    return dg.MaterializeResult(
        metadata={
            "refreshed": len(refreshed),
            # the rows it wrote: the board games (entity ids) and BGG's answers (`http_cache`)
            "entity_ids": dg.MetadataValue.json([g.id for g in refreshed][:200]),
            "games": dg.MetadataValue.json(
                [{"name": g.name, "bgg_id": g.data["bgg_id"]} for g in refreshed][:100]
            ),
        }
    )


bgg_catalogue_job = dg.define_asset_job("bgg_catalogue_job", selection=[bgg_catalogue])
bgg_catalogue_schedule = dg.ScheduleDefinition(
    job=bgg_catalogue_job,
    cron_schedule="0 4 * * 1",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


BGG_RESPONSES = dg.AssetKey("bgg_responses")
bgg_responses = dg.AssetSpec(
    BGG_RESPONSES,
    deps=[bgg_catalogue],
    group_name="games",
    kinds={"bgg", "sql"},
    description="BoardGameGeek's XML answers as kept in the library DB (`http_cache`, "
    "by URL); the board games' metadata is parsed from them.",
)


def bgg_observations(settings: Settings) -> list[dg.AssetMaterialization]:
    """The answers' version: a digest of every kept answer's URL and body hash."""
    with session_scope(settings.database_url) as session:
        rows = session.execute(
            sa.select(HttpCache.url, HttpCache.body, HttpCache.fetched_at).order_by(HttpCache.key)
        ).all()
    bodies = [(url, hashlib.sha256(body.encode()).hexdigest()) for url, body, _ in rows]
    newest = max((r.fetched_at for r in rows), default=None)
    return [
        dg.AssetMaterialization(
            BGG_RESPONSES,
            metadata={
                "responses": len(rows),
                "newest": newest.isoformat() if newest else "",
                "table": "http_cache",
            },
            tags={DATA_VERSION: digest(bodies)},
        )
    ]


observe_bgg = observer(
    "observe_bgg",
    bgg_observations,
    "Records a new version of BoardGameGeek's kept answers when one was fetched or changed.",
)
