"""DLSR-IQA's Tables I–VIII with our numbers beside the paper's, as markdown and CSV.

Ours are the per-fold rows ``experiments/run_dlsr.py`` writes (3-fold cross-validation): each fold table (II, VI,
VIII) and subset table (IV, VII) shows rows k=1,2,3, AVERAGE and the sample VAR, the paper's SRCC/PLCC beside ours;
Table III is the percent change from perception_before to perception_after (as printed, recomputed from the
paper's folds, and ours); Tables I/V list the mapping's hyperparameters and learned logistic α.

Each results source (data kind, weights, profile, backbone) gets its own section, so synthetic and real numbers are
never mixed: with one source the CSV is ``dlsr_tableN.csv``, with several ``dlsr_tableN_<source>.csv`` per source.
A table whose experiments were not run still shows the paper's numbers, with "not run" and the command that
produces them. A fold with two results (rows differing in a run key, e.g. two training datasets) cannot fill one
cell: it raises a ResultsError instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from tfagiqa import reports, results
from tfagiqa.atomic import write_text
from tfagiqa.data.subsets import SUBSET_ORDER
from tfagiqa.methods.dlsr import METHOD
from tfagiqa.metrics import fold_summary

ROWS = ("k=1", "k=2", "k=3", "AVERAGE", "VAR")
PAPER_FOLDS = ("1", "2", "3", "AVERAGE", "VAR")
FOLD_IDS = (1, 2, 3)
ONE_FOLD = "n/a (1 fold)"
HYPERPARAMETERS = ("hidden_units", "dropout", "learning_rate", "optimizer", "activation", "loss")
NOT_RECORDED = "not recorded in results"
RUN = "python experiments/run_dlsr.py --fold all --task {}"


def subsets_of(column: str, with_all: bool = False) -> list[str]:
    """Subset strings of one subset column (t2i_group, prompt_length, style_group) in the paper's order."""
    return (["all"] if with_all else []) + [f"{column}={value}" for value in SUBSET_ORDER[column]]


def source_of(ours: pd.DataFrame) -> dict[str, str] | None:
    """The one source of a results frame, None when empty; raises when rows of several sources are mixed."""
    parts = reports.split_by_source(ours)
    if len(parts) > 1:
        raise ValueError(f"results mix {len(parts)} sources {[p[0] for p in parts]}; use split_by_source first")
    return parts[0][0] if parts else None


def ours_folds(ours: pd.DataFrame, experiment: str, subset: str, metric: str) -> dict[int, float]:
    """Our per-fold values of one metric (fold number → value) for one experiment and subset.

    Raises ResultsError when a fold has several results (rows that differ in a RUN_KEYS column, e.g. two training
    datasets), since one cell cannot show them.
    """
    rows = reports.latest(reports.matching(ours, experiment=experiment, subset=subset))
    if rows.empty:
        return {}
    folds = [int(k) for k in rows["split_index"]]
    if len(set(folds)) < len(folds):
        differ = [k for k in reports.RUN_KEYS if reports.text_column(rows, k).nunique() > 1 and k != "split_index"]
        raise results.ResultsError(f"{experiment} ({subset}) has several results per fold, differing in {differ}: "
                                   "make the tables from the results of one setting")
    return {k: float(v) for k, v in zip(folds, rows[metric])}


def ours_summary(ours: pd.DataFrame, experiment: str, subset: str, metric: str) -> dict[str, float] | None:
    """AVERAGE and sample VAR (NaN for one fold) of our folds, None when the experiment has no rows."""
    folds = ours_folds(ours, experiment, subset, metric)
    return fold_summary(list(folds.values())) if folds else None


def folds_run(ours: pd.DataFrame, experiment: str, subset: str = "all") -> list[int]:
    """The fold numbers we have rows for."""
    return sorted(ours_folds(ours, experiment, subset, reports.METRICS[0]))


def _ours_cells(ours: pd.DataFrame, experiment: str, subset: str, metric: str) -> list[float | str]:
    """Our k=1..3, AVERAGE and VAR cells; missing folds read 'not run', a one-fold VAR 'n/a (1 fold)'."""
    folds = ours_folds(ours, experiment, subset, metric)
    if not folds:
        return [reports.NOT_RUN] * len(ROWS)
    summary = fold_summary(list(folds.values()))
    var = summary["var"] if len(folds) > 1 else ONE_FOLD
    return [folds.get(k, reports.NOT_RUN) for k in FOLD_IDS] + [summary["average"], var]


