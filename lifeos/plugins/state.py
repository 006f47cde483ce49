"""What the user chose for each plugin, kept in `LIFEOS_HOME/plugins/state.json`: the plugins
turned off (by them, or by safe mode after repeated crashes), the crashes counted in a row, and
each plugin's settings.
Every process of a server watches the file, so a change made from the CLI or by one API worker
reaches all of them."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from lifeos.logging import get_logger

log = get_logger(__name__)
STATE_FILE = "state.json"


class PluginChoices(BaseModel):
    disabled: dict[str, str] = Field(default_factory=dict, description="name -> why")
    failures: dict[str, int] = Field(default_factory=dict, description="crashes in a row")
    reloads: dict[str, int] = Field(
        default_factory=dict, description="reloads asked for: each server reloads to catch up"
    )
    settings: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="each plugin's settings, as the user set them"
    )

    @classmethod
    def read(cls, folder: Path) -> PluginChoices:
        path = folder / STATE_FILE
        try:
            return cls.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            return cls()
        except (OSError, ValidationError, ValueError) as exc:
            # A damaged file must not take the app down: every plugin loads, and it is said.
            log.error("plugin_state_unreadable", path=str(path), error=str(exc))
            return cls()

    def write(self, folder: Path) -> None:
        """Atomically: a reader never sees half a file."""
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".state-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(self.model_dump(), out, indent=2, sort_keys=True)
        os.replace(tmp, folder / STATE_FILE)
