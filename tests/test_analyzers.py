"""Image analyzers: pixels on pictures with known colours and layout, metadata on our own
images (straight back to their entities) and on A1111/ComfyUI-style PNGs (prompt split by the
text model), vision through a loopback server speaking the Ollama chat API (a protocol test),
bad input, accepting without duplicates, the Dagster asset, CLI and API."""

from __future__ import annotations

import base64
import io
import json
import struct
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from PIL import Image, ImageDraw, PngImagePlugin

from lifeos.db.engine import session_scope
from lifeos.demo import load_demo
from lifeos.errors import BadRequest, NotFound
from lifeos.llm.router import Router
from lifeos.settings import Settings
from lifeos.store import EntityStore
from plugins.images.resources.generators import ImageGenerator
from plugins.images.tools.analyze.service import AnalysisService
from plugins.images.tools.batches import ImageBatches
from tests.llm_helpers import ScriptedProvider, copy_configs


def figure(path: Path, *, close_up: bool = False) -> Path:
    """A red-haired figure in green on a blue background (or a head-and-shoulders crop)."""
    img = Image.new("RGB", (512, 512), (40, 70, 200))
    d = ImageDraw.Draw(img)
    if close_up:
        d.rectangle((90, 30, 422, 130), fill=(200, 30, 30))
        d.ellipse((110, 90, 402, 420), fill=(240, 200, 170))
        d.rectangle((60, 400, 452, 511), fill=(40, 160, 60))
    else:
        d.rectangle((200, 120, 312, 170), fill=(200, 30, 30))
        d.ellipse((210, 150, 302, 260), fill=(240, 200, 170))
        d.rectangle((170, 260, 342, 500), fill=(40, 160, 60))
    img.save(path)
    return path


def png_text(path: Path, chunks: dict[str, str]) -> Path:
    info = PngImagePlugin.PngInfo()
    for k, v in chunks.items():
        info.add_text(k, v)
    Image.new("RGB", (64, 64), (90, 90, 90)).save(path, pnginfo=info)
    return path


@pytest.fixture
def env(settings: Settings, tmp_path: Path):  # noqa: ANN201
    with session_scope(settings.database_url) as session:
        load_demo(session)
    scripted = ScriptedProvider("local", [])
    router = Router(
        database_url=settings.database_url,
        config_dir=copy_configs(tmp_path / "configs"),
        providers={"local": scripted},
    )
    return AnalysisService(settings, router), scripted


def test_pixels_name_colours_and_layout(env, tmp_path: Path) -> None:  # noqa: ANN001
    service, _ = env
    _, analysis = service.analyze_file(figure(tmp_path / "f.png"), backend="pixels")
    by_kind = {s.kind: s for s in analysis.suggestions}
    assert by_kind["hair_color"].data["color"] == "red"
    assert by_kind["clothing_item"].data["color"] == "green"
    assert "blue" in by_kind["visual_style"].data["description"]
    assert by_kind["composition"].data["framing"] == "centered"
    assert all(s.heuristic and s.backend == "pixels" for s in analysis.suggestions)
    assert "expression" not in by_kind  # not judged from pixels: not guessed
    _, crop = service.analyze_file(figure(tmp_path / "c.png", close_up=True), backend="pixels")
    assert {s.kind: s for s in crop.suggestions}["composition"].data["shot"] == "close-up"


def test_our_own_images_map_back_to_their_entities(env, settings: Settings) -> None:  # noqa: ANN001
    service, _ = env
    batches = ImageBatches(settings, service.analyzers.router, ImageGenerator())
    with session_scope(settings.database_url) as session:
        aria = EntityStore(session).list("character", {"q": "aria"}).items[0].id
    done = batches.run(
        batches.create(
            {"compose": {"entity_ids": [aria]}, "count": 1, "width": 64, "height": 64, "steps": 2}
        )["id"]
    )
    path = batches.image_file(done["images"]["0"])
    analysis_id, analysis = service.analyze_file(path)  # best available: metadata
    assert analysis.backend == "metadata"
    kinds = {s.kind: s for s in analysis.suggestions}
    assert kinds["hair_color"].name == "Auburn" and kinds["hair_color"].existing_id
    assert "character" not in kinds  # not an analyzer target
    ids = service.accept(analysis_id)
    assert set(ids) == {s.existing_id for s in analysis.suggestions}  # no new entities


