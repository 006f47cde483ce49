"""Backups (admin only): list, take, verify, prune, and restore into a new home; the same
service as `lifeos backup` and the studio's Backups panel (`lifeos.backup`)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from apps.api.deps import ADMIN, SettingsDep
from lifeos import backup
from lifeos.backup.sets import restore_path

router = APIRouter(prefix="/backups", tags=["backups"])


@router.get("", openapi_extra=ADMIN, response_model=list[backup.SetInfo])
def list_backups(settings: SettingsDep) -> list[backup.SetInfo]:
    """Every backup set in the target, newest first (incomplete ones say why)."""
    return backup.list_sets(settings)


@router.post("", openapi_extra=ADMIN, response_model=backup.SetInfo, status_code=201)
def take_backup(
    settings: SettingsDep, kind: Literal["full", "incremental"] = "incremental"
) -> backup.SetInfo:
    """Take a backup set now (the schedules take one every hour and a full one daily)."""
    return backup.run_backup(settings, kind)


@router.post("/prune", openapi_extra=ADMIN, response_model=backup.PruneReport)
def prune_backups(settings: SettingsDep) -> backup.PruneReport:
    """Remove the sets past retention and the files only they held."""
    return backup.prune(settings)


@router.post("/{set_id}/verify", openapi_extra=ADMIN, response_model=backup.VerifyReport)
def verify_backup(set_id: str, settings: SettingsDep) -> backup.VerifyReport:
    """Restore the set (or `latest`) into a scratch home and check it."""
    return backup.verify(settings, set_id)


class RestoreRequest(BaseModel):
    into: str = Field(
        description="a new (or empty) home folder on the server, inside the restore root "
        "(LIFEOS_BACKUP_RESTORE_ROOT); a relative path is taken from there"
    )
    database_url: str | None = Field(None, description="Postgres backups: the database")


class Restored(BaseModel):
    id: str
    into: str
    files: int


@router.post("/{set_id}/restore", openapi_extra=ADMIN, response_model=Restored)
def restore_backup(set_id: str, body: RestoreRequest, settings: SettingsDep) -> Restored:
    """Restore the set into a new home (never over the running one)."""
    into = restore_path(settings, body.into)
    manifest = backup.restore(settings, set_id, into, database_url=body.database_url)
    return Restored(id=manifest.id, into=str(into), files=len(manifest.files))
