"""Images end to end on the tiny random diffusers pipeline: the composer (templates, linked
looks, Fooocus styles, wildcards, CLIP tokens), PNG metadata both ways, batches as Dagster
partitions (resume after a crash, links, bad input), re-run to identical pixels, CLI and API,
and an AUTOMATIC1111 protocol test against a loopback server speaking its endpoints."""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest
from PIL import Image, PngImagePlugin

from lifeos.db.engine import session_scope
from lifeos.demo import load_demo
from lifeos.errors import BadRequest, ImageModelError, NotFound, ValidationFailed
from lifeos.llm.router import Router
from lifeos.settings import Settings
from lifeos.store import EntityStore
from plugins.images.resources.generators import GenerationParams, ImageGenerator
from plugins.images.tools.batches import ImageBatches
from plugins.images.tools.composer.tokens import count_tokens
from plugins.images.tools.png import ImageMeta, parse_parameters, png_bytes, read_meta
from tests.llm_helpers import copy_configs

SMALL = {"width": 64, "height": 64, "steps": 4}


@pytest.fixture
def lib(settings: Settings, tmp_path: Path):  # noqa: ANN201
    """A demo library on each backend, with the image batch service over it."""
    config_dir = copy_configs(tmp_path / "configs")
    with session_scope(settings.database_url) as session:
        load_demo(session)
        ids = {e.name: e.id for e in EntityStore(session).list(None, {"limit": 200}).items}
    router = Router(database_url=settings.database_url, config_dir=config_dir)
    service = ImageBatches(settings, router, ImageGenerator())
    return service, ids, config_dir


# ---- composer --------------------------------------------------------------------------------


def test_composer_follows_links_orders_parts_and_applies_styles(lib) -> None:  # noqa: ANN001
    service, ids, _ = lib
    c = service.composer.run(
        {"entity_ids": [ids["Aria Vale"]], "styles": ["lifeos-noir"], "text": "on a rooftop"}
    )
    kinds = [p.kind for p in c.recipe.parts]
    # The config's order: art style, composition, character, expression, hair, outfit, ...
    assert kinds.index("art_style") < kinds.index("character") < kinds.index("hair_style")
    assert kinds.index("outfit") < kinds.index("clothing_item") < kinds.index("text")
    assert {p.via for p in c.recipe.parts if p.kind == "hair_style"} == {"has_look"}
    assert c.positive.startswith("film noir still of ")
    assert "auburn hair" in c.positive and "on a rooftop" in c.positive
    assert "colour, bright" in c.negative  # the style's negative prompt
    assert c.tokens == count_tokens(c.positive)


def test_an_explicit_entity_replaces_the_linked_one_of_its_kind(lib) -> None:  # noqa: ANN001
    service, ids, _ = lib
    c = service.composer.run({"entity_ids": [ids["Aria Vale"], ids["Jet black"]]})
    assert "jet black hair" in c.positive and "auburn hair" not in c.positive
    bare = service.composer.run({"entity_ids": [ids["Aria Vale"]], "follow_links": False})
    assert [p.kind for p in bare.recipe.parts] == ["character"]


def test_wildcards_are_drawn_from_the_seed(lib, tmp_path: Path) -> None:  # noqa: ANN001
    service, _, _ = lib
    draws = {
        service.composer.run({"text": "__place__, {red|green|blue} kite", "seed": s}).positive
        for s in range(12)
    }
    assert len(draws) > 2  # different seeds, different draws
    again = service.composer.run({"text": "__place__, {red|green|blue} kite", "seed": 5})
    assert (
        again.positive
        == service.composer.run({"text": "__place__, {red|green|blue} kite", "seed": 5}).positive
    )
    assert "__" not in again.positive and "{" not in again.positive
    with pytest.raises(BadRequest, match="no wildcard file for __nope__"):
        service.composer.run({"text": "__nope__"})


def test_prompt_weights_pass_through_and_long_prompts_warn(lib) -> None:  # noqa: ANN001
    service, _, _ = lib
    c = service.composer.run({"text": "(red scarf:1.3), [blurry]"})
    assert c.positive == "(red scarf:1.3), [blurry]" and not c.warnings
    long = service.composer.run({"text": ", ".join(f"detail number {i}" for i in range(40))})
    assert long.tokens > 75 and "CLIP tokens" in long.warnings[0]


def test_visualizer_pictures_one_entity_alone(lib) -> None:  # noqa: ANN001
    service, ids, _ = lib
    boots = ids["Leather riding boots"]
    c = service.composer.run({"entity_ids": [boots], "visualize": boots})
    assert c.positive.startswith("flat-lay product photo of knee-high brown leather boots")


