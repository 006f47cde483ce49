"""Lineage for a plugin's assets, given where they are built (a function of the settings):
their `code_version` (what changes their output: a model, a prompt, an extractor), their deps
on assets of other plugins or on the sources (by key, so no plugin imports another's assets),
and the automation a person opted into (`automate`: re-materialize when the code version
changed, e.g. re-embed every rulebook when the embedder changes)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import dagster as dg

Dep = dg.AssetDep | dg.AssetKey | str


def _dep(value: Dep) -> dg.AssetDep:
    if isinstance(value, dg.AssetDep):
        return value
    return dg.AssetDep(value if isinstance(value, dg.AssetKey) else dg.AssetKey(value))


def on_all(key: str | dg.AssetKey) -> dg.AssetDep:
    """A dep on every partition of `key` (an evaluation of all rulebooks, the images of every
    batch)."""
    return dg.AssetDep(key, partition_mapping=dg.AllPartitionMapping())


def when_code_changes() -> dg.AutomationCondition:
    """Re-materialize the partitions made with an older code version (once each)."""
    return (
        dg.AutomationCondition.code_version_changed()
        & ~dg.AutomationCondition.in_progress()
        & ~dg.AutomationCondition.missing()
    )


def lineage(
    assets: Iterable[dg.AssetsDefinition],
    *,
    code_versions: Mapping[str, str] | None = None,
    deps: Mapping[str, Sequence[Dep]] | None = None,
    automate: Iterable[str] = (),
) -> list[dg.AssetsDefinition]:
    """`assets` with the code versions, extra deps and automation given by asset name."""
    code_versions, deps, automated = code_versions or {}, deps or {}, set(automate)

    def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        name = spec.key.to_user_string()
        extra = [_dep(d) for d in deps.get(name, [])]
        known = {d.asset_key for d in spec.deps}
        return spec.replace_attributes(
            code_version=code_versions.get(name, spec.code_version),
            deps=[*spec.deps, *(d for d in extra if d.asset_key not in known)],
            automation_condition=when_code_changes()
            if name in automated
            else spec.automation_condition,
        )

    return list(dg.map_asset_specs(apply, list(assets)))


def source_version(*modules: str, dists: Sequence[str] = ()) -> str:
    """A version of the code that makes an output: the source of these modules (a package:
    every file in it) and the versions of these distributions. Any edit to them, or an
    upgrade, is a new code version."""
    import hashlib
    import importlib.metadata
    import importlib.util
    from pathlib import Path

    digest = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            digest.update(f"{name}:missing".encode())
            continue
        origin = Path(spec.origin)
        files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
        for f in files:
            digest.update(f.name.encode())
            digest.update(f.read_bytes())
    for dist in dists:
        try:
            digest.update(f"{dist}=={importlib.metadata.version(dist)}".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{dist}:missing".encode())
    return digest.hexdigest()[:16]


def combined(*versions: str) -> str:
    """One code version of several (the code's, the model's, the prompt's)."""
    import hashlib

    return hashlib.sha256("|".join(versions).encode()).hexdigest()[:16]
