"""What every studio page shares: the `Studio` services handle, the `Page` base class that
`app.py` drives, the guard that turns errors into messages on screen (never a stack trace), and
the small helpers more than one page needs."""

from __future__ import annotations

import functools
import inspect
import json
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Final, Generic, TypeVar, cast

import gradio as gr
import structlog
from pydantic import ValidationError

from lifeos.db.engine import session_scope
from lifeos.errors import LifeOSError
from lifeos.plugins import PluginHost, Status, get_plugins
from lifeos.settings import Settings
from lifeos.store import EntityStore

log = structlog.get_logger("lifeos.studio")

T = TypeVar("T")
Handler = TypeVar("Handler", bound=Callable[..., Any])

# Model calls, generation and ingestion: one at a time across the whole studio.
HEAVY: Final[dict[str, Any]] = {"concurrency_limit": 1, "concurrency_id": "heavy"}


@dataclass
class Studio:
    """The services pages call: the same ones the API and the CLI use."""

    settings: Settings
    plugins: PluginHost = field(default_factory=get_plugins)

    @contextmanager
    def store(self) -> Iterator[EntityStore]:
        with session_scope(self.settings.database_url) as session:
            yield EntityStore(
                session,
                registry=self.plugins.kinds,
                max_entity_bytes=self.settings.max_entity_bytes,
            )

    def dagster_run_url(self, run_id: str) -> str:
        return f"{self.settings.dagster_ui_url}/runs/{run_id}"

    def run_link(self, run_id: str | None) -> str:
        """` · [Dagster run](…)` after a progress line; nothing without a run."""
        return f" · [Dagster run]({self.dagster_run_url(run_id)})" if run_id else ""


class Page(ABC):
    """A tab of the studio. `app.py` makes one per tab, inside the tab, and calls `layout`
    (which creates the components and keeps them as attributes), then `wire` (which connects
    their events to the page's handler methods)."""

    id: ClassVar[str]
    title: ClassVar[str]

    plugin: str | None = None  # the plugin it belongs to (set by the studio); None: the skeleton's

    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    def is_off(self) -> bool:
        """Whether its plugin is not loaded now: its events then do nothing (a session opened
        while the plugin was on keeps its tab, and its page must not fail on every event)."""
        if self.plugin is None:
            return False
        found = self.studio.plugins.plugins.get(self.plugin)
        return found is None or found.status is not Status.LOADED

    @abstractmethod
    def layout(self) -> None: ...

    @abstractmethod
    def wire(self) -> None: ...

    def build(self) -> None:
        self.layout()
        self.wire()


def message(exc: BaseException) -> str:
    if isinstance(exc, LifeOSError):
        return exc.message
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'value'}: {first['msg']}"
    return f"{type(exc).__name__}: {exc}"


def guarded(fn: Handler) -> Handler:
    """Event handler wrapper: expected errors become a readable `gr.Error`; anything else is
    logged with its traceback and shown as one line. A plugin page's handler does nothing while
    its plugin is off."""

    def fail(exc: BaseException) -> gr.Error:
        if isinstance(exc, gr.Error):
            return exc
        if not isinstance(exc, LifeOSError | ValidationError):
            log.exception("studio_handler_failed", handler=fn.__qualname__)
        return gr.Error(message(exc), print_exception=False)

    def off(args: tuple[Any, ...]) -> bool:
        return bool(args) and isinstance(args[0], Page) and args[0].is_off()

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen(*args: Any, **kwargs: Any) -> Iterator[Any]:
            if off(args):
                yield gr.skip()  # one skip leaves every output as it is
                return
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - shown to the user, logged above
                raise fail(exc) from None

        return cast(Handler, gen)

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        if off(args):
            return gr.skip()
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - shown to the user, logged above
            raise fail(exc) from None

    return cast(Handler, call)


# ---- helpers more than one page uses -------------------------------------------------------


def selected(items: Sequence[T], evt: gr.SelectData) -> T | None:
    """The item on the row a table's (or a gallery's) select event names, if it is on screen
    (a table cell's index is [row, column])."""
    row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
    if row is None or row >= len(items):
        return None
    return items[row]


def parse_size(value: str) -> tuple[int, int]:
    """`WIDTHxHEIGHT` → (width, height), or a message on screen."""
    try:
        w, h = (int(x) for x in (value or "").lower().split("x"))
    except ValueError:
        raise gr.Error(f"{value!r}: give the size as WIDTHxHEIGHT") from None
    return w, h


def not_json(exc: json.JSONDecodeError) -> str:
    return f"not valid JSON ({exc.msg}, line {exc.lineno})"


def temp_folder(prefix: str) -> Path:
    """A fresh folder for a file the browser downloads."""
    return Path(tempfile.mkdtemp(prefix=prefix))


class Background(Generic[T]):
    """A long call (a Dagster run) on a daemon thread, watched by a streaming handler that
    reports progress while it runs."""

    def __init__(self, target: Callable[[], T]) -> None:
        self.result: T | None = None
        self._thread = threading.Thread(target=self._run, args=(target,), daemon=True)
        self.started = time.monotonic()
        self._thread.start()

    def _run(self, target: Callable[[], T]) -> None:
        self.result = target()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def wait(self, seconds: float) -> None:
        self._thread.join(timeout=seconds)
