"""What the question sets made over from the dev books (`messy/`, `web/`) share: the dev set's
own tools, its three books, and the last step of a build (Kalah page 2 made image-only, as in
the dev set, its true text kept for the verifier, and the dev questions copied)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

DEV = Path(__file__).resolve().parents[3] / "shared" / "data" / "rulebooks"
# The imports below need the path above: this script runs from anywhere.
sys.path.insert(0, str(DEV / "tools"))

# Both live in DEV / "tools", found through sys.path at run time (mypy follows no sys.path edit);
# rbgen is the dev set's typesetter (for the sets that typeset its blocks again).
import make_dev_rulebooks as dev  # type: ignore[import-not-found]
import rbgen  # type: ignore[import-not-found]

__all__ = ["BOOKS", "finish", "rbgen"]

# (file, game, blocks): the same blocks the dev set's rulebooks are typeset from
BOOKS = (
    ("dev_morris.pdf", "Mill (Nine Men's Morris)", dev.MORRIS),
    ("dev_kalah.pdf", "Kalah", dev.KALAH),
    ("dev_hearts.pdf", "Hearts", dev.HEARTS),
)


def finish(folder: Path, pagesize: tuple[float, float]) -> None:
    """Kalah page 2 rasterised onto a page of `pagesize` (no text layer), its true text in
    page_text_fallback.json, and the dev questions (same gold pages) beside the books."""
    dev.A4 = pagesize  # rasterise_page draws the image on a page of this size
    truth = dev.rasterise_page(folder / "dev_kalah.pdf", 1)
    (folder / "page_text_fallback.json").write_text(
        json.dumps(
            {
                "_note": "True text of pages that deliberately have no text layer (image only).",
                "dev_kalah.pdf": {"2": truth},
            },
            indent=1,
            ensure_ascii=False,
        )
    )
    shutil.copy(DEV / "questions.jsonl", folder / "questions.jsonl")
