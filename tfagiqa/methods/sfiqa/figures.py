"""SF-IQA's Fig. 3 (MOS distribution, train vs test) and Fig. 4 (images per generator, train vs test) of the custom
AIGIQA-20K split ``run_sfiqa.py`` trains on. They describe the data, not results: :func:`make_figures` reads the
dataset under the default data root (``$TFAGIQA_DATA_ROOT``; the synthetic stand-in when the real one is absent) and
its saved split (``<data-root>/splits/``, made if absent).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa.figures import save


def plot_split(df: pd.DataFrame, side: pd.Series, out_dir, data_kind: str | None = None) -> list[Path]:
    """Fig. 3 (MOS histogram, train vs test) and Fig. 4 (images per generator, train vs test) of one split."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kind = (data_kind or df.attrs.get("data", "unknown")).upper()
    out_dir = Path(out_dir)
    written = []
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bins = np.linspace(df["overall"].min(), df["overall"].max(), 21)
    for name, colour in (("train", "tab:blue"), ("test", "tab:orange")):
        ax.hist(df.loc[side == name, "overall"], bins=bins, density=True, alpha=0.6, color=colour,
                label=f"{name} ({int((side == name).sum())})")
    ax.set(xlabel="MOS", ylabel="density", title=f"Fig. 3: MOS of the custom AIGIQA-20K split ({kind} data)")
    ax.legend()
    written.append(save(fig, out_dir / "sfiqa_fig3_mos_distribution.png", dpi=120, bbox_inches="tight"))
    plt.close(fig)
    counts = pd.crosstab(df["generator"], side).reindex(columns=["train", "test"], fill_value=0)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    x = np.arange(len(counts))
    ax.bar(x - 0.2, counts["train"], 0.4, label="train")
    ax.bar(x + 0.2, counts["test"], 0.4, label="test")
    ax.set_xticks(x, counts.index, rotation=45, ha="right")
    ax.set(ylabel="images", title=f"Fig. 4: generators in the custom AIGIQA-20K split ({kind} data)")
    ax.legend()
    written.append(save(fig, out_dir / "sfiqa_fig4_generator_distribution.png", dpi=120, bbox_inches="tight"))
    plt.close(fig)
    return written


def make_figures(results: pd.DataFrame, out_dir, paper_csv=None) -> list[Path]:
    """Fig. 3–4 of the AIGIQA-20K split under the default data root; ``results`` and ``paper_csv`` are not read
    (the figures show the data, and paper.csv transcribes no figure). Returns the paths written."""
    from tfagiqa.data import default_data_root, load_dataset
    from tfagiqa.methods.sfiqa.split import load_or_make

    root = default_data_root()
    df = load_dataset("aigiqa20k", root, synthetic="auto").reset_index(drop=True)
    side = load_or_make(df, root / "splits" / "aigiqa20k_sfiqa_split.csv")
    return plot_split(df, side, out_dir)
