"""BoardGameGeek XML API2 client: search and thing details, offline-first.

- Every answer that parsed is cached in the library DB (`http_cache`) for `cache_days`; errors
  are never cached. A cached answer costs no request and needs no token.
- BGG requires an application token (bearer) since 2025: from LIFEOS_BGG_TOKEN.
- At most one request per `min_interval_s`, across processes (CLI, API, Dagster runs share a
  file lock and the last request's time in LIFEOS_HOME).
- 202 (request queued by BGG), 429 (with Retry-After) and 5xx are retried with backoff.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import timedelta
from html import unescape
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import dagster as dg
import httpx
import sqlalchemy as sa
from defusedxml import ElementTree
from filelock import FileLock
from pydantic import Field
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from lifeos.db.engine import session_scope
from lifeos.db.models import HttpCache, utcnow
from lifeos.errors import BadRequest, BGGError, BGGTokenMissing, ServiceUnavailable
from lifeos.metrics import cache_lookup

THINGS_PER_CALL = 20


@dataclass
class SearchHit:
    bgg_id: int
    name: str
    year: int | None
    type: str


@dataclass
class GameInfo:
    bgg_id: int
    name: str
    year_published: int | None = None
    min_players: int | None = None
    max_players: int | None = None
    playing_time: int | None = None
    min_age: int | None = None
    weight: float | None = None
    designers: list[str] = field(default_factory=list)
    publishers: list[str] = field(default_factory=list)
    mechanics: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    description: str = ""
    image_url: str = ""

    def entity_data(self) -> dict[str, Any]:
        """The board_game entity's fields (lists and text cut to the kind's limits)."""
        minp, maxp = self.min_players or None, self.max_players or None
        if minp and maxp and minp > maxp:
            minp, maxp = maxp, minp
        return {
            "bgg_id": self.bgg_id,
            "year_published": self.year_published or None,
            "min_players": minp,
            "max_players": maxp,
            "playing_time": self.playing_time or None,
            "min_age": self.min_age or None,
            "weight": round(self.weight, 2) if self.weight else None,
            "designers": [d[:200] for d in self.designers[:50]],
            "publishers": [p[:200] for p in self.publishers[:50]],
            "mechanics": [m[:200] for m in self.mechanics[:100]],
            "categories": [c[:200] for c in self.categories[:100]],
            "description": self.description[:20_000],
            "image_url": self.image_url[:200],
        }


class _Retry(Exception):
    def __init__(self, wait_s: float, why: str) -> None:
        super().__init__(why)
        self.wait_s = wait_s
        self.why = why


def _int(el: Element | None, attr: str = "value") -> int | None:
    value = el.get(attr) if el is not None else None
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _float(el: Element | None) -> float | None:
    value = el.get("value") if el is not None else None
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _bgg_id(item: Element) -> int:
    """The item's id, which every item has: an answer without one is not a BGG answer."""
    bgg_id = _int(item, "id")
    if bgg_id is None:
        raise BGGError(f"BoardGameGeek sent an <item> without a numeric id: {item.attrib}")
    return bgg_id


def parse_search(xml: str) -> list[SearchHit]:
    root = _parse(xml)
    hits = []
    for item in root.findall("item"):
        name = item.find("name")
        hits.append(
            SearchHit(
                bgg_id=_bgg_id(item),
                type=item.get("type", ""),
                name=name.get("value", "") if name is not None else "",
                year=_int(item.find("yearpublished")),
            )
        )
    return hits


def parse_things(xml: str) -> list[GameInfo]:
    root = _parse(xml)
    out = []
    for item in root.findall("item"):
        names = item.findall("name")
        primary = next(
            (n for n in names if n.get("type") == "primary"), names[0] if names else None
        )
        links: dict[str, list[str]] = {}
        for link in item.findall("link"):
            links.setdefault(link.get("type", ""), []).append(link.get("value", ""))
        image = item.findtext("image") or ""
        out.append(
            GameInfo(
                bgg_id=_bgg_id(item),
                name=primary.get("value", "") if primary is not None else "",
                year_published=_int(item.find("yearpublished")),
                min_players=_int(item.find("minplayers")),
                max_players=_int(item.find("maxplayers")),
                playing_time=_int(item.find("playingtime")),
                min_age=_int(item.find("minage")),
                weight=_float(item.find("statistics/ratings/averageweight")),
                designers=links.get("boardgamedesigner", []),
                publishers=links.get("boardgamepublisher", []),
                mechanics=links.get("boardgamemechanic", []),
                categories=links.get("boardgamecategory", []),
                # BGG double-escapes line breaks (`&amp;#10;`)
                description=unescape(item.findtext("description") or "").strip(),
                image_url=image.strip(),
            )
        )
    return out


def _parse(xml: str) -> Element:
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise BGGError(f"BoardGameGeek sent XML that does not parse ({exc})") from None
    if root.tag == "errors" or root.find("error") is not None:
        message = root.findtext(".//message") or "an error"
        raise BGGError(f"BoardGameGeek answered with an error: {message}")
    if root.tag != "items":
        raise BGGError(f"BoardGameGeek sent <{root.tag}>, not <items>")
    return root


