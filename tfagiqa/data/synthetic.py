"""Deterministic synthetic stand-ins for the four AGIQA datasets, written in each real dataset's own file layout.

The real images cannot be shipped or downloaded, so this module renders small scenes (shapes in named
colours on a background, with style and viewpoint cues) whose latent quality and prompt alignment are
known, degrades them (blur, noise, JPEG, colour cast) as quality falls, lets simulated raters score them,
and writes label files and images exactly where and how the real dataset keeps them. The real readers,
pipelines and models then run end to end, and a model that learns anything can be checked against the
latent truth in ``synthetic_truth.csv``.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io
from openpyxl import Workbook
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from tfagiqa.errors import DataError

VERSION = 1
LAYOUTS = ("agiqa1k", "agiqa3k", "aigciqa2023", "aigiqa20k")
DATASET_DIRS = {"agiqa1k": "AGIQA-1K", "agiqa3k": "AGIQA-3K", "aigciqa2023": "AIGCIQA2023", "aigiqa20k": "AIGIQA-20K"}
MARKER = "SYNTHETIC.json"
TRUTH_FILE = "synthetic_truth.csv"
NOTE = "synthetic stand-in, not real data"
DEFAULT_N = {"agiqa1k": 240, "agiqa3k": 330, "aigciqa2023": 240, "aigiqa20k": 240}
MAX_N = {"agiqa1k": 1080, "agiqa3k": 9990, "aigciqa2023": 24_000, "aigiqa20k": 99_960}

# ---------------------------------------------------------------------------------------------------------------
# Visual vocabulary: every prompt word below has a visible counterpart, so text-image alignment is learnable.

COLOURS = {
    "red": (220, 40, 40), "orange": (240, 140, 30), "yellow": (240, 215, 40), "green": (40, 160, 60),
    "cyan": (40, 200, 210), "blue": (40, 80, 220), "purple": (140, 60, 200), "pink": (240, 120, 180),
}
SHAPES = ("circle", "square", "triangle", "star", "diamond", "hexagon", "ring", "cross")
NUMBER_WORDS = {1: "a", 2: "two", 3: "three"}
BACKGROUNDS = {
    "plain": ((236, 230, 218), (196, 192, 184)),
    "city": ((175, 180, 190), (110, 110, 120)),
    "wild": ((140, 190, 235), (70, 150, 70)),
}
TINTS = {"cold color": (60, 110, 210), "warm color": (235, 140, 60)}
# AGIQA-3K's adjectives, by category; adj2 always comes from a later category than adj1 (as in data.csv).
ADJECTIVE_CATEGORIES = (
    ("cold color", "warm color"),
    ("top view", "elevation view"),
    ("close-up", "long-shot"),
    ("blurred detail", "hyper detail"),
    ("soft lighting", "HDR lighting"),
)
STYLES_3K = ("anime style", "sci-fi style", "baroque style", "abstract style", "realistic style")
STYLES_2023 = ("pop art style", "pixel art style", "sketch style", *STYLES_3K)

# ---------------------------------------------------------------------------------------------------------------
# Generators: (mean latent quality, mean prompt fidelity). Better models score higher on average.

GENERATORS_1K = {"deepai": (0.55, 0.6), "dreamStudio": (0.45, 0.5)}
GENERATORS_3K = {
    "AttnGAN_normal": (0.2, 0.3), "glide_normal": (0.3, 0.35),
    "DALLE2_normal": (0.55, 0.6), "sd1.5_normal": (0.55, 0.55), "sd1.5_lowstep": (0.4, 0.5),
    "sd1.5_highcorr": (0.5, 0.7), "sd1.5_lowcorr": (0.55, 0.4),
    "xl2.2_normal": (0.75, 0.7), "midjourney_normal": (0.8, 0.65), "midjourney_lowstep": (0.7, 0.6),
}
GENERATORS_2023 = {
    "Controlnet": (0.55, 0.5), "DALLE": (0.7, 0.65), "Glide": (0.35, 0.4),
    "Lafite": (0.3, 0.35), "stable-diffusion": (0.6, 0.6), "Unidiffuser": (0.55, 0.55),
}
# AIGIQA-20K: (mean quality, mean fidelity, share weight); the weights follow the official per-generator counts.
GENERATORS_20K = {
    "DALLE2": (0.6, 0.6, 1), "DALLE3": (0.8, 0.8, 1), "Dream": (0.65, 0.6, 4), "IF": (0.6, 0.65, 1),
    "LCM_Pixart": (0.55, 0.55, 2), "LCM_SD1.5": (0.45, 0.45, 2), "LCM_SDXL": (0.55, 0.5, 2), "MJ": (0.85, 0.7, 1),
    "Pixart": (0.7, 0.65, 4), "Playground": (0.75, 0.65, 4), "SD1.4": (0.5, 0.5, 4), "SD1.5": (0.5, 0.5, 4),
    "SDXL": (0.7, 0.65, 4), "SDXL_Turbo": (0.6, 0.55, 2), "SSD1B": (0.65, 0.6, 4),
}

# AGIQA-1K's word tables, in deepai's index order (checked against AIGC_MOS_Zscore.xlsx).
MAIN_WORDS_1K = ("bird", "cat", "dog", "batman", "snoppy", "teddy bear", "kid", "man", "woman", "alien", "demon", "witch")
SECOND_WORDS_1K = (
    "driving aircraft", "driving bike", "driving car", "having hamburger", "having icecream", "having pizza",
    "playing baseball", "playing football", "playing yoga", "using CD", "using laptop", "using phone",
    "wearing coat", "wearing hat", "wearing shirt",
)
PLACES_1K = ("city", "wild")
STYLES_1K = ("anime style", "realistic style")
DREAMSTUDIO_MAINS = (0, 1, 2, 3, 4, 5, 7, 8, 9)   # deepai main ids that dreamStudio also draws (no kid, demon, witch)
DREAMSTUDIO_SECONDS = tuple(range(5, 15))         # deepai second ids that dreamStudio also draws

# AGIQA-3K prompt patterns (which of adj1, adj2, style are filled): the six combinations of data.csv.
PATTERNS_3K = (("style",), ("adj1", "style"), ("adj1", "adj2", "style"), (), ("adj1",), ("adj1", "adj2"))
MIN_PROMPTS_3K = 10   # enough prompts for every prompt length 0–3 and all five styles
DROPPED_3K = {"DALLE2_normal": 10 / 300, "midjourney": 4 / 300}   # real share of prompts a generator skipped

CATEGORIES_2023 = (
    "Basic", "Simple Detail", "Complex", "Fine-grained Detail", "Imagination",
    "Style & Format", "Writing & Symbols", "Quantity", "Perspective", "Linguistic Structures",
)
# (object kinds, adjectives, styled) per AIGCIQA2023 category.
CATEGORY_TEMPLATES = {
    "Basic": (1, 0, False), "Simple Detail": (1, 1, False), "Complex": (2, 1, False),
    "Fine-grained Detail": (1, 2, False), "Imagination": (2, 0, True), "Style & Format": (1, 0, True),
    "Writing & Symbols": (1, 0, False), "Quantity": (2, 0, False), "Perspective": (1, 1, False),
    "Linguistic Structures": (2, 1, False),
}
IMAGES_PER_PROMPT_2023 = 4
SPLIT_PATTERN_20K = ("train",) * 7 + ("val",) + ("test",) * 2


@dataclass(frozen=True)
class Scale:
    """Where a dataset's MOS lives: centre and spread of the published scores, and the clip range."""

    center: float
    spread: float
    low: float
    high: float


