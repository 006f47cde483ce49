"""The image generator as a Dagster resource: diffusers (txt2img, img2img) in this process, or
an AUTOMATIC1111/Forge server over its HTTP API.

The diffusers model is a local diffusers folder, a single `.safetensors`/`.ckpt` checkpoint, or a
hub id (only where the user is online). With no model configured, a tiny randomly initialised
Stable Diffusion pipeline is built offline: the whole flow runs on real diffusers code, and its
pictures are noise — every place that shows them says so (`is_test_model`).
"""

from __future__ import annotations

import base64
import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import dagster as dg
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, field_validator

from lifeos.errors import BadRequest, GenerationCancelled, ImageModelError, ServiceUnavailable

TEST_MODEL = "lifeos/tiny-random-sd"
TEST_MODEL_NOTE = (
    "Made by the built-in test model (random weights): these pictures are noise. "
    "Set LIFEOS_IMAGE_MODEL to a diffusers folder or a .safetensors checkpoint, or "
    "use an AUTOMATIC1111 server (LIFEOS_IMAGE_BACKEND=a1111), for real images."
)
MAX_SIDE = 2048

# Scheduler names as AUTOMATIC1111 shows them (its PNG info and API use these) → diffusers.
SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {
    "DDIM": ("DDIMScheduler", {}),
    "Euler": ("EulerDiscreteScheduler", {}),
    "Euler a": ("EulerAncestralDiscreteScheduler", {}),
    "DPM++ 2M": ("DPMSolverMultistepScheduler", {}),
    "DPM++ 2M Karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "UniPC": ("UniPCMultistepScheduler", {}),
    "PNDM": ("PNDMScheduler", {}),
    "LMS": ("LMSDiscreteScheduler", {}),
    "Heun": ("HeunDiscreteScheduler", {}),
}


class GenerationParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(max_length=8000)
    negative_prompt: str = Field("", max_length=8000)
    width: int = Field(512, ge=64, le=MAX_SIDE)
    height: int = Field(512, ge=64, le=MAX_SIDE)
    steps: int = Field(20, ge=1, le=150)
    guidance: float = Field(7.0, ge=0, le=30)
    sampler: str = "Euler a"
    seed: int = Field(0, ge=0, le=2**32 - 1)
    strength: float = Field(0.6, gt=0, le=1, description="img2img: how much to change")

    @field_validator("width", "height")
    @classmethod
    def _multiple_of_8(cls, value: int) -> int:
        if value % 8:
            raise ValueError(f"{value} is not a multiple of 8")
        return value

    @field_validator("sampler")
    @classmethod
    def _known_sampler(cls, value: str) -> str:
        if value not in SCHEDULERS:
            raise ValueError(f"unknown sampler {value!r}; use one of {', '.join(SCHEDULERS)}")
        return value


@dataclass
class Generated:
    image: Image.Image
    model: str
    seconds: float
    is_test_model: bool
    info: dict[str, Any] = field(default_factory=dict)


StepCallback = Callable[[int, int], None]  # (step, total)

_pipelines: dict[tuple[str, str], Any] = {}
_pipelines_lock = threading.Lock()


def build_test_pipeline(target: Path) -> Path:
    """The tiny random Stable Diffusion pipeline (6.6 MB), built once, offline."""
    import json
    import os

    import torch

    # From the modules that define them: through `diffusers` itself mypy finds the dummy
    # classes diffusers puts there when torch is missing, which have no types.
    from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
    from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
    from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import (
        StableDiffusionPipeline,
    )
    from diffusers.schedulers.scheduling_ddim import DDIMScheduler
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    if (target / "model_index.json").is_file():
        return target
    tmp = target.with_name(target.name + ".tmp")
    torch.manual_seed(0)
    keep = [*range(33, 127), *range(161, 173), *range(174, 256)]
    chars = [chr(b) for b in keep] + [chr(256 + i) for i in range(256 - len(keep))]
    merges = ["t h", "th e</w>", "a n", "i n"]
    vocab = (
        chars
        + [c + "</w>" for c in chars]
        + [m.replace(" ", "") for m in merges]
        + ["<|startoftext|>", "<|endoftext|>"]
    )
    vocab_dir = tmp / "_vocab"
    os.makedirs(vocab_dir, exist_ok=True)
    (vocab_dir / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (vocab_dir / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    tok = CLIPTokenizer(
        str(vocab_dir / "vocab.json"), str(vocab_dir / "merges.txt"), model_max_length=77
    )
    text = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(vocab),
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            max_position_embeddings=77,
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        )
    )
    unet = UNet2DConditionModel(
        sample_size=32,
        layers_per_block=1,
        block_out_channels=(32, 64),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=32,
    )
    # Four VAE blocks: two blocks take minutes per image at 512² on a CPU (MODELS.md).
    vae = AutoencoderKL(
        latent_channels=4,
        block_out_channels=(32, 32, 32, 32),
        layers_per_block=1,
        norm_num_groups=32,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        sample_size=64,
    )
    sched = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    StableDiffusionPipeline(
        vae=vae,
        text_encoder=text,
        tokenizer=tok,
        unet=unet,
        scheduler=sched,
        # diffusers takes None for both (a pipeline without the checker); its hints do not say so.
        safety_checker=None,  # type: ignore[arg-type]
        feature_extractor=None,  # type: ignore[arg-type]
        requires_safety_checker=False,
    ).save_pretrained(tmp)
    tmp.replace(target)
    return target