def test_fooocus_style_files_import_as_is_and_bad_ones_are_refused(lib, tmp_path) -> None:  # noqa: ANN001
    service, _, _ = lib
    pack = tmp_path / "sdxl_styles_mine.json"
    pack.write_text(
        json.dumps(
            [
                {
                    "name": "Mine Neon",
                    "prompt": "neon sign of {prompt}, glowing",
                    "negative_prompt": "dull",
                }
            ]
        )
    )
    assert service.composer.styles.import_pack(pack) == ("sdxl_styles_mine", 1)
    c = service.composer.run({"text": "a cat", "styles": ["mine neon"]})
    assert c.positive == "neon sign of a cat, glowing" and c.negative.endswith("dull")
    with pytest.raises(NotFound, match="unknown style"):
        service.composer.run({"text": "a cat", "styles": ["no such style"]})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "not a list"}))
    with pytest.raises(BadRequest, match="not a Fooocus style list"):
        service.composer.styles.import_pack(bad)
    with pytest.raises(NotFound, match="no entity"):
        service.composer.run({"entity_ids": ["does-not-exist"]})


# ---- PNG metadata ----------------------------------------------------------------------------

A1111 = (
    "masterpiece, a knight in (shining armor:1.2)\nNegative prompt: lowres, blurry\n"
    "Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 1234567, Size: 512x768, "
    'Model hash: abc123, Model: dreamshaper_8, Lora hashes: "x: 1, y: 2", Version: v1.9.4'
)


def _png_with(text: dict[str, str]) -> bytes:
    info = PngImagePlugin.PngInfo()
    for k, v in text.items():
        info.add_text(k, v)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def test_a1111_parameters_read_and_written() -> None:
    meta = parse_parameters(A1111)
    assert meta.prompt == "masterpiece, a knight in (shining armor:1.2)"
    assert meta.negative_prompt == "lowres, blurry"
    assert (meta.steps, meta.sampler, meta.guidance, meta.seed) == (
        28,
        "DPM++ 2M Karras",
        6.5,
        1234567,
    )
    assert (meta.width, meta.height, meta.model) == (512, 768, "dreamshaper_8")
    assert meta.extra["Lora hashes"] == "x: 1, y: 2"
    again = parse_parameters(meta.parameters_text())
    assert (again.prompt, again.seed, again.sampler, again.extra["Lora hashes"]) == (
        meta.prompt,
        meta.seed,
        meta.sampler,
        "x: 1, y: 2",
    )


def test_fooocus_and_comfyui_metadata_are_read() -> None:
    fooocus = read_meta(
        _png_with(
            {
                "parameters": json.dumps(
                    {
                        "prompt": "a fox",
                        "negative_prompt": "cat",
                        "steps": 30,
                        "guidance_scale": 4,
                        "seed": "42",
                        "sampler": "dpmpp_2m_sde_gpu",
                        "resolution": "(896, 1152)",
                        "base_model": "juggernautXL",
                        "styles": "['Fooocus V2']",
                    }
                ),
                "fooocus_scheme": "fooocus",
            }
        )
    )
    assert (fooocus.source, fooocus.prompt, fooocus.seed, fooocus.width) == (
        "fooocus",
        "a fox",
        42,
        896,
    )
    graph = {
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 7,
                "steps": 12,
                "cfg": 8,
                "sampler_name": "euler",
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
                "model": ["4", 0],
            },
        },
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 640}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "fog", "clip": ["4", 1]}},
    }
    comfy = read_meta(_png_with({"prompt": json.dumps(graph), "workflow": "{}"}))
    assert (
        comfy.source,
        comfy.prompt,
        comfy.negative_prompt,
        comfy.seed,
        comfy.height,
        comfy.model,
    ) == ("comfyui", "a lighthouse", "fog", 7, 640, "v1-5.safetensors")


def test_pngs_without_or_with_corrupt_metadata_are_refused() -> None:
    with pytest.raises(BadRequest, match="no generation metadata"):
        read_meta(_png_with({}))
    with pytest.raises(BadRequest, match="corrupt"):
        read_meta(_png_with({"prompt": "{not json"}))
    with pytest.raises(BadRequest, match="not a readable image"):
        read_meta(b"GIF89a not really")


# ---- generator -------------------------------------------------------------------------------


