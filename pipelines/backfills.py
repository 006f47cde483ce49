"""Backfills of partitioned assets: every rulebook re-ingested after an extractor change, every
picture re-analyzed with a new vision model, the batches a schedule made regenerated. Each is a
Dagster backfill (the daemon's backfill daemon launches a run per partition, through the queue
and its concurrency limits), so it shows, pauses and resumes in the Dagster UI like any other;
the same service answers the CLI (`lifeos pipelines backfill`) and the API.

Which partitions: those named, all of them, or the stale ones (missing, failed, or made from
an older code version or older inputs than there are now: what the Dagster UI marks); all and
stale ones can be narrowed to a date range (assets partitioned by day) and to one value of a
dimension (`schedule=ID` of `scheduled_images`)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import dagster as dg

from lifeos import tracing
from lifeos.dagster_home import open_instance
from lifeos.errors import BadRequest, NotFound
from lifeos.security.roles import Role, require, run_tags
from lifeos.settings import Settings

TAG = "lifeos/backfill"
COUNT_TAG = "lifeos/partitions"
HEAVY = "lifeos/heavy"  # the run queue's tag limit: model-heavy runs one at a time
DAEMON_STALE_S = 120  # a daemon whose last heartbeat is older is not running


@dataclass(frozen=True)
class Narrow:
    """Which of an asset's partitions: days from `since` to `until` (inclusive, for assets
    partitioned by day) and dimension values (`{"schedule": ID}`)."""

    since: date | None = None
    until: date | None = None
    where: Mapping[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.since or self.until or self.where)

    @classmethod
    def of(
        cls,
        since: str | date | None = None,
        until: str | date | None = None,
        where: Sequence[str] | Mapping[str, str] = (),
    ) -> Narrow:
        """From what people type: ISO dates, and `name=value` pairs."""

        def day(value: str | date | None, name: str) -> date | None:
            if not value or isinstance(value, date):
                return value or None
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                raise BadRequest(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None

        pairs = dict(where) if isinstance(where, Mapping) else {}
        for item in [] if isinstance(where, Mapping) else where:
            name, eq, value = item.partition("=")
            if not eq or not name.strip() or not value.strip():
                raise BadRequest(f"{item!r}: expected DIMENSION=VALUE (e.g. schedule=ID)")
            pairs[name.strip()] = value.strip()
        narrow = cls(day(since, "since"), day(until, "until"), pairs)
        if narrow.since and narrow.until and narrow.since > narrow.until:
            raise BadRequest(f"since {narrow.since} is after until {narrow.until}")
        return narrow

    def keep(self, partitions_def: dg.PartitionsDefinition, keys: Sequence[str]) -> list[str]:
        if not self:
            return list(keys)
        days = _time_dimension(partitions_def)
        if (self.since or self.until) and days is None:
            raise BadRequest("this asset is not partitioned by day: --since/--until do not apply")
        multi = partitions_def if isinstance(partitions_def, dg.MultiPartitionsDefinition) else None
        names = [d.name for d in multi.partitions_defs] if multi else []
        unknown = sorted(set(self.where) - set(names))
        if unknown:
            raise BadRequest(
                f"no dimension {', '.join(unknown)}"
                + (f" (it has {', '.join(names)})" if names else " (it has one)")
            )
        out = []
        for key in keys:
            dims = multi.get_partition_key_from_str(key).keys_by_dimension if multi else {"": key}
            if any(dims.get(k) != v for k, v in self.where.items()):
                continue
            if days is not None:
                name, fmt = days
                day = datetime.strptime(dims[name], fmt).date()
                if (self.since and day < self.since) or (self.until and day > self.until):
                    continue
            out.append(key)
        return out


def _time_dimension(partitions_def: dg.PartitionsDefinition) -> tuple[str, str] | None:
    """(dimension name, date format) of the time part of a partitions definition."""
    if isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        return "", partitions_def.fmt
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        for dim in partitions_def.partitions_defs:
            if isinstance(dim.partitions_def, dg.TimeWindowPartitionsDefinition):
                return dim.name, dim.partitions_def.fmt
    return None


class Backfills:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _instance(self) -> dg.DagsterInstance:
        return open_instance(self.settings)

    def _defs(self) -> dg.Definitions:
        from pipelines.definitions import current_definitions

        return current_definitions(self.settings)

    def _node(self, asset: str) -> Any:
        graph = self._defs().resolve_asset_graph()
        key = dg.AssetKey.from_user_string(asset)
        if not graph.has(key):
            names = sorted(
                k.to_user_string()
                for k in graph.get_all_asset_keys()
                if graph.get(k).is_partitioned
            )
            raise NotFound(f"no asset {asset!r}", details={"partitioned_assets": names})
        node = graph.get(key)
        if not node.is_partitioned or not node.is_materializable:
            raise BadRequest(
                f"{asset} is not a partitioned asset Dagster makes: nothing to backfill"
            )
        return node

    def partitions(self, asset: str, narrow: Narrow | None = None) -> list[str]:
        node = self._node(asset)
        with self._instance() as instance:
            keys = node.partitions_def.get_partition_keys(dynamic_partitions_store=instance)
        return (narrow or Narrow()).keep(node.partitions_def, keys)

    def stale(self, asset: str, narrow: Narrow | None = None) -> dict[str, str]:
        """Partition → why it needs making again (missing, stale, or its last run failed)."""
        from dagster._core.definitions.data_version import (
            CachingStaleStatusResolver,
            StaleStatus,
        )
        from dagster._core.loader import LoadingContextForTest

        node = self._node(asset)
        graph = self._defs().resolve_asset_graph()
        out = {}
        with self._instance() as instance:
            keys = (narrow or Narrow()).keep(
                node.partitions_def,
                node.partitions_def.get_partition_keys(dynamic_partitions_store=instance),
            )
            resolver = CachingStaleStatusResolver(instance, graph, LoadingContextForTest(instance))
            failed = self._failed(instance, asset)
            for key in keys:
                status = resolver.get_status(node.key, key)
                if status == StaleStatus.MISSING:
                    out[key] = "failed" if key in failed else "missing"
                elif status == StaleStatus.STALE:
                    causes = resolver.get_stale_causes(node.key, key)
                    out[key] = "stale: " + "; ".join(sorted({c.reason for c in causes}))[:200]
        return out

    @staticmethod
    def _failed(instance: dg.DagsterInstance, asset: str) -> set[str]:
        runs = instance.get_runs(
            filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]), limit=500
        )
        return {
            r.tags["dagster/partition"]
            for r in runs
            if "dagster/partition" in r.tags
            and r.asset_selection
            and dg.AssetKey.from_user_string(asset) in r.asset_selection
        }

    def daemon_running(self) -> bool:
        with self._instance() as instance:
            beats = instance.get_daemon_heartbeats()
        beat = beats.get("BackfillDaemon")
        return beat is not None and time.time() - beat.timestamp < DAEMON_STALE_S

    def launch(
        self,
        asset: str,
        *,
        partitions: Sequence[str] = (),
        all_partitions: bool = False,
        stale: bool = False,
        narrow: Narrow | None = None,
        run_config: dict[str, Any] | None = None,
        source: str = "cli",
    ) -> dict[str, Any]:
        """Start a backfill (the daemon runs it); its id and the partitions it covers.
        `narrow` keeps the days and dimension values asked for (of all or the stale ones)."""
        require(Role.editor, "starting backfills")
        from dagster._core.execution.backfill import PartitionBackfill
        from dagster._core.utils import make_new_backfill_id

        if sum(bool(x) for x in (partitions, all_partitions, stale)) != 1:
            raise BadRequest("name the partitions, or ask for --all or --stale (one of them)")
        if partitions and narrow:
            raise BadRequest("name the partitions or narrow all/stale ones by date, not both")
        node = self._node(asset)
        known = self.partitions(asset, narrow)
        if partitions:
            unknown = sorted(set(partitions) - set(known))
            if unknown:
                raise BadRequest(f"{asset} has no partition(s) {', '.join(unknown[:5])}")
            chosen = list(dict.fromkeys(partitions))
        elif stale:
            chosen = sorted(self.stale(asset, narrow))
        else:
            chosen = sorted(known)
        if not chosen:
            raise BadRequest(f"nothing to backfill: no {'stale ' if stale else ''}partitions")
        backfill_id = make_new_backfill_id()
        tags = {TAG: backfill_id, "lifeos/source": source, COUNT_TAG: str(len(chosen))}
        tags |= run_tags()  # who started it: its runs' ledger rows name them
        tags |= tracing.run_tags()  # and the trace of the request that did
        if node.tags.get(HEAVY) == "true":  # one at a time, like the asset's own job's runs
            tags[HEAVY] = "true"
        with self._instance() as instance:
            backfill = PartitionBackfill.from_asset_partitions(
                backfill_id=backfill_id,
                asset_graph=self._defs().resolve_asset_graph(),
                partition_names=chosen,
                asset_selection=[node.key],
                backfill_timestamp=time.time(),
                tags=tags,
                dynamic_partitions_store=instance,
                all_partitions=False,
                title=f"{asset}: {len(chosen)} partitions",
                description=None,
                run_config=run_config,
            )
            instance.add_backfill(backfill)
        return {
            "backfill_id": backfill_id,
            "asset": asset,
            "partitions": chosen,
            "daemon_running": self.daemon_running(),
        }

    def get(self, backfill_id: str) -> dict[str, Any]:
        with self._instance() as instance:
            backfill = instance.get_backfill(backfill_id)
            if backfill is None:
                raise NotFound(f"no backfill {backfill_id}")
            runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
            states: dict[str, str] = {}
            for run in reversed(runs):  # oldest first: a partition's latest run says
                states[run.tags.get("dagster/partition", "")] = run.status.value.lower()
            return {
                "backfill_id": backfill_id,
                "status": backfill.status.value.lower(),
                "asset": ", ".join(k.to_user_string() for k in backfill.asset_selection or []),
                "partitions": int(backfill.tags.get(COUNT_TAG, len(states))),
                "runs": len(runs),
                "by_partition": states,
                "done": backfill.status.value
                in ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"),
            }

    def wait(
        self, backfill_id: str, timeout_s: float = 3600, poll_s: float = 2.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        state = self.get(backfill_id)
        while not state["done"] and time.monotonic() < deadline:
            time.sleep(poll_s)
            state = self.get(backfill_id)
        return state
