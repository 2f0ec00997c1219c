"""Grouped bar charts of the paper's numbers beside ours (matplotlib, Agg canvas, written atomically).

Each bar series is one source: the paper, or one results source (data kind + weights); missing values leave a
gap marked "n/r" and a series with no values at all appears only as a legend entry saying it was not run.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from tfagiqa import reports

PAPER_COLOURS = ("#9ecae1", "#3182bd", "#c6dbef", "#08519c")
OURS_COLOURS = ("#fdae6b", "#e6550d", "#fdd0a2", "#a63603", "#a1d99b", "#31a354", "#c7e9c0", "#006d2c")


@dataclass(frozen=True)
class Series:
    """One bar per group; None where there is no value. ``ours`` series are hatched."""

    label: str
    values: tuple[float | None, ...]
    ours: bool = False


def _has(value: float | None) -> bool:
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
            if _has(value):
                ax.bar(x, value, width, color=colour, edgecolor="black", linewidth=0.4, hatch="//" if s.ours else None)
            else:
                ax.text(x, 0.01, "n/r", rotation=90, ha="center", va="bottom", fontsize=6, color="grey")
    handles = [Patch(facecolor=c, edgecolor="black", hatch="//" if s.ours else None, label=s.label)
               for s, c in zip(series, _colours(series))]
    handles += [Patch(facecolor="white", edgecolor="grey", linestyle="--", label=m) for m in missing]
    ax.set_xticks(range(len(groups)), list(groups), fontsize=8)
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_ylim(min(0.0, *(v for s in series for v in s.values if _has(v))) - 0.05, 1.0)
    ax.set_ylabel(ylabel)
    ax.set_title("\n".join(textwrap.fill(line, int(width_in * 12)) for line in title.splitlines()), fontsize=9)
    ax.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    fig.tight_layout()
    return _save(fig, Path(path))


def _save(fig: Figure, path: Path) -> Path:
    """Save as PNG through a temporary file in the same folder, then os.replace it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fig.savefig(tmp, format="png")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _short(source: Mapping[str, str]) -> str:
    """A legend-sized source label: data kind and weights."""
    return f"{source['data']}, weights={source['weights']}"


def _group_label(subset: str) -> str:
    """Bar group name of a subset: All, bad, prompt 2, Baroque, ..."""
    column, _, value = subset.partition("=")
    if not value:
        return reports.subset_label(subset)
    return f"prompt {value}" if column == "prompt_length" else value


def paper_averages(paper: pd.DataFrame, experiment: str, subsets: Sequence[str], metric: str) -> tuple:
    """The paper's AVERAGE of one metric per subset (None where it gives none)."""
    values = (reports.paper_value(paper, experiment, s, "AVERAGE", metric) for s in subsets)
    return tuple(v if isinstance(v, float) else None for v in values)


def ours_averages(ours: pd.DataFrame, experiment: str, subsets: Sequence[str], metric: str) -> tuple:
    """Our fold-average of one metric per subset (None where not run)."""
    summaries = (reports.ours_summary(ours, experiment, s, metric) for s in subsets)
    return tuple(s["average"] if s else None for s in summaries)


def before_after(
    path: str | os.PathLike, title: str, paper: pd.DataFrame, sources: Sequence, before: str, after: str,
) -> Path:
    """Fig. 1/2: SRCC and PLCC averages, before vs after, for the paper and for each results source."""
    groups = [m.upper() for m in reports.METRICS]
    series = [Series(f"paper {name}", tuple(paper_averages(paper, exp, ["all"], m)[0] for m in reports.METRICS))
              for name, exp in (("before", before), ("after", after))]
    missing = []
    for source, ours in sources:
        for name, exp in (("before", before), ("after", after)):
            values = tuple(ours_averages(ours, exp, ["all"], m)[0] for m in reports.METRICS)
            if any(map(_has, values)):
                series.append(Series(f"ours {name} ({_short(source)})", values, ours=True))
            else:
                missing.append(f"ours {name}: not run" + (f" ({_short(source)})" if source else ""))
    return bar_chart(path, title, groups, series, missing=missing)


def subset_bars(
    path: str | os.PathLike, title: str, paper: pd.DataFrame, sources: Sequence, experiment: str,
    subsets: Sequence[str],
) -> Path:
    """Fig. 3: SRCC and PLCC averages per subset, for the paper and for each results source."""
    groups = [_group_label(s) for s in subsets]
    series = [Series(f"paper {m.upper()}", paper_averages(paper, experiment, subsets, m)) for m in reports.METRICS]
    missing = []
    for source, ours in sources:
        for m in reports.METRICS:
            values = ours_averages(ours, experiment, subsets, m)
            if any(map(_has, values)):
                series.append(Series(f"ours {m.upper()} ({_short(source)})", values, ours=True))
            else:
                missing.append(f"ours {m.upper()}: not run" + (f" ({_short(source)})" if source else ""))
    return bar_chart(path, title, groups, series, missing=missing)