# Its value is the resource itself, which dagster's generic cannot say (dagster#32027).
class BGGClient(dg.ConfigurableResource):  # type: ignore[type-arg]
    base_url: str = "https://boardgamegeek.com/xmlapi2"
    token: str = Field(default="", description="BGG application token (Authorization: Bearer)")
    database_url: str
    state_dir: str = Field(description="where the cross-process rate limit lives")
    min_interval_s: float = 1.0
    cache_days: float = 7.0
    timeout_s: float = 20.0
    max_attempts: int = 6
    max_wait_s: float = 30.0

    # ---- public ------------------------------------------------------------------------------

    def search(self, query: str, *, exact: bool = False) -> list[SearchHit]:
        query = " ".join(query.split())
        if not query:
            raise BadRequest("search for a game name")
        params = {"query": query, "type": "boardgame"} | ({"exact": "1"} if exact else {})
        return parse_search(self._get("search", params))

    def things(self, ids: list[int]) -> list[GameInfo]:
        """Details for any number of ids, 20 per request."""
        out: list[GameInfo] = []
        unique = list(dict.fromkeys(int(i) for i in ids))
        for start in range(0, len(unique), THINGS_PER_CALL):
            chunk = unique[start : start + THINGS_PER_CALL]
            out += parse_things(self._get("thing", {"id": ",".join(map(str, chunk)), "stats": "1"}))
        return out

    # ---- plumbing ----------------------------------------------------------------------------

    def _key(self, url: str, params: dict[str, str]) -> tuple[str, str]:
        full = str(httpx.URL(url, params=sorted(params.items())))
        return hashlib.sha256(full.encode()).hexdigest(), full

    def _cached(self, key: str) -> str | None:
        cutoff = utcnow() - timedelta(days=self.cache_days)
        with session_scope(self.database_url) as session:
            row = session.get(HttpCache, key)
            return row.body if row is not None and row.fetched_at >= cutoff else None

    def _store(self, key: str, url: str, body: str) -> None:
        with session_scope(self.database_url) as session:
            row = session.get(HttpCache, key)
            if row is None:
                session.add(HttpCache(key=key, url=url[:2000], body=body, fetched_at=utcnow()))
            else:
                row.body, row.fetched_at = body, utcnow()

    def _get(self, endpoint: str, params: dict[str, str]) -> str:
        key, full = self._key(f"{self.base_url.rstrip('/')}/{endpoint}", params)
        body = self._cached(key)
        cache_lookup("bgg_answers", body is not None)
        if body is not None:
            return body
        if not self.token:
            raise BGGTokenMissing(
                "BoardGameGeek's XML API needs an application token: register one at "
                "https://boardgamegeek.com/applications and set LIFEOS_BGG_TOKEN"
            )

        def wait(state: RetryCallState) -> float:
            """The server's Retry-After when it gives one, else exponential backoff."""
            asked = getattr(state.outcome.exception(), "wait_s", 1.0) if state.outcome else 1.0
            return min(self.max_wait_s, max(asked, 2.0 ** (state.attempt_number - 1)))

        try:
            body = Retrying(
                retry=retry_if_exception_type(_Retry),
                wait=wait,
                stop=stop_after_attempt(self.max_attempts),
                reraise=True,
            )(self._request, full)
        except _Retry as exc:
            raise ServiceUnavailable(
                f"BoardGameGeek did not answer after {self.max_attempts} tries ({exc.why})"
            ) from None
        if endpoint == "search":
            parse_search(body)  # only answers that parse are cached
        else:
            parse_things(body)
        self._store(key, full, body)
        return body

    def _request(self, url: str) -> str:
        with self._rate_limited():
            try:
                response = httpx.get(
                    url,
                    timeout=self.timeout_s,
                    headers={
                        "Authorization": f"Bearer {self.token}",
                        "User-Agent": "LifeOS-Workbench/0.1 (+local-first)",
                    },
                )
            except httpx.TimeoutException:
                raise _Retry(1.0, "timed out") from None
            except httpx.HTTPError as exc:
                raise _Retry(1.0, f"{type(exc).__name__}") from None
        status = response.status_code
        if status == 200:
            return response.text
        if status == 202:
            raise _Retry(2.0, "202: BGG queued the request")
        if status == 429:
            try:
                after = float(response.headers.get("Retry-After", "5"))
            except ValueError:
                after = 5.0
            raise _Retry(after, "429: rate limited")
        if status >= 500:
            raise _Retry(2.0, f"{status} from BGG")
        if status in (401, 403):
            raise BGGTokenMissing(
                f"BoardGameGeek refused the token ({status}): check LIFEOS_BGG_TOKEN"
            )
        raise BGGError(f"BoardGameGeek answered {status}: {response.text[:200]}")

    def _rate_limited(self) -> Any:
        """A file lock held for the request; the last request's time is in a file beside it,
        so every process on this machine waits its turn."""
        state = Path(self.state_dir)
        state.mkdir(parents=True, exist_ok=True)
        stamp = state / "bgg.last-request"
        lock = FileLock(str(state / "bgg.lock"))
        interval = self.min_interval_s

        class _Slot:
            def __enter__(self_inner) -> None:  # noqa: N805
                lock.acquire()
                try:
                    last = float(stamp.read_text()) if stamp.exists() else 0.0
                except ValueError:
                    last = 0.0
                delay = last + interval - time.time()
                if delay > 0:
                    time.sleep(delay)

            def __exit__(self_inner, *exc: object) -> None:  # noqa: N805
                stamp.write_text(repr(time.time()))
                lock.release()

        return _Slot()


def bgg_from_settings(settings: Any) -> BGGClient:
    token = settings.bgg_token.get_secret_value() if settings.bgg_token else ""
    return BGGClient(
        base_url=settings.bgg_url,
        token=token,
        database_url=settings.database_url,
        state_dir=str(settings.home.resolve()),
        min_interval_s=settings.bgg_min_interval_s,
    )


def cache_size(database_url: str) -> int:
    with session_scope(database_url) as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(HttpCache)) or 0)
