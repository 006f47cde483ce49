"""What the pipelines read from outside Dagster, as external assets with observed versions:
the library's entities, the tool configs (prompts), the models (their files' sha256 or
package versions) and each stored rulebook file. One sensor observes them; a changed config
or model is a new observed version, so what was made from the old one shows as stale in the
Dagster UI.

`code_version`s come from the same place (`model_version`, `config_version`): an asset that
uses a model or a prompt carries its version, and changing one marks exactly the assets (and
partitions) made with it as changed."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa

from lifeos.db.engine import session_scope
from lifeos.db.models import Entity
from lifeos.settings import Settings
from resources.workbench import WorkbenchResource

GROUP = "sources"
LIBRARY = dg.AssetKey("library_entities")
TOOL_CONFIGS = dg.AssetKey("tool_configs")
MODELS = dg.AssetKey("models")
DATA_VERSION = "dagster/data_version"  # the tag Dagster reads an event's data version from

# Kinds the pipelines make rather than people: a new picture or story must not make every
# image batch and story "stale" (they would be stale by their own output).
MADE_BY_RUNS = frozenset({"image", "story", "story_scene", "qa", "proposal"})
library_entities = dg.AssetSpec(
    LIBRARY,
    group_name=GROUP,
    kinds={"sql"},
    description="The library's entities that people write (characters, looks, styles, games, "
    "workflows...; not the pictures, stories and answers runs make): its version changes "
    "with any edit of one.",
)
tool_configs = dg.AssetSpec(
    TOOL_CONFIGS,
    group_name=GROUP,
    kinds={"yaml"},
    description="The AI tools' configs (configs/tools/*.yaml: models, prompts, schemas).",
)
models = dg.AssetSpec(
    MODELS,
    group_name=GROUP,
    kinds={"gguf"},
    description="The model each alias names (configs/models.yaml), versioned by its file's "
    "sha256 (local GGUF), its package's version (local embedders) or its name (servers).",
)
SOURCES = [library_entities, tool_configs, models]


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def config_version(settings: Settings, *tools: str) -> str:
    """The version of some tools' configs (all of them when none is named)."""
    folder = Path(settings.config_dir) / "tools"
    files = sorted(folder.glob("*.yaml")) if not tools else [folder / f"{t}.yaml" for t in tools]
    return digest({f.name: f.read_text(encoding="utf-8") for f in files if f.is_file()})


def _model_id(ref: str) -> str:
    """What identifies a model's weights: a local GGUF's sha256, a local embedder's package
    version, else the name a server knows it by."""
    provider, _, name = ref.partition("/")
    if provider != "local":
        return ref
    from lifeos.llm.providers.local import CHAT_MODELS, EMBEDDING_MODELS

    if name in CHAT_MODELS:
        return f"{ref}@sha256:{CHAT_MODELS[name].sha256[:16]}"
    if name in EMBEDDING_MODELS:
        dist = EMBEDDING_MODELS[name].packages.split("==")[0]
        try:
            return f"{ref}@{dist}=={importlib.metadata.version(dist)}"
        except importlib.metadata.PackageNotFoundError:
            return f"{ref}@not-installed"
    return ref


def model_versions(settings: Settings) -> dict[str, str]:
    """Each alias → the identity of the model (and fallbacks) it names."""
    from lifeos.llm.config import ModelsConfig, load_yaml_model

    config = load_yaml_model(Path(settings.config_dir) / "models.yaml", ModelsConfig)
    return {
        name: ",".join(_model_id(ref) for ref in (alias.model, *alias.fallbacks))
        for name, alias in sorted(config.all_aliases().items())
    }


def model_version(settings: Settings, *aliases: str) -> str:
    versions = model_versions(settings)
    return digest({a: versions.get(a, "") for a in aliases})


def library_version(url: str) -> tuple[str, dict[str, int]]:
    """A version that changes with any entity people write (created, edited, deleted), and
    the live count per kind."""
    with session_scope(url) as session:
        rows = session.execute(
            sa.select(
                Entity.kind,
                sa.func.count(),
                sa.func.max(Entity.updated_at),
                sa.func.sum(Entity.revision),
                sa.func.count(Entity.deleted_at),
            )
            .where(Entity.kind.not_in(MADE_BY_RUNS))
            .group_by(Entity.kind)
        ).all()
    counts = {kind: int(n) - int(deleted or 0) for kind, n, _, _, deleted in rows}
    return digest([list(r) for r in sorted(rows, key=lambda r: r[0])]), counts


def observations(settings: Settings) -> list[dg.AssetMaterialization]:
    """The current version of each source, as the materializations of external assets
    (what Dagster compares a downstream asset's recorded input versions with)."""
    version, counts = library_version(settings.database_url)
    return [
        dg.AssetMaterialization(
            LIBRARY,
            metadata={"entities": sum(counts.values()), "per_kind": dg.MetadataValue.json(counts)},
            tags={DATA_VERSION: version},
        ),
        dg.AssetMaterialization(
            TOOL_CONFIGS,
            metadata={"folder": str(Path(settings.config_dir) / "tools")},
            tags={DATA_VERSION: config_version(settings)},
        ),
        dg.AssetMaterialization(
            MODELS,
            metadata={"aliases": dg.MetadataValue.json(model_versions(settings))},
            tags={DATA_VERSION: digest(model_versions(settings))},
        ),
    ]


def observer(
    name: str, observe: Callable[[Settings], list[dg.AssetMaterialization]], description: str
) -> dg.SensorDefinition:
    """A sensor that records a new version of some external assets when `observe` finds one
    changed (the versions it last recorded are its cursor); no run is started. The core's
    sources and a plugin's (BoardGameGeek's answers) are observed the same way."""

    @dg.sensor(
        name=name,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=description,
    )
    def _observe(context: dg.SensorEvaluationContext, workbench: WorkbenchResource) -> Any:
        seen = json.loads(context.cursor) if context.cursor else {}
        changed = []
        for event in observe(workbench.settings()):
            key, version = event.asset_key.to_user_string(), (event.tags or {}).get(DATA_VERSION)
            if seen.get(key) != version:
                seen[key] = version
                changed.append(event)
        return dg.SensorResult(asset_events=changed, cursor=json.dumps(seen, sort_keys=True))

    return _observe


observe_sources = observer(
    "observe_sources",
    observations,
    "Observes the library, the tool configs and the models; records a new version of each "
    "when it changed (no run is started).",
)
