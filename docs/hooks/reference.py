"""MkDocs hook: the reference pages, generated from the code at every build (never committed).

- `reference/cli.md` from the typer app (`apps.cli:cli()`, with the plugins' commands): every
  command, its help, arguments and options, walked through the click command tree typer builds.
- `reference/api.md` from the FastAPI app's OpenAPI document (`apps.api.app:create_app`, the
  studio left out): every path and method with its summary, grouped by tag.
- `reference/kinds.md` from the entity kind registry: every kind, its fields and links.
- the table of every setting at `<!-- settings:generated -->` in `operations/settings.md`, from
  `lifeos.settings.Settings`; a setting that page does not mention fails a strict build.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.reference")

SETTINGS_PAGE = "operations/settings.md"
SETTINGS_MARKER = "<!-- settings:generated -->"
GENERATED_NOTE = (
    "_Generated from the code when the site is built (`docs/hooks/reference.py`); "
    "edit the code, not this page._\n"
)


def _cell(text: Any) -> str:
    """One Markdown table cell: one line, pipes escaped outside code spans (a table reads the
    pipes inside backticks as text)."""
    parts = " ".join(str(text).split()).split("`")
    return "`".join(p if i % 2 else p.replace("|", "\\|") for i, p in enumerate(parts))


def _code(text: Any) -> str:
    return f"`{text}`" if str(text) else ""


# ---- CLI ------------------------------------------------------------------------------------


def _param_rows(cmd: Any) -> tuple[list[str], list[str]]:
    arguments, options = [], []
    for param in cmd.params:
        if getattr(param, "hidden", False):
            continue
        help_text = _cell(getattr(param, "help", None) or "")
        kind = _cell(getattr(param.type, "name", param.type)).upper()
        if param.param_type_name == "argument":
            required = "required" if param.required else "optional"
            many = ", repeatable" if param.nargs == -1 else ""
            arguments.append(
                f"| `{param.human_readable_name}` | {kind} | {required}{many} | {help_text} |"
            )
            continue
        names = ", ".join(f"`{o}`" for o in (*param.opts, *param.secondary_opts))
        if getattr(param, "is_flag", False):
            kind = "flag"
        default = param.default
        shown = "" if default is None or callable(default) or default == () else _code(default)
        if isinstance(default, bool):  # a flag: the name that is in effect when it is not given
            if param.secondary_opts:
                shown = _code((param.opts if default else param.secondary_opts)[0])
            else:
                shown = "on" if default else ""
        if param.required:
            shown = "required"
        many = " (repeatable)" if param.multiple else ""
        options.append(f"| {names} | {kind}{many} | {shown} | {help_text} |")
    return arguments, options


def _command_section(cmd: Any, path: list[str], ctx: Any) -> list[str]:
    pieces = " ".join(cmd.collect_usage_pieces(ctx))
    level = min(len(path), 4)
    out = [f"{'#' * level} `{' '.join(path)}`", ""]
    text = (cmd.help or "").strip()
    if text:
        out += [text, ""]
    out += ["```text", f"{' '.join(path)} {pieces}".rstrip(), "```", ""]
    arguments, options = _param_rows(cmd)
    if arguments:
        out += ["| argument | type | required | |", "|---|---|---|---|", *arguments, ""]
    if options:
        out += ["| option | type | default | |", "|---|---|---|---|", *options, ""]
    return out


def _walk(cmd: Any, path: list[str], parent: Any, out: list[str]) -> None:
    ctx = cmd.context_class(cmd, info_name=path[-1], parent=parent)
    subcommands = getattr(cmd, "commands", None)
    if subcommands is None:
        out += _command_section(cmd, path, ctx)
        return
    if len(path) > 1:
        level = min(len(path), 4)
        out += [f"{'#' * level} `{' '.join(path)} …`", "", (cmd.help or "").strip(), ""]
    # Plain commands first, then the groups, each in the order the app lists them.
    names = cmd.list_commands(ctx)
    leaves = [n for n in names if not hasattr(cmd.get_command(ctx, n), "commands")]
    groups = [n for n in names if n not in leaves]
    for name in leaves + groups:
        sub = cmd.get_command(ctx, name)
        if sub is not None and not getattr(sub, "hidden", False):
            _walk(sub, [*path, name], ctx, out)


def cli_reference() -> str:
    import typer

    from apps.cli import cli

    root = typer.main.get_command(cli())
    out = [
        "# CLI reference",
        "",
        GENERATED_NOTE,
        f"{(root.help or '').strip()} Every command below also answers `--help`. Errors print",
        "one line (`error: …`) and exit 1; a command with `--json` prints its error as JSON on",
        "stdout. `--data` takes JSON or `@file.json`.",
        "",
    ]
    _walk(root, ["lifeos"], None, out)
    return "\n".join(out) + "\n"


# ---- API ------------------------------------------------------------------------------------


def api_reference() -> str:
    from apps.api.app import API_PREFIX, create_app
    from lifeos.settings import Settings

    with tempfile.TemporaryDirectory(prefix="lifeos-docs-") as home:
        spec = create_app(Settings(home=Path(home)), studio=False).openapi()
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            for tag in op.get("tags") or ["other"]:
                by_tag.setdefault(tag, []).append((method.upper(), path, op))
    info = spec["info"]
    out = [
        "# API reference",
        "",
        GENERATED_NOTE,
        f"{info['title']} {info['version']}: {info.get('description', '')} Routes live under",
        f"`{API_PREFIX}` (the health checks at the root). A running server serves the same",
        f"document at `{spec_url(API_PREFIX)}` and an interactive page at `/docs`.",
        "",
        f"{sum(len(v) for v in by_tag.values())} operations in {len(by_tag)} groups:"
        f" {', '.join(f'[{t}](#{t})' for t in by_tag)}. Each names the role it needs"
        " ([security](../operations/security.md)); the document says it as `x-role`.",
        "",
        "## Versioning and deprecation",
        "",
        f"`{API_PREFIX}` is frozen: its OpenAPI document is kept in",
        "`tests/fixtures/openapi_v1.json` and `tests/test_api_contract.py` fails on any change",
        "to it, until the snapshot is updated on purpose (`LIFEOS_UPDATE_OPENAPI=1`). Adding a",
        "route or an optional field is a reviewed snapshot change; removing or renaming one, or",
        "making a field required, waits for `/api/v2`. A route that has a newer form keeps",
        "working for at least six months and says so on every answer: `Deprecation` (RFC 9745,",
        "the date it was deprecated), `Sunset` (RFC 8594, the date it goes) and",
        '`Link: <successor>; rel="successor-version"`; the document marks it `deprecated`.',
        "`/healthz` and `/readyz` are such routes (their successors: `/health/live`,",
        "`/health/ready`).",
        "",
    ]
    for tag, ops in by_tag.items():
        out += [
            f"## {tag}",
            "",
            "| method | path | role | summary | parameters |",
            "|---|---|---|---|---|",
        ]
        for method, path, op in ops:
            summary = op.get("summary", "")
            about = (op.get("description") or "").strip().split("\n\n")[0]
            text = f"**{_cell(summary)}**" + (f": {_cell(about)}" if about else "")
            params = [
                f"`{p['name']}`{'' if p.get('required') else '?'} ({p['in']})"
                for p in op.get("parameters", [])
                if p["in"] != "path"
            ]
            if "requestBody" in op:
                content = op["requestBody"].get("content", {})
                params.append(f"body: {', '.join(f'`{c}`' for c in content)}")
            if op.get("deprecated"):
                text = f"*deprecated* {text}"
            role = op.get("x-role", "admin")
            out.append(f"| `{method}` | `{path}` | {role} | {text} | {'<br>'.join(params)} |")
        out.append("")
    return "\n".join(out) + "\n"


def spec_url(prefix: str) -> str:
    return f"{prefix}/openapi.json"


# ---- entity kinds ---------------------------------------------------------------------------


def kinds_reference() -> str:
    from lifeos.kinds import GENERIC_RELATION, get_registry

    specs = list(get_registry())
    out = [
        "# Entity kinds",
        "",
        GENERATED_NOTE,
        f"{len(specs)} kinds are registered by the installed plugins (`lifeos entity kinds`,",
        "`GET /api/v1/kinds`). Every kind is stored, listed, searched and versioned the same way",
        "([the library](../product/library.md)); `data` is validated by the kind's Pydantic model,",
        f"and any entity may link to any other with `{GENERIC_RELATION}`.",
        "",
        "| kind | label | what | links it may make |",
        "|---|---|---|---|",
    ]
    for spec in specs:
        links = "; ".join(f"`{rel}` → {', '.join(targets)}" for rel, targets in spec.links.items())
        out.append(
            f"| [`{spec.name}`](#{spec.name}) | {_cell(spec.label)} | "
            f"{_cell(spec.description)} | {_cell(links)} |"
        )
    out.append("")
    for spec in specs:
        out += [f"## {spec.name}", "", "| field | type | default | |", "|---|---|---|---|"]
        schema = spec.json_schema()
        for name, field in spec.model.model_fields.items():
            prop = schema.get("properties", {}).get(name, {})
            out.append(
                f"| `{name}` | {_cell(_schema_type(prop))} | "
                f"{'required' if field.is_required() else _cell(_default(_plain(field)))} | "
                f"{_cell(field.description or '')} |"
            )
        out.append("")
    return "\n".join(out) + "\n"


def _plain(field: Any) -> Any:
    """A field's default as JSON would show it (a default factory called)."""
    value = field.get_default(call_default_factory=True)
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