A1111 = (
    "masterpiece, a woman with short silver hair, smiling, wearing a yellow raincoat, "
    "watercolor painting, close-up\nNegative prompt: lowres\nSteps: 20, Sampler: Euler a, "
    "CFG scale: 7, Seed: 1, Size: 512x512, Model: sd15"
)


def test_a1111_and_comfyui_prompts_are_split_into_kinds(env, tmp_path: Path) -> None:  # noqa: ANN001
    service, scripted = env
    split = json.dumps(
        {
            "hair_color": ["short silver hair"],
            "expression": ["smiling"],
            "outfit": ["wearing a yellow raincoat"],
            "art_style": ["watercolor painting", "in the style of nobody"],
            "composition": ["close-up"],
            "clothing_item": [],
            "hair_style": [],
            "makeup": [],
            "accessory": [],
            "visual_style": [],
        }
    )
    scripted.script = [split]
    analysis_id, analysis = service.analyze_file(
        png_text(tmp_path / "a.png", {"parameters": A1111})
    )
    assert analysis.backend == "metadata"
    names = {(s.kind, s.name) for s in analysis.suggestions}
    assert ("hair_color", "short silver hair") in names and ("expression", "smiling") in names
    assert not any("nobody" in n for _, n in names)  # not in the prompt: dropped
    hair = next(s for s in analysis.suggestions if s.kind == "hair_color")
    assert hair.data["color"] == "short silver" and hair.evidence["prompt"] == "short silver hair"
    first = service.accept(analysis_id)
    again = service.accept(analysis_id)  # matched by name: no duplicates
    assert first == again
    with session_scope(service.url) as session:
        store = EntityStore(session)
        hair_entity = store.get("hair_color", first[0])
        links = {(ln.relation, ln.entity.kind) for ln in store.links("hair_color", hair_entity.id)}
    assert ("derived_from", "image") in links

    graph = {
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 5,
                "steps": 10,
                "cfg": 7,
                "sampler_name": "euler",
                "positive": ["6", 0],
                "negative": ["7", 0],
            },
        },
        "6": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "a man with a red beard, frowning"},
        },
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry"}},
    }
    scripted.script = [json.dumps({"expression": ["frowning"]})]
    _, comfy = service.analyze_file(
        png_text(tmp_path / "c.png", {"prompt": json.dumps(graph)}), kinds=["expression"]
    )
    assert [(s.kind, s.name) for s in comfy.suggestions] == [("expression", "frowning")]
    assert "a man with a red beard" in scripted.requests[-1].messages[-1]["content"]


