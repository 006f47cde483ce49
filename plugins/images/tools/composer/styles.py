"""Style packs in the Fooocus style JSON format: a list of `{name, prompt, negative_prompt}`,
where `prompt` holds `{prompt}`. Our packs ship in configs/styles/; a user's Fooocus/SDXL style
file is imported as-is into LIFEOS_HOME/styles/."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from lifeos.errors import BadRequest, NotFound


class Style(BaseModel):
    model_config = ConfigDict(extra="allow")  # other keys of a pack are kept, not used

    name: str = Field(min_length=1, max_length=200)
    prompt: str = Field("{prompt}", max_length=4000)
    negative_prompt: str = Field("", max_length=4000)

    def apply(self, positive: str, negative: str) -> tuple[str, str]:
        if "{prompt}" in self.prompt:
            positive = self.prompt.replace("{prompt}", positive)
        elif self.prompt:
            positive = ", ".join(p for p in (positive, self.prompt) if p)
        negative = ", ".join(p for p in (negative, self.negative_prompt) if p)
        return positive, negative


_PACK = TypeAdapter(list[Style])


def parse_pack(text: str, *, source: str) -> list[Style]:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"{source}: not JSON ({exc.msg}, line {exc.lineno})") from None
    try:
        styles = _PACK.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadRequest(
            f"{source}: not a Fooocus style list ([{{name, prompt, "
            f"negative_prompt}}, ...]): {where}: {first['msg']}"
        ) from None
    if not styles:
        raise BadRequest(f"{source}: the style list is empty")
    return styles


@dataclass
class StyleLibrary:
    folders: list[Path]  # shipped packs first, the user's last (later names win)
    user_folder: Path

    def packs(self) -> dict[str, list[Style]]:
        out: dict[str, list[Style]] = {}
        for folder in self.folders:
            for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
                out[path.stem] = parse_pack(path.read_text(encoding="utf-8"), source=str(path))
        return out

    def all(self) -> dict[str, tuple[str, Style]]:
        """Style name (lower-cased) → (pack, style)."""
        found: dict[str, tuple[str, Style]] = {}
        for pack, styles in self.packs().items():
            for style in styles:
                found[style.name.lower()] = (pack, style)
        return found

    def get(self, name: str) -> Style:
        pack, _, style_name = name.rpartition(":")
        if pack:
            for style in self.packs().get(pack, []):
                if style.name.lower() == style_name.lower():
                    return style
        hit = self.all().get(name.lower())
        if hit is None:
            raise NotFound(f"unknown style {name!r} (`lifeos compose --list-styles` lists them)")
        return hit[1]

    def import_pack(self, path: Path) -> tuple[str, int]:
        """Validate a Fooocus style file and copy it unchanged into the user's styles."""
        path = Path(path)
        if not path.is_file():
            raise NotFound(f"{path}: no such file")
        styles = parse_pack(path.read_text(encoding="utf-8"), source=str(path))
        self.user_folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, self.user_folder / f"{path.stem}.json")
        return path.stem, len(styles)