def _schema_type(prop: dict[str, Any]) -> str:
    if "anyOf" in prop:
        return " or ".join(_schema_type(p) for p in prop["anyOf"])
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if prop.get("type") == "array":
        return f"list of {_schema_type(prop.get('items', {}))}"
    if "enum" in prop:
        return " / ".join(repr(v) for v in prop["enum"])
    return str(prop.get("type", "any"))


# ---- settings -------------------------------------------------------------------------------


def _default(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, Path):
        return f"`{value}`"
    if isinstance(value, str):
        return f"`{value}`" if value else '`""`'
    return _code(json.dumps(value))


def _allowed(metadata: list[Any]) -> str:
    """The field's constraints (ge / le / pattern ...) as one short text."""
    bounds = {}
    for item in metadata:
        for key in ("ge", "gt", "le", "lt", "pattern"):
            if getattr(item, key, None) is not None:
                bounds[key] = getattr(item, key)
    if "ge" in bounds and "le" in bounds:
        return f"{bounds['ge']}–{bounds['le']}"
    signs = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    parts = [f"{signs[k]} {v}" for k, v in bounds.items() if k in signs]
    if "pattern" in bounds:
        choice = re.fullmatch(r"\^\(([\w|-]+)\)\$", bounds["pattern"])
        if choice:  # ^(a|b)$: one of the names
            parts.append(" or ".join(_code(c) for c in choice.group(1).split("|")))
        else:
            parts.append(_cell(_code(bounds["pattern"])))
    return ", ".join(parts)


