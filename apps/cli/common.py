"""Shared CLI plumbing: settings, sessions, JSON/table output, error lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from rich.console import Console

from lifeos.db.engine import session_scope
from lifeos.errors import BadRequest, LifeOSError
from lifeos.logging import configure_logging
from lifeos.settings import Settings, get_settings
from lifeos.store import EntityStore

# Output is text, not Rich markup: a name, a quote or an answer with "[see p. 5]" in it is
# printed as it is (markup would drop it, or fail on "[/b]"). Styles go in `style=` or `Text`.
console = Console(markup=False)
# Progress and status go to stderr: stdout is the command's output (`--json` included).
err_console = Console(stderr=True, markup=False)

_json_errors = False


def settings() -> Settings:
    s = get_settings()
    configure_logging(s.log_level, s.log_json)
    s.register_secrets()
    return s


@contextmanager
def store() -> Iterator[EntityStore]:
    s = settings()
    with session_scope(s.database_url) as session:
        yield EntityStore(session, max_entity_bytes=s.max_entity_bytes)


def want_json(flag: bool) -> bool:
    global _json_errors
    _json_errors = flag
    return flag


def emit_json(value: Any) -> None:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def print_error(exc: LifeOSError) -> None:
    if _json_errors:
        emit_json({"error": exc.to_dict()})
    else:
        print(f"error: {exc.message}", file=sys.stderr)


def read_json_arg(value: str) -> Any:
    """A JSON argument, given inline or as `@path/to/file.json`."""
    text = value
    if value.startswith("@"):
        path = Path(value[1:])
        if not path.is_file():
            raise BadRequest(f"{path}: no such file")
        text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"not valid JSON: {exc}") from None


def fail(message: str) -> LifeOSError:
    return LifeOSError(message)