def test_generation_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="multiple of 8"):
        GenerationParams(prompt="x", width=65, height=64)
    with pytest.raises(ValueError, match="less than or equal to 2048"):
        GenerationParams(prompt="x", width=4096, height=64)
    with pytest.raises(ValueError, match="unknown sampler"):
        GenerationParams(prompt="x", sampler="Magic")
    with pytest.raises(ValueError):
        GenerationParams(prompt="x", steps=0)
    with pytest.raises(ValueError):
        GenerationParams(prompt="x", guidance=99)


def test_a_model_path_that_is_not_a_diffusion_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ImageModelError, match="no such file"):
        ImageGenerator(model=str(tmp_path / "missing.safetensors")).pipeline()
    (tmp_path / "notamodel").mkdir()
    with pytest.raises(ImageModelError, match="not a diffusers folder"):
        ImageGenerator(model=str(tmp_path / "notamodel")).pipeline()


def test_steps_report_progress_and_cancel_stops() -> None:
    from lifeos.errors import GenerationCancelled

    seen: list[tuple[int, int]] = []
    gen = ImageGenerator()
    gen.generate(GenerationParams(prompt="x", **SMALL), on_step=lambda s, t: seen.append((s, t)))
    assert seen[-1] == (4, 4)
    cancel = threading.Event()

    def stop_at_two(step: int, _total: int) -> None:
        if step == 2:
            cancel.set()

    with pytest.raises(GenerationCancelled):
        gen.generate(
            GenerationParams(prompt="x", steps=10, width=64, height=64),
            on_step=stop_at_two,
            cancel=cancel,
        )


# ---- batches ---------------------------------------------------------------------------------


def test_a_batch_makes_linked_images_and_resumes_after_a_crash(lib) -> None:  # noqa: ANN001
    service, ids, _ = lib
    batch = service.create(
        {
            "compose": {"entity_ids": [ids["Aria Vale"]], "styles": ["lifeos-storybook"]},
            "count": 3,
            "seed": 100,
            **SMALL,
        }
    )
    assert batch["status"] == "queued" and batch["seeds"] == [100, 101, 102]
    real = service.generator.generate
    calls = {"n": 0}

    def crash_on_third(params, **kw):  # noqa: ANN001, ANN003, ANN202
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("power cut")
        return real(params, **kw)

    service.generator.__dict__["generate"] = crash_on_third  # the resource is a frozen model
    with pytest.raises(RuntimeError, match="power cut"):
        service.run(batch["id"])
    failed = service.get(batch["id"])
    assert failed["status"] == "failed" and failed["done"] == 2 and "power cut" in failed["error"]
    del service.generator.__dict__["generate"]
    done = service.run(batch["id"])  # only the missing image is made
    assert done["status"] == "done" and done["done"] == 3
    assert {k: v for k, v in done["images"].items() if k != "102"} == failed["images"]

    with session_scope(service.url) as session:
        store = EntityStore(session)
        image = store.get("image", done["images"]["100"])
        links = {(ln.relation, ln.entity.name) for ln in store.links("image", image.id)}
    assert ("depicts", "Aria Vale") in links and ("uses", "Long side braid") in links
    assert image.data["test_model"] and "test-model" in image.tags
    meta = read_meta(service.image_file(image.id).read_bytes())
    assert meta.lifeos is not None
    assert meta.seed == 100 and meta.lifeos["batch_id"] == batch["id"]
    assert meta.lifeos["recipe"]["entity_ids"] == [ids["Aria Vale"]]


def test_rerun_reproduces_identical_pixels_and_import_reads_it_back(lib) -> None:  # noqa: ANN001
    service, ids, _ = lib
    batch = service.create(
        {"compose": {"text": "a lighthouse in __weather__"}, "count": 1, "seed": 9, **SMALL}
    )
    done = service.run(batch["id"])
    path = service.image_file(done["images"]["9"])
    _, params, identical = service.rerun(path)
    assert identical and params.seed == 9
    imported = service.import_png(path)
    assert imported.data["seed"] == 9 and imported.data["source"] == "imported"
    assert imported.data["recipe"]["text"] == "a lighthouse in __weather__"


def test_img2img_links_the_new_image_to_its_source(lib) -> None:  # noqa: ANN001
    service, _, _ = lib
    first = service.run(
        service.create({"compose": {"text": "a red door"}, "count": 1, **SMALL})["id"]
    )
    source = first["images"]["0"]
    second = service.run(
        service.create(
            {
                "compose": {"text": "a blue door"},
                "count": 1,
                "init_image_id": source,
                "strength": 0.5,
                **SMALL,
            }
        )["id"]
    )
    with session_scope(service.url) as session:
        links = EntityStore(session).links("image", second["images"]["0"])
    assert ("derived_from", source) in {(ln.relation, ln.entity.id) for ln in links}