SCALES = {
    "agiqa1k": Scale(2.5, 0.855, 0.0, 5.0),
    "agiqa3k": Scale(2.5, 1.0, 0.0, 5.0),
    "aigciqa2023": Scale(50.0, 10.0, 0.0, 100.0),
    "aigiqa20k": Scale(3.864, 0.71, 0.0, 5.0),
}


@dataclass(frozen=True)
class Thing:
    """One kind of object a prompt asks for: how many, which colour, which shape."""

    count: int
    colour: str
    shape: str


@dataclass(frozen=True)
class Spec:
    """What an image should show: objects, background, adjective cues and style."""

    things: tuple[Thing, ...]
    background: str = "plain"
    modifiers: tuple[str, ...] = ()
    style: str | None = None


@dataclass
class Item:
    """One image to write: file name, folder, generator, intended content and layout-specific label fields."""

    name: str
    folder: str
    generator: str
    spec: Spec
    prompt: str
    quality_mean: float
    fidelity_mean: float
    fields: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Distortion:
    """The degradations applied to one image; strengths rise as its latent quality falls."""

    blur_radius: float
    noise_sigma: float
    jpeg_quality: int
    color_cast: float


# ---------------------------------------------------------------------------------------------------------------
# Public API


def is_synthetic(dataset_dir: str | Path) -> bool:
    """True when the folder carries the synthetic marker, so it is never mistaken for (or overwrites) real data."""
    return (Path(dataset_dir) / MARKER).is_file()


def write_synthetic(layout: str, out_dir: str | Path, n: int | None = None, seed: int = 0, image_size: int = 96) -> Path:
    """Write a complete synthetic dataset in ``layout``'s real file layout at ``out_dir``, atomically."""
    params = _params(layout, n, seed, image_size)
    out = Path(out_dir)
    if out.exists():
        if _read_marker(out) == params:
            return out
        if not out.is_dir() or any(out.iterdir()):
            raise DataError(f"{out} exists and is not empty; refusing to write a synthetic {layout} dataset over it")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        partial.chmod(0o755)
        _write_layout(layout, partial, params)
        (partial / MARKER).write_text(json.dumps(params, indent=2, sort_keys=True) + "\n")
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return _publish(partial, out, params)


def ensure_synthetic(layout: str, data_root: str | Path, n: int | None = None, seed: int = 0, image_size: int = 96) -> Path:
    """``data_root/DATASET_DIRS[layout]``, generated on first use, reused while its marker matches, never over real data."""
    params = _params(layout, n, seed, image_size)
    target = Path(data_root) / DATASET_DIRS[layout]
    if _read_marker(target) == params:
        return target
    if is_synthetic(target):
        shutil.rmtree(target)
    return write_synthetic(layout, target, params["n"], seed, image_size)


# ---------------------------------------------------------------------------------------------------------------
# Parameters and marker


def _params(layout: str, n: int | None, seed: int, image_size: int) -> dict:
    """The marker's content for a request, after checking it (n defaults per layout)."""
    if layout not in LAYOUTS:
        raise DataError(f"unknown synthetic layout {layout!r}; choose from {LAYOUTS}")
    n = DEFAULT_N[layout] if n is None else int(n)
    if not 1 <= n <= MAX_N[layout]:
        raise DataError(f"synthetic {layout}: n must be in 1..{MAX_N[layout]}, got {n}")
    if int(seed) < 0:
        raise DataError(f"synthetic {layout}: seed must be >= 0, got {seed}")
    if image_size < 32:
        raise DataError(f"synthetic images need image_size >= 32, got {image_size}")
    return {"layout": layout, "n": n, "seed": int(seed), "image_size": int(image_size), "version": VERSION, "note": NOTE}


