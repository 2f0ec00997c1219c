"""AGIQA-3K stand-in: ``data.csv`` (name, prompt, adj1, adj2, style, quality and alignment MOS with std) and
``images/{model}_{variant}_{NNN}.jpg``.

Prompts follow data.csv's six patterns of optional adjectives and style (so every prompt length 0–3 and every
style appears); each prompt is drawn by the ten model/variant combinations, a few prompts missing DALLE2 or
Midjourney as in the real set. Quality and alignment are rated separately, as in the real file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa.data import agiqa3k as reader
from tfagiqa.data.standins import StandIn, raters, scene
from tfagiqa.data.standins.generated import Item, write_generated

STREAM = 1
SCALE = raters.Scale(2.5, 1.0, 0.0, 5.0)
# Generators (model_variant): (mean latent quality, mean prompt fidelity). Better models score higher on average.
GENERATORS = {
    "AttnGAN_normal": (0.2, 0.3), "glide_normal": (0.3, 0.35),
    "DALLE2_normal": (0.55, 0.6), "sd1.5_normal": (0.55, 0.55), "sd1.5_lowstep": (0.4, 0.5),
    "sd1.5_highcorr": (0.5, 0.7), "sd1.5_lowcorr": (0.55, 0.4),
    "xl2.2_normal": (0.75, 0.7), "midjourney_normal": (0.8, 0.65), "midjourney_lowstep": (0.7, 0.6),
}
# data.csv's prompt patterns (which of adj1, adj2, style are filled): its six combinations.
PATTERNS = (("style",), ("adj1", "style"), ("adj1", "adj2", "style"), (), ("adj1",), ("adj1", "adj2"))
MIN_PROMPTS = 10   # enough prompts for every prompt length 0–3 and all five styles
DROPPED = {"DALLE2_normal": 10 / 300, "midjourney": 4 / 300}   # real share of prompts a generator skipped


def _prompts(count: int, rng: np.random.Generator) -> list[dict]:
    """Distinct prompts with data.csv's fields; every pattern (prompt length 0–3) and every style appears."""
    patterns = [PATTERNS[k] for k in rng.permutation(np.arange(count) % len(PATTERNS))]
    styled = 0
    prompts, seen = [], set()
    for pattern in patterns:
        while True:
            things = scene.sample_things(rng, int(rng.choice([1, 2], p=[0.6, 0.4])))
            adjectives = scene.sample_adjectives(rng, sum(f.startswith("adj") for f in pattern))
            style = scene.STYLES[styled % len(scene.STYLES)] if "style" in pattern else None
            text = ", ".join([scene.main_text(things), *adjectives, *([style] if style else [])])
            if text not in seen:
                break
        seen.add(text)
        styled += style is not None
        fields = dict(zip(("adj1", "adj2"), adjectives))
        prompts.append({"prompt": text, "spec": scene.Spec(things, "plain", adjectives, style),
                        "adj1": fields.get("adj1", np.nan), "adj2": fields.get("adj2", np.nan), "style": style or np.nan})
    return prompts


def plan(n: int, rng: np.random.Generator) -> tuple[list[Item], dict]:
    """Prompts × the 10 model_variant combinations, a few prompts missing DALLE2 or midjourney as in the real set."""
    prompts = _prompts(max(MIN_PROMPTS, round(n / len(GENERATORS))), rng)
    items = []
    for pid, prompt in enumerate(prompts):
        skip_dalle = rng.random() < DROPPED["DALLE2_normal"]
        skip_midjourney = rng.random() < DROPPED["midjourney"]
        for variant, means in GENERATORS.items():
            if (skip_dalle and variant.startswith("DALLE2")) or (skip_midjourney and variant.startswith("midjourney")):
                continue
            fields = {k: prompt[k] for k in ("adj1", "adj2", "style")}
            items.append(Item(f"{variant}_{pid:03d}.jpg", reader.IMAGE_DIRS[0], variant, prompt["spec"], prompt["prompt"],
                              *means, fields))
    return sorted(items, key=lambda item: item.name), {}


def write_labels(folder: Path, items: list[Item], truth: pd.DataFrame, rng: np.random.Generator, extra: dict) -> None:
    """data.csv: name, prompt, adj1, adj2, style, mos_quality, std_quality, mos_align, std_align (CRLF, like the real file)."""
    mos_q, std_q = raters.rate(truth["quality"].to_numpy(), SCALE, rng)
    mos_a, std_a = raters.rate(truth["alignment"].to_numpy(), SCALE, rng)
    texts = [[i.name, i.prompt, i.fields["adj1"], i.fields["adj2"], i.fields["style"]] for i in items]
    table = pd.DataFrame(texts, columns=reader.COLUMNS[:5])
    for column, values in zip(reader.COLUMNS[5:], (mos_q, std_q, mos_a, std_a)):
        table[column] = values
    table.to_csv(folder / reader.LABEL_FILE, index=False, float_format="%.9f", lineterminator="\r\n")


def write(folder: Path, n: int, seed: int, image_size: int) -> None:
    """The whole stand-in but its marker."""
    write_generated(folder, n, seed, image_size, STREAM, plan, write_labels)


STANDIN = StandIn(write, default_n=330, max_n=9990)
