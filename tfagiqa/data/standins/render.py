"""Drawing a stand-in image: a scene spec rendered with its style and lighting cues, then degraded and saved.

:func:`render` draws at twice the size and downsamples (smooth edges); :func:`distort` applies blur, a colour
cast and noise whose strengths rise as the image's latent quality falls; :func:`save_image` writes JPEG at the
distortion's JPEG quality (PNG after a JPEG round trip). Every random draw comes from the generator passed in,
so an image is a pure function of its spec, size, quality and random stream.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from tfagiqa.data.standins.scene import BACKGROUNDS, COLOURS, TINTS, Spec


@dataclass(frozen=True)
class Distortion:
    """The degradations applied to one image; strengths rise as its latent quality falls."""

    blur_radius: float
    noise_sigma: float
    jpeg_quality: int
    color_cast: float


def render(spec: Spec, size: int, rng: np.random.Generator) -> Image.Image:
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


def distort(image: Image.Image, quality: float, rng: np.random.Generator) -> tuple[Image.Image, Distortion]:
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


def save_image(image: Image.Image, path: Path, jpeg_quality: int) -> None:
    """Save as JPEG at the distortion's quality, or as PNG after a JPEG round trip at that quality."""
    if path.suffix == ".jpg":
        image.save(path, format="JPEG", quality=jpeg_quality)
        return
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=jpeg_quality)
    Image.open(buffer).convert("RGB").save(path, format="PNG")
