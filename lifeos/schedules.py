"""What every kind of schedule shares: cron times in a time zone (croniter), the ticks a
schedule has had (`schedule_ticks`), "is the last run still going", folding missed ticks into
one, and the notifications a tick raises. What a tick *starts* (an image batch, a workflow
run) is the subclass's.

Missed ticks (the daemon was down): one run for the latest missed time, not one per missed
tick; the tick's reason says how many were folded into it.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from croniter import croniter
from pydantic import AfterValidator
from sqlalchemy.orm import Session

from lifeos.db.engine import session_scope
from lifeos.db.models import Entity, Notification, ScheduleTick, utcnow
from lifeos.errors import BadRequest
from lifeos.schemas import EntityOut
from lifeos.store import EntityStore

MAX_MISSED = 10_000  # cron times looked at when catching up


def check_cron(value: str) -> str:
    if len(value.split()) != 5 or not croniter.is_valid(value):
        raise ValueError(f"not a valid five-field cron expression: {value!r}")
    return value


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


Cron = Annotated[str, AfterValidator(check_cron)]
TimeZone = Annotated[str, AfterValidator(check_timezone)]


def next_runs(
    cron: str, timezone: str, *, after: datetime | None = None, n: int = 5
) -> list[datetime]:
    """The next `n` times a cron expression fires, in its time zone."""
    try:
        check_cron(cron)
        zone = ZoneInfo(check_timezone(timezone))
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    itr = croniter(cron, (after or datetime.now(UTC)).astimezone(zone))
    return [itr.get_next(datetime) for _ in range(n)]


def latest_due(
    cron: str, timezone: str, since: datetime, now: datetime
) -> tuple[datetime | None, int]:
    """The latest cron time in (since, now] and how many there were."""
    itr = croniter(cron, since.astimezone(ZoneInfo(timezone)))
    latest, missed = None, 0
    for _ in range(MAX_MISSED):
        t = itr.get_next(datetime)
        if t > now:
            break
        latest, missed = t, missed + 1
    return (latest.astimezone(UTC) if latest else None), missed


def times_on(cron: str, timezone: str, day: date, *, at_most: int) -> list[datetime]:
    """The cron times on one calendar day in the schedule's zone (as UTC); more than
    `at_most` is an error (a minutely cron is not a schedule to regenerate by the day)."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    itr = croniter(cron, start - timedelta(seconds=1))
    out: list[datetime] = []
    while (t := itr.get_next(datetime)) < end:
        out.append(t.astimezone(UTC))
        if len(out) > at_most:
            raise BadRequest(f"{cron!r} fires more than {at_most} times a day: name fewer days")
    return out


def local_date(timezone: str, t: datetime) -> date:
    """The calendar day a time falls on in a zone (a tick's day, for date partitions)."""
    return t.astimezone(ZoneInfo(timezone)).date()


def tick_rng(schedule_id: str, tick_at: datetime, manual: bool) -> random.Random:
    """The same draw for the same tick, whichever process evaluates it."""
    seed_text = f"{schedule_id}:{tick_at.isoformat()}:{'manual' if manual else 'cron'}"
    return random.Random(int(hashlib.sha256(seed_text.encode()).hexdigest()[:16], 16))


def day_bounds(timezone: str, now: datetime) -> tuple[datetime, datetime]:
    """The UTC start and end of `now`'s calendar day in a zone (23 or 25 hours on DST days)."""
    zone = ZoneInfo(timezone)
    day = now.astimezone(zone).date()
    return (
        datetime.combine(day, time(), zone).astimezone(UTC),
        datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC),
    )


