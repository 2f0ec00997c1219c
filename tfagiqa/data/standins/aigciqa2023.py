"""AIGCIQA2023 stand-in: ``DATA/MOS/mosz{1,2,3}.mat``, ``DATA/STD/SD{1,2,3}.mat``, the prompt sheet and
``Image/allimg/{i}.png`` with i = generator·4P + prompt·4 + sample, as in the released data (SPEC §2.3).

Prompts cycle through the ten real categories in order, with a category-shaped template each; the Style & Format
block puts "pop art style" at row 51 when there are at least 52 prompts (DLSR's Baroque-subset prompt).
Quality, authenticity and correspondence are rated separately on a 0–100 scale.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa.data import aigciqa2023 as reader
from tfagiqa.data.standins import StandIn, files, raters, scene
from tfagiqa.data.standins.generated import Item, write_generated

STREAM = 2
SCALE = raters.Scale(50.0, 10.0, 0.0, 100.0)
# Generators, in the real index order (reader.GENERATORS): (mean latent quality, mean prompt fidelity).
GENERATORS = {
    "Controlnet": (0.55, 0.5), "DALLE": (0.7, 0.65), "Glide": (0.35, 0.4),
    "Lafite": (0.3, 0.35), "stable-diffusion": (0.6, 0.6), "Unidiffuser": (0.55, 0.55),
}
CATEGORIES = (
    "Basic", "Simple Detail", "Complex", "Fine-grained Detail", "Imagination",
    "Style & Format", "Writing & Symbols", "Quantity", "Perspective", "Linguistic Structures",
)
# (object kinds, adjectives, styled) per category.
CATEGORY_TEMPLATES = {
    "Basic": (1, 0, False), "Simple Detail": (1, 1, False), "Complex": (2, 1, False),
    "Fine-grained Detail": (1, 2, False), "Imagination": (2, 0, True), "Style & Format": (1, 0, True),
    "Writing & Symbols": (1, 0, False), "Quantity": (2, 0, False), "Perspective": (1, 1, False),
    "Linguistic Structures": (2, 1, False),
}
STYLES = ("pop art style", "pixel art style", "sketch style", *scene.STYLES)


def prompts(count: int, rng: np.random.Generator) -> list[tuple[str, str, str, scene.Spec]]:
    """(category, class, prompt, spec) rows; categories in the real order, and 'pop art style' at row 51 when P ≥ 52."""
    blocks = [CATEGORIES[pid * len(CATEGORIES) // count] for pid in range(count)]
    rows = []
    for pid, category in enumerate(blocks):
        kinds, n_adjectives, styled = CATEGORY_TEMPLATES[category]
        things = scene.sample_things(rng, kinds)
        adjectives = scene.sample_adjectives(rng, n_adjectives)
        style = _style(category, pid - blocks.index(category), blocks.count(category), rng) if styled else None
        text = ", ".join([scene.main_text(things), *adjectives, *([style] if style else [])])
        rows.append((category, things[0].shape, text, scene.Spec(things, "plain", adjectives, style)))
    return rows


def _style(category: str, position: int, block_size: int, rng: np.random.Generator) -> str:
    """Style & Format prompts cycle through the styles with pop art at position 1 (0 in a 1-prompt block)."""
    if category != "Style & Format":
        return str(rng.choice(scene.STYLES))
    return STYLES[(position - min(1, block_size - 1)) % len(STYLES)]


def plan(n: int, rng: np.random.Generator) -> tuple[list[Item], dict]:
    """6 generators × P prompts × 4 images, image i = gen·4P + pid·4 + (k − 1) as in Image/allimg."""
    rows = prompts(max(1, round(n / (len(GENERATORS) * reader.IMAGES_PER_PROMPT))), rng)
    items = []
    for generator, means in GENERATORS.items():
        for _, _, text, spec in rows:
            for _ in range(reader.IMAGES_PER_PROMPT):
                items.append(Item(f"{len(items)}.png", reader.IMAGE_DIRS[0], generator, spec, text, *means))
    return items, {"prompts": [row[:3] for row in rows]}


def write_labels(folder: Path, items: list[Item], truth: pd.DataFrame, rng: np.random.Generator, extra: dict) -> None:
    """DATA/MOS/mosz{1,2,3}.mat (quality, authenticity, correspondence), DATA/STD/SD{1,2,3}.mat, the prompt sheet."""
    for label, mos_file in reader.MOS_FILES.items():
        mos, std = raters.rate(truth[label].to_numpy(), SCALE, rng)
        files.write_mat(folder / "DATA" / "MOS" / mos_file, {"MOSz": _column(mos)})
        files.write_mat(folder / "DATA" / "STD" / reader.STD_FILES[label], {"SD": _column(std)})
    files.write_xlsx(folder / reader.PROMPT_FILE, [list(row) for row in extra["prompts"]], None)


def _column(values: np.ndarray) -> np.ndarray:
    """float64 (N, 1), the shape of the real MOS and STD matrices."""
    return np.asarray(values, dtype=np.float64).reshape(-1, 1)


def write(folder: Path, n: int, seed: int, image_size: int) -> None:
    """The whole stand-in but its marker."""
    write_generated(folder, n, seed, image_size, STREAM, plan, write_labels)


STANDIN = StandIn(write, default_n=240, max_n=24_000)
