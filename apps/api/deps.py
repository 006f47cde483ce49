"""Request-scoped dependencies, as named aliases."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import Depends, Request, UploadFile

from lifeos import metrics
from lifeos.db.engine import session_scope
from lifeos.errors import Forbidden, PayloadTooLarge, Unauthorized
from lifeos.kinds import KindRegistry
from lifeos.security.roles import Role, principal_var
from lifeos.settings import Settings
from lifeos.store import EntityStore

# The role each route needs, declared on the route (`openapi_extra=VIEWER`) and shown in the
# OpenAPI document as `x-role`. A route that declares none is refused to all but admins.
ROLE_KEY = "x-role"
PUBLIC = {ROLE_KEY: "public"}  # health probes, the sign-in
VIEWER = {ROLE_KEY: Role.viewer.value}
EDITOR = {ROLE_KEY: Role.editor.value}
ADMIN = {ROLE_KEY: Role.admin.value}
# Routes that run a model or start generation: an editor's, and counted against the
# generation rate limit (`rate_limit_generation`) besides the API's.
RATE_KEY = "x-rate-limit"
GENERATION = {ROLE_KEY: Role.editor.value, RATE_KEY: "generation"}


def route_role(route: object) -> str:
    return (getattr(route, "openapi_extra", None) or {}).get(ROLE_KEY, Role.admin.value)


def is_generation(request: Request) -> bool:
    """Whether the matched route is marked `GENERATION`."""
    extra = getattr(request.scope.get("route"), "openapi_extra", None) or {}
    return bool(extra.get(RATE_KEY) == "generation")


def generation_limiter(settings: Settings) -> anyio.CapacityLimiter:
    return anyio.CapacityLimiter(max(1, min(settings.generation_slots, settings.api_threads - 1)))


async def generation_slot(request: Request) -> AsyncIterator[None]:
    """Every API route's second dependency: a generation route (a model call, an image batch:
    seconds of work each) waits here, on the event loop, for one of `generation_slots` before
    its body gets a worker thread. Twenty people asking rules questions then hold three
    threads, not all of them, and a list page still finds one free."""
    if not is_generation(request):
        yield
        return
    slots, borrower = request.app.state.generation_slots, object()
    metrics.GENERATION_WAITING.inc()
    try:
        await slots.acquire_on_behalf_of(borrower)
    finally:
        metrics.GENERATION_WAITING.dec()
    metrics.GENERATION_RUNNING.inc()
    try:
        yield
    finally:
        metrics.GENERATION_RUNNING.dec()
        slots.release_on_behalf_of(borrower)


async def authorize(request: Request) -> None:
    """Every API route's check (an app-wide dependency): the principal the security
    middleware found has the role the matched route declares.

    This and the other small dependencies are `async def`: FastAPI runs a plain `def`
    dependency in a worker thread, and three thread hops per request (check, library,
    route) held a detail page on SQLite to 42 % of a bare endpoint's req/s (63-65 % with
    one hop; benchmarks/entities_api.py)."""
    needed = route_role(request.scope.get("route"))
    if needed == "public":
        return
    principal = principal_var.get()
    if principal is None:
        raise Unauthorized("sign in, or send `Authorization: Bearer <token>`")
    if not principal.role.allows(Role(needed)):
        raise Forbidden(
            f"{request.method} {request.url.path} needs the {needed} role; "
            f"{principal.username} is {principal.role.value}"
        )
    rule = request.app.state.settings.rate_limit_generation
    if rule and principal.via != "loopback" and is_generation(request):
        await anyio.to_thread.run_sync(  # the limits may be Redis's: a blocking call
            partial(request.app.state.limiter.hit, what="generations"),
            rule,
            "generation",
            principal.username,
        )


class Library:
    """Opens a store for the length of a `with` block.

    Routes open and close their transaction inside the route function itself, not in a
    `yield` dependency: a yield dependency keeps its DB connection until its teardown gets a
    worker thread back, and under load (more requests than pooled connections) every thread
    ends up waiting for a connection that only a teardown could return.
    """

    def __init__(self, settings: Settings, registry: KindRegistry | None = None) -> None:
        self.settings = settings
        self.database_url = settings.database_url  # computed once: it resolves a path
        self.registry = registry  # the app's plugins' kinds (None: the process's)

    @contextmanager
    def store(self) -> Iterator[EntityStore]:
        with session_scope(self.database_url) as session:
            yield EntityStore(
                session, registry=self.registry, max_entity_bytes=self.settings.max_entity_bytes
            )


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_library(request: Request) -> Library:
    return request.app.state.library


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
LibraryDep = Annotated[Library, Depends(get_library)]


@asynccontextmanager
async def uploaded(file: UploadFile, *, max_bytes: int, what: str) -> AsyncIterator[Path]:
    """An upload as a file (its own name, in a temporary folder removed afterwards), refused
    with 413 past `max_bytes`."""
    data = await file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"{what} up to {max_bytes} bytes")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / safe_filename(file.filename)
        path.write_bytes(data)
        yield path


def safe_filename(name: str | None) -> str:
    """An upload's name as a plain file name in our folder: no folders (`../`), no control
    characters or NULs, not `.` or `..`, at most 200 characters; what is checked is the
    content, never the name."""
    base = "".join(c for c in Path((name or "").replace("\\", "/")).name if c.isprintable())
    base = base.strip().lstrip(".")[-200:]
    return base or "upload"
