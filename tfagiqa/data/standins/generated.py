"""The recipe shared by the AI-generated-image stand-ins: plan the images, draw them, rate them, write the files.

A layout module supplies ``plan(n, rng) -> (items, extra)``: which images, with which prompts, generators and
folders (``extra`` carries whatever else its label files need), and ``write_labels(folder, items, truth, rng,
extra)``: its label files, from the latent truth of the drawn images. :func:`write_generated` draws every item
and writes ``synthetic_truth.csv``, the latent quality, alignment, authenticity and distortions of each rated
image, against which a trained model can be checked.

Random streams are ``[seed, stream, part, ...]``: part 0 plans, part ``(1, i)`` draws image i, part 2 rates
(parts 3 and up are the layout's own). A layout's stream number is fixed: changing it changes every byte the
layout writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa.data.standins import render, scene
from tfagiqa.data.standins.scene import Spec

TRUTH_FILE = "synthetic_truth.csv"


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


Plan = Callable[[int, np.random.Generator], tuple[list[Item], dict]]
WriteLabels = Callable[[Path, list[Item], pd.DataFrame, np.random.Generator, dict], None]


def random_stream(seed: int, stream: int, *parts: int) -> np.random.Generator:
    """An independent generator per (seed, layout stream, part), so each part of the data is reproducible alone."""
    return np.random.default_rng([seed, stream, *parts])


def write_generated(folder: Path, n: int, seed: int, image_size: int, stream: int, plan: Plan,
                    write_labels: WriteLabels) -> dict:
    """Plan about ``n`` images, draw and save each one, rate them, write the label files and the truth table;
    return the plan's ``extra`` (for files beyond the rated images, e.g. PKU-I2IQA's image prompts)."""
    items, extra = plan(n, random_stream(seed, stream, 0))
    truth = pd.DataFrame([make_image(item, folder, image_size, random_stream(seed, stream, 1, i))
                          for i, item in enumerate(items)])
    write_labels(folder, items, truth, random_stream(seed, stream, 2), extra)
    truth.to_csv(folder / TRUTH_FILE, index=False, float_format="%.6f")
    return extra


def make_image(item: Item, folder: Path, size: int, rng: np.random.Generator) -> dict:
    """Draw the image's latent quality and alignment, render, degrade and save it; return its truth row."""
    quality = float(np.clip(rng.normal(item.quality_mean, 0.18), 0.0, 1.0))
    realism = float(rng.uniform())
    n_elements = scene.count_elements(item.spec)
    fidelity = rng.normal(item.fidelity_mean + 0.3 * (quality - item.quality_mean), 0.2) - 0.02 * max(0, n_elements - 3)
    shown, missing = scene.realise(item.spec, float(np.clip(fidelity, 0.05, 1.0)), rng)
    image, distortion = render.distort(render.render(shown, size, rng), quality, rng)
    path = folder / item.folder / item.name
    path.parent.mkdir(parents=True, exist_ok=True)
    render.save_image(image, path, distortion.jpeg_quality)
    return {
        "name": item.name, "path": f"{item.folder}/{item.name}", "generator": item.generator, "prompt": item.prompt,
        "quality": quality, "alignment": 1.0 - len(missing) / n_elements, "authenticity": 0.6 * quality + 0.4 * realism,
        "blur_radius": distortion.blur_radius, "noise_sigma": distortion.noise_sigma,
        "jpeg_quality": distortion.jpeg_quality, "color_cast": distortion.color_cast, "missing": ";".join(missing),
    }
