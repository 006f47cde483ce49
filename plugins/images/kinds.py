"""The picture kinds: looks (clothing, hair, makeup, expression, accessories), styles and
compositions (Fooocus style JSON), images (AUTOMATIC1111 generation parameters), how an entity
is pictured alone, and the schedules that generate by themselves."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from lifeos.kinds import ANY_KIND, EntityData, HexColor, KindSpec, Prompt, ShortText, Text
from lifeos.schedules import Cron, TimeZone

ClothingCategory = Literal[
    "top",
    "bottom",
    "dress",
    "outerwear",
    "footwear",
    "headwear",
    "underwear",
    "swimwear",
    "sleepwear",
    "bag",
    "jewelry",
    "other",
]
Season = Literal["any", "spring", "summer", "autumn", "winter"]


class ClothingItem(EntityData):
    category: ClothingCategory = "other"
    color: ShortText = ""
    color_hex: HexColor | None = None
    secondary_colors: list[ShortText] = Field(default_factory=list, max_length=10)
    material: ShortText = ""
    pattern: ShortText = ""
    fit: ShortText = ""
    style: ShortText = ""
    season: Season = "any"
    brand: ShortText = ""
    description: Text = ""
    prompt: Prompt = Field("", description="words this item adds to an image prompt")


class Outfit(EntityData):
    description: Text = ""
    occasion: ShortText = ""
    season: Season = "any"
    style: ShortText = ""
    prompt: Prompt = ""


class HairStyle(EntityData):
    length: Literal["", "bald", "buzzed", "short", "chin", "shoulder", "long", "very long"] = ""
    texture: Literal["", "straight", "wavy", "curly", "coily"] = ""
    style: ShortText = Field("", description="e.g. ponytail, bob, braids, undercut")
    description: Text = ""
    prompt: Prompt = ""


class HairColor(EntityData):
    color: ShortText
    color_hex: HexColor | None = None
    highlights: ShortText = ""
    description: Text = ""
    prompt: Prompt = ""


class Makeup(EntityData):
    style: ShortText = ""
    eyes: ShortText = ""
    lips: ShortText = ""
    face: ShortText = ""
    intensity: Literal["", "none", "natural", "light", "medium", "heavy", "theatrical"] = ""
    description: Text = ""
    prompt: Prompt = ""


class Expression(EntityData):
    emotion: ShortText
    intensity: float = Field(0.5, ge=0.0, le=1.0)
    description: Text = ""
    prompt: Prompt = ""


class Accessory(EntityData):
    category: ShortText = Field("", description="e.g. glasses, hat, necklace, watch")
    color: ShortText = ""
    material: ShortText = ""
    description: Text = ""
    prompt: Prompt = ""


class Composition(EntityData):
    shot: Literal[
        "", "extreme close-up", "close-up", "portrait", "medium", "cowboy", "full body", "wide"
    ] = ""
    camera_angle: ShortText = ""
    pose: ShortText = ""
    framing: ShortText = ""
    background: ShortText = ""
    lighting: ShortText = ""
    aspect_ratio: Literal["", "1:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9"] = ""
    description: Text = ""
    prompt: Prompt = ""


class VisualStyle(EntityData):
    """A style in the Fooocus style JSON shape: `prompt` contains `{prompt}`."""

    prompt: Prompt = Field("{prompt}", description="template; `{prompt}` is replaced")
    negative_prompt: Prompt = ""
    palette: list[HexColor] = Field(default_factory=list, max_length=16)
    description: Text = ""
    source: ShortText = Field("", description="where the style came from, e.g. a Fooocus pack")


class ArtStyle(EntityData):
    medium: ShortText = Field("", description="e.g. watercolor, oil, digital, 3D render")
    movement: ShortText = ""
    artists: list[ShortText] = Field(default_factory=list, max_length=20)
    description: Text = ""
    prompt: Prompt = ""
    negative_prompt: Prompt = ""


class Image(EntityData):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="content hash of the stored file")
    mime_type: Literal["image/png", "image/jpeg", "image/webp"] = "image/png"
    width: int = Field(ge=1, le=16_384)
    height: int = Field(ge=1, le=16_384)
    source: Literal["generated", "imported", "uploaded"] = "uploaded"
    title: ShortText = ""
    caption: Text = ""
    prompt: Prompt = ""
    negative_prompt: Prompt = ""
    seed: int | None = Field(None, ge=0)
    steps: int | None = Field(None, ge=1, le=500)
    guidance: float | None = Field(None, ge=0, le=50)
    sampler: ShortText = ""
    model: ShortText = ""
    parameters: Text = Field("", description="AUTOMATIC1111 `parameters` text, when present")
    recipe: dict[str, Any] = Field(
        default_factory=dict, description="the composer recipe (entities, styles, seed)"
    )
    batch_id: ShortText = ""
    test_model: bool = Field(False, description="made by the random test model: noise")


class VisualizationConfig(EntityData):
    """How a single entity of `target_kind` is pictured alone (the item visualizer)."""

    target_kind: ShortText
    template: Prompt = Field(description="prompt template; `{prompt}` is the entity's words")
    negative_template: Prompt = ""
    width: int = Field(512, ge=64, le=2048, multiple_of=8)
    height: int = Field(512, ge=64, le=2048, multiple_of=8)
    steps: int = Field(25, ge=1, le=150)


class Budget(EntityData):
    """Limits per run or per day; empty means no limit. A limit of zero or less is refused."""

    max_images: int | None = Field(None, gt=0)
    max_cost_usd: float | None = Field(None, gt=0)
    max_duration_s: int | None = Field(None, gt=0)


class Slot(EntityData):
    """One entity in a scheduled picture: fixed (one id), one of a list (several ids), or drawn
    from a kind, optionally only favorites or entities with all of `tags`."""

    kind: str
    ids: list[str] = Field(default_factory=list, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=20)
    favorites_only: bool = False

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        from lifeos.kinds import get_registry

        if value not in get_registry().names():
            raise ValueError(f"unknown kind {value!r}")
        return value


class DrawWeights(EntityData):
    """How random slots are drawn: favorites weigh more, recently pictured entities less."""

    favorite: float = Field(3.0, ge=0, le=100)
    recent: float = Field(0.25, ge=0, le=1, description="weight factor when recently used")
    recent_days: int = Field(7, ge=0, le=365)


class ImageBatchSpace(EntityData):
    """The parameter space of an `image_batch` schedule: each tick draws one batch from it."""

    slots: list[Slot] = Field(default_factory=list, max_length=20)
    text: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="free text; one is drawn per tick (wildcards allowed)",
    )
    styles: list[str] = Field(default_factory=list, max_length=10)
    count: int = Field(4, ge=1, le=1000)
    width: int = Field(512, ge=64, le=2048, multiple_of=8)
    height: int = Field(512, ge=64, le=2048, multiple_of=8)
    steps: int = Field(20, ge=1, le=150)
    guidance: float = Field(7.0, ge=0, le=30)
    sampler: str = "Euler a"
    weights: DrawWeights = Field(default_factory=DrawWeights)


class Schedule(EntityData):
    cron: Cron = Field(description="five-field cron expression")
    timezone: TimeZone = "UTC"
    enabled: bool = True
    action: Literal["image_batch"] = Field("image_batch", description="what runs on each tick")
    params: ImageBatchSpace = Field(default_factory=ImageBatchSpace)
    per_run: Budget = Field(default_factory=Budget)
    per_day: Budget = Field(default_factory=Budget)
    skip_if_running: bool = True


_LOOKS = (
    "clothing_item",
    "outfit",
    "accessory",
    "hair_style",
    "hair_color",
    "makeup",
    "expression",
)
_STYLES = ("composition", "visual_style", "art_style")
_FROM_IMAGE = {"derived_from": ("image",)}  # entities the image analyzers found in a picture

KINDS: tuple[KindSpec, ...] = (
    KindSpec(
        "clothing_item",
        ClothingItem,
        "Clothing item",
        "one garment or worn item",
        links=_FROM_IMAGE,
    ),
    KindSpec(
        "outfit",
        Outfit,
        "Outfit",
        "clothing items worn together",
        links={"contains": ("clothing_item", "accessory"), **_FROM_IMAGE},
    ),
    KindSpec(
        "composition",
        Composition,
        "Composition",
        "shot, pose, camera and lighting",
        links=_FROM_IMAGE,
    ),
    KindSpec(
        "visual_style",
        VisualStyle,
        "Visual style",
        "a prompt style (Fooocus format)",
        links=_FROM_IMAGE,
    ),
    KindSpec("art_style", ArtStyle, "Art style", "medium, movement and artists", links=_FROM_IMAGE),
    KindSpec("hair_style", HairStyle, "Hair style", "cut, length and texture", links=_FROM_IMAGE),
    KindSpec(
        "hair_color", HairColor, "Hair colour", "hair colour and highlights", links=_FROM_IMAGE
    ),
    KindSpec("makeup", Makeup, "Makeup", "makeup look", links=_FROM_IMAGE),
    KindSpec(
        "expression", Expression, "Expression", "facial expression and emotion", links=_FROM_IMAGE
    ),
    KindSpec(
        "accessory",
        Accessory,
        "Accessory",
        "glasses, hats, jewellery and the like",
        links=_FROM_IMAGE,
    ),
    KindSpec(
        "image",
        Image,
        "Image",
        "a stored picture with its generation parameters",
        links={
            "depicts": ("character", "board_game"),
            "uses": (*_LOOKS, *_STYLES),
            "derived_from": ("image",),
        },
    ),
    KindSpec(
        "visualization_config",
        VisualizationConfig,
        "Visualization config",
        "how one entity is pictured alone",
    ),
    KindSpec(
        "schedule",
        Schedule,
        "Schedule",
        "a generation that runs by itself",
        links={"produced": ("image", "story"), "uses": (ANY_KIND,)},
    ),
)
