"""The plugins' API routes, mounted under /api/v1 as each plugin loads and taken off as it
unloads, while the server runs."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute

from lifeos.plugins import PluginHost


class PluginRoutes:
    def __init__(self, app: FastAPI, host: PluginHost, prefix: str) -> None:
        self.app, self.host, self.prefix = app, host, prefix
        self.mounted: dict[str, list[BaseRoute]] = {}
        for name in list(host.plugins):
            self.sync(name)
        host.on_change(self.sync)

    def sync(self, plugin: str) -> None:
        """Make the app's routes of `plugin` what its registrations are now."""
        routes = self.app.router.routes
        for route in self.mounted.pop(plugin, []):
            if route in routes:
                routes.remove(route)
        routers = [
            r
            for key, r in self.host.registries.routers.items()
            if key.split(":", 1)[0] == plugin and isinstance(r, APIRouter)
        ]
        before = list(routes)
        for r in routers:
            self.app.include_router(r, prefix=self.prefix)
        self.mounted[plugin] = [r for r in routes if r not in before]
        self.app.openapi_schema = None  # /openapi.json shows the routes there are now
