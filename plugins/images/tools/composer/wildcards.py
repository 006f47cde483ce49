"""Dynamic-prompts syntax: `__name__` draws a line of `wildcards/name.txt`, `{a|b|c}` draws one
alternative. Draws come from a seeded random generator, so a batch's prompts are reproducible."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from pathlib import Path

from lifeos.errors import BadRequest

WILDCARD = re.compile(r"__([A-Za-z0-9_\-/]+)__")
ALTERNATIVES = re.compile(r"\{([^{}]*\|[^{}]*)\}")  # innermost braces holding a `|`
MAX_DEPTH = 10


class Wildcards:
    """Wildcard files from several folders (the shipped ones, then the user's)."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = [Path(f) for f in folders]

    def names(self) -> list[str]:
        return sorted(
            {
                p.relative_to(f).with_suffix("").as_posix()
                for f in self.folders
                if f.is_dir()
                for p in f.rglob("*.txt")
            }
        )

    def lines(self, name: str) -> list[str]:
        for folder in reversed(self.folders):  # the user's file wins
            path = folder / f"{name}.txt"
            if path.is_file():
                lines = [
                    ln.strip()
                    for ln in path.read_text(encoding="utf-8").splitlines()
                    if ln.strip() and not ln.lstrip().startswith("#")
                ]
                if not lines:
                    raise BadRequest(f"wildcard file {path} is empty")
                return lines
        raise BadRequest(
            f"no wildcard file for __{name}__ (looked for {name}.txt in "
            f"{', '.join(str(f) for f in self.folders)})"
        )

    def expand(self, text: str, rng: random.Random) -> str:
        for _ in range(MAX_DEPTH):
            before = text
            text = ALTERNATIVES.sub(lambda m: rng.choice(m.group(1).split("|")).strip(), text)
            text = WILDCARD.sub(lambda m: rng.choice(self.lines(m.group(1))), text)
            if text == before:
                return text
        raise BadRequest(
            f"wildcards nest deeper than {MAX_DEPTH} levels (a file that includes itself?)"
        )
