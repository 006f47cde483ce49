"""The one error hierarchy. The API maps it to problem JSON, the CLI to a one-line message.

Each error carries a stable machine `code`, a human `message` and optional `details`
(for validation errors: a list of `{"loc": [...], "msg": ...}` items).
"""

from __future__ import annotations

from typing import Any


class LifeOSError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class BadRequest(LifeOSError):
    """The request itself is wrong: an unknown sort field, a limit out of range..."""

    code = "bad_request"
    http_status = 400


class ValidationFailed(LifeOSError):
    """Entity data does not satisfy its kind's schema."""

    code = "validation_failed"
    http_status = 422

    @classmethod
    def from_pydantic(cls, exc: Any, *, prefix: tuple[str | int, ...] = ()) -> ValidationFailed:
        details = [
            {"loc": [*prefix, *err["loc"]], "msg": err["msg"], "type": err["type"]}
            for err in exc.errors(include_url=False, include_input=False)
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid"}
        where = ".".join(str(p) for p in first["loc"]) or "value"
        more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
        return cls(f"{where}: {first['msg']}{more}", details=details)


class NotFound(LifeOSError):
    code = "not_found"
    http_status = 404


class UnknownKind(NotFound):
    code = "unknown_kind"


class Conflict(LifeOSError):
    """The request collides with the current state: a stale revision, deleting twice..."""

    code = "conflict"
    http_status = 409


class Unauthorized(LifeOSError):
    """No valid credentials: sign in, or send a token."""

    code = "unauthorized"
    http_status = 401


class Forbidden(LifeOSError):
    """Signed in, but the role does not allow it (or a CSRF/origin check failed)."""

    code = "forbidden"
    http_status = 403


class TooManyRequests(LifeOSError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int, details: object = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class PayloadTooLarge(LifeOSError):
    code = "payload_too_large"
    http_status = 413


class BackupError(LifeOSError):
    """A backup or export file cannot be read or restored; the library is left unchanged."""

    code = "backup_invalid"
    http_status = 400


class ServiceUnavailable(LifeOSError):
    code = "unavailable"
    http_status = 503


# Model providers and the router


class ProviderError(LifeOSError):
    """A provider could not answer. `transient` errors are retried, then fall back."""

    code = "provider_error"
    http_status = 502
    transient = False


class ProviderUnavailable(ProviderError):
    """The server is down or unreachable (connection refused, DNS, timeout)."""

    code = "provider_unavailable"
    http_status = 503
    transient = True


class TransientProviderError(ProviderError):
    """Busy or failing for now: HTTP 429 or 5xx."""

    code = "provider_busy"
    http_status = 503
    transient = True


class ModelNotAvailable(ProviderError):
    """The model is not installed / not known to the provider. Falls back, never retried."""

    code = "model_not_available"
    http_status = 404


class CapabilityError(ProviderError):
    """The model cannot do this (e.g. read images)."""

    code = "model_capability"
    http_status = 400


class ConfigError(LifeOSError):
    code = "config_invalid"
    http_status = 500


class UnknownModel(BadRequest):
    code = "unknown_model"


class InvalidModelOutput(LifeOSError):
    code = "invalid_model_output"
    http_status = 502


class BudgetExceeded(LifeOSError):
    code = "budget_exceeded"
    http_status = 402


class AllModelsFailed(LifeOSError):
    code = "all_models_failed"
    http_status = 503


# Rulebooks


class RulebookError(LifeOSError):
    """A file that cannot be ingested as a rulebook; the message says why."""

    code = "rulebook_invalid"
    http_status = 422


# Images


class GenerationCancelled(LifeOSError):
    code = "cancelled"
    http_status = 409


class ImageModelError(LifeOSError):
    code = "image_model_error"
    http_status = 400


# BoardGameGeek


class BGGError(LifeOSError):
    code = "bgg_error"
    http_status = 502


class BGGTokenMissing(LifeOSError):
    code = "bgg_token_missing"
    http_status = 503


# Accounts


class NoAdminAccount(LifeOSError):
    """Reachable from other machines with nobody who may sign in."""

    code = "no_admin_account"


# Plugins


class PluginError(LifeOSError):
    """A plugin that cannot be read, loaded, unloaded or reloaded; the message says why. The
    plugin is quarantined, the rest of the app goes on."""

    code = "plugin_error"
    http_status = 409


class PluginNotFound(NotFound):
    code = "plugin_not_found"
