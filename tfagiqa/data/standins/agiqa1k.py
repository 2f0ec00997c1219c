"""AGIQA-1K stand-in: ``AIGC_MOS_Zscore.xlsx`` (Image, Prompt, MOS) and ``images/*.jpg`` named like the real files.

Prompts use AGIQA-1K's word tables (main object, second object, place, style) with each word drawn as its own
colour and shape; deepai draws every chosen (main, second) pair, dreamStudio half of them under its own indices,
so the reader's object-group remapping is exercised. One MOS mixes quality and alignment, as in the real file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa.data import agiqa1k as reader
from tfagiqa.data.standins import StandIn, files, raters, scene
from tfagiqa.data.standins.generated import Item, write_generated

STREAM = 0
SCALE = raters.Scale(2.5, 0.855, 0.0, 5.0)
# Generators: (mean latent quality, mean prompt fidelity).
GENERATORS = {"deepai": (0.55, 0.6), "dreamStudio": (0.45, 0.5)}
# The word tables, in deepai's index order (checked against AIGC_MOS_Zscore.xlsx).
MAIN_WORDS = ("bird", "cat", "dog", "batman", "snoppy", "teddy bear", "kid", "man", "woman", "alien", "demon", "witch")
SECOND_WORDS = (
    "driving aircraft", "driving bike", "driving car", "having hamburger", "having icecream", "having pizza",
    "playing baseball", "playing football", "playing yoga", "using CD", "using laptop", "using phone",
    "wearing coat", "wearing hat", "wearing shirt",
)
STYLES = ("anime style", "realistic style")
DREAMSTUDIO_MAINS = (0, 1, 2, 3, 4, 5, 7, 8, 9)   # deepai main ids that dreamStudio also draws (no kid, demon, witch)
DREAMSTUDIO_SECONDS = tuple(range(5, 15))         # deepai second ids that dreamStudio also draws


def _look(word_index: int) -> tuple[str, str]:
    """The colour and shape that stand for one AGIQA-1K word (each word gets its own pair)."""
    return list(scene.COLOURS)[word_index % 8], scene.SHAPES[(word_index + word_index // 8) % 8]


def _spec(main: int, second: int, place: int, style: int) -> scene.Spec:
    """The scene for an AGIQA-1K prompt: the main and second object, the place as background, the style."""
    things = tuple(scene.Thing(1, *_look(w)) for w in (main, len(MAIN_WORDS) + second))
    return scene.Spec(things, scene.PLACES[place], (), STYLES[style])


def plan(n: int, rng: np.random.Generator) -> tuple[list[Item], dict]:
    """(main, second) object pairs × 2 places × 2 styles from deepai, and half of the pairs also from dreamStudio."""
    groups = int(np.clip(round(n / 6), 2, 180))
    shared = [(m, s) for m in DREAMSTUDIO_MAINS for s in DREAMSTUDIO_SECONDS]
    alone = [(m, s) for m in range(len(MAIN_WORDS)) for s in range(len(SECOND_WORDS)) if (m, s) not in shared]
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
                prompt = ", ".join([MAIN_WORDS[main], SECOND_WORDS[second], scene.PLACES[place], STYLES[style]])
                for generator, (m, s) in codes.items():
                    items.append(Item(f"{generator}_{m}_{s}_{place}_{style}.jpg", reader.IMAGE_DIRS[0], generator,
                                      _spec(main, second, place, style), prompt, *GENERATORS[generator]))
    return sorted(items, key=lambda item: item.name), {}


def write_labels(folder: Path, items: list[Item], truth: pd.DataFrame, rng: np.random.Generator, extra: dict) -> None:
    """AIGC_MOS_Zscore.xlsx: Image, Prompt, MOS (one score mixing quality and alignment)."""
    mos, _ = raters.rate(raters.overall(truth), SCALE, rng)
    rows = [[item.name, item.prompt, float(m)] for item, m in zip(items, mos)]
    files.write_xlsx(folder / reader.LABEL_FILE, rows, reader.COLUMNS)


def write(folder: Path, n: int, seed: int, image_size: int) -> None:
    """The whole stand-in but its marker."""
    write_generated(folder, n, seed, image_size, STREAM, plan, write_labels)


STANDIN = StandIn(write, default_n=240, max_n=1080)