def test_bad_batch_requests_are_refused_before_anything_is_stored(lib) -> None:  # noqa: ANN001
    service, ids, _ = lib
    for bad, error in (
        ({"width": 100}, ValidationFailed),
        ({"steps": 0}, ValidationFailed),
        ({"guidance": 50}, ValidationFailed),
        ({"sampler": "Nope"}, ValidationFailed),
        ({"count": 0}, ValidationFailed),
        ({"count": 999}, BadRequest),
        ({"compose": {"styles": ["nope"]}}, NotFound),
        ({"compose": {"entity_ids": ["missing"]}}, NotFound),
        ({"compose": {"text": "__missing_wildcard__"}}, BadRequest),
        ({"init_image_id": ids["Aria Vale"]}, NotFound),
    ):
        with pytest.raises(error):
            service.create({"compose": {"text": "x"}, **SMALL} | bad)
    assert service.list() == []


def test_a_disk_error_leaves_no_image_entity(lib, monkeypatch) -> None:  # noqa: ANN001
    service, _, _ = lib
    batch = service.create({"compose": {"text": "x"}, "count": 1, **SMALL})

    def disk_full(self, data):  # noqa: ANN001, ANN202
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", disk_full)
    with pytest.raises(BadRequest, match="No space left"):
        service.run(batch["id"])
    monkeypatch.undo()
    assert service.get(batch["id"])["status"] == "failed"
    with session_scope(service.url) as session:
        assert EntityStore(session).list("image").total == 0


# ---- Dagster ---------------------------------------------------------------------------------


def test_batches_are_dagster_partitions_with_a_sensor(settings: Settings, tmp_path: Path) -> None:
    from plugins.images.assets.batches import (
        image_batch_partitions,
        image_batch_sensor,
        image_batches,
    )
    from resources.workbench import WorkbenchResource

    workbench = WorkbenchResource(home=str(settings.home), database_url=settings.database_url)
    images = ImageGenerator()
    router = Router(database_url=settings.database_url)
    service = ImageBatches(settings, router, images)
    batch = service.create({"compose": {"text": "a teapot"}, "count": 2, **SMALL})
    with dg.instance_for_test() as instance:
        result = image_batch_sensor(
            dg.build_sensor_context(instance=instance), workbench=workbench, images=images
        )
        assert isinstance(result, dg.SensorResult) and result.run_requests is not None
        assert [r.partition_key for r in result.run_requests] == [batch["id"]]
        assert service.get(batch["id"])["status"] == "running"  # claimed: asked once
        again = image_batch_sensor(
            dg.build_sensor_context(instance=instance), workbench=workbench, images=images
        )
        assert isinstance(again, dg.SkipReason)
        assert image_batch_partitions.name is not None
        instance.add_dynamic_partitions(image_batch_partitions.name, [batch["id"]])
        out = dg.materialize(
            [image_batches],
            partition_key=batch["id"],
            instance=instance,
            resources={"workbench": workbench, "images": images},
        )
        assert out.success
        meta = out.asset_materializations_for_node("image_batches")[0].metadata
        preview = meta["preview"].value
        assert isinstance(preview, str)
        assert meta["images"].value == 2 and "data:image/png;base64" in preview
        assert "noise" in preview
    assert service.get(batch["id"])["status"] == "done"


# ---- CLI and API -----------------------------------------------------------------------------


