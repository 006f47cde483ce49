"""The board-game catalogue: find games on BoardGameGeek, keep them as `board_game` entities
(one per BGG id, updated in place), refresh stale metadata, attach rulebooks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from lifeos.db.engine import session_scope
from lifeos.db.models import utcnow
from lifeos.errors import NotFound
from lifeos.schemas import EntityOut
from lifeos.settings import Settings
from lifeos.store import EntityStore
from plugins.board_games.resources import BGGClient, GameInfo, SearchHit
from plugins.board_games.tools.rulebooks.service import find_game

REFRESHED_TAG = "bgg"


class Games:
    def __init__(self, settings: Settings, bgg: BGGClient) -> None:
        self.settings = settings
        self.url = settings.database_url
        self.bgg = bgg

    def search(self, name: str, *, exact: bool = False) -> list[SearchHit]:
        return self.bgg.search(name, exact=exact)

    def add(self, bgg_ids: list[int]) -> list[EntityOut]:
        """Create or update one board_game per id (idempotent: the same id twice is one
        entity, updated)."""
        infos = {i.bgg_id: i for i in self.bgg.things(bgg_ids)}
        missing = [i for i in bgg_ids if i not in infos]
        if missing:
            raise NotFound(f"BoardGameGeek has no game {', '.join(map(str, missing))}")
        return [self._upsert(infos[i]) for i in dict.fromkeys(bgg_ids)]

    def _upsert(self, info: GameInfo) -> EntityOut:
        data = info.entity_data() | {"bgg_refreshed_at": utcnow().isoformat()}
        with session_scope(self.url) as session:
            store = EntityStore(session)
            existing = store.list(
                "board_game", {"where": {"bgg_id": str(info.bgg_id)}, "limit": 1}
            ).items
            if existing:
                game = existing[0]
                tags = sorted(set(game.tags) | {REFRESHED_TAG})
                return store.update("board_game", game.id, {"data": data, "tags": tags})
            return store.create(
                "board_game",
                {
                    "name": info.name[:200] or f"BGG {info.bgg_id}",
                    "data": data,
                    "tags": [REFRESHED_TAG],
                },
            )

    def stale(self, *, older_than: timedelta) -> list[EntityOut]:
        """Library games with a BGG id whose metadata is older than `older_than`."""
        cutoff = (utcnow() - older_than).isoformat()
        with session_scope(self.url) as session:
            games = EntityStore(session).list_all("board_game")
        return [
            g
            for g in games
            if g.data.get("bgg_id") and (g.data.get("bgg_refreshed_at") or "") < cutoff
        ]

    def refresh(self, *, older_than: timedelta) -> list[EntityOut]:
        games = self.stale(older_than=older_than)
        return self.add([g.data["bgg_id"] for g in games]) if games else []

    def attach_rulebook(self, game: str, path: Path) -> dict[str, Any]:
        """Register the PDF for the game (by id or name); ingestion is a Dagster run."""
        from plugins.board_games.tools.rules_qa import rules_services

        rulebooks, _ = rules_services(self.settings)
        with session_scope(self.url) as session:
            game_id = find_game(EntityStore(session), game)
        if game_id is None:
            raise NotFound(f"no board game {game!r} in the library (lifeos games add BGG_ID)")
        return rulebooks.add(Path(path), game=game_id)


def games_service(settings: Settings) -> Games:
    from plugins.board_games.resources import bgg_from_settings

    return Games(settings, bgg_from_settings(settings))