def _publish(partial: Path, out: Path, params: dict) -> Path:
    """Move the finished folder into place; if another process got there first with the same data, keep theirs."""
    try:
        if out.exists():
            out.rmdir()
        partial.rename(out)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
        if _read_marker(out) != params:
            raise
    return out


def _read_marker(folder: Path) -> dict | None:
    """The marker's content, or None when there is no readable marker."""
    try:
        return json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None


def _rng(seed: int, layout: str, *stream: int) -> np.random.Generator:
    """An independent generator per (seed, layout, stream), so each part of the data is reproducible on its own."""
    return np.random.default_rng([seed, LAYOUTS.index(layout), *stream])


# ---------------------------------------------------------------------------------------------------------------
# Writing a layout


def _write_layout(layout: str, folder: Path, params: dict) -> None:
    """Plan the items, render and save every image, rate them and write the label and truth files."""
    seed, size = params["seed"], params["image_size"]
    planner, writer = LAYOUT_FUNCTIONS[layout]
    items, extra = planner(params["n"], _rng(seed, layout, 0))
    truth = pd.DataFrame([_make_image(item, folder, size, _rng(seed, layout, 1, i)) for i, item in enumerate(items)])
    writer(folder, items, truth, _rng(seed, layout, 2), extra)
    truth.to_csv(folder / TRUTH_FILE, index=False, float_format="%.6f")


def _make_image(item: Item, folder: Path, size: int, rng: np.random.Generator) -> dict:
    """Draw the image's latent quality and alignment, render, degrade and save it; return its truth row."""
    quality = float(np.clip(rng.normal(item.quality_mean, 0.18), 0.0, 1.0))
    realism = float(rng.uniform())
    n_elements = _count_elements(item.spec)
    fidelity = rng.normal(item.fidelity_mean + 0.3 * (quality - item.quality_mean), 0.2) - 0.02 * max(0, n_elements - 3)
    shown, missing = _realise(item.spec, float(np.clip(fidelity, 0.05, 1.0)), rng)
    image, distortion = _distort(_render(shown, size, rng), quality, rng)
    path = folder / item.folder / item.name
    path.parent.mkdir(parents=True, exist_ok=True)
    _save_image(image, path, distortion.jpeg_quality)
    return {
        "name": item.name, "path": f"{item.folder}/{item.name}", "generator": item.generator, "prompt": item.prompt,
        "quality": quality, "alignment": 1.0 - len(missing) / n_elements, "authenticity": 0.6 * quality + 0.4 * realism,
        "blur_radius": distortion.blur_radius, "noise_sigma": distortion.noise_sigma,
        "jpeg_quality": distortion.jpeg_quality, "color_cast": distortion.color_cast, "missing": ";".join(missing),
    }


def _save_image(image: Image.Image, path: Path, jpeg_quality: int) -> None:
    """Save as JPEG at the distortion's quality, or as PNG after a JPEG round trip at that quality."""
    if path.suffix == ".jpg":
        image.save(path, format="JPEG", quality=jpeg_quality)
        return
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=jpeg_quality)
    Image.open(buffer).convert("RGB").save(path, format="PNG")


# ---------------------------------------------------------------------------------------------------------------
# Prompts: text and the elements an image can get right or wrong


def _phrase(thing: Thing) -> str:
    """'a red circle', 'an orange star', 'two blue squares'."""
    article = NUMBER_WORDS[thing.count]
    if article == "a" and thing.colour[0] in "aeiou":
        article = "an"
    plural = "" if thing.count == 1 else ("es" if thing.shape.endswith("s") else "s")
    return f"{article} {thing.colour} {thing.shape}{plural}"


def _main_text(things: tuple[Thing, ...]) -> str:
    """The prompt's object phrase, e.g. 'two red circles and a blue square'."""
    return " and ".join(_phrase(t) for t in things)


def _sample_things(rng: np.random.Generator, kinds: int) -> tuple[Thing, ...]:
    """1 or 2 kinds of object, 1–3 objects in all, with distinct colours and shapes."""
    counts = [int(rng.integers(1, 4))] if kinds == 1 else [[1, 1], [2, 1], [1, 2]][int(rng.integers(3))]
    colours = rng.choice(list(COLOURS), size=kinds, replace=False)
    shapes = rng.choice(SHAPES, size=kinds, replace=False)
    return tuple(Thing(c, str(col), str(s)) for c, col, s in zip(counts, colours, shapes))


def _sample_adjectives(rng: np.random.Generator, count: int) -> tuple[str, ...]:
    """``count`` adjectives from distinct categories, in category order (so adj2 comes after adj1, as in data.csv)."""
    categories = sorted(rng.choice(len(ADJECTIVE_CATEGORIES), size=count, replace=False))
    return tuple(str(rng.choice(ADJECTIVE_CATEGORIES[c])) for c in categories)


def _count_elements(spec: Spec) -> int:
    """How many checkable prompt elements: shape, colour and count per object kind, then background, adjectives, style."""
    return 3 * len(spec.things) + (spec.background != "plain") + len(spec.modifiers) + (spec.style is not None)


def _other(options, current: str, rng: np.random.Generator) -> str:
    """A random option different from ``current`` (what a generator swaps in when it gets an element wrong)."""
    return str(rng.choice([o for o in options if o != current]))