def test_cli_compose_generate_show_rerun(lib, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    from apps.cli import main

    _, ids, _ = lib

    def cli(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, _ = cli(
        "compose", "--character", ids["Mina Park"], "--style", "lifeos-photo", "--json"
    )
    assert code == 0 and json.loads(out)["positive"].startswith("cinematic photo of")
    code, out, err = cli(
        "generate",
        "--character",
        ids["Mina Park"],
        "--n",
        "2",
        "--size",
        "64x64",
        "--steps",
        "3",
        "--json",
    )
    assert code == 0, err
    batch = json.loads(out)
    assert batch["status"] == "done" and batch["done"] == 2 and batch["run_id"]
    code, out, _ = cli("images", "show", batch["images"]["0"], "--json")
    shown = json.loads(out)
    assert ("depicts", "Mina Park") in {(ln["relation"], ln["name"]) for ln in shown["links"]}
    code, out, _ = cli("images", "rerun", shown["file"], "--json")
    assert json.loads(out)["identical"] is True
    code, _, err = cli("generate", "--n", "1", "--size", "100x64")
    assert code == 1 and "multiple of 8" in err
    code, out, _ = cli(
        "generate", "--text", "x", "--n", "1", "--size", "64x64", "--no-wait", "--json"
    )
    assert json.loads(out)["status"] == "queued"


def test_api_compose_batches_file_and_import(lib) -> None:  # noqa: ANN001
    from fastapi.testclient import TestClient

    from apps.api.app import create_app

    service, ids, _ = lib
    with TestClient(create_app(service.settings, studio=False)) as client:
        r = client.post("/api/v1/images/compose", json={"entity_ids": [ids["Bram Copperpot"]]})
        assert r.status_code == 200 and r.json()["tokens"] > 0
        r = client.post(
            "/api/v1/images/batches?wait=true",
            json={"compose": {"text": "a brass owl"}, "count": 1, **SMALL},
        )
        assert r.status_code == 201 and r.json()["status"] == "done", r.text
        image_id = r.json()["images"]["0"]
        png = client.get(f"/api/v1/images/{image_id}/file")
        assert png.headers["content-type"] == "image/png"
        assert read_meta(png.content).prompt.startswith("a brass owl")
        r = client.post(
            "/api/v1/images/import",
            files={"file": ("a1111.png", _png_with({"parameters": A1111}), "image/png")},
        )
        assert r.status_code == 201 and r.json()["data"]["seed"] == 1234567
        r = client.post(
            "/api/v1/images/import", files={"file": ("plain.png", _png_with({}), "image/png")}
        )
        assert r.status_code == 400 and "no generation metadata" in r.json()["error"]["message"]
        r = client.post("/api/v1/images/batches", json={"compose": {"text": "x"}, "width": 65})
        assert r.status_code == 422


# ---- AUTOMATIC1111 backend (protocol test: a loopback server speaking its endpoints) ------------


class _A1111Handler(BaseHTTPRequestHandler):
    requests: list[tuple[str, dict]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append((self.path, body))
        if self.path not in ("/sdapi/v1/txt2img", "/sdapi/v1/img2img"):
            self.send_error(404)
            return
        img = Image.new("RGB", (body["width"], body["height"]), (body["seed"] % 256, 0, 0))
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        payload = {
            "images": [base64.b64encode(buf.getvalue()).decode()],
            "parameters": body,
            "info": json.dumps({"seed": body["seed"], "sd_model_name": "fake-sd15"}),
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def a1111() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _A1111Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _A1111Handler.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a1111_backend_protocol(a1111: str) -> None:
    gen = ImageGenerator(backend="a1111", a1111_url=a1111)
    out = gen.generate(
        GenerationParams(prompt="a castle", seed=7, width=64, height=64, sampler="DPM++ 2M Karras")
    )
    assert out.image.size == (64, 64) and out.model == "fake-sd15" and not out.is_test_model
    path, body = _A1111Handler.requests[-1]
    assert path == "/sdapi/v1/txt2img"
    assert (body["prompt"], body["seed"], body["sampler_name"], body["cfg_scale"]) == (
        "a castle",
        7,
        "DPM++ 2M Karras",
        7.0,
    )
    gen.generate(GenerationParams(prompt="a castle", width=64, height=64), init_image=out.image)
    path, body = _A1111Handler.requests[-1]
    assert path == "/sdapi/v1/img2img" and body["init_images"] and body["denoising_strength"]
    from lifeos.errors import ServiceUnavailable

    with pytest.raises(ServiceUnavailable, match="not reachable"):
        ImageGenerator(backend="a1111", a1111_url="http://127.0.0.1:9").generate(
            GenerationParams(prompt="x", width=64, height=64)
        )


def test_png_we_write_carries_both_chunks() -> None:
    meta = ImageMeta(
        prompt="p",
        seed=3,
        steps=4,
        sampler="Euler a",
        guidance=7.0,
        width=8,
        height=8,
        model="m",
        lifeos={"recipe": {"entity_ids": ["e1"]}},
    )
    img = Image.open(io.BytesIO(png_bytes(Image.new("RGB", (8, 8)), meta)))
    img.load()
    assert isinstance(img, PngImagePlugin.PngImageFile)
    assert img.text["parameters"].startswith("p\nSteps: 4, Sampler: Euler a")
    assert json.loads(img.text["lifeos"])["recipe"]["entity_ids"] == ["e1"]
