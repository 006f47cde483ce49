"""`/api/v1/pipelines`: backfills of partitioned assets and their stale partitions (the same
service as `lifeos pipelines`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from apps.api.deps import EDITOR, VIEWER
from pipelines.backfills import Backfills, Narrow

router = APIRouter(prefix="/pipelines", tags=["pipelines"])


class BackfillRequest(BaseModel):
    asset: str = Field(max_length=200, description="a partitioned asset")
    partitions: list[str] = Field(default_factory=list, max_length=10_000)
    all: bool = Field(False, description="every partition")
    stale: bool = Field(False, description="the missing, failed and stale partitions")
    since: date | None = Field(None, description="of all/stale: days from (by-day assets)")
    until: date | None = Field(None, description="of all/stale: days until, inclusive")
    where: dict[str, str] = Field(
        default_factory=dict, description='of all/stale: dimension values, {"schedule": ID}'
    )
    run_config: dict[str, Any] | None = None


def _service(request: Request) -> Backfills:
    return Backfills(request.app.state.settings)


@router.post("/backfills", openapi_extra=EDITOR, status_code=201)
def start_backfill(body: BackfillRequest, request: Request) -> dict[str, Any]:
    """Start a backfill; the Dagster daemon runs a run per partition."""
    return _service(request).launch(
        body.asset,
        partitions=body.partitions,
        all_partitions=body.all,
        stale=body.stale,
        narrow=Narrow.of(body.since, body.until, body.where),
        run_config=body.run_config,
        source="api",
    )


@router.get("/backfills/{backfill_id}", openapi_extra=VIEWER)
def get_backfill(backfill_id: str, request: Request) -> dict[str, Any]:
    return _service(request).get(backfill_id)


@router.get("/assets/{asset}/stale", openapi_extra=VIEWER)
def stale_partitions(
    asset: str,
    request: Request,
    since: date | None = None,
    until: date | None = None,
    where: Annotated[list[str], Query(description="DIMENSION=VALUE")] = [],  # noqa: B006
) -> dict[str, str]:
    """Partition → why it needs making again (of the days and dimension values asked)."""
    return _service(request).stale(asset, Narrow.of(since, until, where))
