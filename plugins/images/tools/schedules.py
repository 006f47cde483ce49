"""Scheduled image batches: `schedule` entities evaluated on each sensor tick, parameters
drawn from their space, budgets and outcomes. Cron times, ticks, missed ticks and
notifications are the core's (`lifeos.schedules`), shared with scheduled workflows.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lifeos.db.engine import session_scope
from lifeos.db.models import Entity, EntityLink, ScheduleTick
from lifeos.errors import BadRequest, LifeOSError, NotFound
from lifeos.schedules import Ticks, local_date, next_runs, tick_rng, times_on
from lifeos.schemas import EntityOut
from lifeos.settings import Settings
from lifeos.store import EntityStore
from plugins.images.kinds import ImageBatchSpace
from plugins.images.tools.batches import ImageBatches

MAX_CANDIDATES = 5_000  # entities a random slot draws from
MAX_TICKS_PER_DAY = 96  # cron times one day's regeneration makes (every 15 minutes)
__all__ = ["Due", "Schedules", "Settled", "next_runs", "schedule_services"]


@dataclass
class Due:
    """A run the sensor should request."""

    schedule_id: str
    tick_id: str
    tick_at: datetime
    batch_id: str


@dataclass
class Settled:
    """A tick whose outcome was just recorded: the outputs of its schedule on its day."""

    tick_id: str
    schedule_id: str
    tick_at: datetime
    day: date  # in the schedule's time zone
    status: str  # succeeded | failed
    batch_id: str | None
    image_ids: list[str]


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class Schedules(Ticks):
    kind = "schedule"

    def __init__(self, images: ImageBatches) -> None:
        super().__init__(images.url)
        self.images = images

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

    def start(
        self,
        schedule: EntityOut,
        tick_at: datetime,
        *,
        now: datetime,
        manual: bool = False,
        reason: str = "",
        queue: bool = False,
        check_running: bool = True,
        run_id: str | None = None,
    ) -> Due | None:
        """Budgets, skip-if-running, the draw and the batch for one tick; None if skipped or
        failed (recorded either way)."""
        data = schedule.data
        if check_running and self.skipped_while_running(schedule, tick_at, manual=manual):
            return None
        with session_scope(self.url) as session:
            made_today = int(self._today(session, schedule, now, ScheduleTick.images))
            spent_today = self._today(session, schedule, now, ScheduleTick.cost_usd)
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
        rng = tick_rng(schedule.id, tick_at, manual)
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
            run_id=run_id,
        )
        return Due(schedule.id, tick_id, tick_at, batch["id"])

    def run_now(self, schedule_id: str, *, queue: bool = True) -> Due | None:
        """A manual tick (paused schedules too); its batch is queued for the daemon unless
        the caller runs it."""
        with session_scope(self.url) as session:
            schedule = EntityStore(session).get("schedule", schedule_id)
        now = datetime.now(UTC)
        return self.start(schedule, now, now=now, manual=True, reason="run now", queue=queue)

    # ---- outcomes ----------------------------------------------------------------------------

    def reconcile(
        self, run_status: dict[str, str] | None = None, *, only: set[str] | None = None
    ) -> list[Settled]:
        """Settle requested ticks (all, or `only` these) from their batches (done, partial,
        failed) and from their Dagster runs (`run_status`: tick id → a finished run's status,
        e.g. FAILURE after the daemon was restarted mid-run). Returns the ticks it settled."""
        run_status = run_status or {}
        ticks = [t for t in self.pending() if only is None or t.id in only]
        zones = self._zones({t.schedule_id for t in ticks})
        names = self.names({t.schedule_id for t in ticks})
        settled: list[Settled] = []
        for tick in ticks:
            tick_id, batch_id, schedule_id, reason = (
                tick.id,
                tick.batch_id,
                tick.schedule_id,
                tick.reason,
            )
            try:
                batch = self.images.get(batch_id) if batch_id else None
            except NotFound:
                batch = None
            status = batch["status"] if batch else "gone"
            run_state = run_status.get(tick_id)
            if status in ("queued", "running") and run_state not in ("FAILURE", "CANCELED"):
                continue
            name = names.get(schedule_id, schedule_id)
            fields: dict[str, Any] = {}
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
            self._settle(tick_id, **fields)
            self.notify(note[0], note[1], note[2], entity_id=schedule_id)
            tick_at = _utc(tick.tick_at)
            settled.append(
                Settled(
                    tick_id,
                    schedule_id,
                    tick_at,
                    local_date(zones.get(schedule_id, "UTC"), tick_at),
                    fields["status"],
                    batch_id,
                    list((batch or {}).get("images", {}).values()),
                )
            )
        return settled

    def _zones(self, ids: set[str]) -> dict[str, str]:
        if not ids:
            return {}
        with session_scope(self.url) as session:
            return {e.id: e.data["timezone"] for e in EntityStore(session).get_many(list(ids))}

    # ---- a day's outputs again ---------------------------------------------------------------

    def regenerate(
        self,
        schedule_id: str,
        day: date,
        *,
        now: datetime | None = None,
        run_id: str | None = None,
        on_image: Any = None,
    ) -> list[Settled]:
        """A schedule's outputs of one day (in its time zone) made again, each cron time of
        the day that has passed in a new batch: with the parameters its tick drew then (a new
        model, the same pictures asked for), or, for a time with no tick (the daemon was
        down), the draw the sensor would have made, under the day's budgets. Earlier images
        stay in the library. A paused schedule regenerates too: a person asked for it.

        `run_id` names the attempt (a Dagster run's root run id): times it already made again
        are not made a third time when a failed run is retried."""
        now = (now or datetime.now(UTC)).astimezone(UTC)
        with session_scope(self.url) as session:
            schedule = EntityStore(session).get("schedule", schedule_id)
        data = schedule.data
        times = [
            t
            for t in times_on(data["cron"], data["timezone"], day, at_most=MAX_TICKS_PER_DAY)
            if t <= now
        ]
        drawn, done = self._drawn(schedule_id, times, run_id)
        started: list[str] = []
        try:
            for t in times:
                if t in done:
                    continue
                if t in drawn:
                    batch = self.images.create(drawn[t], status="running")
                    tick_id = self._record(
                        schedule_id,
                        t,
                        "requested",
                        "regenerated" + (f" by run {run_id}" if run_id else ""),
                        params=drawn[t],
                        batch_id=batch["id"],
                        run_id=run_id,
                    )
                    due: Due | None = Due(schedule_id, tick_id, t, batch["id"])
                else:
                    due = self.start(
                        schedule,
                        t,
                        now=t,
                        reason="made later: this time had no tick",
                        check_running=False,
                        run_id=run_id,
                    )
                if due is None:  # over the day's budget, or the draw failed (recorded)
                    continue
                started.append(due.tick_id)
                self.images.run(due.batch_id, run_id=run_id, on_image=on_image)
        finally:
            settled = self.reconcile(only=set(started))
        return settled

    def _drawn(
        self, schedule_id: str, times: list[datetime], run_id: str | None
    ) -> tuple[dict[datetime, dict[str, Any]], set[datetime]]:
        """Cron time → what its latest tick with a batch asked for; and the times `run_id`
        already made (succeeded)."""
        if not times:
            return {}, set()
        with session_scope(self.url) as session:
            rows = session.execute(
                sa.select(
                    ScheduleTick.tick_at,
                    ScheduleTick.params,
                    ScheduleTick.run_id,
                    ScheduleTick.status,
                )
                .where(
                    ScheduleTick.schedule_id == schedule_id,
                    ScheduleTick.manual.is_(False),
                    ScheduleTick.batch_id.is_not(None),
                    ScheduleTick.tick_at >= min(times),
                    ScheduleTick.tick_at <= max(times),
                )
                .order_by(ScheduleTick.created_at)
            ).all()
        wanted = set(times)
        drawn = {_utc(t): params for t, params, _, _ in rows if params and _utc(t) in wanted}
        done = {
            _utc(t)
            for t, _, made_by, status in rows
            if run_id and made_by == run_id and status == "succeeded"
        }
        return drawn, done

    def history(self, schedule_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
        out = []
        for t in self.ticks(schedule_id, limit=limit):
            images = []
            if t.batch_id:
                with contextlib.suppress(NotFound):
                    images = list(self.images.get(t.batch_id)["images"].values())
            out.append(self.describe(t) | {"image_ids": images})
        return out


def schedule_services(settings: Settings) -> Schedules:
    from plugins.images.tools.batches import image_services

    return Schedules(image_services(settings))
