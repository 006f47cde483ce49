"""`/api/v1/plugins`: what is installed, its health, and turning plugins off, on and reloading
them while the server runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from apps.api.deps import ADMIN, VIEWER
from lifeos.plugins import PluginHost

router = APIRouter(prefix="/plugins", tags=["plugins"])


def _host(request: Request) -> PluginHost:
    host: PluginHost = request.app.state.plugins
    return host


@router.get("", openapi_extra=VIEWER)
def list_plugins(request: Request) -> list[dict[str, Any]]:
    """Every plugin found, loaded or not, with what it provides and why it is off."""
    return _host(request).overview()


@router.get("/{name}", openapi_extra=VIEWER)
def plugin_info(name: str, request: Request) -> dict[str, Any]:
    """One plugin, with its health (its own check, or why it does not run)."""
    return _host(request).info(name)


@router.post("/{name}/enable", openapi_extra=ADMIN)
def enable_plugin(name: str, request: Request) -> dict[str, Any]:
    """Turn it on and load it now; a quarantined plugin is tried again."""
    return _host(request).enable(name)


@router.post("/{name}/disable", openapi_extra=ADMIN)
def disable_plugin(name: str, request: Request) -> dict[str, Any]:
    """Unload it and keep it off; its entities stay in the library."""
    return _host(request).disable(name)


@router.post("/{name}/reload", openapi_extra=ADMIN)
def reload_plugin(name: str, request: Request) -> dict[str, Any]:
    """Load its code again; if the new code fails, the running version stays (409)."""
    return _host(request).reload(name)


@router.get("/{name}/settings", openapi_extra=VIEWER)
def get_plugin_settings(name: str, request: Request) -> dict[str, Any]:
    """Its settings: their JSON schema and the values in use."""
    return _host(request).settings_info(name)


@router.put("/{name}/settings", openapi_extra=ADMIN)
def put_plugin_settings(
    name: str, values: Annotated[dict[str, Any], Body()], request: Request
) -> dict[str, Any]:
    """Change some of its settings; invalid values change nothing (422 names the field)."""
    return _host(request).set_settings(name, values)