def _paper_cells(paper: pd.DataFrame, experiment: str, subset: str, metric: str) -> list[float | str]:
    """The paper's k=1..3, AVERAGE and VAR cells ('—' where it gives none)."""
    cells = [reports.paper_value(paper, experiment, subset, fold, metric) for fold in PAPER_FOLDS]
    return ["—" if c is None else c for c in cells]


def _group_columns(ours: pd.DataFrame, paper: pd.DataFrame, experiment: str, subset: str, label: str) -> dict:
    """Paper SRCC/PLCC beside ours SRCC/PLCC for one experiment and subset, headed by ``label``."""
    columns = {}
    for who, cells, frame in (("paper", _paper_cells, paper), ("ours", _ours_cells, ours)):
        for metric in reports.METRICS:
            columns[f"{label} {who} {metric.upper()}"] = cells(frame, experiment, subset, metric)
    return columns


def _frame(columns: Mapping[str, Sequence], index: Sequence[str], name: str) -> pd.DataFrame:
    """A table frame with object cells (numbers and 'not run' side by side) and a named index."""
    return pd.DataFrame(dict(columns), index=pd.Index(list(index), name=name), dtype=object)


def fold_table(
    ours: pd.DataFrame, paper: pd.DataFrame, experiments: Iterable[str], subset: str = "all"
) -> pd.DataFrame:
    """Rows k=1,2,3,AVERAGE,VAR; per experiment the paper's SRCC/PLCC beside ours (Tables II, VI, VIII)."""
    source_of(ours)
    columns = {}
    for experiment in experiments:
        columns.update(_group_columns(ours, paper, experiment, subset, experiment))
    return _frame(columns, ROWS, "k_fold")


def subset_label(subset: str) -> str:
    """Column heading of a subset: 'All' for the whole set, else the subset string (e.g. t2i_group=bad)."""
    return "All" if subset == "all" else subset


def subset_table(ours: pd.DataFrame, paper: pd.DataFrame, experiment: str, subsets: Iterable[str]) -> pd.DataFrame:
    """Rows k=1,2,3,AVERAGE,VAR; per subset (e.g. all, t2i_group=bad, ...) paper beside ours (Tables IV, VII)."""
    source_of(ours)
    columns = {}
    for subset in subsets:
        columns.update(_group_columns(ours, paper, experiment, subset, subset_label(subset)))
    return _frame(columns, ROWS, "k_fold")


def _improvement(before: Mapping[str, float] | None, after: Mapping[str, float] | None, stat: str) -> float | str:
    """Percent change of the AVERAGE, or percent reduction of the VAR, from ``before`` to ``after``."""
    if before is None or after is None:
        return reports.NOT_RUN
    if math.isnan(before[stat]) or math.isnan(after[stat]):
        return ONE_FOLD
    change = 100.0 * (after[stat] - before[stat]) / before[stat]
    return change if stat == "average" else -change


def _paper_summary(paper: pd.DataFrame, experiment: str, subset: str, metric: str) -> dict[str, float] | None:
    """AVERAGE and sample VAR recomputed from the paper's printed folds, None when any fold is missing."""
    values = [reports.paper_value(paper, experiment, subset, str(k), metric) for k in FOLD_IDS]
    return None if None in values else fold_summary(values)


def improvement_table(
    ours: pd.DataFrame, paper: pd.DataFrame, before: str = "perception_before", after: str = "perception_after",
    subset: str = "all",
) -> pd.DataFrame:
    """Table III: percent change of AVERAGE and percent reduction of VAR, as printed, recomputed and ours."""
    source_of(ours)
    columns = {}
    for metric in reports.METRICS:
        columns[f"paper {metric.upper()} %"] = [
            reports.paper_value(paper, after, subset, stat, f"{metric}_improvement_pct") for stat in ("AVERAGE", "VAR")
        ]
    for who, summary, frame in (("paper recomputed", _paper_summary, paper), ("ours", ours_summary, ours)):
        for metric in reports.METRICS:
            b, a = summary(frame, before, subset, metric), summary(frame, after, subset, metric)
            columns[f"{who} {metric.upper()} %"] = [_improvement(b, a, stat) for stat in ("average", "var")]
    return _frame(columns, ("AVERAGE", "VAR"), "statistic")


