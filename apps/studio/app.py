"""The studio: one Gradio Blocks app with a tab per page, mounted into the API app at /studio.

Adding a page: write `apps/studio/pages/<name>.py` with a `Page` subclass (its `id`, `title`,
`layout` and `wire`; see `apps/studio/base.py`), and add the class to `PAGES` below.
"""

from __future__ import annotations

import gradio as gr
from fastapi import FastAPI

from apps.studio.base import Page, Studio
from apps.studio.pages import activity, analyze, ask, generate, library, models, schedules, stories
from lifeos.errors import StudioAuthMissing
from lifeos.settings import Settings, is_loopback

PAGES: tuple[type[Page], ...] = (
    library.LibraryPage,
    ask.AskPage,
    generate.GeneratePage,
    analyze.AnalyzePage,
    stories.StoriesPage,
    schedules.SchedulesPage,
    models.ModelsPage,
    activity.ActivityPage,
)
STUDIO_PATH = "/studio"

CSS = """
.field-error p { color: var(--error-text-color, #b91c1c); margin: -6px 0 6px 0; }
.field-invalid { border-color: var(--error-border-color, #ef4444) !important; }
"""


def studio_auth(settings: Settings) -> tuple[str, str] | None:
    """No login on 127.0.0.1; anywhere else a password is required (LIFEOS_STUDIO_PASSWORD)."""
    if is_loopback(settings.api_host):
        return None
    if not settings.studio_password:
        raise StudioAuthMissing(
            f"the studio is bound to {settings.api_host}, reachable from other machines: set "
            "LIFEOS_STUDIO_PASSWORD (and optionally LIFEOS_STUDIO_USER) or bind to 127.0.0.1"
        )
    return settings.studio_user, settings.studio_password.get_secret_value()


def build_studio(settings: Settings) -> gr.Blocks:
    studio = Studio(settings)
    with gr.Blocks(title="Life-OS Workbench", analytics_enabled=False) as blocks:
        with gr.Row():
            gr.Markdown("## Life-OS Workbench")
            gr.Markdown(
                f"[API docs](/docs) · [Dagster]({settings.dagster_ui_url})", elem_id="studio-links"
            )
        with gr.Tabs():
            for page in PAGES:
                with gr.Tab(page.title, id=page.id, elem_id=f"tab-{page.id}"):
                    page(studio).build()  # its layout, then its wiring
    # Long work (model calls, ingestion) queues instead of piling up; each event's own
    # concurrency limit is set where it is declared.
    blocks.queue(default_concurrency_limit=settings.studio_concurrency, max_size=64)
    return blocks


def mount_studio(app: FastAPI, settings: Settings) -> FastAPI:
    auth = studio_auth(settings)
    return gr.mount_gradio_app(
        app,
        build_studio(settings),
        path=STUDIO_PATH,
        auth=auth,
        auth_message="Life-OS Workbench: sign in with the studio password." if auth else None,
        footer_links=[],
        ssr_mode=False,
        show_error=True,
        css=CSS,
        max_file_size=settings.rulebook_max_bytes,
        mcp_server=False,
    )
