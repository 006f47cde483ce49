"""What every studio page shares: the `Studio` services handle, the page interface, and the
guard that turns errors into messages on screen (never a stack trace)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gradio as gr
import structlog
from pydantic import ValidationError

from lifeos.db.engine import session_scope
from lifeos.errors import LifeOSError
from lifeos.settings import Settings
from lifeos.store import EntityStore

if TYPE_CHECKING:
    from tools.rulebooks.service import Rulebooks
    from tools.rules_qa import RulesQA

log = structlog.get_logger("lifeos.studio")


@dataclass
class Studio:
    """The services pages call: the same ones the API and the CLI use."""

    settings: Settings
    _rules: tuple[Rulebooks, RulesQA] | None = field(default=None, repr=False)

    @contextmanager
    def store(self) -> Iterator[EntityStore]:
        with session_scope(self.settings.database_url) as session:
            yield EntityStore(session, max_entity_bytes=self.settings.max_entity_bytes)

    def rules(self) -> tuple[Rulebooks, RulesQA]:
        if self._rules is None:  # heavy imports (models, LanceDB): on first use only
            from tools.rules_qa import rules_services

            self._rules = rules_services(self.settings)
        return self._rules

    def dagster_run_url(self, run_id: str) -> str:
        return f"{self.settings.dagster_ui_url}/runs/{run_id}"


@dataclass(frozen=True)
class StudioPage:
    """A tab of the studio. `build` creates its components inside the tab."""

    id: str
    title: str
    build: Callable[[Studio], None]


def message(exc: BaseException) -> str:
    if isinstance(exc, LifeOSError):
        return exc.message
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'value'}: {first['msg']}"
    return f"{type(exc).__name__}: {exc}"


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Event handler wrapper: expected errors become a readable `gr.Error`; anything else is
    logged with its traceback and shown as one line."""

    def fail(exc: BaseException) -> gr.Error:
        if isinstance(exc, gr.Error):
            return exc
        if not isinstance(exc, LifeOSError | ValidationError):
            log.exception("studio_handler_failed", handler=fn.__qualname__)
        return gr.Error(message(exc), print_exception=False)

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - shown to the user, logged above
                raise fail(exc) from None
        return gen

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - shown to the user, logged above
            raise fail(exc) from None
    return call
