"""Entity editors generated from a kind's JSON schema: one widget per field by its type, values
read back into the data the store validates. Generic over every kind (no per-kind forms)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import gradio as gr


@dataclass(frozen=True)
class Field:
    name: str
    schema: dict[str, Any]  # the property's schema, `null` alternative removed
    nullable: bool
    required: bool

    @property
    def kind(self) -> str:
        """enum | boolean | integer | number | text | longtext | lines | json"""
        s = self.schema
        if "enum" in s or "const" in s:
            return "enum"
        t = s.get("type")
        if t in ("boolean", "integer", "number"):
            return t
        if t == "string":
            return "longtext" if s.get("maxLength", 10_000) > 200 else "text"
        if (
            t == "array"
            and s.get("items", {}).get("type") == "string"
            and "enum" not in s.get("items", {})
        ):
            return "lines"
        return "json"

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")


def fields_of(schema: dict[str, Any]) -> list[Field]:
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        nullable = False
        options = prop.get("anyOf")
        if options and any(o.get("type") == "null" for o in options):
            rest = [o for o in options if o.get("type") != "null"]
            nullable = True
            if len(rest) == 1:
                prop = {**prop, **rest[0]}
                prop.pop("anyOf", None)
        if "$ref" in prop:  # nested model: edit as JSON
            prop = {"type": "object"}
        out.append(Field(name, prop, nullable, name in required))
    return out


def widget(field: Field, value: Any, error: str | None) -> gr.components.Component:
    """The input for one field, showing `value`; `error` is shown with it."""
    common: dict[str, Any] = {
        "label": field.label,
        "info": field.schema.get("description", ""),
        "elem_id": f"field-{field.name}",
        "elem_classes": ["field-invalid"] if error else None,
        "interactive": True,
    }
    kind = field.kind
    if kind == "enum":
        choices = field.schema.get("enum") or [field.schema["const"]]
        return gr.Dropdown(
            choices=[*(["(none)"] if field.nullable else []), *choices],
            value=value if value is not None else ("(none)" if field.nullable else None),
            **common,
        )
    if kind == "boolean":
        return gr.Checkbox(value=bool(value), **common)
    if kind in ("integer", "number") and field.nullable:
        # Gradio's Number cannot be empty (it sends 0): optional numbers are typed as text.
        return gr.Textbox(
            value="" if value is None else str(value), placeholder="empty: none", **common
        )
    if kind in ("integer", "number"):
        # Bounds are checked by the kind's schema on save (errors shown by the field), not
        # by the widget, which would reject the value with a message of its own.
        return gr.Number(value=value, precision=0 if kind == "integer" else None, **common)
    if kind in ("text", "longtext"):
        return gr.Textbox(
            value=value or "", lines=4 if kind == "longtext" else 1, max_lines=20, **common
        )
    if kind == "lines":
        return gr.Textbox(
            value="\n".join(value or []),
            lines=3,
            max_lines=20,
            placeholder="one per line",
            **common,
        )
    common.pop("info")  # Code has no info line
    return gr.Code(
        value=json.dumps(value, indent=2, ensure_ascii=False) if value is not None else "",
        language="json",
        **common,
    )


class FieldErrors(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def read(fields: list[Field], values: list[Any]) -> dict[str, Any]:
    """Widget values → entity data. Raises FieldErrors for values that are not even the right
    shape (bad JSON); everything else is left to the kind's schema in the store."""
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field, raw in zip(fields, values, strict=True):
        kind = field.kind
        if kind == "enum":
            value: Any = None if raw in (None, "(none)") else raw
        elif kind == "integer" or kind == "number":
            if raw is None or str(raw).strip() == "":
                value = None
            else:
                try:
                    number = float(raw)
                except ValueError:
                    errors[field.name] = f"{raw!r} is not a number"
                    continue
                value = int(number) if kind == "integer" and number.is_integer() else number
        elif kind in ("text", "longtext"):
            value = None if field.nullable and not raw else (raw or "")
        elif kind == "lines":
            value = [line.strip() for line in (raw or "").splitlines() if line.strip()]
        elif kind == "boolean":
            value = bool(raw)
        else:
            text = (raw or "").strip()
            try:
                value = json.loads(text) if text else None
            except json.JSONDecodeError as exc:
                errors[field.name] = f"not valid JSON ({exc.msg}, line {exc.lineno})"
                continue
        if value is None and not field.nullable and not field.required:
            continue  # leave the schema's default in place
        data[field.name] = value
    if errors:
        raise FieldErrors(errors)
    return data


def errors_by_field(details: Any) -> dict[str, str]:
    """The store's validation details ({loc, msg}) → {top-level field: message}."""
    out: dict[str, str] = {}
    for item in details or []:
        loc = [p for p in item.get("loc", []) if p != "data"]
        key = str(loc[0]) if loc else "_form"  # a rule across fields (min ≤ max, ...)
        rest = ".".join(str(p) for p in loc[1:])
        out.setdefault(key, f"{rest + ': ' if rest else ''}{item.get('msg', 'invalid')}")
    return out
