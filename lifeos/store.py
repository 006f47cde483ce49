"""The one generic entity store: every kind, every operation, SQLite and Postgres alike.

Keyword-light methods over a SQLAlchemy session owned by the caller (the API's request, a CLI
command, a Dagster asset); the caller commits. Every change writes a full snapshot to
`entity_revisions` and bumps `revision`, which doubles as an optimistic lock.
"""

from __future__ import annotations

import builtins
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from lifeos.db.models import Entity, EntityLink, EntityRevision, EntityTag, utcnow
from lifeos.errors import BadRequest, Conflict, NotFound, PayloadTooLarge, ValidationFailed
from lifeos.kinds import KindRegistry, KindSpec, get_registry
from lifeos.logging import request_id_var
from lifeos.schemas import (
    EntityCreate,
    EntityOut,
    EntityUpdate,
    LinkCreate,
    LinkOut,
    ListQuery,
    Page,
    RevisionOut,
)
from lifeos.security.roles import Role, actor, require

MAX_SEARCH_TERMS = 10
DEFAULT_MAX_ENTITY_BYTES = 256_000

ModelT = TypeVar("ModelT", bound=BaseModel)


# The ids of the entities read while a workflow step runs (`reading()`), so what the run saves
# is linked to everything it was made from.
_reads: ContextVar[set[str] | None] = ContextVar("lifeos_entity_reads", default=None)


@contextmanager
def reading() -> Iterator[set[str]]:
    """Collect the ids of the entities this context reads one by one (`get`, `get_many`)."""
    found: set[str] = set()
    token = _reads.set(found)
    try:
        yield found
    finally:
        _reads.reset(token)


def note_read(ids: Iterable[str]) -> None:
    """Say that entities were read (a tool that picked them from a listing, say)."""
    found = _reads.get()
    if found is not None:
        found.update(ids)


def parse(model: type[ModelT], value: Any, *, what: str = "body") -> ModelT:
    """Validate `value` into `model`, turning Pydantic's error into ours.

    A bad body is a 422 (`validation_failed`); a bad query string is a 400 (`bad_request`).
    """
    if isinstance(value, model):
        return value
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        err = ValidationFailed.from_pydantic(exc, prefix=(what,) if what else ())
        if what == "query":
            raise BadRequest(err.message, details=err.details) from exc
        raise err from exc