# Its value is the resource itself, which dagster's generic cannot say (dagster#32027).
class ImageGenerator(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Generates one image per call (a batch calls it once per seed, so every image can be
    remade alone from its seed)."""

    backend: Literal["diffusers", "a1111"] = "diffusers"
    model: str = Field(
        default="",
        description="diffusers folder, .safetensors file or hub id; "
        "empty: the built-in random test model",
    )
    device: str = Field(default="auto", description="auto | cpu | cuda | mps")
    a1111_url: str = "http://127.0.0.1:7860"
    attention_slicing: bool = False
    cpu_offload: bool = False
    timeout_s: float = 600.0

    @property
    def is_test_model(self) -> bool:
        return self.backend == "diffusers" and not self.model

    @property
    def model_name(self) -> str:
        if self.backend == "a1111":
            return f"a1111:{self.a1111_url}"
        return self.model or TEST_MODEL

    # ---- public ------------------------------------------------------------------------------

    def generate(
        self,
        params: GenerationParams,
        *,
        init_image: Image.Image | None = None,
        on_step: StepCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Generated:
        started = time.perf_counter()
        if self.backend == "a1111":
            image, info = self._a1111(params, init_image)
            return Generated(
                image,
                info.get("sd_model_name") or self.model_name,
                time.perf_counter() - started,
                False,
                info,
            )
        image = self._diffusers(params, init_image, on_step, cancel)
        return Generated(image, self.model_name, time.perf_counter() - started, self.is_test_model)

    def resolved_device(self) -> str:
        import torch

        if self.device != "auto":
            return self.device
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"

    # ---- diffusers -----------------------------------------------------------------------------

    def pipeline(self) -> Any:
        key = (self.model_name, self.resolved_device())
        with _pipelines_lock:
            if key not in _pipelines:
                _pipelines[key] = self._load()
            return _pipelines[key]

    def _load(self) -> Any:
        import diffusers.utils.logging as diffusers_logging
        import torch
        import transformers.utils.logging as transformers_logging
        from diffusers.pipelines.pipeline_utils import DiffusionPipeline  # typed, as above
        from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import (
            StableDiffusionPipeline,
        )

        # Our own progress and messages replace theirs (bars, the safety-checker notice).
        diffusers_logging.set_verbosity_error()
        diffusers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # unannotated there

        device = self.resolved_device()
        dtype = torch.float16 if device == "cuda" else torch.float32
        source = self.model
        pipe: DiffusionPipeline
        try:
            if not source:
                folder = build_test_pipeline(Path.home() / ".cache" / "lifeos" / "tiny-random-sd")
                pipe = StableDiffusionPipeline.from_pretrained(folder, safety_checker=None)
            elif source.endswith((".safetensors", ".ckpt")):
                path = Path(source).expanduser()
                if not path.is_file():
                    raise ImageModelError(f"image model {path}: no such file")
                pipe = StableDiffusionPipeline.from_single_file(str(path), torch_dtype=dtype)
            elif Path(source).expanduser().exists():
                path = Path(source).expanduser()
                if not (path / "model_index.json").is_file():
                    raise ImageModelError(
                        f"image model {path} is not a diffusers folder (no model_index.json)"
                    )
                pipe = DiffusionPipeline.from_pretrained(str(path), torch_dtype=dtype)
            else:
                pipe = DiffusionPipeline.from_pretrained(source, torch_dtype=dtype)
        except ImageModelError:
            raise
        except Exception as exc:  # noqa: BLE001 - diffusers raises many kinds; say which model
            raise ImageModelError(
                f"cannot load image model {source or TEST_MODEL}: "
                f"{type(exc).__name__}: {str(exc)[:300]}"
            ) from exc
        if not hasattr(pipe, "unet") and not hasattr(pipe, "transformer"):
            raise ImageModelError(f"{source} is not a text-to-image diffusion pipeline")
        if self.attention_slicing:
            pipe.enable_attention_slicing()
        if self.cpu_offload and device == "cuda":
            pipe.enable_model_cpu_offload()
        else:
            pipe = pipe.to(device)
        pipe.set_progress_bar_config(disable=True)  # type: ignore[no-untyped-call]  # unannotated
        return pipe

    def _diffusers(
        self,
        params: GenerationParams,
        init_image: Image.Image | None,
        on_step: StepCallback | None,
        cancel: threading.Event | None,
    ) -> Image.Image:
        import diffusers
        import torch

        base = self.pipeline()
        class_name, options = SCHEDULERS[params.sampler]
        scheduler = getattr(diffusers, class_name).from_config(base.scheduler.config, **options)
        if init_image is not None:
            from diffusers import AutoPipelineForImage2Image

            pipe = AutoPipelineForImage2Image.from_pipe(base, scheduler=scheduler)
        else:
            pipe = base.__class__(**{**base.components, "scheduler": scheduler})
        pipe.set_progress_bar_config(disable=True)
        total = params.steps

        def step_end(p: Any, step: int, _t: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            if cancel is not None and cancel.is_set():
                p._interrupt = True
            if on_step is not None:
                on_step(step + 1, total)
            return kwargs

        generator = torch.Generator("cpu").manual_seed(params.seed)
        common = {
            "prompt": params.prompt,
            "negative_prompt": params.negative_prompt or None,
            "num_inference_steps": params.steps,
            "guidance_scale": params.guidance,
            "generator": generator,
            "callback_on_step_end": step_end,
        }
        if init_image is not None:
            out = pipe(
                image=init_image.convert("RGB").resize((params.width, params.height)),
                strength=params.strength,
                **common,
            )
        else:
            out = pipe(width=params.width, height=params.height, **common)
        if cancel is not None and cancel.is_set():
            raise GenerationCancelled("generation cancelled")
        image: Image.Image = out.images[0]  # the pipeline's output, untyped: PIL images by default
        return image

    # ---- AUTOMATIC1111 / Forge -----------------------------------------------------------------

    def _a1111(
        self, params: GenerationParams, init_image: Image.Image | None
    ) -> tuple[Image.Image, dict[str, Any]]:
        import json

        import httpx

        body: dict[str, Any] = {
            "prompt": params.prompt,
            "negative_prompt": params.negative_prompt,
            "width": params.width,
            "height": params.height,
            "steps": params.steps,
            "cfg_scale": params.guidance,
            "sampler_name": params.sampler,
            "seed": params.seed,
            "batch_size": 1,
            "n_iter": 1,
            "send_images": True,
            "save_images": False,
        }
        endpoint = "txt2img"
        if init_image is not None:
            buf = io.BytesIO()
            init_image.convert("RGB").save(buf, format="PNG")
            body |= {
                "init_images": [base64.b64encode(buf.getvalue()).decode()],
                "denoising_strength": params.strength,
            }
            endpoint = "img2img"
        url = f"{self.a1111_url.rstrip('/')}/sdapi/v1/{endpoint}"
        try:
            response = httpx.post(url, json=body, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"AUTOMATIC1111 at {self.a1111_url} is not reachable ({type(exc).__name__})"
            ) from None
        if response.status_code != 200:
            raise ImageModelError(
                f"AUTOMATIC1111 {endpoint} answered {response.status_code}: {response.text[:300]}"
            )
        payload = response.json()
        if not payload.get("images"):
            raise ImageModelError(f"AUTOMATIC1111 {endpoint} returned no image")
        image = Image.open(io.BytesIO(base64.b64decode(payload["images"][0].split(",", 1)[-1])))
        image.load()
        info = payload.get("info") or "{}"
        try:
            info_dict = json.loads(info) if isinstance(info, str) else dict(info)
        except json.JSONDecodeError:
            info_dict = {}
        return image, info_dict


def generator_from_settings(settings: Any) -> ImageGenerator:
    return ImageGenerator(
        backend=settings.image_backend,
        model=settings.image_model,
        device=settings.image_device,
        a1111_url=settings.a1111_url,
    )


def check_params(raw: dict[str, Any]) -> GenerationParams:
    try:
        return GenerationParams.model_validate(raw)
    except Exception as exc:  # pydantic ValidationError → the one error type
        from pydantic import ValidationError

        from lifeos.errors import ValidationFailed

        if isinstance(exc, ValidationError):
            raise ValidationFailed.from_pydantic(exc) from None
        raise BadRequest(str(exc)) from None
