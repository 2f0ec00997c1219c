"""PKU-I2IQA stand-in, in the PKU-I2IQA release's layout: ``I2IQA_annotation.xlsx`` (Image_prompt, Text_prompt,
Generated_image, MOS_q, MOS_a, MOS_c, the column order a third-party loader reads by position),
``Image_prompt/{p}.jpg`` and ``Generated_image/All/{MJ|SD}_{p}_{k}.jpg``.

Each image prompt is a clean render of a scene (objects on a place); its text prompt asks for the same objects
in a style. Midjourney and Stable Diffusion each draw four images per prompt (rows in blocks of four, as the
authors' loaders expect), realising the scene and style with their own fidelity. The ``_{p}_{k}`` part of the
generated names is the stand-in's choice: the real names are established only up to the ``MJ_``/``SD_`` prefix
(see :mod:`tfagiqa.data.pku_i2iqa`). Quality, authenticity and correspondence are rated on the real 0–5 scale.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa.data import pku_i2iqa as reader
from tfagiqa.data.standins import StandIn, files, raters, render, scene
from tfagiqa.data.standins.generated import Item, random_stream, write_generated

STREAM = 4
SCALE = raters.Scale(3.13, 0.55, 0.0, 5.0)  # MOS_q of the real file: mean 3.13, sd 0.55, within [0, 5]
# File-name prefix: (mean latent quality, mean fidelity). Midjourney rates higher on average (3.28 vs 2.98).
GENERATORS = {"MJ": (0.65, 0.65), "SD": (0.5, 0.55)}
IMAGES_PER_PROMPT = 4
BACKGROUNDS = ("plain", *scene.PLACES)
RELEASE = reader.RELEASES[0]


def plan(n: int, rng: np.random.Generator) -> tuple[list[Item], dict]:
    """P image prompts × 2 generators × 4 images (P ≈ n / 8), in prompt, generator, sample order."""
    count = max(1, round(n / (len(GENERATORS) * IMAGES_PER_PROMPT)))
    items, references = [], []
    for pid in range(count):
        things = scene.sample_things(rng, int(rng.choice([1, 2])))
        background = str(rng.choice(BACKGROUNDS))
        style = str(rng.choice(scene.STYLES))
        references.append((f"{pid}.jpg", scene.Spec(things, background)))
        text = f"{scene.main_text(things)}, {style}"
        for generator, means in GENERATORS.items():
            for k in range(IMAGES_PER_PROMPT):
                items.append(Item(f"{generator}_{pid}_{k}.jpg", RELEASE.image_dirs[0], generator,
                                  scene.Spec(things, background, (), style), text, *means, {"image_prompt": f"{pid}.jpg"}))
    return items, {"image_prompts": references}


def write_labels(folder: Path, items: list[Item], truth: pd.DataFrame, rng: np.random.Generator, extra: dict) -> None:
    """I2IQA_annotation.xlsx: one row per generated image, with its image prompt, text prompt and three MOS."""
    scores = [raters.rate(truth[latent].to_numpy(), SCALE, rng)[0] for latent in ("quality", "authenticity", "alignment")]
    rows = [[item.fields["image_prompt"], item.prompt, item.name, *(float(s[i]) for s in scores)]
            for i, item in enumerate(items)]
    header = ["Image_prompt", reader.TEXT_PROMPT, "Generated_image", "MOS_q", *reader.OPTIONAL_LABELS]
    files.write_xlsx(folder / RELEASE.label_file, rows, header)


def write(folder: Path, n: int, seed: int, image_size: int) -> None:
    """The whole stand-in but its marker: the rated images and labels, then the (clean) image prompts."""
    extra = write_generated(folder, n, seed, image_size, STREAM, plan, write_labels)
    prompt_dir = folder / RELEASE.prompt_dirs[0]
    prompt_dir.mkdir(parents=True)
    for pid, (name, spec) in enumerate(extra["image_prompts"]):
        render.render(spec, image_size, random_stream(seed, STREAM, 3, pid)).save(prompt_dir / name, quality=95)


STANDIN = StandIn(write, default_n=240, max_n=1600)
