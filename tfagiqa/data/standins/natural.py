"""The recipe shared by the NR-IQA stand-ins: degraded renders of a few reference scenes, with known quality.

Each reference scene (one or two kinds of objects on a plain background) is drawn clean, then degraded by
:func:`tfagiqa.data.standins.render.distort` at a latent quality drawn uniformly from [0.05, 1]; image i shows
reference ``i mod (n // 4)``, so every reference has about four distorted versions, as a reference-based
database has. The layout modules score the latent quality with :func:`tfagiqa.data.standins.raters.noisy_scores`
and write each database's own files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from tfagiqa.data.standins import StandIn, render, scene

DISTORTIONS_PER_REFERENCE = 4
IMAGE_SIZE = 96


def standin(write: Callable[[Path, int, int, int], None]) -> StandIn:
    """An NR-IQA layout's :class:`StandIn`: 48 images by default, 4 to 125, always drawn at 96 px."""
    return StandIn(write, default_n=48, max_n=125, min_n=4, image_size=IMAGE_SIZE)


def images(n: int, seed: int, stream: int, image_size: int) -> tuple[list[Image.Image], np.ndarray, list[int]]:
    """``n`` degraded renders of ``n // 4`` reference scenes: (images, latent quality, reference index).

    The planning and degradation stream is ``[seed, stream]``; reference r is drawn with ``[seed, r]``.
    """
    rng = np.random.default_rng([seed, stream])
    refs = max(1, n // DISTORTIONS_PER_REFERENCE)
    specs = [scene.Spec(scene.sample_things(rng, int(rng.choice([1, 2])))) for _ in range(refs)]
    drawn, latent, ref_ids = [], [], []
    for i in range(n):
        ref = i % refs
        quality = float(rng.uniform(0.05, 1.0))
        clean = render.render(specs[ref], image_size, np.random.default_rng([seed, ref]))
        image, _ = render.distort(clean, quality, rng)
        drawn.append(image)
        latent.append(quality)
        ref_ids.append(ref)
    return drawn, np.array(latent), ref_ids


def cells(strings: list[str]) -> np.ndarray:
    """A MATLAB cell array (1 × N) of strings, as the LIVE databases store file names."""
    out = np.empty((1, len(strings)), dtype=object)
    for i, s in enumerate(strings):
        out[0, i] = np.array([s])
    return out
