"""Local models through the router: load time, prompt and generation tokens/s per model,
embedding throughput, and the router's overhead per call against calling llama.cpp directly.

    .venv/bin/python benchmarks/llm.py [--calls 12]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.report import write_section  # noqa: E402
from lifeos.db import migrate  # noqa: E402
from lifeos.llm.providers.local import CHAT_MODELS, LocalProvider  # noqa: E402
from lifeos.llm.router import Router  # noqa: E402

PROMPT = (
    "You answer questions about board-game rules. Rules: "
    + " ".join(
        f"Rule {i}: a player may move one piece to an adjacent empty point, and a piece that "
        "completes a line of three removes one opposing piece."
        for i in range(1, 9)
    )
    + " Question: what happens when a line of three is completed?"
)


def measure_model(provider: LocalProvider, name: str) -> dict[str, float]:
    provider._llms.pop(name, None)  # noqa: SLF001 - measure a cold load
    started = time.perf_counter()
    llm, _ = provider.load_llm(name)
    load_s = time.perf_counter() - started
    messages = [{"role": "user", "content": PROMPT}]
    llm.reset()
    t0 = time.perf_counter()
    first = llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0, seed=0)
    prompt_s = time.perf_counter() - t0
    prompt_tokens = first["usage"]["prompt_tokens"]
    llm.reset()
    t0 = time.perf_counter()
    full = llm.create_chat_completion(messages=messages, max_tokens=64, temperature=0.0, seed=0)
    total_s = time.perf_counter() - t0
    generated = full["usage"]["completion_tokens"]
    return {
        "load_s": load_s,
        "prompt_tokens": prompt_tokens,
        "prompt_tps": prompt_tokens / prompt_s,
        "gen_tps": max(generated - 1, 1) / max(total_s - prompt_s, 1e-6),
        "generated": generated,
    }


def router_overhead(router: Router, provider: LocalProvider, calls: int) -> dict[str, float]:
    """What the router adds around the runtime call: the same call timed outside the router
    and around the provider's llama.cpp call inside it (alias resolution, config checks,
    budgets, validation, ledger write). End-to-end medians of direct vs routed calls are
    printed too, but on 2 busy cores their noise (±3%) is larger than the overhead itself."""
    messages = [{"role": "user", "content": "Name one board game."}]
    llm, _ = provider.load_llm("smollm2-135m")
    inner: list[float] = []
    original = provider.chat

    def timed_chat(request):  # noqa: ANN001, ANN202
        t0 = time.perf_counter()
        try:
            return original(request)
        finally:
            inner.append(time.perf_counter() - t0)

    provider.chat = timed_chat  # type: ignore[method-assign]
    direct, routed = [], []
    try:
        for i in range(calls):
            order = ("direct", "routed") if i % 2 else ("routed", "direct")
            for which in order:
                t0 = time.perf_counter()
                if which == "direct":
                    llm.create_chat_completion(
                        messages=messages, max_tokens=16, temperature=0.0, seed=0
                    )
                    direct.append(time.perf_counter() - t0)
                else:
                    router.chat(messages, "local/smollm2-135m", max_tokens=16, temperature=0.0)
                    routed.append(time.perf_counter() - t0)
    finally:
        provider.chat = original  # type: ignore[method-assign]
    added = statistics.median(r - i for r, i in zip(routed, inner, strict=True))
    d, r = statistics.median(direct), statistics.median(routed)
    return {
        "direct_ms": d * 1000,
        "router_ms": r * 1000,
        "added_ms": added * 1000,
        "overhead_pct": added / d * 100,
        "end_to_end_pct": (r - d) / d * 100,
    }


def embed_throughput(router: Router) -> dict[str, float]:
    texts = [f"{PROMPT[:600]} variant {i}" for i in range(128)]
    router.embed(texts[:8])  # load
    t0 = time.perf_counter()
    result = router.embed(texts)
    seconds = time.perf_counter() - t0
    return {"chunks_per_s": len(texts) / seconds, "dim": result.dim}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=12)
    args = parser.parse_args()
    provider = LocalProvider(n_ctx=4096, n_threads=2)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        migrate.upgrade(url)
        router = Router(database_url=url, providers={"local": provider})
        rows = []
        for name, model in CHAT_MODELS.items():
            if model.sources() is None:
                print(f"{name}: not installed, skipped")
                continue
            m = measure_model(provider, name)
            print(
                f"{name}: load {m['load_s']:.2f} s, prompt {m['prompt_tps']:.0f} tok/s "
                f"({m['prompt_tokens']} tokens), generation {m['gen_tps']:.1f} tok/s"
            )
            rows.append((name, m))
        overhead = router_overhead(router, provider, args.calls)
        print(
            f"router overhead: {overhead['added_ms']:.2f} ms around a "
            f"{overhead['direct_ms']:.1f} ms call = {overhead['overhead_pct']:.2f}% (goal < 2%);"
            f" end to end {overhead['router_ms']:.1f} vs {overhead['direct_ms']:.1f} ms "
            f"({overhead['end_to_end_pct']:+.1f}%, noisy)"
        )
        emb = embed_throughput(router)
        print(f"embeddings: {emb['chunks_per_s']:.1f} chunks/s, {emb['dim']} dims")

    lines = [
        "## Local models (`benchmarks/llm.py`)",
        "",
        f"Chat prompt of ~{rows[0][1]['prompt_tokens'] if rows else 0} tokens (rules text), "
        "greedy, 2 threads; load = cold load incl. joining/verifying the GGUF when cached.",
        "",
        "| model | load s | prompt tok/s | generation tok/s |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| local/{n} | {m['load_s']:.2f} | {m['prompt_tps']:.0f} | {m['gen_tps']:.1f} |"
        for n, m in rows
    ]
    lines += [
        "",
        f"- Router overhead per call (median of {args.calls}, 16-token replies from "
        f"local/smollm2-135m; alias resolution, config checks, budgets and the ledger "
        f"write on SQLite): **{overhead['added_ms']:.2f} ms** around a "
        f"{overhead['direct_ms']:.1f} ms call = **{overhead['overhead_pct']:.2f}%** "
        f"(goal < 2%). End to end, interleaved: {overhead['router_ms']:.1f} ms routed vs "
        f"{overhead['direct_ms']:.1f} ms direct ({overhead['end_to_end_pct']:+.1f}%, "
        "within the noise of 2 shared cores).",
        f"- Embeddings (local/all-minilm-l6-v2, batches of 64, ~110-word texts): "
        f"**{emb['chunks_per_s']:.1f} chunks/s**, {emb['dim']} dimensions.",
    ]
    print(f"wrote {write_section('llm', chr(10).join(lines))}")


if __name__ == "__main__":
    main()