def _realise(spec: Spec, fidelity: float, rng: np.random.Generator) -> tuple[Spec, list[str]]:
    """What the generator actually draws: each element survives with probability ``fidelity``, else is swapped or dropped."""
    missing: list[str] = []
    things = []
    for thing in spec.things:
        drawn = _realise_thing(thing, fidelity, rng)
        if drawn.count == 0:
            missing += [f"shape:{thing.shape}", f"colour:{thing.colour}", f"count:{thing.count}"]
            continue
        missing += [f"shape:{thing.shape}"] * (drawn.shape != thing.shape)
        missing += [f"colour:{thing.colour}"] * (drawn.colour != thing.colour)
        missing += [f"count:{thing.count}"] * (drawn.count != thing.count)
        things.append(drawn)
    background = spec.background
    if background != "plain" and rng.random() > fidelity:
        missing.append(f"background:{background}")
        background = _other(PLACES_1K, background, rng)
    modifiers = tuple(m for m in spec.modifiers if rng.random() <= fidelity)
    missing += [f"modifier:{m}" for m in spec.modifiers if m not in modifiers]
    style = spec.style if spec.style is None or rng.random() <= fidelity else None
    missing += [f"style:{spec.style}"] * (style != spec.style)
    return Spec(tuple(things), background, modifiers, style), missing


def _realise_thing(thing: Thing, fidelity: float, rng: np.random.Generator) -> Thing:
    """One object kind as drawn: shape or colour swapped, count off by one (a single object may vanish)."""
    shape = thing.shape if rng.random() <= fidelity else _other(SHAPES, thing.shape, rng)
    colour = thing.colour if rng.random() <= fidelity else _other(COLOURS, thing.colour, rng)
    count = thing.count
    if rng.random() > fidelity:
        count += 1 if rng.random() < 0.5 else -1
    return Thing(count, colour, shape)


# ---------------------------------------------------------------------------------------------------------------
# Rendering (at twice the size, then downsampled for smooth edges)


def _render(spec: Spec, size: int, rng: np.random.Generator) -> Image.Image:
    """Draw the scene a spec describes: background, objects, style and lighting cues."""
    big = 2 * size
    canvas = _background(spec, big, rng)
    for shape, colour, cx, cy, radius in _place_objects(spec, big, rng):
        _paint_object(canvas, shape, COLOURS[colour], (cx, cy, radius), spec, rng)
    canvas = _apply_style(canvas, spec.style, rng)
    canvas = _apply_lighting(canvas, spec.modifiers)
    return canvas.resize((size, size), Image.LANCZOS)


def _gradient(top, bottom, big: int) -> np.ndarray:
    """A vertical colour gradient as a float (big, big, 3) array."""
    t = np.linspace(0.0, 1.0, big)[:, None, None]
    return np.broadcast_to((1 - t) * np.array(top, float) + t * np.array(bottom, float), (big, big, 3)).copy()