class FakeVisionOllama(BaseHTTPRequestHandler):
    replies: list[str] = []
    requests: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        type(self).requests.append(body)
        content = type(self).replies.pop(0) if type(self).replies else "{}"
        raw = json.dumps(
            {
                "model": body["model"],
                "created_at": "2026-11-26T00:00:00Z",
                "done": True,
                "prompt_eval_count": 300,
                "eval_count": 20,
                "message": {"role": "assistant", "content": content},
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:  # noqa: N802
        raw = json.dumps(
            {
                "models": [
                    {
                        "name": "qwen2.5vl:3b",
                        "model": "qwen2.5vl:3b",
                        "size": 1,
                        "digest": "sha256:" + "0" * 64,
                        "modified_at": "2026-11-01T00:00:00Z",
                        "details": {},
                    }
                ],
                "version": "0.12.0",
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def vision(settings: Settings, tmp_path: Path) -> Iterator[AnalysisService]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeVisionOllama)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeVisionOllama.replies, FakeVisionOllama.requests = [], []
    config_dir = copy_configs(tmp_path / "vision-configs")
    models = yaml.safe_load((config_dir / "models.yaml").read_text())
    models["providers"]["ollama"]["host"] = f"http://127.0.0.1:{server.server_address[1]}"
    models["calls"]["retries"] = 0
    (config_dir / "models.yaml").write_text(yaml.safe_dump(models))
    yield AnalysisService(
        settings, Router(database_url=settings.database_url, config_dir=config_dir)
    )
    server.shutdown()


def test_vision_backend_protocol(vision: AnalysisService, tmp_path: Path) -> None:
    FakeVisionOllama.replies = [
        json.dumps(
            {
                "present": True,
                "name": "Crimson hair",
                "data": {"color": "crimson", "prompt": "crimson hair"},
            }
        ),
        "this is not JSON",
        "still not JSON",  # expression: fails twice
        json.dumps({"present": False, "name": "", "data": {}}),  # no makeup
    ]
    assert vision.analyzers.vision_available()
    _, analysis = vision.analyze_file(
        figure(tmp_path / "v.png"), kinds=["hair_color", "expression", "makeup"]
    )
    assert analysis.backend == "vision"  # best available
    assert [(s.kind, s.name, s.data["color"]) for s in analysis.suggestions] == [
        ("hair_color", "Crimson hair", "crimson")
    ]
    assert any("expression" in n and "did not fit" in n for n in analysis.notes)
    first = FakeVisionOllama.requests[0]
    assert first["model"] == "qwen2.5vl:3b" and first["messages"][-1]["images"]
    assert base64.b64decode(first["messages"][-1]["images"][0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert first["format"]["properties"]["data"]["properties"]["color"]


def _huge_png(path: Path) -> Path:
    """A valid PNG header claiming 20000×20000 (never decoded)."""
    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    ihdr = struct.pack(">II", 20_000, 20_000) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    return path


def test_bad_input(env, tmp_path: Path) -> None:  # noqa: ANN001
    service, _ = env
    (tmp_path / "notes.png").write_text("not an image at all")
    with pytest.raises(BadRequest, match="not an image"):
        service.analyze_file(tmp_path / "notes.png")
    good = figure(tmp_path / "good.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(BadRequest, match="damaged or truncated"):
        service.analyze_file(tmp_path / "cut.png")
    with pytest.raises(BadRequest, match="larger than 40 megapixels"):
        service.analyze_file(_huge_png(tmp_path / "huge.png"))
    gimp = png_text(tmp_path / "gimp.png", {"Software": "GIMP 2.10"})
    with pytest.raises(BadRequest, match="carries no generation prompt"):
        service.analyze_file(gimp, backend="metadata")
    with pytest.raises(NotFound, match="no analyzer for dragon"):
        service.analyze_file(figure(tmp_path / "k.png"), kinds=["dragon"])


def test_dagster_asset_cli_and_api(
    env, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # noqa: ANN001
    from fastapi.testclient import TestClient

    from apps.api.app import create_app
    from apps.cli import main
    from plugins.images.assets.analyze import image_analyses, image_analysis_partitions
    from resources.workbench import WorkbenchResource

    service, _ = env
    sha, _ = service.store_file(figure(tmp_path / "d.png"))
    with dg.instance_for_test() as instance:
        assert image_analysis_partitions.name is not None
        instance.add_dynamic_partitions(image_analysis_partitions.name, [sha])
        result = dg.materialize(
            [image_analyses],
            partition_key=sha,
            instance=instance,
            run_config={"ops": {"image_analyses": {"config": {"backend": "pixels"}}}},
            resources={
                "workbench": WorkbenchResource(
                    home=str(settings.home), database_url=settings.database_url
                )
            },
        )
    meta = result.asset_materializations_for_node("image_analyses")[0].metadata
    suggestions = meta["suggestions"].value
    assert isinstance(suggestions, int)
    assert meta["backend"].value == "pixels" and suggestions >= 3

    folder = tmp_path / "pictures"
    folder.mkdir()
    figure(folder / "one.png")
    figure(folder / "two.png", close_up=True)
    (folder / "readme.txt").write_text("not a picture")
    assert (
        main(
            [
                "analyze",
                str(folder),
                "--backend",
                "pixels",
                "--kinds",
                "hair_color",
                "--accept",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert len(out) == 2 and all(r["accepted"] for r in out)
    assert main(["analyze", str(tmp_path / "missing.png")]) == 1
    with TestClient(create_app(settings, studio=False)) as api:
        r = api.post(
            "/api/v1/analyze",
            params={"backend": "pixels", "kinds": "composition"},
            files={"file": ("f.png", (folder / "one.png").read_bytes(), "image/png")},
        )
        assert r.status_code == 201 and r.json()["suggestions"][0]["kind"] == "composition"
        accepted = api.post(f"/api/v1/analyses/{r.json()['id']}/accept", json={"indices": [0]})
        assert accepted.status_code == 200 and len(accepted.json()["entity_ids"]) == 1
        bad = api.post("/api/v1/analyze", files={"file": ("x.png", b"nope", "image/png")})
        assert bad.status_code == 400
