"""One settings object for the whole product, read from `LIFEOS_*` variables and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, computed_field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LIFEOS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    home: Path = Field(Path(".lifeos"), description="SQLite DB, LanceDB, blobs and Dagster home")
    database_url_override: str | None = Field(
        None,
        validation_alias="LIFEOS_DATABASE_URL",
        description="SQLAlchemy URL; SQLite inside `home` when unset",
    )

    config_dir: Path = Field(
        Path(__file__).resolve().parents[1] / "configs",
        description="models.yaml, prices.yaml and tools/*.yaml",
    )

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_workers: int = Field(2, ge=1, le=32, description="API server processes (`lifeos up`)")
    api_threads: int = Field(8, ge=1, le=200, description="worker threads for blocking routes")
    generation_slots: int = Field(
        3,
        ge=1,
        le=100,
        description="generation requests (model calls, image batches) that hold a worker "
        "thread at once per API process; the rest wait for a slot without one, so slow "
        "generations never take every thread from the cheap routes (at most api_threads - 1)",
    )
    dagster_host: str = "127.0.0.1"
    dagster_port: int = 3000
    dagster_ui_url_override: str | None = Field(None, validation_alias="LIFEOS_DAGSTER_UI_URL")
    background_nice: int = Field(
        10,
        ge=0,
        le=19,
        description=(
            "niceness of the Dagster daemon and the runs it launches (`lifeos up`): ingestions, "
            "image batches and stories yield the CPU to the studio's questions and edits; 0: an "
            "equal share"
        ),
    )

    studio: bool = Field(True, description="serve the Gradio studio at /studio with the API")
    auth: Literal["auto", "required"] = Field(
        "auto",
        description="auto: on 127.0.0.1 the local owner needs no sign-in, anywhere else every "
        "request is signed in (and the server needs an admin account to start); required: "
        "sign-in everywhere (e.g. behind a reverse proxy on this machine)",
    )
    session_idle_hours: float = Field(24, gt=0, le=24 * 90, description="a session ends unused")
    session_max_days: float = Field(30, gt=0, le=365, description="a session ends regardless")
    rate_limit_storage: str = Field(
        "memory://",
        description="where rate limits count: memory:// (one process) or redis://host:6379/0 "
        "(every API worker shares them)",
    )
    login_limit_ip: str = Field("30/minute", description="sign-in attempts per IP address")
    rate_limit_user: str = Field(
        "100/minute", description="API calls per signed-in account (empty: no limit)"
    )
    rate_limit_ip: str = Field(
        "1000/hour", description="API calls per IP address while sign-in is required"
    )
    rate_limit_generation: str = Field(
        "10/minute", description="model runs and generations per signed-in account"
    )
    login_limit_account: str = Field(
        "5 per 15 minutes; 20 per day", description="failed sign-ins per account, then locked"
    )
    metrics: bool = Field(True, description="count requests for /metrics (and trace them)")
    traces: Literal["off", "console", "file", "otlp"] = Field(
        "off", description="where OpenTelemetry traces go; off: nowhere, no network"
    )
    otlp_endpoint: str = Field("", description="OTLP/HTTP traces endpoint (traces=otlp)")
    traces_file: str = Field("", description="JSON lines file for traces=file")
    traces_sample: float = Field(
        0.1,
        ge=0,
        le=1,
        description="the share of read requests (GET/HEAD) traced; writes, model calls and "
        "Dagster runs always are (1: every request)",
    )
    backup_target: str = Field(
        "",
        description="where backup sets go: a folder or an fsspec URL (s3://bucket/prefix); "
        "`home/backups` when unset (the same disk: set another for a real backup)",
    )
    backup_passphrase: SecretStr | None = Field(
        None, description="encrypts backups (the key is kept in the target under it)"
    )
    backup_key_file: Path | None = Field(
        None, description="an age identity file (`lifeos backup keygen`) that encrypts backups"
    )
    backup_replicate: bool = Field(
        True,
        description="on SQLite, `lifeos up` replicates the library with Litestream into the "
        "backup target (point-in-time restores)",
    )
    backup_restore_root: Path | None = Field(
        None,
        description="the API and the studio restore only into folders inside this one "
        "(default: the folder that holds the home); the CLI restores anywhere",
    )
    backup_keep_full: int = Field(30, ge=1, description="full backup sets kept by prune")
    backup_keep_incremental_days: float = Field(
        7, gt=0, description="days incremental backup sets are kept by prune"
    )
    min_free_disk_mb: int = Field(
        500, ge=0, description="/health/ready fails below this much free disk in the home"
    )
    cors_origins: list[str] = Field(
        [], description="origins (https://host:port) whose pages may call the API; none by default"
    )
    studio_concurrency: int = Field(2, ge=1, le=32, description="studio events run at once")
    preload_models: list[str] = Field(
        ["embed", "default"],
        description="model aliases the API loads in the background as it "
        "starts, so a first question does not wait for a model to load (local models only; "
        "[] loads each on first use)",
    )

    image_backend: str = Field("diffusers", pattern="^(diffusers|a1111)$")
    image_model: str = Field(
        "",
        description="diffusers folder, .safetensors checkpoint or hub "
        "id; empty: the built-in random test model",
    )
    image_device: str = "auto"
    a1111_url: str = "http://127.0.0.1:7860"
    image_max_batch: int = Field(64, ge=1, le=1000, description="most images in one batch")
    image_cost_usd: float = Field(
        0.0, ge=0, description="what one image costs (a paid GPU server); local generation is free"
    )

    bgg_token: SecretStr | None = Field(None, description="BoardGameGeek application token")
    bgg_url: str = "https://boardgamegeek.com/xmlapi2"
    bgg_min_interval_s: float = Field(1.0, ge=0, description="seconds between BGG requests")

    load_plugins: bool = Field(
        True, description="load installed and folder plugins; false: the built-ins only"
    )
    strict_plugins: bool = Field(
        False, description="any plugin failure stops the app (for plugin development)"
    )
    reload_plugins: bool = Field(
        False, description="reload a folder plugin when its files change (development)"
    )

    executor: Literal["in_process", "celery"] = Field(
        "in_process",
        description="where the steps of daemon-launched runs execute: in the run's process, "
        "or on Celery workers (`lifeos workers`, `lifeos up --workers N`)",
    )
    celery_broker_url: str = Field(
        "redis://127.0.0.1:6379/0", description="the Celery broker the runs and workers share"
    )
    celery_backend_url: str = Field("redis://127.0.0.1:6379/1", description="Celery results")

    automate: list[str] = Field(
        [],
        description="assets the Dagster daemon re-materializes by itself when their code "
        "version changes (a model, a prompt, the code that makes them), e.g. "
        '["rulebook_index"]: every rulebook re-embedded when the embedder changes',
    )

    log_level: str = "INFO"
    log_json: bool | None = Field(None, description="JSON logs; default: JSON unless a TTY")

    max_request_bytes: int = Field(2_000_000, description="largest accepted request body")
    max_entity_bytes: int = Field(256_000, description="largest `data` of one entity, as JSON")
    max_import_bytes: int = Field(512_000_000, description="largest library export accepted")
    rulebook_max_bytes: int = Field(100_000_000, description="largest rulebook PDF accepted")
    rulebook_max_pages: int = Field(500, description="most pages of a rulebook PDF")
    rulebook_layout_artifacts: Path | None = Field(
        None, description="Docling layout-model folder; when set, its full pipeline extracts"
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def database_url(self) -> str:
        if self.database_url_override:
            return self.database_url_override
        return f"sqlite:///{self.home.resolve() / 'lifeos.db'}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def dagster_home(self) -> Path:
        return self.home.resolve() / "dagster"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def dagster_ui_url(self) -> str:
        return self.dagster_ui_url_override or f"http://{self.dagster_host}:{self.dagster_port}"

    @property
    def inbox_dir(self) -> Path:
        return self.home.resolve() / "inbox"

    @property
    def blobs_dir(self) -> Path:
        return self.home.resolve() / "blobs"

    def blob_path(self, sha256: str, suffix: str) -> Path:
        """Where a stored file lives: by content hash, fanned out by its first two digits."""
        return self.blobs_dir / sha256[:2] / f"{sha256}{suffix}"

    @property
    def plugins_dir(self) -> Path:
        """Folder plugins, one folder each, and what the user chose for them (state.json)."""
        return self.home.resolve() / "plugins"

    @property
    def logs_dir(self) -> Path:
        return self.home.resolve() / "logs"

    @property
    def lancedb_dir(self) -> Path:
        return self.home.resolve() / "lancedb"

    @property
    def exports_dir(self) -> Path:
        return self.home.resolve() / "exports"

    def register_secrets(self) -> None:
        """The configured secrets, hidden from every log line (`lifeos.logging`)."""
        from lifeos.logging import register_secret

        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                register_secret(value.get_secret_value())

    @property
    def sign_in_required(self) -> bool:
        """Off loopback (or with auth=required) every request names an account."""
        return self.auth == "required" or not is_loopback(self.api_host)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=64)  # asked on every request (`sign_in_required`)
def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@lru_cache
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    """Forget the cached settings (tests and `lifeos` commands that change the environment)."""
    get_settings.cache_clear()
