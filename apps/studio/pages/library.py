"""Library: browse, search and edit every entity kind with one generic table and editor."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from apps.studio.base import Page, guarded, log, message, selected, temp_folder
from apps.studio.forms import FieldErrors, errors_by_field, fields_of, read, widget
from lifeos.errors import ValidationFailed
from lifeos.kinds import get_registry
from lifeos.schemas import SORT_FIELDS
from lifeos.store import EntityStore
from lifeos.transfer import dumps_export, export_library, import_library, read_export_file

PAGE_SIZE = 50
ALL = "all kinds"
COLUMNS = ["kind", "name", "tags", "★", "updated", "id"]
SORTS = [f"{sign}{f}" for f in SORT_FIELDS for sign in ("-", "")]


def _sel(kind: str, entity_id: str | None) -> dict[str, Any]:
    """The editor's selection; a fresh value each time, so the editor always re-renders."""
    return {"kind": kind, "id": entity_id, "at": time.monotonic_ns()}


def _split_tags(text: str) -> list[str]:
    return [t.strip() for t in (text or "").replace(",", " ").split() if t.strip()]


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


NO_FORM: dict[str, Any] = {"draft": None, "errors": {}}


class LibraryPage(Page):
    """The library tab: the filtered table of every kind, the editor generated from the
    selected entity's schema (with its links and history), import and export.

    The editor is a `gr.render` block: it is laid out again for each selection, so its buttons
    are wired as it renders (`_render_editor`), to handlers bound to the entity shown."""

    id = "library"
    title = "Library"

    # ---- layout -----------------------------------------------------------------------------

    def layout(self) -> None:
        self.registry = get_registry()
        self.page_ids = gr.State([])  # [(kind, id)] of the rows on screen
        self.selection = gr.State(None)  # {"kind", "id"} (id None: a new entity)
        self.form = gr.State(dict(NO_FORM))  # the draft being fixed and its errors
        self.deleted = gr.State(None)  # the last soft-deleted entity, for undo
        self._filters()
        self._listing()
        self.status = gr.Markdown(elem_id="entity-status")
        with gr.Row():
            self.undo_btn = gr.Button(
                "↶ undo delete", visible=False, size="sm", elem_id="entity-undo"
            )
        gr.render(inputs=[self.selection, self.form])(self.editor)
        self._transfer()

    def _filters(self) -> None:
        with gr.Row():
            self.kind = gr.Dropdown(
                [ALL, *self.registry.names()],
                value=ALL,
                label="kind",
                elem_id="library-kind",
                scale=2,
            )
            self.q = gr.Textbox(
                label="search",
                placeholder="words in names, tags and text",
                elem_id="library-search",
                scale=3,
            )
            self.tags = gr.Textbox(
                label="tags", placeholder="all of these tags", scale=2, elem_id="library-tags"
            )
            self.sort = gr.Dropdown(SORTS, value="-updated_at", label="sort", scale=1)
        with gr.Row():
            self.favorites = gr.Checkbox(label="favorites only", elem_id="library-favorites")
            self.trash = gr.Checkbox(label="trash", elem_id="library-trash")
            self.prev_btn = gr.Button("◀ previous", size="sm")
            self.page_no = gr.Number(
                value=1, precision=0, minimum=1, label="page", scale=0, min_width=80
            )
            self.next_btn = gr.Button("next ▶", size="sm")
            self.new_btn = gr.Button("+ new entity", size="sm", elem_id="library-new")

    def _listing(self) -> None:
        self.summary = gr.Markdown(elem_id="library-summary")
        self.gallery = gr.Gallery(
            label="images on this page",
            visible=False,
            columns=8,
            height=180,
            elem_id="library-thumbnails",
        )
        self.table = gr.Dataframe(
            headers=COLUMNS, interactive=False, wrap=True, max_height=420, elem_id="library-table"
        )

    def _transfer(self) -> None:
        with gr.Accordion("Import / export JSON", open=False):
            with gr.Row():
                self.upload = gr.File(
                    label="library export (.json)", file_types=[".json"], elem_id="import-file"
                )
                self.on_conflict = gr.Radio(
                    ["fail", "skip"], value="fail", label="when an entity already exists"
                )
                self.import_btn = gr.Button("Import", elem_id="import-run")
            with gr.Row():
                self.export_btn = gr.Button(
                    "Export (the kind shown, or everything)", elem_id="export-run"
                )
                self.download = gr.File(label="export", interactive=False, elem_id="export-file")

    # ---- wiring -----------------------------------------------------------------------------

    @property
    def filters(self) -> list[Any]:
        return [
            self.kind,
            self.q,
            self.tags,
            self.favorites,
            self.trash,
            self.sort,
            self.page_no,
        ]

    @property
    def listing(self) -> list[Any]:
        return [self.table, self.summary, self.page_ids, self.gallery]

    def relist(self, event: Any) -> Any:
        """After a change to the library: the table again, with the same filters."""
        return event.then(self.refresh, self.filters, self.listing)

    def wire(self) -> None:
        # The table follows every filter (and fills when the page opens); a new filter starts
        # again at page 1.
        gr.on(None, self.refresh, self.filters, self.listing, trigger_mode="always_last")
        for control in (self.kind, self.q, self.tags, self.favorites, self.trash, self.sort):
            control.change(lambda: 1, None, self.page_no, queue=False)
        self.prev_btn.click(
            lambda p: max(1, int(p or 1) - 1), self.page_no, self.page_no, queue=False
        )
        self.next_btn.click(lambda p: int(p or 1) + 1, self.page_no, self.page_no, queue=False)
        self.table.select(self.pick, self.page_ids, [self.selection, self.form])
        self.new_btn.click(self.start_new, self.kind, [self.selection, self.form])
        self.relist(
            self.undo_btn.click(
                self.undo,
                self.deleted,
                [self.selection, self.status, self.undo_btn, self.deleted],
            )
        )
        self.relist(
            self.import_btn.click(self.do_import, [self.upload, self.on_conflict], self.status)
        )
        self.export_btn.click(self.do_export, self.kind, self.download)

    # ---- the table --------------------------------------------------------------------------

    @guarded
    def refresh(
        self,
        kind_v: str,
        q_v: str,
        tags_v: str,
        fav: bool,
        trash_v: bool,
        sort_v: str,
        page_v: float | None,
    ) -> tuple[Any, ...]:
        page = max(1, int(page_v or 1))
        query: dict[str, Any] = {
            "limit": PAGE_SIZE,
            "offset": (page - 1) * PAGE_SIZE,
            "q": q_v or None,
            "tags": _split_tags(tags_v),
            "favorite": True if fav else None,
            "sort": sort_v,
            "only_deleted": bool(trash_v),
        }
        with self.studio.store() as store:
            result = store.list(None if kind_v == ALL else kind_v, query)
        pages = max(1, math.ceil(result.total / PAGE_SIZE))
        rows = [
            [
                e.kind,
                e.name,
                ", ".join(e.tags),
                "★" if e.favorite else "",
                e.updated_at.strftime("%Y-%m-%d %H:%M"),
                e.id,
            ]
            for e in result.items
        ]
        blob_path = self.studio.settings.blob_path
        thumbs = [
            (str(p), e.name)
            for e in result.items
            if e.kind == "image"
            and (
                p := blob_path(
                    e.data.get("sha256", ""), "." + e.data.get("mime_type", "/png").split("/")[1]
                )
            ).is_file()
        ]
        where = "in the trash" if trash_v else ("" if kind_v == ALL else f"of kind {kind_v}")
        text = (
            f"**{result.total}** entities {where} · page {page} of {pages}"
            if result.total
            else f"No entities {where} match."
        )
        return (
            pd.DataFrame(rows, columns=COLUMNS),
            text,
            [(e.kind, e.id) for e in result.items],
            gr.Gallery(value=thumbs, visible=bool(thumbs)),
        )

    def pick(self, ids: list[Any], evt: gr.SelectData) -> tuple[Any, Any]:
        row = selected(ids, evt)
        if row is None:
            return gr.skip(), gr.skip()
        return _sel(*row), dict(NO_FORM)

    @guarded
    def start_new(self, kind_v: str) -> tuple[Any, Any]:
        if kind_v == ALL:
            raise gr.Error("Pick a kind first, then create.")
        return _sel(kind_v, None), dict(NO_FORM)

    @guarded
    def undo(self, last: dict[str, Any] | None) -> tuple[Any, ...]:
        if not last:
            return gr.skip(), gr.skip(), gr.Button(visible=False), None
        with self.studio.store() as store:
            restored = store.restore(last["kind"], last["id"])
        return (
            _sel(last["kind"], last["id"]),
            f"↶ Restored {restored.name}.",
            gr.Button(visible=False),
            None,
        )

    # ---- the editor -------------------------------------------------------------------------

    def editor(self, sel: dict[str, Any] | None, form_v: dict[str, Any]) -> None:
        try:
            self._render_editor(sel, form_v)
        except Exception as exc:  # noqa: BLE001 - shown in place of the form, and logged
            log.exception("studio_editor_failed", selection=sel)
            gr.Markdown(
                f"⚠ This entity cannot be shown: {message(exc)}",
                elem_classes=["field-error"],
                elem_id="error-form",
            )

    def _render_editor(self, sel: dict[str, Any] | None, form_v: dict[str, Any]) -> None:
        if not sel:
            gr.Markdown("_Select a row to edit it, or create a new entity._")
            return
        spec = self.registry.get(sel["kind"])
        entity = None
        if sel["id"]:
            with self.studio.store() as store:
                entity = store.get(sel["kind"], sel["id"], include_deleted=True)
        draft = form_v.get("draft") or (
            {
                "name": entity.name,
                "tags": entity.tags,
                "favorite": entity.favorite,
                "data": entity.data,
            }
            if entity
            else {"name": "", "tags": [], "favorite": False, "data": {}}
        )
        errors = form_v.get("errors") or {}
        title = (
            f"### {spec.label}: {entity.name} · revision {entity.revision}"
            + (" · **in the trash**" if entity.deleted_at else "")
            if entity
            else f"### New {spec.label}"
        )
        gr.Markdown(title, elem_id="entity-title")
        if errors.get("_form"):
            gr.Markdown(f"⚠ {errors['_form']}", elem_classes=["field-error"], elem_id="error-form")

        fields = fields_of(spec.json_schema())
        boxes = self._fields(fields, draft, errors)
        editing = _Editing(self, spec, entity, fields)
        self._buttons(editing, boxes)
        if entity:
            self._links(editing)
            self._history(editing)

    def _fields(
        self, fields: list[Any], draft: dict[str, Any], errors: dict[str, str]
    ) -> list[Any]:
        """The form's inputs (name, tags, favorite, then the schema's fields), each with its
        error under it."""

        def note(field: str) -> None:
            if errors.get(field):
                gr.Markdown(
                    f"⚠ **{field.replace('_', ' ')}**: {errors[field]}",
                    elem_classes=["field-error"],
                    elem_id=f"error-{field}",
                )

        name_box = gr.Textbox(
            value=draft["name"], label="name", elem_id="field-name", interactive=True
        )
        note("name")
        tags_box = gr.Textbox(
            value=", ".join(draft["tags"]),
            label="tags",
            placeholder="comma-separated",
            elem_id="field-tags",
            interactive=True,
        )
        note("tags")
        fav_box = gr.Checkbox(
            value=draft["favorite"], label="favorite", elem_id="field-favorite", interactive=True
        )
        boxes: list[Any] = [name_box, tags_box, fav_box]
        for field in fields:
            value = draft["data"].get(field.name, field.schema.get("default"))
            boxes.append(widget(field, value, errors.get(field.name)))
            note(field.name)
        return boxes

    def _buttons(self, editing: _Editing, boxes: list[Any]) -> None:
        """Save, and delete or restore and purge as the entity's state allows."""
        entity = editing.entity
        in_trash = bool(entity and entity.deleted_at)
        with gr.Row():
            save_btn = gr.Button("Save", variant="primary", elem_id="entity-save")
            if entity and not in_trash:
                delete_btn = gr.Button("Delete", variant="stop", elem_id="entity-delete")
            if in_trash:
                restore_btn = gr.Button("Restore", elem_id="entity-restore")
                purge_btn = gr.Button("Delete forever", variant="stop", elem_id="entity-purge")
        self.relist(
            save_btn.click(guarded(editing.save), boxes, [self.selection, self.form, self.status])
        )
        if entity and not in_trash:
            self.relist(
                delete_btn.click(
                    guarded(editing.delete),
                    None,
                    [self.selection, self.form, self.deleted, self.status, self.undo_btn],
                )
            )
        if in_trash:
            self.relist(
                restore_btn.click(guarded(editing.restore), None, [self.selection, self.status])
            )
            purged = purge_btn.click(guarded(editing.purge), None, [self.selection, self.status])
            self.relist(purged)

    def _links(self, editing: _Editing) -> None:
        spec, entity = editing.spec, editing.entity
        with self.studio.store() as store:
            links = store.links(spec.name, entity.id)
        relations = sorted(set(spec.links) | {"related_to"})
        with gr.Accordion(f"Links ({len(links)})", open=bool(links)):
            gr.Dataframe(
                pd.DataFrame(
                    [
                        [
                            ln.relation,
                            "→" if ln.direction == "out" else "←",
                            ln.entity.kind,
                            ln.entity.name,
                            ln.entity.id,
                        ]
                        for ln in links
                    ],
                    columns=["relation", "", "kind", "name", "id"],
                ),
                interactive=False,
                elem_id="entity-links",
            )
            with gr.Row():
                relation = gr.Dropdown(relations, value=relations[0], label="relation", scale=1)
                target = gr.Textbox(label="target id or exact name", scale=2, elem_id="link-target")
                link_btn = gr.Button("Link", elem_id="link-add", scale=0)
                unlink_btn = gr.Button("Unlink", elem_id="link-remove", scale=0)
        link_btn.click(guarded(editing.add_link), [relation, target], [self.selection, self.status])
        unlink_btn.click(
            guarded(editing.remove_link), [relation, target], [self.selection, self.status]
        )

    def _history(self, editing: _Editing) -> None:
        spec, entity = editing.spec, editing.entity
        with self.studio.store() as store:
            history = store.history(spec.name, entity.id)
        with gr.Accordion(f"History ({len(history)} revisions)", open=False):
            gr.Dataframe(
                pd.DataFrame(
                    [
                        [
                            r.revision,
                            r.op,
                            r.name,
                            r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                            json.dumps(r.data, ensure_ascii=False)[:200],
                        ]
                        for r in reversed(history)
                    ],
                    columns=["revision", "change", "name", "at", "data"],
                ),
                interactive=False,
                elem_id="entity-history",
            )
            with gr.Row():
                rev = gr.Number(
                    label="revision",
                    precision=0,
                    minimum=1,
                    scale=0,
                    min_width=120,
                    elem_id="revert-revision",
                )
                revert_btn = gr.Button("Revert to this revision", elem_id="revert-run", scale=0)
        revert_btn.click(guarded(editing.revert), rev, [self.selection, self.form, self.status])

    # ---- import, export, cards --------------------------------------------------------------

    @guarded
    def do_import(self, path: str | None, conflict: str) -> str:
        if not path:
            raise gr.Error("Choose an export file first.")
        doc = read_export_file(Path(path), max_bytes=self.studio.settings.max_import_bytes)
        with self.studio.store() as store:
            counts = import_library(store.session, doc, on_conflict=conflict)  # type: ignore[arg-type]
        return "✅ Imported " + ", ".join(f"{v} {k}" for k, v in counts.items()) + "."

    @guarded
    def do_export(self, kind_v: str) -> str:
        with self.studio.store() as store:
            doc = export_library(store.session, None if kind_v == ALL else kind_v)
        name = f"lifeos-{'library' if kind_v == ALL else kind_v}-export.json"
        path = temp_folder("lifeos-export-") / name
        path.write_text(dumps_export(doc), encoding="utf-8")
        return str(path)