def _alphas(ours: pd.DataFrame, experiment: str) -> dict[int, np.ndarray]:
    """Our learned logistic α per fold (fold → 5 floats), folds without a mapping layer left out."""
    rows = reports.latest(reports.matching(ours, experiment=experiment, subset="all"))
    if "alpha" not in rows.columns:
        return {}
    return {int(k): np.array(str(a).split(), dtype=float) for k, a in zip(rows["split_index"], rows["alpha"])
            if isinstance(a, str) and a.strip()}


def _format_alpha(values: np.ndarray) -> str:
    """α as space-separated floats with four decimals."""
    return " ".join(f"{v:.4f}" for v in values)


def _hyperparameter(ours: pd.DataFrame, experiment: str, name: str) -> str:
    """Our value of a hyperparameter when results record it (one distinct value), else a marker."""
    rows = reports.matching(ours, experiment=experiment, subset="all")
    if rows.empty:
        return reports.NOT_RUN
    values = sorted(set(reports.text_column(rows, name)) - {""})
    return " | ".join(values) if values else NOT_RECORDED


def mapping_table(ours: pd.DataFrame, paper: pd.DataFrame, experiment: str) -> pd.DataFrame:
    """Tables I/V: hyperparameters and the learned α, paper beside ours (α averaged over our folds, then per fold)."""
    source_of(ours)
    alphas = _alphas(ours, experiment)
    printed = {name: reports.paper_value(paper, experiment, "all", "", name, as_printed=True)
               for name in (*HYPERPARAMETERS, "alpha")}
    rows = {name: (printed[name], _hyperparameter(ours, experiment, name)) for name in HYPERPARAMETERS}
    mean = (_format_alpha(np.mean(list(alphas.values()), axis=0)) if alphas
            else _hyperparameter(ours, experiment, "alpha"))
    rows[f"alpha (ours: mean of {len(alphas)} fold(s))"] = (printed["alpha"], mean)
    rows.update({f"alpha k={k}": ("—", _format_alpha(alphas[k])) for k in sorted(alphas)})
    cells = [("—" if p is None else p, o) for p, o in rows.values()]
    return _frame({"paper": [c[0] for c in cells], "ours": [c[1] for c in cells]}, list(rows), "parameter")


