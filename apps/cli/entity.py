"""`lifeos entity ...`: the generic entity commands, the same for every kind."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from apps.cli.common import console, emit_json, read_json_arg, store, want_json
from lifeos.errors import BadRequest
from lifeos.kinds import get_registry
from lifeos.schemas import EntityOut

app = typer.Typer(help="Create, read, change and list entities of any kind.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _show(entity: EntityOut, as_json: bool) -> None:
    if as_json:
        emit_json(entity)
        return
    deleted = (f" (deleted {entity.deleted_at:%Y-%m-%d %H:%M})", "red") if entity.deleted_at else ""
    star = " ★" if entity.favorite else ""
    console.print(
        Text.assemble(
            (entity.name, "bold"),
            f"{star}  {entity.kind} {entity.id} rev {entity.revision}",
            deleted,
        )
    )
    if entity.tags:
        console.print("tags: " + ", ".join(entity.tags))
    for key, value in entity.data.items():
        if value not in ("", None, [], {}):
            console.print(f"  {key}: {value}")


@app.command("kinds")
def kinds(as_json: JsonFlag = False) -> None:
    """List the entity kinds."""
    specs = list(get_registry())
    if want_json(as_json):
        emit_json([{"name": s.name, "label": s.label, "description": s.description} for s in specs])
        return
    table = Table("kind", "label", "description")
    for s in specs:
        table.add_row(s.name, s.label, s.description)
    console.print(table)


@app.command()
def create(
    kind: str,
    data: Annotated[
        str,
        typer.Option(help='JSON like {"name": ..., "data": {...}, "tags": [...]}, or @file.json'),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Create an entity."""
    want_json(as_json)
    with store() as s:
        _show(s.create(kind, read_json_arg(data)), as_json)


@app.command()
def get(
    kind: str, entity_id: str, include_deleted: bool = False, as_json: JsonFlag = False
) -> None:
    """Show one entity."""
    want_json(as_json)
    with store() as s:
        _show(s.get(kind, entity_id, include_deleted=include_deleted), as_json)


@app.command()
def update(
    kind: str,
    entity_id: str,
    data: Annotated[
        str,
        typer.Option(
            help='JSON of the fields to change, e.g. {"data": {"age": "30"}}, or @file.json'
        ),
    ],
    expected_revision: Annotated[
        int | None, typer.Option(help="refuse if the entity is no longer at this revision")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change some fields of an entity (`data` keys merge)."""
    want_json(as_json)
    body = read_json_arg(data)
    if not isinstance(body, dict):
        raise BadRequest("--data must be a JSON object")
    if expected_revision is not None:
        body["expected_revision"] = expected_revision
    with store() as s:
        _show(s.update(kind, entity_id, body), as_json)


@app.command()
def delete(
    kind: str, entity_id: str, expected_revision: int | None = None, as_json: JsonFlag = False
) -> None:
    """Move an entity to the trash (restorable)."""
    want_json(as_json)
    with store() as s:
        _show(s.delete(kind, entity_id, expected_revision=expected_revision), as_json)


@app.command()
def restore(kind: str, entity_id: str, as_json: JsonFlag = False) -> None:
    """Bring an entity back from the trash."""
    want_json(as_json)
    with store() as s:
        _show(s.restore(kind, entity_id), as_json)


@app.command()
def purge(
    kind: str,
    entity_id: str,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False,
) -> None:
    """Remove an entity for good, with its history and links."""
    if not yes:
        typer.confirm(f"Purge {kind} {entity_id} for good?", abort=True)
    with store() as s:
        s.purge(kind, entity_id)
    console.print(f"purged {kind} {entity_id}")


@app.command()
def history(kind: str, entity_id: str, as_json: JsonFlag = False) -> None:
    """List the revisions of an entity, newest first."""
    want_json(as_json)
    with store() as s:
        revisions = s.history(kind, entity_id)
    if as_json:
        emit_json(revisions)
        return
    table = Table("rev", "op", "when", "name", "deleted")
    for r in revisions:
        table.add_row(
            str(r.revision),
            r.op,
            f"{r.created_at:%Y-%m-%d %H:%M:%S}",
            r.name,
            "yes" if r.deleted else "",
        )
    console.print(table)


@app.command()
def revert(kind: str, entity_id: str, revision: int, as_json: JsonFlag = False) -> None:
    """Make an old revision current again (as a new revision)."""
    want_json(as_json)
    with store() as s:
        _show(s.revert(kind, entity_id, revision), as_json)


@app.command("list")
def list_(
    kind: str,
    q: Annotated[str | None, typer.Option(help="words that must all match")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="repeatable")] = None,
    favorite: Annotated[bool | None, typer.Option("--favorite/--not-favorite")] = None,
    where: Annotated[list[str] | None, typer.Option(help="FIELD=VALUE on data")] = None,
    sort: str = "-updated_at",
    limit: int = 50,
    offset: int = 0,
    include_deleted: bool = False,
    trash: Annotated[bool, typer.Option(help="only deleted entities")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List entities of a kind with search, filters, sort and paging."""
    want_json(as_json)
    filters: dict[str, str] = {}
    for item in where or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise BadRequest(f"--where wants FIELD=VALUE, got {item!r}")
        filters[key] = value
    query = {
        "q": q,
        "tags": tag or [],
        "favorite": favorite,
        "where": filters,
        "sort": sort,
        "limit": limit,
        "offset": offset,
        "include_deleted": include_deleted,
        "only_deleted": trash,
    }
    with store() as s:
        page = s.list(kind, query)
    if as_json:
        emit_json(page)
        return
    table = Table(title=f"{kind}: {len(page.items)} of {page.total} (offset {page.offset})")
    table.add_column("id", no_wrap=True, min_width=32)
    for column in ("name", "tags", "★", "rev", "updated"):
        table.add_column(column)
    for e in page.items:
        table.add_row(
            e.id,
            e.name,
            ", ".join(e.tags),
            "★" if e.favorite else "",
            str(e.revision),
            f"{e.updated_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@app.command()
def link(
    kind: str, entity_id: str, relation: str, target_id: str, as_json: JsonFlag = False
) -> None:
    """Link an entity to another (e.g. `outfit ID contains CLOTHING_ID`)."""
    want_json(as_json)
    with store() as s:
        out = s.link(kind, entity_id, {"relation": relation, "target_id": target_id})
    if as_json:
        emit_json(out)
    else:
        console.print(f"{entity_id} -{relation}-> {out.entity.kind} {out.entity.name}")


@app.command()
def unlink(kind: str, entity_id: str, relation: str, target_id: str) -> None:
    """Remove a link."""
    with store() as s:
        s.unlink(kind, entity_id, relation, target_id)
    console.print(f"removed {entity_id} -{relation}-> {target_id}")


@app.command()
def links(kind: str, entity_id: str, as_json: JsonFlag = False) -> None:
    """Show links from and to an entity."""
    want_json(as_json)
    with store() as s:
        found = s.links(kind, entity_id)
    if as_json:
        emit_json(found)
        return
    table = Table("direction", "relation", "kind", "name", "id")
    for x in found:
        table.add_row(
            "→" if x.direction == "out" else "←",
            x.relation,
            x.entity.kind,
            x.entity.name,
            x.entity.id,
        )
    console.print(table)
