"""Library: browse, search and edit every entity kind with one generic table and editor."""

from __future__ import annotations

import json
import math
import time
import tempfile
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from apps.studio.base import Studio, StudioPage, guarded, log, message
from apps.studio.forms import FieldErrors, errors_by_field, fields_of, read, widget
from lifeos.errors import ValidationFailed
from lifeos.kinds import get_registry
from lifeos.schemas import SORT_FIELDS

PAGE_SIZE = 50
ALL = "all kinds"
COLUMNS = ["kind", "name", "tags", "★", "updated", "id"]
SORTS = [f"{sign}{f}" for f in SORT_FIELDS for sign in ("-", "")]


def _sel(kind: str, entity_id: str | None) -> dict[str, Any]:
    """The editor's selection; a fresh value each time, so the editor always re-renders."""
    return {"kind": kind, "id": entity_id, "at": time.monotonic_ns()}


def _split_tags(text: str) -> list[str]:
    return [t.strip() for t in (text or "").replace(",", " ").split() if t.strip()]


def build(studio: Studio) -> None:
    registry = get_registry()
    kinds = [ALL, *registry.names()]

    # ---- what is selected and being edited --------------------------------------------------
    page_ids = gr.State([])          # [(kind, id)] of the rows on screen
    selected = gr.State(None)        # {"kind", "id"} (id None: a new entity)
    form = gr.State({"draft": None, "errors": {}})
    deleted = gr.State(None)         # the last soft-deleted entity, for undo

    with gr.Row():
        kind = gr.Dropdown(kinds, value=ALL, label="kind", elem_id="library-kind", scale=2)
        q = gr.Textbox(label="search", placeholder="words in names, tags and text",
                       elem_id="library-search", scale=3)
        tags = gr.Textbox(label="tags", placeholder="all of these tags", scale=2,
                          elem_id="library-tags")
        sort = gr.Dropdown(SORTS, value="-updated_at", label="sort", scale=1)
    with gr.Row():
        favorites = gr.Checkbox(label="favorites only", elem_id="library-favorites")
        trash = gr.Checkbox(label="trash", elem_id="library-trash")
        prev_btn = gr.Button("◀ previous", size="sm")
        page_no = gr.Number(value=1, precision=0, minimum=1, label="page", scale=0,
                            min_width=80)
        next_btn = gr.Button("next ▶", size="sm")
        new_btn = gr.Button("+ new entity", size="sm", elem_id="library-new")
    summary = gr.Markdown(elem_id="library-summary")
    gallery = gr.Gallery(label="images on this page", visible=False, columns=8, height=180,
                         elem_id="library-thumbnails")
    table = gr.Dataframe(headers=COLUMNS, interactive=False, wrap=True, max_height=420,
                         elem_id="library-table")

    filters = [kind, q, tags, favorites, trash, sort, page_no]

    @guarded
    def refresh(kind_v: str, q_v: str, tags_v: str, fav: bool, trash_v: bool, sort_v: str,
                page_v: float | None) -> tuple[Any, ...]:
        page = max(1, int(page_v or 1))
        query: dict[str, Any] = {"limit": PAGE_SIZE, "offset": (page - 1) * PAGE_SIZE,
                                 "q": q_v or None, "tags": _split_tags(tags_v),
                                 "favorite": True if fav else None, "sort": sort_v,
                                 "only_deleted": bool(trash_v)}
        with studio.store() as store:
            result = store.list(None if kind_v == ALL else kind_v, query)
        pages = max(1, math.ceil(result.total / PAGE_SIZE))
        rows = [[e.kind, e.name, ", ".join(e.tags), "★" if e.favorite else "",
                 e.updated_at.strftime("%Y-%m-%d %H:%M"), e.id] for e in result.items]
        thumbs = [(str(p), e.name) for e in result.items if e.kind == "image"
                  and (p := studio.settings.blob_path(
                      e.data.get("sha256", ""), "." + e.data.get("mime_type", "/png")
                      .split("/")[1])).is_file()]
        where = "in the trash" if trash_v else ("" if kind_v == ALL else f"of kind {kind_v}")
        text = (f"**{result.total}** entities {where} · page {page} of {pages}"
                if result.total else f"No entities {where} match.")
        return (pd.DataFrame(rows, columns=COLUMNS), text,
                [(e.kind, e.id) for e in result.items],
                gr.Gallery(value=thumbs, visible=bool(thumbs)))

    listing = [table, summary, page_ids, gallery]
    # The table follows every filter (and fills when the page opens); a new filter starts
    # again at page 1.
    gr.on(None, refresh, filters, listing, trigger_mode="always_last")
    for control in (kind, q, tags, favorites, trash, sort):
        control.change(lambda: 1, None, page_no, queue=False)
    prev_btn.click(lambda p: max(1, int(p or 1) - 1), page_no, page_no, queue=False)
    next_btn.click(lambda p: int(p or 1) + 1, page_no, page_no, queue=False)

    def pick(ids: list[Any], evt: gr.SelectData) -> tuple[Any, Any]:
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if row is None or row >= len(ids):
            return gr.skip(), gr.skip()
        k, i = ids[row]
        return _sel(k, i), {"draft": None, "errors": {}}

    table.select(pick, page_ids, [selected, form])

    @guarded
    def start_new(kind_v: str) -> tuple[Any, Any]:
        if kind_v == ALL:
            raise gr.Error("Pick a kind first, then create.")
        return _sel(kind_v, None), {"draft": None, "errors": {}}

    new_btn.click(start_new, kind, [selected, form])

    # ---- the editor, generated from the kind's schema ---------------------------------------
    status = gr.Markdown(elem_id="entity-status")
    with gr.Row():
        undo_btn = gr.Button("↶ undo delete", visible=False, size="sm", elem_id="entity-undo")

    @gr.render(inputs=[selected, form])
    def editor(sel: dict[str, Any] | None, form_v: dict[str, Any]) -> None:
        try:
            _editor(sel, form_v)
        except Exception as exc:  # noqa: BLE001 - shown in place of the form, and logged
            log.exception("studio_editor_failed", selection=sel)
            gr.Markdown(f"⚠ This entity cannot be shown: {message(exc)}",
                        elem_classes=["field-error"], elem_id="error-form")

    def _editor(sel: dict[str, Any] | None, form_v: dict[str, Any]) -> None:
        if not sel:
            gr.Markdown("_Select a row to edit it, or create a new entity._")
            return
        spec = registry.get(sel["kind"])
        entity = None
        if sel["id"]:
            with studio.store() as store:
                entity = store.get(sel["kind"], sel["id"], include_deleted=True)
        draft = form_v.get("draft") or (
            {"name": entity.name, "tags": entity.tags, "favorite": entity.favorite,
             "data": entity.data} if entity else {"name": "", "tags": [], "favorite": False,
                                                  "data": {}})
        errors = form_v.get("errors") or {}
        title = (f"### {spec.label}: {entity.name} · revision {entity.revision}"
                 + (" · **in the trash**" if entity.deleted_at else "")
                 if entity else f"### New {spec.label}")
        gr.Markdown(title, elem_id="entity-title")
        if errors.get("_form"):
            gr.Markdown(f"⚠ {errors['_form']}", elem_classes=["field-error"],
                        elem_id="error-form")

        def note(field: str) -> None:
            if errors.get(field):
                gr.Markdown(f"⚠ **{field.replace('_', ' ')}**: {errors[field]}",
                            elem_classes=["field-error"], elem_id=f"error-{field}")

        name_box = gr.Textbox(value=draft["name"], label="name", elem_id="field-name",
                              interactive=True)
        note("name")
        tags_box = gr.Textbox(value=", ".join(draft["tags"]), label="tags",
                              placeholder="comma-separated", elem_id="field-tags",
                              interactive=True)
        note("tags")
        fav_box = gr.Checkbox(value=draft["favorite"], label="favorite",
                              elem_id="field-favorite", interactive=True)
        fields = fields_of(spec.json_schema())
        inputs = []
        for field in fields:
            value = draft["data"].get(field.name, field.schema.get("default"))
            inputs.append(widget(field, value, errors.get(field.name)))
            note(field.name)
        with gr.Row():
            save_btn = gr.Button("Save", variant="primary", elem_id="entity-save")
            if entity and not entity.deleted_at:
                delete_btn = gr.Button("Delete", variant="stop", elem_id="entity-delete")
            if entity and entity.deleted_at:
                restore_btn = gr.Button("Restore", elem_id="entity-restore")
                purge_btn = gr.Button("Delete forever", variant="stop",
                                      elem_id="entity-purge")

        def save(name: str, tags_v: str, fav: bool, *values: Any) -> tuple[Any, ...]:
            payload: dict[str, Any] = {"name": name, "tags": _split_tags(tags_v),
                                       "favorite": bool(fav)}
            try:
                payload["data"] = read(fields, list(values))
                with studio.store() as store:
                    if entity is None:
                        saved = store.create(spec.name, payload)
                    else:
                        saved = store.update(spec.name, entity.id, {
                            **payload, "data": payload["data"],
                            "expected_revision": entity.revision})
            except (FieldErrors, ValidationFailed) as exc:
                errs = exc.errors if isinstance(exc, FieldErrors) else errors_by_field(
                    exc.details)
                raw = {"name": name, "tags": _split_tags(tags_v), "favorite": bool(fav),
                       "data": _draft_values(fields, values)}
                return (gr.skip(), {"draft": raw, "errors": errs},
                        f"❌ Not saved: {len(errs)} field(s) need fixing.")
            return (_sel(saved.kind, saved.id), {"draft": None, "errors": {}},
                    f"✅ Saved {saved.name} (revision {saved.revision}).")

        save_btn.click(guarded(save), [name_box, tags_box, fav_box, *inputs],
                       [selected, form, status]).then(refresh, filters, listing)

        if entity and not entity.deleted_at:
            def delete() -> tuple[Any, ...]:
                with studio.store() as store:
                    store.delete(spec.name, entity.id)
                return (None, {"draft": None, "errors": {}}, {"kind": spec.name,
                                                              "id": entity.id},
                        f"🗑 Moved {entity.name} to the trash.", gr.Button(visible=True))

            delete_btn.click(guarded(delete), None,
                             [selected, form, deleted, status, undo_btn]).then(
                refresh, filters, listing)
        if entity and entity.deleted_at:
            def restore() -> tuple[Any, ...]:
                with studio.store() as store:
                    store.restore(spec.name, entity.id)
                return _sel(spec.name, entity.id), f"♻ Restored {entity.name}."

            def purge() -> tuple[Any, ...]:
                with studio.store() as store:
                    store.purge(spec.name, entity.id)
                return None, f"Deleted {entity.name} forever."

            restore_btn.click(guarded(restore), None, [selected, status]).then(
                refresh, filters, listing)
            purge_btn.click(guarded(purge), None, [selected, status]).then(
                refresh, filters, listing)

        if entity:
            _links_and_history(studio, spec, entity, selected, form, status)

    @guarded
    def undo(last: dict[str, Any] | None) -> tuple[Any, ...]:
        if not last:
            return gr.skip(), gr.skip(), gr.Button(visible=False), None
        with studio.store() as store:
            restored = store.restore(last["kind"], last["id"])
        return (_sel(last["kind"], last["id"]), f"↶ Restored {restored.name}.",
                gr.Button(visible=False), None)

    undo_btn.click(undo, deleted, [selected, status, undo_btn, deleted]).then(
        refresh, filters, listing)

    # ---- import / export --------------------------------------------------------------------
    with gr.Accordion("Import / export JSON", open=False):
        with gr.Row():
            upload = gr.File(label="library export (.json)", file_types=[".json"],
                             elem_id="import-file")
            on_conflict = gr.Radio(["fail", "skip"], value="fail",
                                   label="when an entity already exists")
            import_btn = gr.Button("Import", elem_id="import-run")
        with gr.Row():
            export_btn = gr.Button("Export (the kind shown, or everything)",
                                   elem_id="export-run")
            download = gr.File(label="export", interactive=False, elem_id="export-file")
    with gr.Accordion("Character cards (V2 / V3)", open=False, elem_id="cards-box"):
        with gr.Row():
            card_upload = gr.File(label="card (.json or .png)", file_types=[".json", ".png"],
                                  elem_id="card-file")
            card_import_btn = gr.Button("Import card", elem_id="card-import")
        with gr.Row():
            card_png_btn = gr.Button("Export the selected character as PNG",
                                     elem_id="card-export-png")
            card_json_btn = gr.Button("… as JSON", elem_id="card-export-json")
            card_download = gr.File(label="card", interactive=False, elem_id="card-download")

    @guarded
    def do_import(path: str | None, conflict: str) -> str:
        from lifeos.transfer import import_library, read_export_file

        if not path:
            raise gr.Error("Choose an export file first.")
        doc = read_export_file(Path(path), max_bytes=studio.settings.max_import_bytes)
        with studio.store() as store:
            counts = import_library(store.session, doc, on_conflict=conflict)  # type: ignore[arg-type]
        return "✅ Imported " + ", ".join(f"{v} {k}" for k, v in counts.items()) + "."

    @guarded
    def do_export(kind_v: str) -> str:
        from lifeos.transfer import dumps_export, export_library

        with studio.store() as store:
            doc = export_library(store.session, None if kind_v == ALL else kind_v)
        name = f"lifeos-{'library' if kind_v == ALL else kind_v}-export.json"
        path = Path(tempfile.mkdtemp(prefix="lifeos-export-")) / name
        path.write_text(dumps_export(doc), encoding="utf-8")
        return str(path)

    import_btn.click(do_import, [upload, on_conflict], status).then(refresh, filters, listing)

    @guarded
    def card_import(path: str | None) -> tuple[Any, str]:
        from tools.cards import import_card

        if not path:
            raise gr.Error("Choose a card file first.")
        with studio.store() as store:
            character = import_card(store, Path(path))
        return _sel("character", character.id), f"✅ Imported {character.name} from its card."

    def card_export(as_png: bool) -> Any:
        @guarded
        def handler(sel: dict[str, Any] | None) -> str:
            from tools.cards import card_png, character_picture, entity_to_card

            if not sel or sel.get("kind") != "character" or not sel.get("id"):
                raise gr.Error("Select a character first.")
            with studio.store() as store:
                character = store.get("character", sel["id"])
                picture = character_picture(store, sel["id"], studio.settings) if as_png else None
            card = entity_to_card(character)
            safe = "".join(c if c.isalnum() else "_" for c in character.name)[:60] or "card"
            path = Path(tempfile.mkdtemp(prefix="lifeos-card-")) / (
                f"{safe}.png" if as_png else f"{safe}.json")
            if as_png:
                path.write_bytes(card_png(card, picture))
            else:
                path.write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
            return str(path)
        return handler

    card_import_btn.click(card_import, card_upload, [selected, status]).then(
        refresh, filters, listing)
    card_png_btn.click(card_export(True), selected, card_download)
    card_json_btn.click(card_export(False), selected, card_download)
    export_btn.click(do_export, kind, download)