class Ticks:
    """The ticks of the schedules of one kind (`schedule` for image batches,
    `workflow_schedule` for workflows)."""

    kind: str = "schedule"

    def __init__(self, url: str) -> None:
        self.url = url

    # ---- which schedules are due -----------------------------------------------------------

    def enabled(self) -> list[EntityOut]:
        with session_scope(self.url) as session:
            return [
                e
                for e in EntityStore(session).list_all(self.kind, {"sort": "created_at"})
                if e.data.get("enabled", True)
            ]

    def due(self, now: datetime) -> list[tuple[EntityOut, datetime, str]]:
        """Every enabled schedule whose cron time has come since its last tick: the schedule,
        the tick's time and its reason (missed ticks folded into it)."""
        schedules = self.enabled()
        with session_scope(self.url) as session:
            last = {s.id: self._last_tick(session, s.id) for s in schedules}
        out = []
        for schedule in schedules:
            since = last[schedule.id] or schedule.updated_at
            latest, missed = latest_due(
                schedule.data["cron"], schedule.data["timezone"], since, now
            )
            if latest is None:
                continue
            folded = (
                f"{missed - 1} missed ticks folded into this one (the daemon was down)"
                if missed > 1
                else ""
            )
            out.append((schedule, latest, folded))
        return out

    def start(
        self, schedule: EntityOut, tick_at: datetime, *, now: datetime, reason: str = ""
    ) -> Any:
        """What one tick starts (the subclass's): its request, or None if skipped or failed."""
        raise NotImplementedError

    def evaluate(self, now: datetime | None = None) -> list[Any]:
        """Every enabled schedule whose cron time has come since its last tick, started."""
        now = (now or datetime.now(UTC)).astimezone(UTC)
        due = [
            self.start(schedule, tick_at, now=now, reason=folded)
            for schedule, tick_at, folded in self.due(now)
        ]
        return [d for d in due if d]

    def skipped_while_running(
        self, schedule: EntityOut, tick_at: datetime, *, manual: bool = False
    ) -> bool:
        """Whether the tick is skipped because the schedule's last run still goes (recorded)."""
        if not schedule.data.get("skip_if_running", True):
            return False
        with session_scope(self.url) as session:
            busy = self._running(session, schedule.id)
        if busy:
            self._record(
                schedule.id, tick_at, "skipped", "the previous run is still going", manual=manual
            )
        return busy

    def _last_tick(self, session: Session, schedule_id: str) -> datetime | None:
        return session.scalar(
            sa.select(sa.func.max(ScheduleTick.tick_at)).where(
                ScheduleTick.schedule_id == schedule_id, ScheduleTick.manual.is_(False)
            )
        )

    def _running(self, session: Session, schedule_id: str) -> bool:
        return bool(
            session.scalar(
                sa.select(sa.func.count())
                .select_from(ScheduleTick)
                .where(ScheduleTick.schedule_id == schedule_id, ScheduleTick.status == "requested")
            )
        )

    def _today(self, session: Session, schedule: EntityOut, now: datetime, column: Any) -> float:
        """A column's sum over the ticks of `now`'s day (in the schedule's zone)."""
        start, end = day_bounds(schedule.data["timezone"], now)
        return float(
            session.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(column), 0)).where(
                    ScheduleTick.schedule_id == schedule.id,
                    ScheduleTick.tick_at >= start,
                    ScheduleTick.tick_at < end,
                )
            )
            or 0
        )

    # ---- recording ---------------------------------------------------------------------------

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
        run_id: str | None = None,
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
            run_id=run_id,
            images=0,
            cost_usd=0.0,
            duration_s=0.0,
        )
        with session_scope(self.url) as session:
            session.add(tick)
        return tick.id

    def _settle(self, tick_id: str, **fields: Any) -> None:
        with session_scope(self.url) as session:
            tick = session.get(ScheduleTick, tick_id)
            if tick is None:
                return
            for key, value in {"updated_at": utcnow(), **fields}.items():
                setattr(tick, key, value)

    def pending(self) -> list[ScheduleTick]:
        """This kind's requested (not yet settled) ticks."""
        with session_scope(self.url) as session:
            ticks = list(
                session.scalars(
                    sa.select(ScheduleTick)
                    .join(Entity, Entity.id == ScheduleTick.schedule_id)
                    .where(ScheduleTick.status == "requested", Entity.kind == self.kind)
                )
            )
            session.expunge_all()
            return ticks

    def requested(self) -> list[str]:
        return [t.id for t in self.pending()]

    def names(self, ids: set[str]) -> dict[str, str]:
        if not ids:
            return {}
        with session_scope(self.url) as session:
            return dict(
                session.execute(sa.select(Entity.id, Entity.name).where(Entity.id.in_(ids))).all()
            )

    def ticks(self, schedule_id: str, *, limit: int = 100) -> list[ScheduleTick]:
        with session_scope(self.url) as session:
            EntityStore(session).get(self.kind, schedule_id)
            ticks = list(
                session.scalars(
                    sa.select(ScheduleTick)
                    .where(ScheduleTick.schedule_id == schedule_id)
                    .order_by(ScheduleTick.tick_at.desc(), ScheduleTick.created_at.desc())
                    .limit(limit)
                )
            )
            session.expunge_all()
            return ticks

    @staticmethod
    def describe(t: ScheduleTick) -> dict[str, Any]:
        return {
            "id": t.id,
            "tick_at": t.tick_at.isoformat(),
            "status": t.status,
            "reason": t.reason,
            "manual": t.manual,
            "params": t.params,
            "batch_id": t.batch_id,
            "run_id": t.run_id,
            "images": t.images,
            "cost_usd": t.cost_usd,
            "duration_s": round(t.duration_s, 2),
            "created_at": t.created_at.isoformat(),
        }

    # ---- notifications -----------------------------------------------------------------------

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
