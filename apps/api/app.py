"""The API application factory. `uvicorn apps.api.app:create_app --factory`."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from apps.api.deps import Library, authorize, generation_limiter, generation_slot
from apps.api.errors import install_error_handlers
from apps.api.middleware import BodySizeLimitMiddleware, MetricsMiddleware, RequestIdMiddleware
from apps.api.plugin_routes import PluginRoutes
from apps.api.routes import (
    auth,
    backups,
    entities,
    health,
    library,
    models,
    workflows,
)
from apps.api.routes import (
    metrics as metrics_api,
)
from apps.api.routes import (
    pipelines as pipelines_api,
)
from apps.api.routes import (
    plugins as plugin_api,
)
from lifeos import __version__
from lifeos.db.engine import get_engine
from lifeos.plugins import PluginHost, get_plugins
from lifeos.plugins.watch import watching
from lifeos.settings import Settings, get_settings
from pipelines.runs import reload_code_location

API_PREFIX = "/api/v1"


def create_app(
    settings: Settings | None = None, *, studio: bool = True, plugins: PluginHost | None = None
) -> FastAPI:
    settings = settings or get_settings()
    from apps.api.security import SecurityMiddleware, check_can_serve, limiter_for

    check_can_serve(settings)
    settings.register_secrets()
    from lifeos import tracing

    tracing.from_settings(settings)
    host = plugins or get_plugins()  # found and loaded now, not in the first requests

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Blocking routes run in this many threads; the DB pool is at least as large.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        get_engine(settings.database_url)
        if settings.preload_models:
            _app.state.preloaded = {}
            _app.state.preloading = threading.Thread(
                target=lambda: _app.state.preloaded.update(preload(settings)),
                name="preload-models",
                daemon=True,
            )
            _app.state.preloading.start()
        # A plugin that comes or goes changes the Dagster code location: the UI reloads it.
        host.on_change(
            lambda _name: threading.Thread(
                target=reload_code_location, args=(settings,), daemon=True
            ).start()
        )
        with watching(host, settings):
            yield

    app = FastAPI(
        lifespan=lifespan,
        title="Life-OS Workbench API",
        version=__version__,
        description="The entity library and AI tools of Life-OS Workbench.",
        docs_url="/docs",
        openapi_url=f"{API_PREFIX}/openapi.json",
        # every route's declared role (`x-role`), for the principal the middleware found
        dependencies=[Depends(authorize), Depends(generation_slot)],
    )
    app.state.settings = settings
    app.state.limiter = limiter_for(settings)
    app.state.generation_slots = generation_limiter(settings)
    app.state.library = Library(settings, host.kinds)
    app.state.plugins = host
    app.include_router(health.router)
    app.include_router(metrics_api.router)
    app.include_router(auth.router)
    app.include_router(auth.users, prefix=API_PREFIX)
    app.include_router(entities.router, prefix=API_PREFIX)
    app.include_router(library.router, prefix=API_PREFIX)
    app.include_router(backups.router, prefix=API_PREFIX)
    app.include_router(models.router, prefix=API_PREFIX)
    app.include_router(plugin_api.router, prefix=API_PREFIX)
    app.include_router(workflows.router, prefix=API_PREFIX)
    app.include_router(pipelines_api.router, prefix=API_PREFIX)
    app.state.plugin_routes = PluginRoutes(app, host, API_PREFIX)
    install_error_handlers(app)
    # Added last = outermost: every response, errors included, carries the request id.
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        overrides={
            f"{API_PREFIX}/import": settings.max_import_bytes,
            f"{API_PREFIX}/images/import": 50_000_000,  # the images plugin's MAX_PNG_BYTES
            f"{API_PREFIX}/games/*/rulebook": settings.rulebook_max_bytes,
            f"{API_PREFIX}/cards": 20_000_000,
            f"{API_PREFIX}/analyze": 61_000_000,
            # studio uploads (rulebooks, images); Gradio checks the
            # per-file limit itself and says so in the page
            "/studio/gradio_api/upload": settings.rulebook_max_bytes + 1_000_000,
        },
    )
    # Who is asking (token, session or the local owner), CSRF and origin checks, headers.
    app.add_middleware(SecurityMiddleware, settings=settings, limiter=app.state.limiter)
    if settings.cors_origins:  # outside the checks: a preflight carries no credentials
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["authorization", "content-type", "x-csrf-token", "x-request-id"],
        )
    app.add_middleware(RequestIdMiddleware)
    if settings.metrics:  # outermost: every answer, errors included
        app.add_middleware(MetricsMiddleware, api_prefix=API_PREFIX)
    if settings.studio and studio:
        from apps.studio.app import mount_studio  # Gradio is heavy: only when served

        app = mount_studio(app, settings)
    return app


def preload(settings: Settings) -> dict[str, float]:
    """Load the `preload_models` aliases (in a background thread as the API starts), so a
    player's first question waits for its answer, not for a model to load; then open the
    library's vector index (importing LanceDB alone takes ~1 s). A model that cannot load is
    logged and left to fail, or fall back, when it is used. Returns the seconds each part took
    (what loaded: `app.state.preloaded`)."""
    import time

    from lifeos.errors import LifeOSError
    from lifeos.llm.router import get_router
    from lifeos.logging import get_logger
    from lifeos.vectors import VectorStore

    log = get_logger(__name__)
    router = get_router(settings.database_url)
    done: dict[str, float] = {}
    for alias in settings.preload_models:
        try:
            done[alias] = round(router.warm(alias), 2)
        except LifeOSError as exc:
            log.warning("model_preload_failed", alias=alias, error=exc.message)
            continue
        log.info("model_preloaded", alias=alias, seconds=done[alias])
    started = time.perf_counter()
    VectorStore(settings.lancedb_dir)
    done["vector index"] = round(time.perf_counter() - started, 2)
    return done
