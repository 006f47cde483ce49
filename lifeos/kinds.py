"""Entity kinds: a Pydantic model per kind, collected in one registry.

The store, the API, the CLI and the studio's editor are generic over this registry: adding a
kind is one `KindSpec` in a plugin, with no new table and no new CRUD code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from lifeos.errors import BadRequest, UnknownKind, ValidationFailed

# Shared field types: every kind uses them, so limits are the same everywhere.
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=20_000)]
Prompt = Annotated[str, StringConstraints(max_length=4_000)]
HexColor = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]

ANY_KIND = "*"
GENERIC_RELATION = "related_to"


class EntityData(BaseModel):
    """Base of every kind's data: unknown fields are errors, long strings are capped."""

    model_config = ConfigDict(extra="forbid", str_max_length=20_000, validate_default=True)


@dataclass(frozen=True)
class KindSpec:
    name: str
    model: type[EntityData]
    label: str
    description: str = ""
    # relation name -> kinds it may point to (`*` for any). `related_to` is always allowed.
    links: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def validate(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Validate `data` and return it in canonical JSON form (defaults filled in)."""
        try:
            return self.model.model_validate(data).model_dump(mode="json")
        except ValidationError as exc:
            raise ValidationFailed.from_pydantic(exc, prefix=("data",)) from exc

    def allows_link(self, relation: str, target_kind: str) -> bool:
        if relation == GENERIC_RELATION:
            return True
        targets = self.links.get(relation, ())
        return ANY_KIND in targets or target_kind in targets

    def field_names(self) -> list[str]:
        return list(self.model.model_fields)

    def json_schema(self) -> dict[str, Any]:
        return self.model.model_json_schema()


class KindRegistry:
    def __init__(self, explain: Callable[[str], str | None] | None = None) -> None:
        self._kinds: dict[str, KindSpec] = {}
        # Why a kind is missing, when someone knows (the plugin host: "its plugin is off").
        self.explain = explain

    def register(self, spec: KindSpec) -> None:
        if spec.name in self._kinds:
            raise BadRequest(f"entity kind {spec.name!r} is registered twice")
        self._kinds[spec.name] = spec

    def unregister(self, name: str) -> None:
        self._kinds.pop(name, None)

    def get(self, name: str) -> KindSpec:
        try:
            return self._kinds[name]
        except KeyError:
            why = self.explain(name) if self.explain else None
            raise UnknownKind(
                f"unknown entity kind {name!r}" + (f": {why}" if why else ""),
                details={"known_kinds": sorted(self._kinds)},
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def __iter__(self) -> Iterator[KindSpec]:
        return iter(self._kinds.values())

    def names(self) -> list[str]:
        return list(self._kinds)


def get_registry() -> KindRegistry:
    """The process's registry: the kinds of the plugins loaded now (`lifeos.plugins`)."""
    from lifeos.plugins import get_plugins  # the host imports this module

    return get_plugins().kinds
