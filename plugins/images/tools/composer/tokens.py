"""Prompt token counts with the real CLIP tokenizer (what SD 1.x/2.x/SDXL encoders read)."""

from __future__ import annotations

import gzip
import json
import re
import threading
from functools import cache
from pathlib import Path
from typing import Any

VOCAB_GZ = (
    Path(__file__).resolve().parents[2] / "resources" / "clip" / "bpe_simple_vocab_16e6.txt.gz"
)
CLIP_WINDOW = 77  # tokens the text encoder reads, start and end tokens included
_lock = threading.Lock()


def _bytes_to_unicode() -> list[str]:
    """CLIP's byte → printable character table (the order its vocabulary is built in)."""
    bs = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def _write_tokenizer_files(target: Path) -> None:
    with gzip.open(VOCAB_GZ) as f:
        merges = f.read().decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
    chars = _bytes_to_unicode()
    vocab = chars + [c + "</w>" for c in chars] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    target.mkdir(parents=True, exist_ok=True)
    (target / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (target / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")


@cache
def clip_tokenizer() -> Any:
    from transformers import CLIPTokenizer

    target = Path.home() / ".cache" / "lifeos" / "clip-tokenizer"
    with _lock:
        if not (target / "merges.txt").is_file():
            _write_tokenizer_files(target)
    # We count past the window ourselves; a larger limit keeps the tokenizer from warning.
    return CLIPTokenizer(
        str(target / "vocab.json"), str(target / "merges.txt"), model_max_length=1_000_000
    )


_WEIGHT = re.compile(r":\s*-?\d+(?:\.\d+)?\s*(?=\))")


def plain_text(prompt: str) -> str:
    """The words the encoder sees: `(word:1.2)` weights and brackets removed, as A1111 does."""
    text = _WEIGHT.sub("", prompt)
    return re.sub(r"[()\[\]]", " ", text)


def count_tokens(prompt: str) -> int:
    """Tokens of the prompt, without the start and end tokens (A1111 shows the same count)."""
    return len(clip_tokenizer()(plain_text(prompt), add_special_tokens=False)["input_ids"])