def _draft_values(fields: list[Any], values: tuple[Any, ...]) -> dict[str, Any]:
    """What the user typed, kept as entity-shaped data so the re-rendered form shows it."""
    out: dict[str, Any] = {}
    for field, raw in zip(fields, values, strict=True):
        if field.kind == "lines":
            out[field.name] = [v for v in (raw or "").splitlines() if v.strip()]
        elif field.kind == "json":
            try:
                out[field.name] = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                out[field.name] = raw  # shown back as typed
        elif field.kind == "enum":
            out[field.name] = None if raw == "(none)" else raw
        else:
            out[field.name] = raw
    return out


def _links_and_history(studio: Studio, spec: Any, entity: Any, selected: gr.State,
                       form: gr.State, status: gr.Markdown) -> None:
    with studio.store() as store:
        links = store.links(spec.name, entity.id)
        history = store.history(spec.name, entity.id)
    relations = sorted(set(spec.links) | {"related_to"})
    with gr.Accordion(f"Links ({len(links)})", open=bool(links)):
        gr.Dataframe(pd.DataFrame(
            [[ln.relation, "→" if ln.direction == "out" else "←", ln.entity.kind,
              ln.entity.name, ln.entity.id] for ln in links],
            columns=["relation", "", "kind", "name", "id"]), interactive=False,
            elem_id="entity-links")
        with gr.Row():
            relation = gr.Dropdown(relations, value=relations[0], label="relation", scale=1)
            target = gr.Textbox(label="target id or exact name", scale=2,
                                elem_id="link-target")
            link_btn = gr.Button("Link", elem_id="link-add", scale=0)
            unlink_btn = gr.Button("Unlink", elem_id="link-remove", scale=0)

    def resolve(store: Any, text: str) -> Any:
        text = (text or "").strip()
        if not text:
            raise gr.Error("Give the target's id or exact name.")
        by_name = [e for e in store.list(None, {"q": text, "limit": 50}).items
                   if e.id == text or e.name.lower() == text.lower()]
        if not by_name:
            raise gr.Error(f"No entity with id or name {text!r}.")
        return by_name[0]

    @guarded
    def add_link(rel: str, text: str) -> tuple[Any, ...]:
        with studio.store() as store:
            other = resolve(store, text)
            store.link(spec.name, entity.id, {"relation": rel, "target_id": other.id})
        return _sel(spec.name, entity.id), f"🔗 Linked {other.name}."

    @guarded
    def remove_link(rel: str, text: str) -> tuple[Any, ...]:
        with studio.store() as store:
            other = resolve(store, text)
            store.unlink(spec.name, entity.id, rel, other.id)
        return _sel(spec.name, entity.id), f"Removed the {rel} link to {other.name}."

    link_btn.click(add_link, [relation, target], [selected, status])
    unlink_btn.click(remove_link, [relation, target], [selected, status])

    with gr.Accordion(f"History ({len(history)} revisions)", open=False):
        gr.Dataframe(pd.DataFrame(
            [[r.revision, r.op, r.name, r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
              json.dumps(r.data, ensure_ascii=False)[:200]] for r in reversed(history)],
            columns=["revision", "change", "name", "at", "data"]), interactive=False,
            elem_id="entity-history")
        with gr.Row():
            rev = gr.Number(label="revision", precision=0, minimum=1, scale=0, min_width=120,
                            elem_id="revert-revision")
            revert_btn = gr.Button("Revert to this revision", elem_id="revert-run", scale=0)

    @guarded
    def revert(number: float | None) -> tuple[Any, ...]:
        if not number:
            raise gr.Error("Give the revision number to go back to.")
        with studio.store() as store:
            out = store.revert(spec.name, entity.id, int(number),
                               expected_revision=entity.revision)
        return (_sel(spec.name, entity.id), {"draft": None, "errors": {}},
                f"↺ Reverted to revision {int(number)} (now revision {out.revision}).")

    revert_btn.click(revert, rev, [selected, form, status])


page = StudioPage(id="library", title="Library", build=build)
