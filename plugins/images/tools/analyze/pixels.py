"""The `pixels` backend: what colour statistics and layout can say, without a learned model.

The subject is what differs from the border's colour; hair colour is read from the top of the
subject, clothing colour from its lower part, the composition from the subject's box, the visual
style's palette, saturation and key from the whole picture. Every suggestion is marked heuristic
and fields it cannot judge are left out. No expression: the only classifier that ships in a
package (`fer`) is trained on photos, and the studio's pictures are mostly drawn ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from plugins.images.tools.analyze.suggestions import Suggestion

COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (20, 20, 20),
    "charcoal": (60, 60, 64),
    "grey": (128, 128, 128),
    "silver": (192, 192, 192),
    "white": (245, 245, 245),
    "red": (200, 30, 30),
    "dark red": (120, 20, 25),
    "pink": (240, 150, 180),
    "magenta": (200, 40, 160),
    "orange": (240, 130, 30),
    "copper": (184, 100, 50),
    "auburn": (130, 50, 30),
    "brown": (110, 70, 40),
    "chestnut": (150, 80, 50),
    "beige": (225, 205, 170),
    "blonde": (230, 200, 120),
    "gold": (212, 175, 55),
    "yellow": (240, 220, 40),
    "olive": (128, 128, 40),
    "green": (40, 160, 60),
    "dark green": (20, 80, 40),
    "teal": (30, 128, 128),
    "cyan": (40, 200, 220),
    "sky blue": (120, 180, 235),
    "blue": (40, 70, 200),
    "navy": (20, 30, 90),
    "purple": (120, 50, 160),
    "violet": (170, 120, 220),
}
_NAMES = list(COLOURS)
_RGB = np.array([COLOURS[n] for n in _NAMES], dtype=float)


Colours = NDArray[np.float64]  # RGB values as floats, the channels on the last axis


def _distance(a: Colours, b: Colours) -> Colours:
    """'Redmean' colour distance: cheap and close to perceived difference."""
    rmean = (a[..., 0] + b[..., 0]) / 2
    d = a - b
    distance: Colours = np.sqrt(
        (2 + rmean / 256) * d[..., 0] ** 2
        + 4 * d[..., 1] ** 2
        + (2 + (255 - rmean) / 256) * d[..., 2] ** 2
    )
    return distance


def colour_name(rgb: Colours | tuple[int, int, int]) -> str:
    return _NAMES[int(np.argmin(_distance(_RGB, np.asarray(rgb, dtype=float)[None, :])))]


def hex_of(rgb: Colours | tuple[int, int, int]) -> str:
    r, g, b = (int(round(float(v))) for v in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def _dominant(pixels: Colours) -> Colours:
    """The most common colour of some pixels (coarse histogram, then its mean)."""
    bins = (pixels // 32).astype(int)
    keys = bins[:, 0] * 64 + bins[:, 1] * 8 + bins[:, 2]
    top = np.bincount(keys).argmax()
    mean: Colours = pixels[keys == top].mean(axis=0)
    return mean


def analyze(image: Image.Image, targets: list[str]) -> list[Suggestion]:

    rgb = image.convert("RGB")
    rgb.thumbnail((256, 256))
    arr = np.asarray(rgb, dtype=float)
    h, w, _ = arr.shape
    border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])
    background = _dominant(border)
    mask = _distance(arr, background[None, None, :]) > 60
    out: list[Suggestion] = []

    def suggest(
        kind: str, name: str, data: dict[str, Any], confidence: float, evidence: dict[str, str]
    ) -> None:
        if kind in targets:
            out.append(
                Suggestion(
                    kind=kind,
                    name=name,
                    data=data,
                    backend="pixels",
                    heuristic=True,
                    confidence=dict.fromkeys(data, confidence),
                    evidence=evidence,
                )
            )

    # Visual style: palette, saturation and key of the whole picture.
    quant = rgb.quantize(colors=5, method=Image.Quantize.MEDIANCUT)
    counts = sorted(quant.getcolors() or [], reverse=True)
    pal = quant.getpalette() or []
    palette: list[tuple[int, int, int]] = []
    for _, i in counts:  # median cut splits a big flat area into near-identical shades
        if not isinstance(i, int):  # never: the pixels of a "P" image are palette indices
            continue
        r, g, b = pal[i * 3 : i * 3 + 3]
        shade = (r, g, b)
        if all(_distance(np.asarray(shade, float), np.asarray(p, float)) > 40 for p in palette):
            palette.append(shade)
    hsv = np.asarray(rgb.convert("HSV"), dtype=float)
    saturation, value = hsv[..., 1].mean() / 255, hsv[..., 2].mean() / 255
    sat_word = "muted" if saturation < 0.25 else "vivid" if saturation > 0.55 else "moderate"
    key = "low-key" if value < 0.35 else "high-key" if value > 0.7 else "mid-key"
    names = list(dict.fromkeys(colour_name(c) for c in palette))
    suggest(
        "visual_style",
        f"{sat_word.capitalize()} {key} {', '.join(names[:3])}",
        {
            "prompt": f"{{prompt}}, {sat_word} colours, {key} lighting, palette of "
            f"{', '.join(names[:4])}",
            "palette": [hex_of(c) for c in palette],
            "description": f"{sat_word} saturation ({saturation:.2f}), {key} (mean value "
            f"{value:.2f}); colours: {', '.join(names)}",
        },
        0.5,
        {"palette": "5-colour median-cut of the whole picture"},
    )

    rows, cols = np.nonzero(mask)
    if rows.size < 0.02 * h * w:
        return out  # no subject stands out from the background: nothing more to say
    top, bottom, left, right = rows.min(), rows.max(), cols.min(), cols.max()
    bh, bw = (bottom - top + 1) / h, (right - left + 1) / w
    area = bh * bw
    shot = (
        "close-up"
        if area >= 0.45
        else "full body"
        if bh >= 0.75 and bw <= 0.45
        else "medium"
        if area >= 0.18
        else "wide"
    )
    centre = (left + right) / 2 / w
    framing = (
        "centered"
        if 0.4 <= centre <= 0.6
        else "subject on the left third"
        if centre < 0.4
        else "subject on the right third"
    )
    ratios = {
        "1:1": 1.0,
        "2:3": 2 / 3,
        "3:2": 1.5,
        "3:4": 0.75,
        "4:3": 4 / 3,
        "9:16": 9 / 16,
        "16:9": 16 / 9,
    }
    aspect = min(ratios, key=lambda r: abs(ratios[r] - image.width / image.height))
    bg = colour_name(background)
    suggest(
        "composition",
        f"{shot.capitalize()}, {framing}, {bg} background",
        {
            "shot": shot,
            "framing": framing,
            "background": f"plain {bg} background",
            "aspect_ratio": aspect,
        },
        0.5,
        {
            "shot": f"subject box {bw:.0%} × {bh:.0%} of the frame",
            "background": f"border colour {hex_of(background)}",
        },
    )

    subject = arr[mask]
    sub_rows = rows
    hair_zone = subject[sub_rows <= top + max(1, int(0.18 * (bottom - top + 1)))]
    if hair_zone.size:
        colour = _dominant(hair_zone)
        name = colour_name(colour)
        suggest(
            "hair_color",
            f"{name.capitalize()} hair",
            {"color": name, "color_hex": hex_of(colour), "prompt": f"{name} hair"},
            0.4,
            {"color": f"top 18% of the subject (rows {top}–{top + int(0.18 * (bottom - top))})"},
        )
    cloth_zone = subject[sub_rows >= top + int(0.6 * (bottom - top + 1))]
    if cloth_zone.size:
        colour = _dominant(cloth_zone)
        name = colour_name(colour)
        suggest(
            "clothing_item",
            f"{name.capitalize()} garment",
            {"color": name, "color_hex": hex_of(colour), "prompt": f"{name} clothes"},
            0.3,
            {"color": "lower 40% of the subject"},
        )
    return out
