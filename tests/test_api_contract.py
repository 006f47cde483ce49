"""`/api/v1` is frozen: its OpenAPI document must equal the snapshot in
`tests/fixtures/openapi_v1.json`. A change to the API fails here until the snapshot is
updated on purpose: `LIFEOS_UPDATE_OPENAPI=1 pytest tests/test_api_contract.py` (and the
change reviewed in the diff). Deprecated routes announce their successor and sunset."""

from __future__ import annotations

import json
import os
from email.utils import parsedate_to_datetime
from pathlib import Path

from fastapi.testclient import TestClient

from apps.api.app import API_PREFIX, create_app
from lifeos.settings import Settings

SNAPSHOT = Path(__file__).parent / "fixtures" / "openapi_v1.json"


def _v1(spec: dict) -> dict:
    """The frozen part: the v1 routes and every schema (not the server's version string)."""
    return {
        "paths": {p: ops for p, ops in spec["paths"].items() if p.startswith(API_PREFIX)},
        "components": spec.get("components", {}),
    }


def test_v1_schema_matches_the_snapshot(settings: Settings) -> None:
    current = _v1(create_app(settings, studio=False).openapi())
    text = json.dumps(current, indent=1, sort_keys=True) + "\n"
    if os.environ.get("LIFEOS_UPDATE_OPENAPI") == "1":
        SNAPSHOT.write_text(text)
    frozen = json.loads(SNAPSHOT.read_text())
    changed = sorted(
        {f"{m.upper()} {p}" for p, ops in current["paths"].items() for m in ops}
        ^ {f"{m.upper()} {p}" for p, ops in frozen["paths"].items() for m in ops}
    )
    assert not changed, f"routes added or removed: {changed} (update the snapshot on purpose)"
    assert current == frozen, "the v1 schema changed: update the snapshot on purpose"


def test_deprecated_routes_name_their_successor_and_sunset(settings: Settings) -> None:
    with TestClient(create_app(settings, studio=False)) as c:
        old, new = c.get("/readyz"), c.get("/health/live")
        assert old.json() == {"status": "ready", "database": "ok"}
        assert old.headers["deprecation"].startswith("@")
        sunset = parsedate_to_datetime(old.headers["sunset"])
        deprecated = int(old.headers["deprecation"][1:])
        assert sunset.timestamp() - deprecated >= 180 * 86400  # six months at least
        assert old.headers["link"] == '</health/ready>; rel="successor-version"'
        assert new.status_code == 200 and "deprecation" not in new.headers
        assert c.get("/healthz").headers["link"] == '</health/live>; rel="successor-version"'
        spec = c.app.openapi()  # type: ignore[attr-defined]
        assert spec["paths"]["/readyz"]["get"]["deprecated"] is True
