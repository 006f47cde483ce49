"""Scheduled generations: `schedule` entities evaluated on each sensor tick (croniter, in the
schedule's time zone), parameters drawn from their space, budgets, history and notifications.

Missed ticks (the daemon was down): one run for the latest missed time, not one per missed
tick; the tick's reason says how many were folded into it.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from croniter import croniter
from sqlalchemy.orm import Session

from lifeos.db.engine import session_scope
from lifeos.db.models import Entity, EntityLink, Notification, ScheduleTick, utcnow
from lifeos.errors import BadRequest, LifeOSError, NotFound
from lifeos.schemas import EntityOut
from lifeos.settings import Settings
from lifeos.store import EntityStore
from plugins.images.kinds import ImageBatchSpace
from plugins.images.tools.batches import ImageBatches

MAX_MISSED = 10_000  # cron times looked at when catching up
MAX_CANDIDATES = 5_000  # entities a random slot draws from


@dataclass
class Due:
    """A run the sensor should request."""

    schedule_id: str
    tick_id: str
    tick_at: datetime
    batch_id: str


def next_runs(
    cron: str, timezone: str, *, after: datetime | None = None, n: int = 5
) -> list[datetime]:
    """The next `n` times a cron expression fires, in its time zone."""
    if not croniter.is_valid(cron) or len(cron.split()) != 5:
        raise BadRequest(f"not a valid five-field cron expression: {cron!r}")
    zone = ZoneInfo(timezone)
    itr = croniter(cron, (after or datetime.now(UTC)).astimezone(zone))
    return [itr.get_next(datetime) for _ in range(n)]


class Schedules:
    def __init__(self, images: ImageBatches) -> None:
        self.images = images
        self.url = images.url

    # ---- checks ------------------------------------------------------------------------------

    def check_space(self, store: EntityStore, space: ImageBatchSpace) -> None:
        """What a schema cannot see: tags and ids that exist, styles that are known."""
        for i, slot in enumerate(space.slots):
            if slot.ids:
                found = store.get_many(slot.ids)
                wrong = [e.id for e in found if e.kind != slot.kind]
                if wrong:
                    raise BadRequest(f"slots[{i}]: {', '.join(wrong)} are not {slot.kind}")
            elif not self._candidates(store, slot.kind, slot.tags, slot.favorites_only):
                what = f" with tags {', '.join(slot.tags)}" if slot.tags else ""
                raise BadRequest(
                    f"slots[{i}]: no {slot.kind}{what}"
                    f"{' among favorites' if slot.favorites_only else ''} to draw"
                )
        for style in space.styles:
            self.images.composer.styles.get(style)

    def validate(self, schedule: EntityOut) -> None:
        with session_scope(self.url) as session:
            self.check_space(
                EntityStore(session), ImageBatchSpace.model_validate(schedule.data["params"])
            )

    # ---- drawing -----------------------------------------------------------------------------

    def _candidates(
        self, store: EntityStore, kind: str, tags: list[str], favorites_only: bool
    ) -> list[EntityOut]:
        query: dict[str, Any] = {"tags": tags, "sort": "name"}
        if favorites_only:
            query["favorite"] = True
        return store.list_all(kind, query, at_most=MAX_CANDIDATES)

    def _recently_used(
        self, session: Session, ids: list[str], days: int, now: datetime
    ) -> set[str]:
        if not ids or days <= 0:
            return set()
        cutoff = now - timedelta(days=days)
        image = sa.orm.aliased(Entity)
        rows = session.execute(
            sa.select(EntityLink.dst_id)
            .join(image, image.id == EntityLink.src_id)
            .where(
                EntityLink.dst_id.in_(ids),
                image.kind == "image",
                image.created_at >= cutoff,
                image.deleted_at.is_(None),
            )
            .distinct()
        )
        return {r[0] for r in rows}

    def draw(
        self, schedule_id: str, space: ImageBatchSpace, rng: random.Random, now: datetime
    ) -> dict[str, Any]:
        """One batch request from the space: fixed slots as given, random slots weighted
        (favorites up, recently pictured down)."""
        w = space.weights
        ids: list[str] = []
        with session_scope(self.url) as session:
            store = EntityStore(session)
            for i, slot in enumerate(space.slots):
                if len(slot.ids) == 1:
                    ids.append(store.get_many(slot.ids)[0].id)  # fails if it was deleted
                    continue
                pool = (
                    store.get_many(slot.ids)
                    if slot.ids
                    else self._candidates(store, slot.kind, slot.tags, slot.favorites_only)
                )
                if not pool:
                    raise BadRequest(f"slot {i} ({slot.kind}): nothing left to draw from")
                recent = self._recently_used(session, [e.id for e in pool], w.recent_days, now)
                weights = [
                    (w.favorite if e.favorite else 1.0) * (w.recent if e.id in recent else 1.0)
                    for e in pool
                ]
                if not any(weights):
                    weights = [1.0] * len(pool)
                ids.append(rng.choices(pool, weights=weights, k=1)[0].id)
        return {
            "compose": {
                "entity_ids": ids,
                "styles": space.styles,
                "text": rng.choice(space.text) if space.text else "",
            },
            "count": space.count,
            "seed": rng.randrange(0, 2**31),
            "width": space.width,
            "height": space.height,
            "steps": space.steps,
            "guidance": space.guidance,
            "sampler": space.sampler,
        }

    # ---- ticks -------------------------------------------------------------------------------

    def _last_tick(self, session: Session, schedule_id: str) -> datetime | None:
        return session.scalar(
            sa.select(sa.func.max(ScheduleTick.tick_at)).where(
                ScheduleTick.schedule_id == schedule_id, ScheduleTick.manual.is_(False)
            )
        )

    def _record(
        self,
        schedule_id: str,
        tick_at: datetime,
        status: str,
        reason: str = "",
        *,
        manual: bool = False,
        params: dict[str, Any] | None = None,
        batch_id: str | None = None,
    ) -> str:
        now = utcnow()
        tick = ScheduleTick(
            id=str(uuid.uuid4()),
            schedule_id=schedule_id,
            tick_at=tick_at,
            created_at=now,
            updated_at=now,
            status=status,
            reason=reason,
            manual=manual,
            params=params or {},
            batch_id=batch_id,
            images=0,
            cost_usd=0.0,
            duration_s=0.0,
        )
        with session_scope(self.url) as session:
            session.add(tick)
        return tick.id

    def notify(
        self,
        level: str,
        title: str,
        body: str = "",
        *,
        entity_id: str | None = None,
        link: str = "",
    ) -> None:
        with session_scope(self.url) as session:
            session.add(
                Notification(
                    created_at=utcnow(),
                    level=level,
                    title=title[:300],
                    body=body,
                    link=link[:500],
                    entity_id=entity_id,
                )
            )

    def _images_today(self, session: Session, schedule: EntityOut, now: datetime) -> int:
        zone = ZoneInfo(schedule.data["timezone"])
        start = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        return int(
            session.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(ScheduleTick.images), 0)).where(
                    ScheduleTick.schedule_id == schedule.id,
                    ScheduleTick.tick_at >= start.astimezone(UTC),
                )
            )
            or 0
        )

    def _cost_today(self, session: Session, schedule: EntityOut, now: datetime) -> float:
        zone = ZoneInfo(schedule.data["timezone"])
        start = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        return float(
            session.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(ScheduleTick.cost_usd), 0.0)).where(
                    ScheduleTick.schedule_id == schedule.id,
                    ScheduleTick.tick_at >= start.astimezone(UTC),
                )
            )
            or 0.0
        )

    def _running(self, session: Session, schedule_id: str) -> bool:
        return bool(
            session.scalar(
                sa.select(sa.func.count())
                .select_from(ScheduleTick)
                .where(ScheduleTick.schedule_id == schedule_id, ScheduleTick.status == "requested")
            )
        )

    def start(
        self,
        schedule: EntityOut,
        tick_at: datetime,
        *,
        now: datetime,
        manual: bool = False,
        reason: str = "",
        queue: bool = False,
    ) -> Due | None:
        """Budgets, skip-if-running, the draw and the batch for one tick; None if skipped or
        failed (recorded either way)."""
        data = schedule.data
        with session_scope(self.url) as session:
            busy = data["skip_if_running"] and self._running(session, schedule.id)
            made_today = self._images_today(session, schedule, now)
            spent_today = self._cost_today(session, schedule, now)
        if busy:
            self._record(
                schedule.id, tick_at, "skipped", "the previous run is still going", manual=manual
            )
            return None
        space = ImageBatchSpace.model_validate(data["params"])
        per_run, per_day = data["per_run"], data["per_day"]
        count = space.count
        for limit in (
            per_run.get("max_images"),
            per_day.get("max_images") and (per_day["max_images"] - made_today),
        ):
            if limit is not None:
                count = min(count, limit)
        if per_day.get("max_cost_usd") is not None and spent_today >= per_day["max_cost_usd"]:
            count = 0
        if count <= 0:
            self._record(schedule.id, tick_at, "skipped", "daily budget reached", manual=manual)
            self.notify(
                "warning",
                f"{schedule.name}: daily budget reached",
                f"{made_today} images today; the tick at {tick_at:%Y-%m-%d %H:%M} was skipped",
                entity_id=schedule.id,
            )
            return None
        seed_text = f"{schedule.id}:{tick_at.isoformat()}:{'manual' if manual else 'cron'}"
        rng = random.Random(int(hashlib.sha256(seed_text.encode()).hexdigest()[:16], 16))
        try:
            request = self.draw(schedule.id, space, rng, now)
            request["count"] = count
            durations = [
                b.get("max_duration_s") for b in (per_run, per_day) if b.get("max_duration_s")
            ]
            if durations:
                request["max_duration_s"] = min(durations)
            costs = [
                c
                for c in (
                    per_run.get("max_cost_usd"),
                    per_day.get("max_cost_usd") and (per_day["max_cost_usd"] - spent_today),
                )
                if c
            ]
            if costs:
                request["max_cost_usd"] = max(min(costs), 1e-9)
            # The sensor requests the run itself (the batch is claimed); a queued batch is
            # started by the image batch sensor.
            batch = self.images.create(request, status="queued" if queue else "running")
        except LifeOSError as exc:
            self._record(schedule.id, tick_at, "failed", exc.message, manual=manual)
            self.notify(
                "error", f"{schedule.name}: tick failed", exc.message, entity_id=schedule.id
            )
            return None
        tick_id = self._record(
            schedule.id,
            tick_at,
            "requested",
            reason,
            manual=manual,
            params=request,
            batch_id=batch["id"],
        )
        return Due(schedule.id, tick_id, tick_at, batch["id"])

    def evaluate(self, now: datetime | None = None) -> list[Due]:
        """Every enabled schedule whose cron time has come since its last tick."""
        now = (now or datetime.now(UTC)).astimezone(UTC)
        with session_scope(self.url) as session:
            store = EntityStore(session)
            schedules = [
                e
                for e in store.list_all("schedule", {"sort": "created_at"})
                if e.data.get("enabled", True)
            ]
            last = {s.id: self._last_tick(session, s.id) for s in schedules}
        due: list[Due] = []
        for schedule in schedules:
            zone = ZoneInfo(schedule.data["timezone"])
            since = last[schedule.id] or schedule.updated_at
            itr = croniter(schedule.data["cron"], since.astimezone(zone))
            latest, missed = None, 0
            for _ in range(MAX_MISSED):
                t = itr.get_next(datetime)
                if t > now:
                    break
                latest, missed = t, missed + 1
            if latest is None:
                continue
            folded = (
                f"{missed - 1} missed ticks folded into this one (the daemon was down)"
                if missed > 1
                else ""
            )
            started = self.start(schedule, latest.astimezone(UTC), now=now, reason=folded)
            if started:
                due.append(started)
        return due

    def run_now(self, schedule_id: str, *, queue: bool = True) -> Due | None:
        """A manual tick (paused schedules too); its batch is queued for the daemon unless
        the caller runs it."""
        with session_scope(self.url) as session:
            schedule = EntityStore(session).get("schedule", schedule_id)
        now = datetime.now(UTC)
        return self.start(schedule, now, now=now, manual=True, reason="run now", queue=queue)

    def requested(self) -> list[str]:
        with session_scope(self.url) as session:
            return list(
                session.scalars(
                    sa.select(ScheduleTick.id).where(ScheduleTick.status == "requested")
                )
            )

    # ---- outcomes ----------------------------------------------------------------------------

    def reconcile(self, run_status: dict[str, str] | None = None) -> int:
        """Settle requested ticks from their batches (done, partial, failed) and from their
        Dagster runs (`run_status`: tick id → a finished run's status, e.g. FAILURE after the
        daemon was restarted mid-run). Returns how many ticks changed."""
        run_status = run_status or {}
        with session_scope(self.url) as session:
            pending = [
                (t.id, t.batch_id, t.schedule_id, t.reason)
                for t in session.scalars(
                    sa.select(ScheduleTick).where(ScheduleTick.status == "requested")
                )
            ]
            names = (
                dict(
                    session.execute(
                        sa.select(Entity.id, Entity.name).where(
                            Entity.id.in_({p[2] for p in pending})
                        )
                    ).all()
                )
                if pending
                else {}
            )
        changed = 0
        for tick_id, batch_id, schedule_id, reason in pending:
            try:
                batch = self.images.get(batch_id) if batch_id else None
            except NotFound:
                batch = None
            status = batch["status"] if batch else "gone"
            run_state = run_status.get(tick_id)
            if status in ("queued", "running") and run_state not in ("FAILURE", "CANCELED"):
                continue
            name = names.get(schedule_id, schedule_id)
            fields: dict[str, Any] = {"updated_at": utcnow()}
            if batch:
                fields |= {
                    "images": batch["done"],
                    "duration_s": batch["seconds"],
                    "cost_usd": batch["done"] * self.images.settings.image_cost_usd,
                }
            if status in ("done", "partial"):
                fields |= {"status": "succeeded", "reason": (batch or {}).get("error") or reason}
                note = (
                    "success" if status == "done" else "warning",
                    f"{name}: {fields['images']} images"
                    + (" (budget hit)" if status == "partial" else ""),
                    (batch or {}).get("error") or "",
                )
            else:
                why = (batch or {}).get("error") or (
                    f"the run ended as {run_state}" if run_state else "its batch is gone"
                )
                fields |= {"status": "failed", "reason": why}
                if batch and status in ("queued", "running"):
                    self.images._update(batch["id"], status="failed", error=why)
                note = ("error", f"{name}: run failed", why)
            with session_scope(self.url) as session:
                tick = session.get(ScheduleTick, tick_id)
                for key, value in fields.items():
                    setattr(tick, key, value)
            self.notify(note[0], note[1], note[2], entity_id=schedule_id)
            changed += 1
        return changed

    def history(self, schedule_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
        with session_scope(self.url) as session:
            EntityStore(session).get("schedule", schedule_id)
            ticks = session.scalars(
                sa.select(ScheduleTick)
                .where(ScheduleTick.schedule_id == schedule_id)
                .order_by(ScheduleTick.tick_at.desc(), ScheduleTick.created_at.desc())
                .limit(limit)
            )
            out = []
            for t in ticks:
                images = []
                if t.batch_id:
                    with contextlib.suppress(NotFound):
                        images = list(self.images.get(t.batch_id)["images"].values())
                out.append(
                    {
                        "id": t.id,
                        "tick_at": t.tick_at.isoformat(),
                        "status": t.status,
                        "reason": t.reason,
                        "manual": t.manual,
                        "params": t.params,
                        "batch_id": t.batch_id,
                        "images": t.images,
                        "image_ids": images,
                        "cost_usd": t.cost_usd,
                        "duration_s": round(t.duration_s, 2),
                        "created_at": t.created_at.isoformat(),
                    }
                )
            return out

    def notifications(self, *, unread_only: bool = False, limit: int = 50) -> list[dict[str, Any]]:
        stmt = (
            sa.select(Notification)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
        if unread_only:
            stmt = stmt.where(Notification.read_at.is_(None))
        with session_scope(self.url) as session:
            return [
                {
                    "id": n.id,
                    "created_at": n.created_at.isoformat(),
                    "level": n.level,
                    "title": n.title,
                    "body": n.body,
                    "link": n.link,
                    "entity_id": n.entity_id,
                    "read": n.read_at is not None,
                }
                for n in session.scalars(stmt)
            ]

    def unread(self) -> int:
        with session_scope(self.url) as session:
            return int(
                session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Notification)
                    .where(Notification.read_at.is_(None))
                )
                or 0
            )

    def mark_read(self) -> int:
        with session_scope(self.url) as session:
            result = session.execute(
                sa.update(Notification)
                .where(Notification.read_at.is_(None))
                .values(read_at=utcnow())
            )
            # An UPDATE's result is a CursorResult: its rowcount is the rows it changed.
            if not isinstance(result, sa.CursorResult):
                raise TypeError(f"an UPDATE gave a {type(result).__name__}, not a CursorResult")
            return result.rowcount or 0


def schedule_services(settings: Settings) -> Schedules:
    from plugins.images.tools.batches import image_services

    return Schedules(image_services(settings))
