"""A tiny train/test split in the canonical columns, for the benchmark adapters of zero-shot methods (whose tests
check shapes and determinism, not learning: a few small PNGs are enough)."""

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

PROMPTS = ("a red cat on a sofa", "an astronaut riding a horse", "a bowl of fruit, oil painting")


def tiny_split(folder: Path, n_train: int = 4, n_test: int = 6) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test) frames with image, name, prompt, group, quality, alignment, overall; images 40×48 RGB."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n_train + n_test):
        path = folder / f"img{i}.png"
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(path)
        rows.append({"image": str(path), "name": path.name, "prompt": PROMPTS[i % len(PROMPTS)], "group": str(i),
                     "quality": float(rng.uniform(1, 5)), "alignment": float(rng.uniform(1, 5)),
                     "overall": float(rng.uniform(1, 5))})
    df = pd.DataFrame(rows)
    return df.iloc[:n_train].reset_index(drop=True), df.iloc[n_train:].reset_index(drop=True)
