"""Write a benchmark's results into its own section of docs/benchmarks.md."""

from __future__ import annotations

import platform
import re
from datetime import UTC, datetime
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nWritten by the scripts in `benchmarks/`; each owns one section.\n"


def cpu() -> str:
    """The CPU's name and its widest vector unit, which llama.cpp reads prompts with: two
    2-core machines of this project, both "AMD EPYC", answered in 2.3 s (AVX-512) and 10 s
    (AVX2) at the median."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    name = re.search(r"^model name\s*:\s*(.+)$", info, re.MULTILINE)
    listed = re.search(r"^flags\s*:\s*(.+)$", info, re.MULTILINE)
    flags = set(listed.group(1).split()) if listed else set()
    simd = next((label for flag, label in (("amx_tile", "AMX"), ("avx512f", "AVX-512"),
                                           ("avx2", "AVX2"), ("avx", "AVX")) if flag in flags),
                "no AVX")
    return f"{name.group(1).strip() if name else platform.machine()} ({simd})"


def machine() -> str:
    import os

    return f"{cpu()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_section(name: str, body: str) -> Path:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else HEADER
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (f"<!-- {name}:start -->\n{body.rstrip()}\n\n_Measured {stamp} on {machine()}._\n"
               f"<!-- {name}:end -->")
    pattern = re.compile(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else (
        text.rstrip() + "\n\n" + section + "\n")
    DOC.write_text(text)
    return DOC
