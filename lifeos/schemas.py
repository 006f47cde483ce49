"""The entity schema family shared by the store, the API, the CLI and the studio."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

# NUL characters are refused everywhere: Postgres cannot store them and SQLite truncates at them.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00]*$"),
]
Tag = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=1,
        max_length=64,
        pattern=r"^[^,\s\x00][^,\x00]*$",
    ),
]
FilterText = Annotated[str, StringConstraints(max_length=500, pattern=r"^[^\x00]*$")]
Relation = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]

MAX_TAGS = 50
SORT_FIELDS = ("name", "created_at", "updated_at", "favorite")


def _dedupe(tags: list[str]) -> list[str]:
    return sorted(set(tags))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntityCreate(_Strict):
    name: Name
    data: dict[str, Any] = Field(default_factory=dict)
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    favorite: bool = False

    _tags = field_validator("tags")(_dedupe)


class EntityUpdate(_Strict):
    """Partial update: only fields that are set change; `data` keys merge into the data."""

    name: Name | None = None
    data: dict[str, Any] | None = None
    tags: list[Tag] | None = Field(None, max_length=MAX_TAGS)
    favorite: bool | None = None
    expected_revision: int | None = Field(None, ge=1)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _dedupe(value)


class EntityOut(BaseModel):
    id: str
    kind: str
    name: str
    data: dict[str, Any]
    tags: list[str]
    favorite: bool
    revision: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class ListQuery(_Strict):
    """Everything a list can be asked for; the same for every kind."""

    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)
    q: FilterText | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    favorite: bool | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    where: dict[str, FilterText] = Field(
        default_factory=dict, max_length=10, description="equality on data fields (at most 10)"
    )
    sort: str = Field("-updated_at", description="a sort field, `-` prefix for descending")
    include_deleted: bool = False
    only_deleted: bool = False

    @field_validator("sort")
    @classmethod
    def _sort(cls, value: str) -> str:
        if value.lstrip("-") not in SORT_FIELDS:
            raise ValueError(f"unknown sort field {value!r}; use one of {', '.join(SORT_FIELDS)}")
        return value


class LinkCreate(_Strict):
    relation: Relation
    target_id: str = Field(min_length=1, max_length=36)


class LinkOut(BaseModel):
    relation: str
    direction: Literal["out", "in"]
    entity: EntityOut
    created_at: datetime


class RevisionOut(BaseModel):
    revision: int
    op: str
    name: str
    data: dict[str, Any]
    tags: list[str]
    favorite: bool
    deleted: bool
    created_at: datetime
    request_id: str | None = None
    actor: str | None = Field(None, description="the account that made this revision")
