"""The benchmark's figure: SRCC per method as bars with the splits' standard deviation as error bars, one panel
per dataset and target, the SRCC against a stand-in's latent truth as a dot, the chance band shaded; SYNTHETIC and
weights=random in the title where so. Matplotlib's Agg canvas, written atomically."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tfagiqa.atomic import atomic_path

TRAINED, ZERO_SHOT, TRUTH = "#e6550d", "#9ecae1", "black"


def plot(board: pd.DataFrame, path: Path, title: str) -> Path:
    """Write the figure of a leaderboard (:func:`tfagiqa.benchmark.leaderboard.table`) to ``path`` (PNG)."""
    panels = list(board.groupby(["dataset", "target"], sort=False))
    columns = min(2, len(panels))
    rows = math.ceil(len(panels) / columns)
    methods = list(dict.fromkeys(board["experiment"]))
    fig = Figure(figsize=(max(6.0, 0.55 * len(methods) + 2.5) * columns, 3.6 * rows + 0.8), dpi=100)
    FigureCanvasAgg(fig)
    for i, ((dataset, target), part) in enumerate(panels, start=1):
        ax = fig.add_subplot(rows, columns, i)
        part = part.set_index("experiment").reindex(methods)
        x = np.arange(len(methods))
        trained = part["trained"].astype(str).str.lower() == "true"
        ax.bar(x, part["srcc_mean"].fillna(0.0), yerr=part["srcc_std"].fillna(0.0), capsize=3,
               color=[TRAINED if t else ZERO_SHOT for t in trained], edgecolor="black", linewidth=0.4)
        if part["srcc_truth_mean"].notna().any():
            ax.plot(x, part["srcc_truth_mean"], "o", color=TRUTH, markersize=4, label="SRCC vs latent truth")
            ax.legend(fontsize=7, loc="upper right")
        bound = float(part["chance"].min()) if part["chance"].notna().any() else 0.0  # as the leaderboard says
        ax.axhspan(-bound, bound, color="grey", alpha=0.15, linewidth=0)
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_xticks(x, methods, rotation=45, ha="right", fontsize=8)
        ax.set_ylim(-1.0, 1.0)
        ax.set_ylabel("SRCC (mean ± std over splits)", fontsize=8)
        ax.set_title(f"{dataset}, {target}", fontsize=9)
    fig.suptitle(f"{title}\nbars: trained (orange) / zero-shot (blue); grey band: chance", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as temporary:
        fig.savefig(temporary, format="png")
    return path
