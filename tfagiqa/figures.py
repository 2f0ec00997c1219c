"""Figure code every paper's figures share: a grouped bar chart of the paper's numbers beside ours (matplotlib,
Agg canvas) and an atomic PNG save.

Each bar series is one source: the paper, or one results source (data kind + weights); missing values leave a
gap marked "n/r" and a series with no values at all appears only as a legend entry saying it was not run.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from tfagiqa.atomic import atomic_path

PAPER_COLOURS = ("#9ecae1", "#3182bd", "#c6dbef", "#08519c")
OURS_COLOURS = ("#fdae6b", "#e6550d", "#fdd0a2", "#a63603", "#a1d99b", "#31a354", "#c7e9c0", "#006d2c")


@dataclass(frozen=True)
class Series:
    """One bar per group; None where there is no value. ``ours`` series are hatched."""

    label: str
    values: tuple[float | None, ...]
    ours: bool = False


def has_value(value: float | None) -> bool:
    """Whether a bar value exists (not None, not NaN)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _colours(series: Sequence[Series]) -> list[str]:
    """Blues for the paper's series, oranges then greens for ours, in order."""
    paper, ours = iter(PAPER_COLOURS * 4), iter(OURS_COLOURS * 4)
    return [next(ours) if s.ours else next(paper) for s in series]


def bar_chart(
    path: str | os.PathLike, title: str, groups: Sequence[str], series: Sequence[Series],
    ylabel: str = "correlation", missing: Sequence[str] = (),
) -> Path:
    """Write a grouped bar chart (one bar per series in each group); ``missing`` adds 'not run' legend entries."""
    width_in = max(6.0, 1.1 * len(groups) * max(1, len(series)) ** 0.5 + 3.0)
    fig = Figure(figsize=(width_in, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(series))
    for i, (s, colour) in enumerate(zip(series, _colours(series))):
        offset = (i - (len(series) - 1) / 2) * width
        for g, value in enumerate(s.values):
            x = g + offset
            if has_value(value):
                ax.bar(x, value, width, color=colour, edgecolor="black", linewidth=0.4, hatch="//" if s.ours else None)
            else:
                ax.text(x, 0.01, "n/r", rotation=90, ha="center", va="bottom", fontsize=6, color="grey")
    handles = [Patch(facecolor=c, edgecolor="black", hatch="//" if s.ours else None, label=s.label)
               for s, c in zip(series, _colours(series))]
    handles += [Patch(facecolor="white", edgecolor="grey", linestyle="--", label=m) for m in missing]
    ax.set_xticks(range(len(groups)), list(groups), fontsize=8)
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_ylim(min(0.0, *(v for s in series for v in s.values if has_value(v))) - 0.05, 1.0)
    ax.set_ylabel(ylabel)
    ax.set_title("\n".join(textwrap.fill(line, int(width_in * 12)) for line in title.splitlines()), fontsize=9)
    ax.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    fig.tight_layout()
    return save(fig, path)


def save(fig: Figure, path: str | os.PathLike, **savefig_kwargs) -> Path:
    """Save a figure (any matplotlib Figure; format from the suffix) atomically: to a hidden sibling, then moved in."""
    with atomic_path(path) as temporary:
        fig.savefig(temporary, **savefig_kwargs)
    return Path(path)