def _background(spec: Spec, big: int, rng: np.random.Generator) -> Image.Image:
    """The background: place (plain, city, wild), colour tint, viewpoint, blurred backdrop, sci-fi grid."""
    top, bottom = BACKGROUNDS[spec.background]
    if spec.style == "sci-fi style":
        top, bottom = (15, 15, 45), (45, 20, 75)
    jitter = rng.normal(0.0, 8.0, 3)
    pixels = _gradient(np.add(top, jitter), np.add(bottom, jitter), big)
    tint = next((TINTS[m] for m in spec.modifiers if m in TINTS), None)
    if tint is not None:
        pixels = 0.55 * pixels + 0.45 * np.array(tint, float)
    if spec.background == "wild":
        pixels[int(0.55 * big):] = np.array(bottom, float) + jitter
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    if spec.background == "city":
        _draw_buildings(draw, big, rng)
    if "top view" in spec.modifiers:
        _draw_tiles(image, big)
    if "elevation view" in spec.modifiers:
        draw.rectangle((0, int(0.65 * big), big, big), fill=(90, 80, 70))
        draw.line((0, int(0.65 * big), big, int(0.65 * big)), fill=(40, 35, 30), width=max(1, big // 64))
    if "blurred detail" in spec.modifiers:
        image = _bokeh(image, big, rng)
    if spec.style == "sci-fi style":
        step = big // 8
        for k in range(0, big, step):
            draw.line((k, 0, k, big), fill=(40, 200, 220), width=1)
            draw.line((0, k, big, k), fill=(40, 200, 220), width=1)
    return image


def _draw_buildings(draw: ImageDraw.ImageDraw, big: int, rng: np.random.Generator) -> None:
    """A row of dark building blocks along the bottom (the 'city' cue)."""
    x = 0
    while x < big:
        width = int(rng.integers(big // 10, big // 5))
        height = int(rng.integers(big // 6, big // 2))
        draw.rectangle((x, big - height, x + width - 2, big), fill=(70, 72, 80))
        x += width


def _draw_tiles(image: Image.Image, big: int) -> None:
    """A checkered floor over the whole frame (the 'top view' cue)."""
    pixels = np.asarray(image, dtype=float)
    step = big // 6
    yy, xx = np.mgrid[0:big, 0:big]
    checker = ((yy // step + xx // step) % 2)[..., None]
    image.paste(Image.fromarray(np.clip(pixels * (1.0 - 0.18 * checker), 0, 255).astype(np.uint8)))


def _bokeh(image: Image.Image, big: int, rng: np.random.Generator) -> Image.Image:
    """Soft out-of-focus blobs in the backdrop (the 'blurred detail' cue; the objects stay sharp)."""
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        cx, cy, r = rng.uniform(0, big), rng.uniform(0, big), rng.uniform(big / 12, big / 6)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=tuple(int(v) for v in rng.integers(150, 255, 3)))
    return image.filter(ImageFilter.GaussianBlur(big / 24))


def _place_objects(spec: Spec, big: int, rng: np.random.Generator) -> list[tuple[str, str, float, float, float]]:
    """Each object's shape, colour, centre and radius, one per cell of a 3×3 grid (close-up/long-shot scale them)."""
    objects = [(t.shape, t.colour) for t in spec.things for _ in range(t.count)]
    scale = 1.45 if "close-up" in spec.modifiers else 0.6 if "long-shot" in spec.modifiers else 1.0
    radius = 0.12 * big * scale
    cells = rng.permutation(9)[: len(objects)]
    placed = []
    for (shape, colour), cell in zip(objects, cells):
        cx = (cell % 3 + 0.5) * big / 3 + rng.uniform(-0.04, 0.04) * big
        cy = (cell // 3 + 0.5) * big / 3 + rng.uniform(-0.04, 0.04) * big
        placed.append((shape, colour, cx, cy, radius))
    return placed


def _polygon(cx: float, cy: float, radius: float, corners: int, rotation: float, inner: float | None = None) -> list:
    """Vertices of a regular polygon, or of a star when ``inner`` (inner radius ratio) is given."""
    points = corners * (2 if inner else 1)
    radii = [radius if inner is None or k % 2 == 0 else radius * inner for k in range(points)]
    angles = rotation + 2 * np.pi * np.arange(points) / points
    return [(cx + r * np.sin(a), cy - r * np.cos(a)) for r, a in zip(radii, angles)]


def _draw_shape(draw: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, r: float) -> None:
    """Fill one named shape into a mask."""
    if shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    elif shape == "ring":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
        draw.ellipse((cx - 0.55 * r, cy - 0.55 * r, cx + 0.55 * r, cy + 0.55 * r), fill=0)
    elif shape == "square":
        draw.rectangle((cx - 0.85 * r, cy - 0.85 * r, cx + 0.85 * r, cy + 0.85 * r), fill=255)
    elif shape == "cross":
        draw.rectangle((cx - r, cy - 0.3 * r, cx + r, cy + 0.3 * r), fill=255)
        draw.rectangle((cx - 0.3 * r, cy - r, cx + 0.3 * r, cy + r), fill=255)
    else:
        corners, rotation, inner = {"triangle": (3, 0.0, None), "diamond": (4, 0.0, None),
                                    "hexagon": (6, np.pi / 6, None), "star": (5, 0.0, 0.45)}[shape]
        draw.polygon(_polygon(cx, cy, r, corners, rotation, inner), fill=255)


def _paint_object(canvas: Image.Image, shape: str, rgb: tuple, circle: tuple, spec: Spec, rng: np.random.Generator) -> None:
    """Paint one object with its style: anime outline, realistic shading and shadow, abstract tilt, hyper-detail stripes."""
    cx, cy, r = circle
    mask = Image.new("L", canvas.size, 0)
    _draw_shape(ImageDraw.Draw(mask), shape, cx, cy, r)
    if spec.style == "abstract style":
        mask = mask.rotate(float(rng.uniform(-45, 45)), center=(cx, cy))
    if spec.style == "realistic style":
        shadow = mask.transform(canvas.size, Image.AFFINE, (1, 0, -r / 5, 0, 1, -r / 5))
        canvas.paste((30, 30, 30), (0, 0, *canvas.size), shadow.filter(ImageFilter.GaussianBlur(r / 6)).point(lambda v: v // 2))
    if spec.style == "anime style":
        canvas.paste((0, 0, 0), (0, 0, *canvas.size), mask.filter(ImageFilter.MaxFilter(5)))
    canvas.paste(_fill(rgb, canvas.size[0], circle, spec), (0, 0), mask)


def _fill(rgb: tuple, big: int, circle: tuple, spec: Spec) -> Image.Image:
    """The object's surface: flat colour, radial shading (realistic) and fine stripes (hyper detail)."""
    cx, cy, r = circle
    yy, xx = np.mgrid[0:big, 0:big].astype(float)
    shade = np.ones((big, big))
    if spec.style == "realistic style":
        distance = np.hypot(xx - (cx - r / 3), yy - (cy - r / 3)) / (2 * r)
        shade = np.clip(1.25 - 0.6 * distance, 0.55, 1.25)
    if "hyper detail" in spec.modifiers:
        shade = shade * (1.0 - 0.35 * ((xx + yy) % 6 < 2))
    pixels = np.array(rgb, float)[None, None, :] * shade[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _apply_style(canvas: Image.Image, style: str | None, rng: np.random.Generator) -> Image.Image:
    """Whole-frame style cues: anime posterise, baroque gold frame, pop-art halftone, pixel art, sketch, abstract strokes."""
    big = canvas.size[0]
    if style == "anime style":
        return ImageOps.posterize(canvas, 3)
    if style == "baroque style":
        draw = ImageDraw.Draw(canvas)
        draw.rectangle((0, 0, big - 1, big - 1), outline=(190, 150, 50), width=big // 14)
        draw.rectangle((big // 10, big // 10, big - big // 10, big - big // 10), outline=(120, 80, 20), width=max(1, big // 64))
        return canvas
    if style == "pop art style":
        yy, xx = np.mgrid[0:big, 0:big]
        dots = (((xx % 8) - 3.5) ** 2 + ((yy % 8) - 3.5) ** 2 < 6)[..., None]
        pixels = np.asarray(ImageEnhance.Color(canvas).enhance(1.8), dtype=float) * (0.7 + 0.3 * dots)
        return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if style == "pixel art style":
        return canvas.resize((big // 6, big // 6), Image.NEAREST).resize((big, big), Image.NEAREST)
    if style == "sketch style":
        return ImageOps.invert(ImageOps.grayscale(canvas).filter(ImageFilter.FIND_EDGES)).convert("RGB")
    if style == "abstract style":
        draw = ImageDraw.Draw(canvas)
        for _ in range(3):
            ends = tuple(float(v) for v in rng.uniform(0, big, 4))
            draw.line(ends, fill=tuple(int(v) for v in rng.integers(0, 255, 3)), width=max(2, big // 40))
    return canvas


def _apply_lighting(canvas: Image.Image, modifiers: tuple[str, ...]) -> Image.Image:
    """Lighting cues: soft lighting lifts and flattens, HDR lighting boosts contrast and saturation."""
    if "soft lighting" in modifiers:
        canvas = ImageEnhance.Contrast(Image.blend(canvas, Image.new("RGB", canvas.size, (255, 255, 255)), 0.25)).enhance(0.75)
    if "HDR lighting" in modifiers:
        canvas = ImageEnhance.Color(ImageEnhance.Contrast(canvas).enhance(1.6)).enhance(1.4)
    return canvas


def _distort(image: Image.Image, quality: float, rng: np.random.Generator) -> tuple[Image.Image, Distortion]:
    """Blur, colour cast and noise (JPEG quality is applied when saving), each scaled by 1 − quality with its own jitter."""
    strength = np.clip((1.0 - quality) * rng.uniform(0.7, 1.3, 4), 0.0, 1.0)
    distortion = Distortion(
        blur_radius=round(3.0 * float(strength[0]), 3),
        noise_sigma=round(35.0 * float(strength[1]), 3),
        jpeg_quality=int(round(95 - 85 * float(strength[2]))),
        color_cast=round(0.35 * float(strength[3]), 3),
    )
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    blurred = image.filter(ImageFilter.GaussianBlur(distortion.blur_radius))
    pixels = np.asarray(blurred, dtype=float) * (1.0 + distortion.color_cast * direction)
    pixels += rng.normal(0.0, 1.0, pixels.shape) * distortion.noise_sigma
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8)), distortion


# ---------------------------------------------------------------------------------------------------------------
# Simulated raters


def _rate(latent: np.ndarray, scale: Scale, rng: np.random.Generator, raters: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """MOS and std from raters with their own bias, gain and noise, z-scored per rater and mapped onto ``scale``."""
    bias = rng.normal(0.0, 0.4, (raters, 1))
    gain = rng.uniform(0.8, 1.2, (raters, 1))
    noise = rng.uniform(0.4, 0.9, (raters, 1))
    raw = np.clip(1.0 + 4.0 * gain * latent[None, :] + bias + noise * rng.normal(size=(raters, latent.size)), 1.0, 5.0)
    spread = raw.std(axis=1, keepdims=True)
    z = (raw - raw.mean(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1.0)
    mos_z, std_z = z.mean(axis=0), z.std(axis=0, ddof=1)
    k = scale.spread / (mos_z.std() or 1.0)
    mos = np.clip(scale.center + k * (mos_z - mos_z.mean()), scale.low, scale.high)
    return mos, k * std_z


def _overall(truth: pd.DataFrame) -> np.ndarray:
    """The latent behind a single MOS that mixes perception and alignment (AGIQA-1K, AIGIQA-20K)."""
    return 0.6 * truth["quality"].to_numpy() + 0.4 * truth["alignment"].to_numpy()


# ---------------------------------------------------------------------------------------------------------------
# Deterministic file writers (fixed timestamps inside xlsx and mat files)


def _write_xlsx(path: Path, rows: list[list], header: list[str] | None) -> None:
    """One-sheet workbook ('Sheet1') with byte-identical output for identical content."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    if header is not None:
        sheet.append(header)
    for row in rows:
        sheet.append([None if isinstance(v, float) and np.isnan(v) else v for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    _write_normalised_zip(buffer.getvalue(), path)


def _write_normalised_zip(data: bytes, path: Path) -> None:
    """Re-pack an xlsx with fixed entry dates and fixed document times, so same content gives same bytes."""
    fixed_time = "2024-01-01T00:00:00Z"
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            content = source.read(entry.filename)
            if entry.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>" + fixed_time.encode(), content)
            target.writestr(zipfile.ZipInfo(entry.filename, date_time=(1980, 1, 1, 0, 0, 0)), content, zipfile.ZIP_DEFLATED)


def _write_mat(path: Path, key: str, values: np.ndarray) -> None:
    """A MATLAB 5 file with one float64 (N, 1) variable and a fixed header text (scipy stamps the time there)."""
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {key: np.asarray(values, dtype=np.float64).reshape(-1, 1)})
    data = bytearray(buffer.getvalue())
    data[:116] = b"MATLAB 5.0 MAT-file, tfagiqa synthetic stand-in".ljust(116, b" ")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))


# ---------------------------------------------------------------------------------------------------------------
# AGIQA-1K


def _look_1k(word_index: int) -> tuple[str, str]:
    """The colour and shape that stand for one AGIQA-1K word (each word gets its own pair)."""
    return list(COLOURS)[word_index % 8], SHAPES[(word_index + word_index // 8) % 8]


def _spec_1k(main: int, second: int, place: int, style: int) -> Spec:
    """The scene for an AGIQA-1K prompt: the main and second object, the place as background, the style."""
    things = tuple(Thing(1, *_look_1k(w)) for w in (main, len(MAIN_WORDS_1K) + second))
    return Spec(things, PLACES_1K[place], (), STYLES_1K[style])


def _plan_agiqa1k(n: int, rng: np.random.Generator) -> tuple[list[Item], dict]:
    """(main, second) object pairs × 2 places × 2 styles from deepai, and half of the pairs also from dreamStudio."""
    groups = int(np.clip(round(n / 6), 2, 180))
    shared = [(m, s) for m in DREAMSTUDIO_MAINS for s in DREAMSTUDIO_SECONDS]
    alone = [(m, s) for m in range(len(MAIN_WORDS_1K)) for s in range(len(SECOND_WORDS_1K)) if (m, s) not in shared]
    n_shared = groups // 2
    chosen_shared = [shared[k] for k in rng.choice(len(shared), n_shared, replace=False)]
    chosen_alone = [alone[k] for k in rng.choice(len(alone), groups - n_shared, replace=False)]
    items = []
    for main, second in chosen_shared + chosen_alone:
        codes = {"deepai": (main, second)}
        if (main, second) in chosen_shared:
            codes["dreamStudio"] = (main if main <= 5 else main - 1, second - 5)
        for place in range(2):
            for style in range(2):
                prompt = ", ".join([MAIN_WORDS_1K[main], SECOND_WORDS_1K[second], PLACES_1K[place], STYLES_1K[style]])
                for generator, (m, s) in codes.items():
                    items.append(Item(f"{generator}_{m}_{s}_{place}_{style}.jpg", "images", generator,
                                      _spec_1k(main, second, place, style), prompt, *GENERATORS_1K[generator]))
    return sorted(items, key=lambda item: item.name), {}


def _write_agiqa1k(folder: Path, items: list[Item], truth: pd.DataFrame, rng: np.random.Generator, extra: dict) -> None:
    """AIGC_MOS_Zscore.xlsx: Image, Prompt, MOS (one score mixing quality and alignment)."""
    mos, _ = _rate(_overall(truth), SCALES["agiqa1k"], rng)
    rows = [[item.name, item.prompt, float(m)] for item, m in zip(items, mos)]
    _write_xlsx(folder / "AIGC_MOS_Zscore.xlsx", rows, ["Image", "Prompt", "MOS"])


# ---------------------------------------------------------------------------------------------------------------
# AGIQA-3K


def _prompts_3k(count: int, rng: np.random.Generator) -> list[dict]:
    """Distinct prompts with data.csv's fields; every pattern (prompt length 0–3) and every style appears."""
    patterns = [PATTERNS_3K[k] for k in rng.permutation(np.arange(count) % len(PATTERNS_3K))]
    styled = 0
    prompts, seen = [], set()
    for pattern in patterns:
        while True:
            things = _sample_things(rng, int(rng.choice([1, 2], p=[0.6, 0.4])))
            adjectives = _sample_adjectives(rng, sum(f.startswith("adj") for f in pattern))
            style = STYLES_3K[styled % len(STYLES_3K)] if "style" in pattern else None
            text = ", ".join([_main_text(things), *adjectives, *([style] if style else [])])
            if text not in seen:
                break
        seen.add(text)
        styled += style is not None
        fields = dict(zip(("adj1", "adj2"), adjectives))
        prompts.append({"prompt": text, "spec": Spec(things, "plain", adjectives, style),
                        "adj1": fields.get("adj1", np.nan), "adj2": fields.get("adj2", np.nan), "style": style or np.nan})
    return prompts


def _plan_agiqa3k(n: int, rng: np.random.Generator) -> tuple[list[Item], dict]:
    """Prompts × the 10 model_variant combinations, a few prompts missing DALLE2 or midjourney as in the real set."""
    prompts = _prompts_3k(max(MIN_PROMPTS_3K, round(n / len(GENERATORS_3K))), rng)
    items = []
    for pid, prompt in enumerate(prompts):
        skip_dalle = rng.random() < DROPPED_3K["DALLE2_normal"]
        skip_midjourney = rng.random() < DROPPED_3K["midjourney"]
        for variant, means in GENERATORS_3K.items():
            if (skip_dalle and variant.startswith("DALLE2")) or (skip_midjourney and variant.startswith("midjourney")):
                continue
            fields = {k: prompt[k] for k in ("adj1", "adj2", "style")}
            items.append(Item(f"{variant}_{pid:03d}.jpg", "images", variant, prompt["spec"], prompt["prompt"], *means, fields))
    return sorted(items, key=lambda item: item.name), {}


def _write_agiqa3k(folder: Path, items: list[Item], truth: pd.DataFrame, rng: np.random.Generator, extra: dict) -> None:
    """data.csv: name, prompt, adj1, adj2, style, mos_quality, std_quality, mos_align, std_align (CRLF, like the real file)."""
    mos_q, std_q = _rate(truth["quality"].to_numpy(), SCALES["agiqa3k"], rng)
    mos_a, std_a = _rate(truth["alignment"].to_numpy(), SCALES["agiqa3k"], rng)
    table = pd.DataFrame({
        "name": [i.name for i in items], "prompt": [i.prompt for i in items],
        "adj1": [i.fields["adj1"] for i in items], "adj2": [i.fields["adj2"] for i in items],
        "style": [i.fields["style"] for i in items],
        "mos_quality": mos_q, "std_quality": std_q, "mos_align": mos_a, "std_align": std_a,
    })
    table.to_csv(folder / "data.csv", index=False, float_format="%.9f", lineterminator="\r\n")


# ---------------------------------------------------------------------------------------------------------------
# AIGCIQA2023


def _prompts_2023(count: int, rng: np.random.Generator) -> list[tuple[str, str, str, Spec]]:
    """(category, class, prompt, spec) rows; categories in the real order, and 'pop art style' at row 51 when P ≥ 52."""
    blocks = [CATEGORIES_2023[pid * len(CATEGORIES_2023) // count] for pid in range(count)]
    rows = []
    for pid, category in enumerate(blocks):
        kinds, n_adjectives, styled = CATEGORY_TEMPLATES[category]
        things = _sample_things(rng, kinds)
        adjectives = _sample_adjectives(rng, n_adjectives)
        style = _style_2023(category, pid - blocks.index(category), blocks.count(category), rng) if styled else None
        text = ", ".join([_main_text(things), *adjectives, *([style] if style else [])])
        rows.append((category, things[0].shape, text, Spec(things, "plain", adjectives, style)))
    return rows


def _style_2023(category: str, position: int, block_size: int, rng: np.random.Generator) -> str:
    """Style & Format prompts cycle through the styles with pop art at position 1 (0 in a 1-prompt block)."""
    if category != "Style & Format":
        return str(rng.choice(STYLES_3K))
    return STYLES_2023[(position - min(1, block_size - 1)) % len(STYLES_2023)]


def _plan_aigciqa2023(n: int, rng: np.random.Generator) -> tuple[list[Item], dict]:
    """6 generators × P prompts × 4 images, image i = gen·4P + pid·4 + (k − 1) as in Image/allimg."""
    prompts = _prompts_2023(max(1, round(n / (len(GENERATORS_2023) * IMAGES_PER_PROMPT_2023))), rng)
    items = []
    for generator, means in GENERATORS_2023.items():
        for _, _, text, spec in prompts:
            for _ in range(IMAGES_PER_PROMPT_2023):
                items.append(Item(f"{len(items)}.png", "Image/allimg", generator, spec, text, *means))
    return items, {"prompts": [row[:3] for row in prompts]}


def _write_aigciqa2023(folder: Path, items: list[Item], truth: pd.DataFrame, rng: np.random.Generator, extra: dict) -> None:
    """DATA/MOS/mosz{1,2,3}.mat (quality, authenticity, correspondence), DATA/STD/SD{1,2,3}.mat, the prompt sheet."""
    for k, latent in enumerate(("quality", "authenticity", "alignment"), start=1):
        mos, std = _rate(truth[latent].to_numpy(), SCALES["aigciqa2023"], rng)
        _write_mat(folder / "DATA" / "MOS" / f"mosz{k}.mat", "MOSz", mos)
        _write_mat(folder / "DATA" / "STD" / f"SD{k}.mat", "SD", std)
    _write_xlsx(folder / "AIGCIQA2023_Prompts.xlsx", [list(row) for row in extra["prompts"]], None)


# ---------------------------------------------------------------------------------------------------------------
# AIGIQA-20K


def _prompt_pool_20k(count: int, rng: np.random.Generator) -> list[tuple[str, Spec]]:
    """Prompts in the AGIQA-3K manner (objects, 0–2 adjectives, optional style), shared by several images."""
    pool = []
    for _ in range(count):
        things = _sample_things(rng, int(rng.choice([1, 2])))
        adjectives = _sample_adjectives(rng, int(rng.integers(0, 3)))
        style = str(rng.choice(STYLES_3K)) if rng.random() < 0.5 else None
        pool.append((", ".join([_main_text(things), *adjectives, *([style] if style else [])]),
                     Spec(things, "plain", adjectives, style)))
    return pool


def _plan_aigiqa20k(n: int, rng: np.random.Generator) -> tuple[list[Item], dict]:
    """15 generators in the official proportions (4:2:1), split 70/10/20 into train/val/test within each generator."""
    unit = max(1, round(n / sum(w for _, _, w in GENERATORS_20K.values())))
    total = unit * sum(w for _, _, w in GENERATORS_20K.values())
    pool = _prompt_pool_20k(max(1, total // 4), rng)
    items = []
    for generator, (quality, fidelity, weight) in GENERATORS_20K.items():
        for index in rng.permutation(weight * unit):
            split = SPLIT_PATTERN_20K[len(items) % len(SPLIT_PATTERN_20K)]
            text, spec = pool[int(rng.integers(len(pool)))]
            items.append(Item(f"{generator}_{index:04d}.png", split, generator, spec, text, quality, fidelity, {"split": split}))
    return sorted(items, key=lambda item: item.name), {}


def _write_aigiqa20k(folder: Path, items: list[Item], truth: pd.DataFrame, rng: np.random.Generator, extra: dict) -> None:
    """info_train.xlsx (name, prompt, mos), info_val.xlsx and info_test.xlsx (name, prompt)."""
    mos, _ = _rate(_overall(truth), SCALES["aigiqa20k"], rng)
    for split in ("train", "val", "test"):
        chosen = [(item, float(m)) for item, m in zip(items, mos) if item.fields["split"] == split]
        if split == "train":
            _write_xlsx(folder / "info_train.xlsx", [[i.name, i.prompt, m] for i, m in chosen], ["name", "prompt", "mos"])
        else:
            _write_xlsx(folder / f"info_{split}.xlsx", [[i.name, i.prompt] for i, _ in chosen], ["name", "prompt"])
        (folder / split).mkdir(exist_ok=True)


LAYOUT_FUNCTIONS = {
    "agiqa1k": (_plan_agiqa1k, _write_agiqa1k),
    "agiqa3k": (_plan_agiqa3k, _write_agiqa3k),
    "aigciqa2023": (_plan_aigciqa2023, _write_aigciqa2023),
    "aigiqa20k": (_plan_aigiqa20k, _write_aigiqa20k),
}
