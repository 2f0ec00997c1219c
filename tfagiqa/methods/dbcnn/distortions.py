"""The synthetic distortions the S-CNN learns to tell apart: nine types × five levels, seeded, on uint8 RGB arrays.

The paper pre-trains its S-CNN on the Waterloo Exploration Database and PASCAL VOC 2012 images distorted by the
nine types of its public generator (zwx8981/DBCNN, ``distortion_generator.m``), five levels each, with 39 classes
in the released network. The package distorts the training split's own images with the same nine types and the
generator's level parameters, as :func:`distort` documents; every type × level pair is one class (45 classes).
JPEG 2000's levels only differ on images of about 200 px and more: below, the codestream's headers alone exceed
every level's byte budget.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy import ndimage

TYPES = ("gaussian_blur", "white_noise", "jpeg", "jpeg2000", "contrast", "pink_noise", "quantisation",
         "over_exposure", "under_exposure")
LEVELS = 5
BLUR_KERNEL = (7, 15, 39, 91, 199)  # Gaussian kernel side; σ = side / 6
NOISE_LOG2_VARIANCE = (-10.0, -7.5, -5.5, -3.5, 0.0)  # variance of N(0, v) on [0, 1] pixels, as log2 v
JPEG_QUALITY = (43, 12, 7, 4, 0)
JPEG2000_BPP = (0.46, 0.16, 0.07, 0.04, 0.02)  # bits per pixel; compression ratio 24 / bpp
CONTRAST_RANGE = ((0.2, 0.8), (0.3, 0.7), (0.4, 0.6), (0.45, 0.55), (0.49, 0.51))  # output range of [1 %, 99 %]
PINK_WEIGHT = (0.3, 0.7, 1.2, 2.0, 4.0)  # amplitude of the max-normalised 1/f noise, in units of 255
QUANTISATION_COLOURS = (64, 32, 16, 8, 4)
EXPOSURE_SHIFT = (0.15, 0.3, 0.45, 0.6, 0.75)  # added to (over) or subtracted from (under) [0, 1] pixels


def classes() -> list[tuple[str, int]]:
    """Every (type, level) pair, levels 1–5; a pair's index is its class label."""
    return [(kind, level) for kind in TYPES for level in range(1, LEVELS + 1)]


def distort(image: np.ndarray, kind: str, level: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 H×W×3 → the same image with distortion ``kind`` at ``level`` (1 mildest … 5 strongest).

    gaussian_blur: σ = side/6, kernel truncated at 3σ, borders mirrored; white_noise: N(0, 2^v) on [0, 1] pixels,
    clipped; jpeg / jpeg2000: a round trip through Pillow's encoders; contrast: each channel's 1 %–99 %
    percentile range mapped linearly onto a narrower output range, clipped; pink_noise: per channel, noise with
    power ∝ 1/f normalised to a maximum of 1, times weight·255, added and floored; quantisation: an octree palette
    of n colours with Floyd–Steinberg dithering; over/under_exposure: a shift of every [0, 1] pixel.
    """
    if kind not in TYPES or not 1 <= level <= LEVELS:
        raise ValueError(f"unknown distortion {kind!r} level {level}; types {TYPES}, levels 1–{LEVELS}")
    step = level - 1
    if kind == "gaussian_blur":
        sigma = BLUR_KERNEL[step] / 6.0
        blurred = ndimage.gaussian_filter(image.astype(np.float64), sigma=(sigma, sigma, 0), mode="reflect",
                                          truncate=3.0)
        return _to_uint8(np.round(blurred))
    if kind == "white_noise":
        noisy = image / 255.0 + rng.normal(0.0, np.sqrt(2.0 ** NOISE_LOG2_VARIANCE[step]), image.shape)
        return _to_uint8(np.round(np.clip(noisy, 0.0, 1.0) * 255.0))
    if kind == "jpeg":
        return _round_trip(image, "JPEG", quality=JPEG_QUALITY[step])
    if kind == "jpeg2000":
        return _round_trip(image, "JPEG2000", quality_mode="rates", quality_layers=[24.0 / JPEG2000_BPP[step]])
    if kind == "contrast":
        return _stretch(image, *CONTRAST_RANGE[step])
    if kind == "pink_noise":
        noise = np.stack([pink_noise(image.shape[:2], rng) for _ in range(3)], axis=-1)
        return _to_uint8(np.floor(image + PINK_WEIGHT[step] * 255.0 * noise))
    if kind == "quantisation":
        picture = Image.fromarray(image)
        palette = picture.quantize(QUANTISATION_COLOURS[step], method=Image.Quantize.FASTOCTREE)
        return np.asarray(picture.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG).convert("RGB"))
    shift = EXPOSURE_SHIFT[step] if kind == "over_exposure" else -EXPOSURE_SHIFT[step]
    return _to_uint8(np.round(np.clip(image / 255.0 + shift, 0.0, 1.0) * 255.0))


def pink_noise(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A field whose power spectrum falls as 1/f (amplitude 1/√f, no DC), scaled to a maximum |value| of 1."""
    spectrum = np.fft.fft2(rng.normal(size=shape))
    fy, fx = np.meshgrid(np.fft.fftfreq(shape[0]), np.fft.fftfreq(shape[1]), indexing="ij")
    frequency = np.hypot(fy, fx)
    frequency[0, 0] = np.inf
    field = np.real(np.fft.ifft2(spectrum / np.sqrt(frequency)))
    return field / max(np.abs(field).max(), 1e-12)


def _stretch(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map each channel's [1 %, 99 %] percentiles onto [low, high] of the [0, 1] range (flat channels: [0, 1])."""
    x = image / 255.0
    lo, hi = np.percentile(x, 1, axis=(0, 1)), np.percentile(x, 99, axis=(0, 1))
    flat = hi <= lo
    lo, hi = np.where(flat, 0.0, lo), np.where(flat, 1.0, hi)
    out = low + (high - low) * np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return _to_uint8(np.round(out * 255.0))


def _round_trip(image: np.ndarray, format: str, **options) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=format, **options)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"))


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(values, 0, 255).astype(np.uint8)