def iter_strings(value: Any) -> Iterator[str]:
    """Every string value inside nested dicts and lists (keys excluded)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from iter_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from iter_strings(item)


def search_text(name: str, tags: Iterable[str], data: Any) -> str:
    return "\n".join([name, *tags, *(s for s in iter_strings(data) if s)]).lower()


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


OUT_COLUMNS = (
    Entity.id,
    Entity.kind,
    Entity.name,
    Entity.data,
    Entity.tags,
    Entity.favorite,
    Entity.revision,
    Entity.created_at,
    Entity.updated_at,
    Entity.deleted_at,
)


def to_out(entity: Entity) -> EntityOut:
    return EntityOut.model_construct(**{c.key: getattr(entity, c.key) for c in OUT_COLUMNS})


_BY_ID = sa.select(*OUT_COLUMNS).where(Entity.id == sa.bindparam("id"))


def _row_out(row: sa.Row[Any]) -> EntityOut:
    # Rows come from our own validated tables: no need to validate them again on the way out.
    return EntityOut.model_construct(**row._mapping)


class EntityStore:
    def __init__(
        self,
        session: Session,
        *,
        registry: KindRegistry | None = None,
        max_entity_bytes: int = DEFAULT_MAX_ENTITY_BYTES,
    ) -> None:
        self.session = session
        self.registry = registry or get_registry()
        self.max_entity_bytes = max_entity_bytes

    # ---- single entities -------------------------------------------------------------------

    def create(self, kind: str, payload: EntityCreate | Mapping[str, Any]) -> EntityOut:
        require(Role.editor, "creating entities")
        spec = self.registry.get(kind)
        body = parse(EntityCreate, payload)
        data = self._validated_data(spec, body.data)
        now = utcnow()
        entity = Entity(
            id=uuid.uuid4().hex,
            kind=kind,
            name=body.name,
            data=data,
            favorite=body.favorite,
            revision=1,
            created_at=now,
            updated_at=now,
            deleted_at=None,
        )
        entity.tags = body.tags
        entity.tag_rows = [EntityTag(tag=t) for t in body.tags]
        entity.search_text = search_text(body.name, body.tags, data)
        self.session.add(entity)
        self._snapshot(entity, "create")
        self._flush()
        return to_out(entity)

    def get(self, kind: str, entity_id: str, *, include_deleted: bool = False) -> EntityOut:
        spec = self.registry.get(kind)
        # A Core statement built once, on the session's connection: the ORM's execution
        # machinery and a fresh select() per call were a third of a detail request's time.
        row = self.session.connection().execute(_BY_ID, {"id": entity_id[:64]}).first()
        if (
            row is None
            or row.kind != spec.name
            or (row.deleted_at is not None and not include_deleted)
        ):
            raise NotFound(f"{kind} {entity_id} not found")
        note_read([row.id])
        return _row_out(row)

    def get_many(self, entity_ids: Sequence[str]) -> list[EntityOut]:
        """Entities of any kind by id, in the order asked; NotFound names every missing id."""
        wanted = [i[:64] for i in entity_ids]
        rows = self.session.execute(
            sa.select(*OUT_COLUMNS).where(Entity.id.in_(wanted), Entity.deleted_at.is_(None))
        ).all()
        found = {r.id: _row_out(r) for r in rows}
        missing = [i for i in wanted if i not in found]
        if missing:
            raise NotFound(f"no entity {', '.join(missing)}", details={"missing": missing})
        note_read(wanted)
        return [found[i] for i in wanted]

    def update(
        self, kind: str, entity_id: str, payload: EntityUpdate | Mapping[str, Any]
    ) -> EntityOut:
        require(Role.editor, "editing entities")
        spec = self.registry.get(kind)
        body = parse(EntityUpdate, payload)
        entity = self._load(kind, entity_id)
        self._check_revision(entity, body.expected_revision)
        changes = body.model_dump(exclude_unset=True, exclude={"expected_revision"})
        if not changes:
            raise BadRequest("nothing to update: give name, data, tags or favorite")
        if body.data is not None:
            entity.data = self._validated_data(spec, {**entity.data, **body.data})
        if body.name is not None:
            entity.name = body.name
        if body.tags is not None:
            self._set_tags(entity, body.tags)
        if body.favorite is not None:
            entity.favorite = body.favorite
        return self._commit_change(entity, "update")

    def delete(
        self, kind: str, entity_id: str, *, expected_revision: int | None = None
    ) -> EntityOut:
        require(Role.admin, "deleting entities")
        entity = self._load(kind, entity_id, include_deleted=True)
        if entity.deleted_at is not None:
            raise Conflict(f"{kind} {entity_id} is already deleted", code="already_deleted")
        self._check_revision(entity, expected_revision)
        entity.deleted_at = utcnow()
        return self._commit_change(entity, "delete")

    def restore(self, kind: str, entity_id: str) -> EntityOut:
        require(Role.editor, "restoring entities")
        entity = self._load(kind, entity_id, include_deleted=True)
        if entity.deleted_at is None:
            raise Conflict(f"{kind} {entity_id} is not deleted", code="not_deleted")
        entity.deleted_at = None
        return self._commit_change(entity, "restore")

    def purge(self, kind: str, entity_id: str) -> None:
        """Remove an entity for good, with its history and links."""
        require(Role.admin, "purging entities")
        entity = self._load(kind, entity_id, include_deleted=True)
        self.session.execute(
            sa.delete(EntityLink).where(
                sa.or_(EntityLink.src_id == entity.id, EntityLink.dst_id == entity.id)
            )
        )
        self.session.execute(sa.delete(EntityRevision).where(EntityRevision.entity_id == entity.id))
        self.session.delete(entity)
        self._flush()

    # ---- history -----------------------------------------------------------------------------

    def history(self, kind: str, entity_id: str) -> list[RevisionOut]:
        entity = self._load(kind, entity_id, include_deleted=True)
        rows = self.session.scalars(
            sa.select(EntityRevision)
            .where(EntityRevision.entity_id == entity.id)
            .order_by(EntityRevision.revision.desc())
        )
        return [RevisionOut.model_validate(row, from_attributes=True) for row in rows]

    def revert(
        self, kind: str, entity_id: str, revision: int, *, expected_revision: int | None = None
    ) -> EntityOut:
        """Make an old revision current again, as a new revision (history is never rewritten)."""
        require(Role.editor, "reverting entities")
        spec = self.registry.get(kind)
        entity = self._load(kind, entity_id)
        self._check_revision(entity, expected_revision)
        old = self.session.get(EntityRevision, (entity.id, revision))
        if old is None:
            raise NotFound(f"{kind} {entity_id} has no revision {revision}")
        entity.data = self._validated_data(spec, old.data)
        entity.name = old.name
        entity.favorite = old.favorite
        self._set_tags(entity, old.tags)
        return self._commit_change(entity, "revert")

    # ---- lists -------------------------------------------------------------------------------

    def list(
        self, kind: str | None, query: ListQuery | Mapping[str, Any] | None = None
    ) -> Page[EntityOut]:
        query = parse(ListQuery, query or {}, what="query")
        spec = self.registry.get(kind) if kind is not None else None
        conditions = self._conditions(spec, query)
        conn = self.session.connection()  # Core statements: no ORM execution machinery
        total = conn.scalar(sa.select(sa.func.count()).select_from(Entity).where(*conditions))
        column = getattr(Entity, query.sort.lstrip("-"))
        # The id tie-breaker runs in the same direction, so one index scan serves the order.
        descending = query.sort.startswith("-")
        order = (column.desc(), Entity.id.desc()) if descending else (column.asc(), Entity.id.asc())
        # Deferred join: page through ids (answered from the list indexes), then read only
        # the rows of the page. SQLite would otherwise read every skipped row in full.
        page_ids = (
            sa.select(Entity.id)
            .where(*conditions)
            .order_by(*order)
            .limit(query.limit)
            .offset(query.offset)
            .subquery()
        )
        rows = conn.execute(
            sa.select(*OUT_COLUMNS).join(page_ids, page_ids.c.id == Entity.id).order_by(*order)
        )
        return Page(
            items=[_row_out(r) for r in rows],
            total=total or 0,
            limit=query.limit,
            offset=query.offset,
        )

    def list_all(
        self,
        kind: str | None,
        query: Mapping[str, Any] | None = None,
        *,
        at_most: int | None = None,
    ) -> builtins.list[EntityOut]:
        """Every entity a list query matches (or the first `at_most`), page by page."""
        out: builtins.list[EntityOut] = []
        query = {**(query or {}), "limit": 200}
        while at_most is None or len(out) < at_most:
            page = self.list(kind, {**query, "offset": len(out)})
            out += page.items
            if len(out) >= page.total or not page.items:
                break
        return out if at_most is None else out[:at_most]

    def _conditions(self, spec: KindSpec | None, query: ListQuery) -> builtins.list[Any]:
        cond: builtins.list[Any] = []
        if spec is not None:
            cond.append(Entity.kind == spec.name)
        if query.only_deleted:
            cond.append(Entity.deleted_at.is_not(None))
        elif not query.include_deleted:
            cond.append(Entity.deleted_at.is_(None))
        if query.q:
            terms = query.q.lower().split()
            if len(terms) > MAX_SEARCH_TERMS:
                raise BadRequest(f"at most {MAX_SEARCH_TERMS} search terms")
            for term in terms:
                cond.append(Entity.search_text.like(f"%{_escape_like(term)}%", escape="\\"))
        for tag in query.tags:
            cond.append(Entity.id.in_(sa.select(EntityTag.entity_id).where(EntityTag.tag == tag)))
        if query.favorite is not None:
            cond.append(Entity.favorite.is_(query.favorite))
        for attr, op, column in (
            ("created_after", "ge", Entity.created_at),
            ("created_before", "lt", Entity.created_at),
            ("updated_after", "ge", Entity.updated_at),
            ("updated_before", "lt", Entity.updated_at),
        ):
            value = getattr(query, attr)
            if value is not None:
                cond.append(getattr(column, f"__{op}__")(value))
        if query.where:
            if spec is None:
                raise BadRequest("filtering on data fields needs a kind")
            cond.extend(self._data_equals(spec, name, raw) for name, raw in query.where.items())
        return cond

    def _data_equals(self, spec: KindSpec, name: str, raw: str) -> Any:
        field = spec.model.model_fields.get(name)
        if field is None:
            raise BadRequest(
                f"{spec.name} has no field {name!r}", details={"fields": spec.field_names()}
            )
        if field.annotation is None:  # an un-annotated field: nothing to validate against
            raise BadRequest(f"{spec.name}.{name} has no type and cannot be filtered on")
        try:
            value = TypeAdapter(field.annotation).validate_python(raw)
        except ValidationError:
            raise BadRequest(f"{raw!r} is not a valid value for {spec.name}.{name}") from None
        element = Entity.data[name]
        if isinstance(value, bool):
            return element.as_boolean() == value
        if isinstance(value, int):
            return element.as_integer() == value
        if isinstance(value, float):
            return element.as_float() == value
        if isinstance(value, str):
            return element.as_string() == value
        raise BadRequest(f"{spec.name}.{name} is not a single value and cannot be filtered on")

    def counts(self, *, include_deleted: bool = False) -> dict[str, int]:
        stmt = sa.select(Entity.kind, sa.func.count()).group_by(Entity.kind)
        if not include_deleted:
            stmt = stmt.where(Entity.deleted_at.is_(None))
        return {kind: n for kind, n in self.session.execute(stmt)}

    def iter_all(self, kind: str | None = None) -> Iterator[Entity]:
        stmt = sa.select(Entity).order_by(Entity.id)
        if kind is not None:
            stmt = stmt.where(Entity.kind == self.registry.get(kind).name)
        yield from self.session.scalars(stmt)

    # ---- links -------------------------------------------------------------------------------

    def link(self, kind: str, entity_id: str, payload: LinkCreate | Mapping[str, Any]) -> LinkOut:
        require(Role.editor, "linking entities")
        body = parse(LinkCreate, payload)
        spec = self.registry.get(kind)
        src = self._load(kind, entity_id)
        dst = self.session.get(Entity, body.target_id)
        if dst is None or dst.deleted_at is not None:
            raise NotFound(f"link target {body.target_id} not found")
        if dst.id == src.id:
            raise BadRequest("an entity cannot link to itself")
        if not spec.allows_link(body.relation, dst.kind):
            allowed = {rel: list(kinds) for rel, kinds in spec.links.items()}
            raise BadRequest(
                f"{kind} cannot link to {dst.kind} as {body.relation!r}",
                details={"allowed": allowed, "always": "related_to"},
            )
        exists = self.session.scalar(
            sa.select(EntityLink.id).where(
                EntityLink.src_id == src.id,
                EntityLink.relation == body.relation,
                EntityLink.dst_id == dst.id,
            )
        )
        if exists:
            raise Conflict(f"{kind} {src.id} already links to {dst.id} as {body.relation!r}")
        row = EntityLink(src_id=src.id, relation=body.relation, dst_id=dst.id, created_at=utcnow())
        self.session.add(row)
        self._flush()
        return LinkOut(
            relation=row.relation, direction="out", entity=to_out(dst), created_at=row.created_at
        )

    def unlink(self, kind: str, entity_id: str, relation: str, target_id: str) -> None:
        require(Role.editor, "unlinking entities")
        src = self._load(kind, entity_id)
        # A DELETE always comes back as a CursorResult (which has the rowcount); the stubs of
        # Session.execute only promise its base class.
        result = cast(
            CursorResult[Any],
            self.session.execute(
                sa.delete(EntityLink).where(
                    EntityLink.src_id == src.id,
                    EntityLink.relation == relation,
                    EntityLink.dst_id == target_id,
                )
            ),
        )
        if not result.rowcount:
            raise NotFound(f"no {relation!r} link from {entity_id} to {target_id}")

    def links(
        self, kind: str, entity_id: str, *, include_deleted: bool = False
    ) -> builtins.list[LinkOut]:
        entity = self._load(kind, entity_id, include_deleted=True)
        out: builtins.list[LinkOut] = []
        for direction, mine, other in (
            ("out", EntityLink.src_id, EntityLink.dst_id),
            ("in", EntityLink.dst_id, EntityLink.src_id),
        ):
            stmt = (
                sa.select(EntityLink, Entity)
                .join(Entity, Entity.id == other)
                .where(mine == entity.id)
                .order_by(EntityLink.relation, Entity.name)
            )
            if not include_deleted:
                stmt = stmt.where(Entity.deleted_at.is_(None))
            for link, target in self.session.execute(stmt):
                out.append(
                    LinkOut(
                        relation=link.relation,
                        direction=direction,
                        entity=to_out(target),
                        created_at=link.created_at,
                    )
                )
        return out

    # ---- internals ---------------------------------------------------------------------------

    def _load(self, kind: str, entity_id: str, *, include_deleted: bool = False) -> Entity:
        spec = self.registry.get(kind)
        entity = self.session.get(Entity, entity_id) if len(entity_id) <= 36 else None
        if (
            entity is None
            or entity.kind != spec.name
            or (entity.deleted_at is not None and not include_deleted)
        ):
            raise NotFound(f"{kind} {entity_id} not found")
        return entity

    def _validated_data(self, spec: KindSpec, data: Mapping[str, Any]) -> dict[str, Any]:
        if any("\x00" in s for s in iter_strings(data)):
            # Postgres cannot store NUL and SQLite truncates at it: refuse it everywhere.
            raise ValidationFailed(
                f"{spec.name} data contains a NUL character",
                details=[{"loc": ["data"], "msg": "NUL character"}],
            )
        size = len(json.dumps(data, ensure_ascii=False, default=str).encode("utf-8"))
        if size > self.max_entity_bytes:
            raise PayloadTooLarge(
                f"{spec.name} data is {size} bytes; the limit is {self.max_entity_bytes}"
            )
        return spec.validate(data)

    def _check_revision(self, entity: Entity, expected: int | None) -> None:
        if expected is not None and expected != entity.revision:
            raise Conflict(
                f"{entity.kind} {entity.id} is at revision {entity.revision}, not {expected}: "
                "it changed since you read it",
                code="stale_revision",
                details={"current_revision": entity.revision},
            )

    def _set_tags(self, entity: Entity, tags: builtins.list[str]) -> None:
        entity.tags = sorted(set(tags))
        current = {row.tag: row for row in entity.tag_rows}
        entity.tag_rows = [current.get(t) or EntityTag(tag=t) for t in entity.tags]

    def _commit_change(self, entity: Entity, op: str) -> EntityOut:
        entity.revision += 1
        entity.updated_at = utcnow()
        entity.search_text = search_text(entity.name, entity.tags, entity.data)
        self._snapshot(entity, op)
        self._flush()
        return to_out(entity)

    def _snapshot(self, entity: Entity, op: str) -> None:
        self.session.add(
            EntityRevision(
                entity_id=entity.id,
                revision=entity.revision,
                op=op,
                name=entity.name,
                data=entity.data,
                tags=entity.tags,
                favorite=entity.favorite,
                deleted=entity.deleted_at is not None,
                created_at=entity.updated_at,
                request_id=request_id_var.get(),
                actor=actor(),
            )
        )

    def _flush(self) -> None:
        try:
            self.session.flush()
        except StaleDataError:
            raise Conflict(
                "the entity changed while this request ran; read it again", code="stale_revision"
            ) from None
        except sa.exc.IntegrityError as exc:
            raise Conflict(f"conflicts with existing data: {exc.orig}") from None
