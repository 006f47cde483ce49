"""`bgg_catalogue`: keeps the library's board games' BoardGameGeek metadata fresh — a weekly
scheduled backfill of the games older than the cache window, paced by the shared rate limit."""

from datetime import timedelta

import dagster as dg

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