@dataclass
class _Editing:
    """The handlers of the editor's buttons, bound to the entity it shows (None: a new one)
    and the form fields its schema gave."""

    page: LibraryPage
    spec: Any
    entity: Any
    fields: list[Any]

    def _again(self) -> dict[str, Any]:
        return _sel(self.spec.name, self.entity.id)

    def save(self, name: str, tags_v: str, fav: bool, *values: Any) -> tuple[Any, ...]:
        payload: dict[str, Any] = {"name": name, "tags": _split_tags(tags_v), "favorite": bool(fav)}
        try:
            payload["data"] = read(self.fields, list(values))
            with self.page.studio.store() as store:
                if self.entity is None:
                    saved = store.create(self.spec.name, payload)
                else:
                    saved = store.update(
                        self.spec.name,
                        self.entity.id,
                        {**payload, "expected_revision": self.entity.revision},
                    )
        except (FieldErrors, ValidationFailed) as exc:
            errs = exc.errors if isinstance(exc, FieldErrors) else errors_by_field(exc.details)
            raw = {**payload, "data": _draft_values(self.fields, values)}
            return (
                gr.skip(),
                {"draft": raw, "errors": errs},
                f"❌ Not saved: {len(errs)} field(s) need fixing.",
            )
        return (
            _sel(saved.kind, saved.id),
            dict(NO_FORM),
            f"✅ Saved {saved.name} (revision {saved.revision}).",
        )

    def delete(self) -> tuple[Any, ...]:
        with self.page.studio.store() as store:
            store.delete(self.spec.name, self.entity.id)
        return (
            None,
            dict(NO_FORM),
            {"kind": self.spec.name, "id": self.entity.id},
            f"🗑 Moved {self.entity.name} to the trash.",
            gr.Button(visible=True),
        )

    def restore(self) -> tuple[Any, ...]:
        with self.page.studio.store() as store:
            store.restore(self.spec.name, self.entity.id)
        return self._again(), f"♻ Restored {self.entity.name}."

    def purge(self) -> tuple[Any, ...]:
        with self.page.studio.store() as store:
            store.purge(self.spec.name, self.entity.id)
        return None, f"Deleted {self.entity.name} forever."

    def _resolve(self, store: EntityStore, text: str) -> Any:
        """The link target named by its id or its exact name."""
        text = (text or "").strip()
        if not text:
            raise gr.Error("Give the target's id or exact name.")
        matches = [
            e
            for e in store.list(None, {"q": text, "limit": 50}).items
            if e.id == text or e.name.lower() == text.lower()
        ]
        if not matches:
            raise gr.Error(f"No entity with id or name {text!r}.")
        return matches[0]

    def add_link(self, rel: str, text: str) -> tuple[Any, ...]:
        with self.page.studio.store() as store:
            other = self._resolve(store, text)
            store.link(self.spec.name, self.entity.id, {"relation": rel, "target_id": other.id})
        return self._again(), f"🔗 Linked {other.name}."

    def remove_link(self, rel: str, text: str) -> tuple[Any, ...]:
        with self.page.studio.store() as store:
            other = self._resolve(store, text)
            store.unlink(self.spec.name, self.entity.id, rel, other.id)
        return self._again(), f"Removed the {rel} link to {other.name}."

    def revert(self, number: float | None) -> tuple[Any, ...]:
        if not number:
            raise gr.Error("Give the revision number to go back to.")
        with self.page.studio.store() as store:
            out = store.revert(
                self.spec.name, self.entity.id, int(number), expected_revision=self.entity.revision
            )
        return (
            self._again(),
            dict(NO_FORM),
            f"↺ Reverted to revision {int(number)} (now revision {out.revision}).",
        )