def stack_blocks(blocks: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Several subset tables as one long frame indexed by (block, group, k_fold), paper/ours SRCC/PLCC columns."""
    parts = []
    for block, table in blocks.items():
        for column in table.columns:
            group, who, metric = column.rsplit(" ", 2)
            parts.append(pd.DataFrame({"block": block, "group": group, "k_fold": table.index,
                                       "column": f"{who} {metric}", "value": table[column].to_numpy()}))
    long = pd.concat(parts, ignore_index=True)
    order = list(dict.fromkeys(long["column"]))
    wide = long.pivot(index=["block", "group", "k_fold"], columns="column", values="value")[order]
    keys = long[["block", "group", "k_fold"]].drop_duplicates()
    return wide.reindex(pd.MultiIndex.from_frame(keys)).rename_axis(columns=None)


class Table(NamedTuple):
    """One paper table: which experiments fill ours, the run_dlsr tasks producing them, how its blocks are built,
    which other transcribed tables it reads and which rows print in e-notation."""

    number: int
    roman: str
    title: str
    experiments: tuple[str, ...]
    tasks: tuple[str, ...]
    build: Callable[[pd.DataFrame, pd.DataFrame], dict[str, pd.DataFrame]]
    reads: tuple[str, ...] = ()
    scientific_rows: tuple[str, ...] = ("VAR",)

    def paper_rows(self, paper: pd.DataFrame) -> pd.DataFrame:
        """The transcribed rows this table shows or recomputes from."""
        return paper[paper["table"].isin((self.roman, *self.reads))]


def _subset_blocks(experiment: str) -> Callable[[pd.DataFrame, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Builder of Tables IV/VII: T2I, prompt-length and style blocks of one experiment."""
    def build(ours: pd.DataFrame, paper: pd.DataFrame) -> dict[str, pd.DataFrame]:
        return {
            "T2I groups": subset_table(ours, paper, experiment, subsets_of("t2i_group", with_all=True)),
            "prompt length": subset_table(ours, paper, experiment, subsets_of("prompt_length")),
            "style": subset_table(ours, paper, experiment, subsets_of("style_group")),
        }
    return build


DLSR_TABLES = (
    Table(1, "I", "Perception model architecture and parameters", ("perception_after",), ("perception",),
          lambda o, p: {"": mapping_table(o, p, "perception_after")}),
    Table(2, "II", "Perception performance before and after improving", ("perception_before", "perception_after"),
          ("perception",), lambda o, p: {"": fold_table(o, p, ("perception_before", "perception_after"))}),
    Table(3, "III", "Improvement percentage (perception)", ("perception_before", "perception_after"),
          ("perception",), lambda o, p: {"": improvement_table(o, p)}, reads=("II",), scientific_rows=()),
    Table(4, "IV", "Performance on different subsets for perception", ("perception_after",),
          ("perception", "subsets"), _subset_blocks("perception_after")),
    Table(5, "V", "Alignment model architecture and parameters", ("alignment",), ("alignment",),
          lambda o, p: {"": mapping_table(o, p, "alignment")}),
    Table(6, "VI", "Performance of alignment assessment", ("alignment",), ("alignment",),
          lambda o, p: {"": fold_table(o, p, ("alignment",))}),
    Table(7, "VII", "Performance on different subsets for alignment", ("alignment",),
          ("alignment", "subsets"), _subset_blocks("alignment")),
    Table(8, "VIII", "Applying StairReward for improving", ("stair_before", "stair_after"), ("stairreward",),
          lambda o, p: {"": fold_table(o, p, ("stair_before", "stair_after"))}),
)


def _status(ours: pd.DataFrame, table: Table) -> str:
    """Which of the table's experiments we have folds for, and the command(s) that produce them."""
    parts = []
    for experiment in table.experiments:
        folds = folds_run(ours, experiment)
        parts.append(f"{experiment} folds {', '.join(map(str, folds))}" if folds else f"{experiment} not run")
    commands = " and ".join(f"`{RUN.format(t)}`" for t in table.tasks)
    return f"Ours run: {'; '.join(parts)} (produced by {commands})."


def _section(table: Table, source: dict | None, ours: pd.DataFrame, paper: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """The markdown of one table for one source, and its CSV frame."""
    blocks = table.build(ours, table.paper_rows(paper))
    line = (f"{reports.describe_source(source)}. {_status(ours, table)} "
            f"Paper: DLSR report Table {table.roman}, transcribed in tfagiqa/methods/dlsr/paper.csv.")
    text = "\n".join(reports.to_markdown(frame, f"{table.title}{' — ' + name if name else ''}", line,
                                         table.scientific_rows)
                     for name, frame in blocks.items())
    frame = next(iter(blocks.values())) if len(blocks) == 1 else stack_blocks(blocks)
    return text, frame


def _notes(paper: pd.DataFrame, table: Table) -> str:
    """The report's own notes and inconsistencies for one table (distinct, in order), as a markdown list."""
    notes = [n for n in dict.fromkeys(paper.loc[paper["table"] == table.roman, "note"]) if n]
    return "".join(f"- {note}\n" for note in notes)


def write_table(table: Table, sources: list, paper: pd.DataFrame, out: Path) -> list[Path]:
    """dlsr_tableN.md (one section per source) and its CSV file(s); returns the paths written."""
    sections, written = [], []
    for source, ours in sources:
        text, frame = _section(table, source, ours, paper)
        sections.append(text)
        suffix = "" if len(sources) == 1 else "_" + reports.source_tag(source)
        written.append(write_text(out / f"dlsr_table{table.number}{suffix}.csv", frame.to_csv()))
    notes = _notes(paper, table)
    body = f"# DLSR-IQA Table {table.roman}: {table.title}\n\n" + "\n".join(sections)
    body += f"\nNotes on the paper's numbers:\n\n{notes}" if notes else ""
    return [write_text(out / f"dlsr_table{table.number}.md", body), *written]


def make_tables(results: pd.DataFrame, out_dir, paper_csv=None) -> list[Path]:
    """Write every DLSR table (dlsr_table{1..8}.md and .csv), one section per results source (a single 'not run'
    section when there are no DLSR rows); ``paper_csv`` None = the method's paper.csv. Returns the paths written."""
    paper = reports.read_paper(paper_csv or METHOD.paper_csv)
    ours = reports.latest(reports.matching(results, paper=METHOD.paper))
    sources = reports.split_by_source(ours) or [(None, ours)]
    return [path for table in DLSR_TABLES for path in write_table(table, sources, paper, Path(out_dir))]