def settings_rows() -> list[tuple[str, str, str, str, str]]:
    """(variable, type, default, allowed, description) of every `Settings` field."""
    from lifeos.settings import Settings

    rows = []
    prefix = Settings.model_config.get("env_prefix", "")
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        env = alias if isinstance(alias, str) else f"{prefix}{name}".upper()
        kind = re.sub(r"\b(?:typing|pathlib|pydantic\.types)\.", "", str(field.annotation))
        kind = re.sub(r"<class '(\w+)'>", r"\1", kind)
        default = _default(field.default)
        if name == "config_dir":  # an absolute path of this checkout
            default = "`configs/` of the checkout"
        rows.append((env, kind, default, _allowed(field.metadata), _cell(field.description or "")))
    return rows


def settings_table(page_markdown: str) -> str:
    out = ["| variable | type | default | allowed | description in `lifeos/settings.py` |"]
    out.append("|---|---|---|---|---|")
    for env, kind, default, allowed, about in settings_rows():
        if env not in page_markdown:
            log.warning(f"{SETTINGS_PAGE} does not mention {env} (lifeos/settings.py)")
        out.append(f"| `{env}` | {_cell(kind)} | {default} | {allowed} | {about} |")
    return "\n".join(out)


# ---- MkDocs events --------------------------------------------------------------------------


def workflows_reference() -> str:
    """Every key of the workflow language, from its JSON Schema (`lifeos.workflows.dsl`)."""
    from lifeos.workflows import json_schema

    schema = json_schema()
    defs = schema.get("$defs", {})
    lines = [
        "# Workflow language",
        "",
        GENERATED_NOTE,
        (schema.get("description") or "").strip(),
        "",
    ]
    sections = [("Workflow", schema)] + sorted(defs.items())
    for name, node in sections:
        if "properties" not in node:
            continue
        lines += [f"## {name}", "", " ".join((node.get("description") or "").split()), ""]
        lines += ["| key | type | default | what it is |", "|---|---|---|---|"]
        required = set(node.get("required", []))
        for key, prop in node["properties"].items():
            kind = _schema_type(prop)
            default = "required" if key in required else json.dumps(prop.get("default", None))
            what = _cell(prop.get("description", ""))
            lines.append(f"| `{key}` | {_cell(kind)} | {_cell(default)} | {what} |")
        lines.append("")
    return "\n".join(lines)


def _schema_type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in prop or "oneOf" in prop:
        return " or ".join(_schema_type(p) for p in prop.get("anyOf") or prop["oneOf"])
    if prop.get("type") == "array":
        return f"list of {_schema_type(prop.get('items', {}))}"
    if "enum" in prop:
        return " / ".join(f"`{v}`" for v in prop["enum"])
    return str(prop.get("type", "any"))


GENERATED = {
    "reference/workflows.md": workflows_reference,
    "reference/cli.md": cli_reference,
    "reference/api.md": api_reference,
    "reference/kinds.md": kinds_reference,
}


def on_startup(command: str, dirty: bool) -> None:
    # Offline and quiet, as every process of this project runs.
    for key, value in {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "DO_NOT_TRACK": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
    }.items():
        os.environ.setdefault(key, value)


def on_files(files: Any, config: Any) -> Any:
    for uri, build in GENERATED.items():
        existing = files.get_file_from_path(uri)
        if existing is not None:  # a stale copy on disk never wins over the code
            files.remove(existing)
        files.append(File.generated(config, uri, content=build()))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if page.file.src_uri == SETTINGS_PAGE:
        if SETTINGS_MARKER not in markdown:
            log.warning(f"{SETTINGS_PAGE} lost its {SETTINGS_MARKER} marker")
        return markdown.replace(SETTINGS_MARKER, settings_table(markdown))
    return markdown
