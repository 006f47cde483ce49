"""`image_analyses`: one partition per picture (its content hash) — analyze many pictures as a
backfill; each result is kept for the person to accept (image_analyses table)."""

import dagster as dg

from plugins.images.tools.analyze.service import AnalysisService
from plugins.images.tools.analyze.suggestions import parse_backend
from resources.workbench import WorkbenchResource

IMAGE_ANALYSES = "image_analyses"  # the dynamic partitions: one per stored picture
image_analysis_partitions = dg.DynamicPartitionsDefinition(name=IMAGE_ANALYSES)


class AnalyzeConfig(dg.Config):
    kinds: list[str] = []  # default: character_appearance (every analyzer)
    backend: str | None = None  # default: the best available per picture


@dg.asset(
    partitions_def=image_analysis_partitions,
    group_name="images",
    kinds={"vision"},
    description="Suggested entities for one stored picture (vision, prompt metadata or "
    "pixel statistics), awaiting acceptance.",
)
def image_analyses(
    context: dg.AssetExecutionContext, config: AnalyzeConfig, workbench: WorkbenchResource
) -> dg.MaterializeResult:
    with workbench.router() as router:
        service = AnalysisService(workbench.settings(), router)
        analysis_id, analysis = service.analyze_stored(
            context.partition_key,
            kinds=config.kinds or None,
            backend=parse_backend(config.backend),
            run_id=context.run.run_id,
        )
    return dg.MaterializeResult(
        metadata={
            # the row it wrote (`image_analyses`) and the picture it read
            "analysis": analysis_id,
            "image_sha256": context.partition_key,
            "backend": analysis.backend,
            "model": analysis.model,
            "latency_s": analysis.latency_s,
            "suggestions": len(analysis.suggestions),
            "kinds": dg.MetadataValue.json(sorted({s.kind for s in analysis.suggestions})),
        }
    )


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Each stored picture becomes a partition of image_analyses, so analyzing "
    "every picture (again, with a new model) is a backfill.",
)
def image_analysis_partitions_sensor(
    context: dg.SensorEvaluationContext, workbench: WorkbenchResource
) -> dg.SensorResult | dg.SkipReason:
    from lifeos.db.engine import session_scope
    from lifeos.store import EntityStore

    with session_scope(workbench.database_url) as session:
        stored = {e.data["sha256"] for e in EntityStore(session).list_all("image")}
    known = set(context.instance.get_dynamic_partitions(IMAGE_ANALYSES))
    new = sorted(stored - known)
    if not new:
        return dg.SkipReason(f"every one of {len(stored)} pictures is a partition")
    return dg.SensorResult(
        dynamic_partitions_requests=[image_analysis_partitions.build_add_request(new)]
    )
