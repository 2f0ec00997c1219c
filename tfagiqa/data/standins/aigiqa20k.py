"""AIGIQA-20K stand-in: ``info_{train,val,test}.xlsx`` and ``{train,val,test}/{Generator}_{NNNN}.png``.

The 15 real generators appear in the official proportions (4:2:1) and are split 70/10/20 within each generator;
prompts are shared by several images, as in the real set. Only train carries the MOS, one score mixing quality
and alignment.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa.data import aigiqa20k as reader
from tfagiqa.data.standins import StandIn, files, raters, scene
from tfagiqa.data.standins.generated import Item, write_generated

STREAM = 3
SCALE = raters.Scale(3.864, 0.71, 0.0, 5.0)
# (mean quality, mean fidelity, share weight); the weights follow the official per-generator counts.
GENERATORS = {
    "DALLE2": (0.6, 0.6, 1), "DALLE3": (0.8, 0.8, 1), "Dream": (0.65, 0.6, 4), "IF": (0.6, 0.65, 1),
    "LCM_Pixart": (0.55, 0.55, 2), "LCM_SD1.5": (0.45, 0.45, 2), "LCM_SDXL": (0.55, 0.5, 2), "MJ": (0.85, 0.7, 1),
    "Pixart": (0.7, 0.65, 4), "Playground": (0.75, 0.65, 4), "SD1.4": (0.5, 0.5, 4), "SD1.5": (0.5, 0.5, 4),
    "SDXL": (0.7, 0.65, 4), "SDXL_Turbo": (0.6, 0.55, 2), "SSD1B": (0.65, 0.6, 4),
}
SPLIT_PATTERN = ("train",) * 7 + ("val",) + ("test",) * 2


def _prompt_pool(count: int, rng: np.random.Generator) -> list[tuple[str, scene.Spec]]:
    """Prompts in the AGIQA-3K manner (objects, 0–2 adjectives, optional style), shared by several images."""
    pool = []
    for _ in range(count):
        things = scene.sample_things(rng, int(rng.choice([1, 2])))
        adjectives = scene.sample_adjectives(rng, int(rng.integers(0, 3)))
        style = str(rng.choice(scene.STYLES)) if rng.random() < 0.5 else None
        pool.append((", ".join([scene.main_text(things), *adjectives, *([style] if style else [])]),
                     scene.Spec(things, "plain", adjectives, style)))
    return pool


def plan(n: int, rng: np.random.Generator) -> tuple[list[Item], dict]:
    """15 generators in the official proportions (4:2:1), split 70/10/20 into train/val/test within each generator."""
    unit = max(1, round(n / sum(w for _, _, w in GENERATORS.values())))
    total = unit * sum(w for _, _, w in GENERATORS.values())
    pool = _prompt_pool(max(1, total // 4), rng)
    items = []
    for generator, (quality, fidelity, weight) in GENERATORS.items():
        for index in rng.permutation(weight * unit):
            split = SPLIT_PATTERN[len(items) % len(SPLIT_PATTERN)]
            text, spec = pool[int(rng.integers(len(pool)))]
            items.append(Item(f"{generator}_{index:04d}.png", split, generator, spec, text, quality, fidelity, {"split": split}))
    return sorted(items, key=lambda item: item.name), {}


def write_labels(folder: Path, items: list[Item], truth: pd.DataFrame, rng: np.random.Generator, extra: dict) -> None:
    """info_train.xlsx (name, prompt, mos), info_val.xlsx and info_test.xlsx (name, prompt)."""
    mos, _ = raters.rate(raters.overall(truth), SCALE, rng)
    for split in reader.SPLITS:
        chosen = [(item, float(m)) for item, m in zip(items, mos) if item.fields["split"] == split]
        if split == "train":
            files.write_xlsx(folder / "info_train.xlsx", [[i.name, i.prompt, m] for i, m in chosen], ["name", "prompt", "mos"])
        else:
            files.write_xlsx(folder / f"info_{split}.xlsx", [[i.name, i.prompt] for i, _ in chosen], ["name", "prompt"])
        (folder / split).mkdir(exist_ok=True)


def write(folder: Path, n: int, seed: int, image_size: int) -> None:
    """The whole stand-in but its marker."""
    write_generated(folder, n, seed, image_size, STREAM, plan, write_labels)


STANDIN = StandIn(write, default_n=240, max_n=99_960)
