"""The studio: one Gradio Blocks app with a tab per page, mounted into the API app at /studio.

A domain's pages come from its plugin's `register_pages` hook (`plugins/<domain>/studio/`): a
`Page` subclass with its `id`, `title`, `layout` and `wire` (see `apps/studio/base.py`). The
skeleton's own pages (Library, Models, Activity, Plugins) are in `apps/studio/pages/`. A
plugin's tabs are shown to each new session only while the plugin is loaded.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from apps.studio.base import Page, Studio
from apps.studio.pages import (
    account,
    activity,
    backups,
    library,
    models,
    pipelines,
    plugins,
    workflows,
)
from lifeos.logging import get_logger
from lifeos.plugins import PluginHost, Status, get_plugins
from lifeos.settings import Settings

# The skeleton's own pages: the Library first, the domains' pages (the plugins') after it, then
# these.
LIBRARY: tuple[type[Page], ...] = (library.LibraryPage,)
PAGES: tuple[type[Page], ...] = (
    workflows.WorkflowsPage,
    pipelines.PipelinesPage,
    models.ModelsPage,
    activity.ActivityPage,
    backups.BackupsPage,
    plugins.PluginsPage,
    account.AccountPage,
)
STUDIO_PATH = "/studio"
ASSETS_PATH = "/assets/studio"
ASSETS_DIR = Path(__file__).parent / "static"
log = get_logger(__name__)

CSS = """
.field-error p { color: var(--error-text-color, #b91c1c); margin: -6px 0 6px 0; }
.field-invalid { border-color: var(--error-border-color, #ef4444) !important; }
"""


# Every call the studio's page makes carries the session's CSRF token (static/csrf.js).
CSRF_HEAD = f'<script src="{ASSETS_PATH}/csrf.js"></script>'


class StudioBlocks(gr.Blocks):
    """The studio's Blocks: each event runs as the account whose page sent it (the principal
    the security middleware found for the request), so what it writes names them and what
    their role does not allow is refused (`lifeos.security.roles.require`)."""

    async def process_api(  # type: ignore[override]
        self, block_fn: Any, inputs: Any, state: Any = None, request: Any = None, **kw: Any
    ) -> Any:
        from apps.api.security import principal_of
        from lifeos.errors import Unauthorized
        from lifeos.security.roles import acting_as

        first = request[0] if isinstance(request, list) else request
        starlette = getattr(first, "request", None)
        principal = principal_of(starlette) if starlette is not None else None
        if principal is None and starlette is not None:
            raise Unauthorized("sign in again")  # the middleware lets no request through without
        with acting_as(principal):
            return await super().process_api(block_fn, inputs, state, request, **kw)


def build_studio(settings: Settings, host: PluginHost | None = None) -> gr.Blocks:
    studio = Studio(settings, host or get_plugins())
    with StudioBlocks(title="Life-OS Workbench", analytics_enabled=False) as blocks:
        with gr.Row():
            gr.Markdown("## Life-OS Workbench")
            gr.Markdown(
                f"[API docs](/docs) · [Dagster]({settings.dagster_ui_url})", elem_id="studio-links"
            )
        with gr.Tabs():
            _tabs(studio, LIBRARY)
            plugin_tabs = _plugin_tabs(studio)
            _tabs(studio, PAGES)
        # Each session sees the pages of the plugins loaded when it opens.
        for owner, parts in plugin_tabs.items():
            blocks.load(functools.partial(_shown, studio, owner, len(parts) // 2), None, parts)
    # Long work (model calls, ingestion) queues instead of piling up; each event's own
    # concurrency limit is set where it is declared.
    blocks.queue(default_concurrency_limit=settings.studio_concurrency, max_size=64)
    return blocks


def _tabs(studio: Studio, pages: tuple[type[Page], ...]) -> None:
    for page in pages:
        with gr.Tab(page.title, id=page.id, elem_id=f"tab-{page.id}"):
            page(studio).build()  # its layout, then its wiring


def _shown(studio: Studio, plugin: str, pages: int) -> tuple[Any, ...]:
    """A plugin page's parts for a new session: its content while the plugin is loaded, else
    a note saying why not (Gradio 6 does not hide a tab's label from an event)."""
    info = studio.plugins.get(plugin)
    loaded = info.status is Status.LOADED
    note = "" if loaded else f"⚠ This page belongs to the plugin **{plugin}**, which is "
    if not loaded:
        note += f"{info.status.value} ({info.reason}). Turn it on in the Plugins tab."
    return (gr.Markdown(note, visible=not loaded), gr.Column(visible=loaded)) * pages


def _plugin_tabs(studio: Studio) -> dict[str, list[Any]]:
    """A tab per page of every plugin, loaded now or not (turned on later, a new session shows
    it): for each plugin, its pages' note and content."""
    parts: dict[str, list[Any]] = {}
    built: set[str] = set()
    for owner in list(studio.plugins.plugins):
        for page in studio.plugins.pages_of(owner):
            if page.id in built:
                continue
            built.add(page.id)
            with gr.Tab(page.title, id=page.id, elem_id=f"tab-{page.id}"):
                note = gr.Markdown(visible=False, elem_id=f"plugin-off-{page.id}")
                with gr.Column() as body:
                    try:
                        built_page = page(studio)
                        built_page.plugin = owner
                        built_page.build()
                    except Exception:  # noqa: BLE001 - one page must not take the studio down
                        if studio.plugins.get(owner).status is Status.LOADED:
                            raise
                        log.warning("plugin_page_not_built", plugin=owner, page=page.id)
                        gr.Markdown(f"Restart the studio to use **{page.title}**.")
            parts.setdefault(owner, []).extend([note, body])
    return parts


def mount_studio(app: FastAPI, settings: Settings) -> FastAPI:
    # The studio's own scripts and styles (the workflow builder's bundle, built from
    # apps/studio/builder with npm and kept in the repository).
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="studio-assets")
    return gr.mount_gradio_app(
        app,
        build_studio(settings, app.state.plugins),
        path=STUDIO_PATH,
        head=CSRF_HEAD,
        footer_links=[],
        ssr_mode=False,
        show_error=True,
        css=CSS,
        max_file_size=settings.rulebook_max_bytes,
        mcp_server=False,
    )
