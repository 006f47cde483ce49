"""Small builders for test data: one valid example per kind."""

from __future__ import annotations

import random
import string
from typing import Any

from lifeos.kinds import get_registry

# The smallest valid `data` for each built-in kind (required fields only).
MINIMAL_DATA: dict[str, dict[str, Any]] = {
    "hair_color": {"color": "auburn"},
    "expression": {"emotion": "happy"},
    "image": {"sha256": "0" * 64, "width": 64, "height": 64},
    "story_scene": {"order": 0},
    "qa": {"question": "Who goes first?"},
    "visualization_config": {"target_kind": "outfit", "template": "flat-lay of {prompt}"},
    "tool_config": {"tool": "composer"},
    "schedule": {"cron": "0 7 * * *"},
    "workflow": {"yaml": "workflow: w\nsteps:\n  - id: s\n    uses: tagger\n"},
    "proposal": {"target_kind": "character"},
    "workflow_schedule": {"workflow": "morning_surprise", "cron": "0 7 * * *"},
}


def minimal(kind: str) -> dict[str, Any]:
    get_registry().get(kind)
    return dict(MINIMAL_DATA.get(kind, {}))


def random_name(prefix: str = "item") -> str:
    return f"{prefix}-{''.join(random.choices(string.ascii_lowercase, k=8))}"


def entity_body(kind: str, name: str | None = None, **data: Any) -> dict[str, Any]:
    return {"name": name or random_name(kind), "data": {**minimal(kind), **data}}
