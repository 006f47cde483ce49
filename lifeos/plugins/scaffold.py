"""`lifeos plugins new NAME`: a working plugin folder (a kind, a tool on the local model with
its own config, a studio page and a test) to start from."""

from __future__ import annotations

from pathlib import Path
from string import Template

from pydantic import TypeAdapter, ValidationError

from lifeos.errors import BadRequest, Conflict
from lifeos.plugins.manifest import PluginName

TEMPLATE = Path(__file__).with_name("template")


def scaffold(folder: Path, name: str) -> Path:
    """Write the plugin `name` into `folder/name`; never over an existing folder."""
    try:
        TypeAdapter(PluginName).validate_python(name)
    except ValidationError:
        raise BadRequest(
            f"{name!r} is not a plugin name: lower-case letters, digits and _, starting "
            "with a letter (at most 48)"
        ) from None
    target = folder / name
    if target.exists():
        raise Conflict(f"{target} already exists")
    words = {"name": name, "title": name.replace("_", " ").capitalize()}
    for path in sorted(TEMPLATE.rglob("*.tmpl")):
        # tests/test_plugin.py becomes tests/test_<name>.py: pytest wants test modules unique.
        relative = str(path.relative_to(TEMPLATE)).removesuffix(".tmpl")
        out = target / relative.replace("test_plugin", f"test_{name}")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(Template(path.read_text(encoding="utf-8")).substitute(words), "utf-8")
    return target
