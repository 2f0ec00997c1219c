"""DLSR-IQA's Fig. 1 (perception before vs after fine-tuning), Fig. 2 (StairReward) and Fig. 3a–f (subsets) as
grouped bar charts: the paper's fold averages beside ours, one bar series per results source (data kind and
weights, named in the legend and the title). Without results the charts show the paper's bars only, with
"ours: not run" in the legend.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from tfagiqa import reports
from tfagiqa.figures import Series, bar_chart, has_value
from tfagiqa.methods.dlsr import METHOD
from tfagiqa.methods.dlsr.tables import ours_summary, subset_label, subsets_of

COPIED = "\npaper bars: Table VII's copy of Table IV (a report error, not a target)"
FIG_BEFORE_AFTER = (
    ("dlsr_fig1.png", "Fig. 1: perception before vs after fine-tuning", "II", "perception_before", "perception_after"),
    ("dlsr_fig2.png", "Fig. 2: alignment before vs after StairReward", "VIII", "stair_before", "stair_after"),
)
# Fig. 3 panels a–f: (subset column, its name, whether "All" leads) × (experiment, its table, its name)
FIG3_SUBSETS = (("t2i_group", "T2I", True), ("prompt_length", "prompt length", False), ("style_group", "style", False))
FIG3_MODELS = (("perception_after", "IV", "Perception"), ("alignment", "VII", "Alignment"))


def _short(source: Mapping[str, str]) -> str:
    """A legend-sized source label: data kind and weights."""
    return f"{source['data']}, weights={source['weights']}"


def _group_label(subset: str) -> str:
    """Bar group name of a subset: All, bad, prompt 2, Baroque, ..."""
    column, _, value = subset.partition("=")
    if not value:
        return subset_label(subset)
    return f"prompt {value}" if column == "prompt_length" else value


def paper_averages(paper: pd.DataFrame, experiment: str, subsets: Sequence[str], metric: str) -> tuple:
    """The paper's AVERAGE of one metric per subset (None where it gives none)."""
    values = (reports.paper_value(paper, experiment, s, "AVERAGE", metric) for s in subsets)
    return tuple(v if isinstance(v, float) else None for v in values)


def ours_averages(ours: pd.DataFrame, experiment: str, subsets: Sequence[str], metric: str) -> tuple:
    """Our fold-average of one metric per subset (None where not run)."""
    summaries = (ours_summary(ours, experiment, s, metric) for s in subsets)
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
            if any(map(has_value, values)):
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
            if any(map(has_value, values)):
                series.append(Series(f"ours {m.upper()} ({_short(source)})", values, ours=True))
            else:
                missing.append(f"ours {m.upper()}: not run" + (f" ({_short(source)})" if source else ""))
    return bar_chart(path, title, groups, series, missing=missing)


def make_figures(results: pd.DataFrame, out_dir, paper_csv=None) -> list[Path]:
    """Write dlsr_fig1.png, dlsr_fig2.png and dlsr_fig3a … 3f.png from our DLSR rows and the paper's transcription
    (``paper_csv`` None = the method's paper.csv); returns the paths written."""
    paper = reports.read_paper(paper_csv or METHOD.paper_csv)
    ours = reports.latest(reports.matching(results, paper=METHOD.paper))
    sources = reports.split_by_source(ours) or [(None, ours)]
    line = "; ".join(reports.describe_source(source) for source, _ in sources)
    out = Path(out_dir)
    written = []
    for name, title, roman, before, after in FIG_BEFORE_AFTER:
        full = f"{title} (averages)\npaper: DLSR Table {roman}; {line}"
        written.append(before_after(out / name, full, paper[paper["table"] == roman], sources, before, after))
    panels = [(s, m) for s in FIG3_SUBSETS for m in FIG3_MODELS]
    for letter, ((column, name, with_all), (experiment, roman, label)) in zip("abcdef", panels):
        copied = COPIED if roman == "VII" and column != "t2i_group" else ""
        title = f"Fig. 3{letter}: {label} on {name} subsets (averages)\npaper: DLSR Table {roman}; {line}{copied}"
        written.append(subset_bars(out / f"dlsr_fig3{letter}.png", title, paper[paper["table"] == roman],
                                   sources, experiment, subsets_of(column, with_all)))
    return written
