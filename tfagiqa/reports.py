"""Paper-versus-ours tables (DLSR's fold tables, subset tables, Table III, Tables I/V) and a markdown writer.

`ours` is a results frame (tfagiqa.results) restricted to one source: one data kind, one weights label, one
profile and one backbone. `split_by_source` cuts a results file into such parts, so no table ever mixes
synthetic and real numbers. `paper` is a transcription in the long format of results/paper/<paper>.csv.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa import results
from tfagiqa.data.subsets import SUBSET_ORDER
from tfagiqa.metrics import fold_summary

ROWS = ("k=1", "k=2", "k=3", "AVERAGE", "VAR")
PAPER_FOLDS = ("1", "2", "3", "AVERAGE", "VAR")
FOLD_IDS = (1, 2, 3)
METRICS = ("srcc", "plcc")
NOT_RUN = "not run"
ONE_FOLD = "n/a (1 fold)"
SOURCE_KEYS = ("data", "weights", "profile", "backbone")
# settings a run script varies under one experiment name: run_hypernet.py's text embedder, schedule and loss,
# run_ipiqa.py's head and [QA] token
SETTING_KEYS = ("text_embedder", "schedule", "loss", "head", "qa_token")
RUN_KEYS = (*SOURCE_KEYS, "paper", "experiment", "dataset", "target", "subset", "selection", "split", "split_index",
            *SETTING_KEYS)
HYPERPARAMETERS = ("hidden_units", "dropout", "learning_rate", "optimizer", "activation", "loss")
NOT_RECORDED = "not recorded in results"


def read_paper(path: str | os.PathLike) -> pd.DataFrame:
    """A paper transcription CSV with every cell kept as text (values such as 0.7040 and 6.89e-5 stay as printed)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def paper_value(
    paper: pd.DataFrame, experiment: str, subset: str, fold: str, metric: str, as_printed: bool = False
) -> float | str | None:
    """The paper's one value for a cell (float when numeric unless as_printed), None when absent; conflicts raise."""
    rows = paper[(paper["experiment"] == experiment) & (paper["subset"] == subset)
                 & (paper["fold"] == fold) & (paper["metric"] == metric)]
    values = {v if as_printed else _number(v) for v in rows["value"]}
    if len(values) > 1:
        raise ValueError(f"paper rows disagree for {experiment}/{subset}/{fold}/{metric}: {sorted(map(str, values))}")
    return values.pop() if values else None


def paper_notes(paper: pd.DataFrame) -> list[str]:
    """The distinct non-empty notes of some paper rows, in order of first appearance."""
    return [n for n in dict.fromkeys(paper["note"]) if n]


def _number(text: str) -> float | str:
    """A numeric cell as float, anything else unchanged."""
    try:
        return float(text)
    except ValueError:
        return text


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column as text, or empty strings when the frame lacks it."""
    if name not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[name].fillna("").astype(str)


def load_results(path: str | os.PathLike, paper: str) -> pd.DataFrame:
    """One paper's rows of a results CSV or folder, reruns collapsed; an empty frame when the path does not exist."""
    if not Path(path).exists():
        return pd.DataFrame(columns=list(results.PROVENANCE))
    table = results.read_results(path)
    return latest(table[table["paper"] == paper])


def subsets_of(column: str, with_all: bool = False) -> list[str]:
    """Subset strings of one subset column (t2i_group, prompt_length, style_group) in the paper's order."""
    return (["all"] if with_all else []) + [f"{column}={value}" for value in SUBSET_ORDER[column]]


def latest(ours: pd.DataFrame) -> pd.DataFrame:
    """Results with reruns collapsed: rows equal in every RUN_KEYS column are one result run again; the last counts.

    RUN_KEYS are every column that tells two results of the four run scripts apart: the source, paper, experiment,
    dataset, target label, subset, epoch-selection rule, split and split index, and the SETTING_KEYS. What else a
    row holds (seed, epoch, timestamp, commit, sizes) describes a run, not which result it is. A column a file
    lacks counts as empty. Every paper's tables collapse reruns with this one function.
    """
    if ours.empty:
        return ours
    keys = pd.DataFrame({k: _column(ours, k) for k in RUN_KEYS})
    return ours[~keys.duplicated(keep="last")]


def matching(ours: pd.DataFrame, **values: str) -> pd.DataFrame:
    """The rows whose columns equal the given values, compared as text (a missing column reads as empty)."""
    if ours.empty:
        return ours
    mask = np.ones(len(ours), dtype=bool)
    for column, value in values.items():
        mask &= (_column(ours, column) == str(value)).to_numpy()
    return ours[mask]


def settings_of(ours: pd.DataFrame, experiment: str, columns: Sequence[str] = SETTING_KEYS) -> list[tuple[str, dict]]:
    """(label, values) per distinct setting an experiment's rows were run with, in order of first appearance.

    With one setting (or none run) the label is "" and the values are {} (no filter), so a table row keeps the
    paper's name; with several, each gets its own row labelled by the columns that differ ("head=linear").
    """
    rows = matching(ours, experiment=experiment)
    if rows.empty:
        return [("", {})]
    frame = pd.DataFrame({c: _column(rows, c) for c in columns})
    combos = frame.drop_duplicates()
    if len(combos) == 1:
        return [("", {})]
    varying = [c for c in columns if combos[c].nunique() > 1]
    return [(", ".join(f"{c}={combo[c]}" for c in varying), {c: combo[c] for c in varying})
            for combo in combos.to_dict("records")]


def other_runs(ours: pd.DataFrame, shown: pd.Index) -> pd.DataFrame:
    """Our rows that no paper table shows (an experiment or dataset the paper does not report), one a line.

    ``shown`` is the index of the rows the tables used; the rest keep their RUN_KEYS columns and scores, so that no
    row of a results file is left out of every table.
    """
    rest = ours.loc[ours.index.difference(shown)]
    columns = [c for c in RUN_KEYS if c in rest.columns and c not in SOURCE_KEYS and _column(rest, c).ne("").any()]
    scores = [c for c in ("srcc", "plcc", "krcc", "main") if c in rest.columns]
    return rest[columns + scores].reset_index(drop=True)


def split_by_source(ours: pd.DataFrame) -> list[tuple[dict[str, str], pd.DataFrame]]:
    """(source, rows) per distinct data/weights/profile/backbone, real data first; [] for an empty frame."""
    if ours.empty:
        return []
    keys = pd.DataFrame({k: _column(ours, k) for k in SOURCE_KEYS})
    groups = keys.groupby(list(SOURCE_KEYS)).groups
    parts = [(dict(zip(SOURCE_KEYS, key)), ours.loc[index]) for key, index in groups.items()]
    return sorted(parts, key=lambda part: (part[0]["data"] != "real", tuple(part[0].values())))


def source_of(ours: pd.DataFrame) -> dict[str, str] | None:
    """The one source of a results frame, None when empty; raises when rows of several sources are mixed."""
    parts = split_by_source(ours)
    if len(parts) > 1:
        raise ValueError(f"results mix {len(parts)} sources {[p[0] for p in parts]}; use split_by_source first")
    return parts[0][0] if parts else None


def describe_source(source: Mapping[str, str] | None) -> str:
    """Caption text for our numbers: data kind, weights, backbone, profile, and whether it can be a reproduction."""
    if source is None:
        return "ours: not run"
    parts = [f"{source['data']} data", f"weights={source['weights']}"]
    parts += [f"backbone {source['backbone']}"] if source.get("backbone") else []
    parts += [f"profile {source['profile']}"]
    text = "ours: " + ", ".join(parts)
    if source["data"] != "real":
        return text + " — NOT a reproduction (synthetic stand-in data)"
    if source["weights"] == "random" or source["profile"] != "paper":
        return text + " — not paper scale (random weights or a reduced profile)"
    return text


def source_tag(source: Mapping[str, str]) -> str:
    """A file-name-safe label of a source, e.g. ``synthetic_random_smoke_tiny`` (order of SOURCE_KEYS)."""
    return "_".join(re.sub(r"[^A-Za-z0-9.-]+", "-", source[k]) for k in SOURCE_KEYS if source.get(k))


def _rows(ours: pd.DataFrame, experiment: str, subset: str) -> pd.DataFrame:
    """Our rows of one experiment and subset."""
    if ours.empty:
        return ours
    return ours[(_column(ours, "experiment") == experiment) & (_column(ours, "subset") == subset)]


def ours_folds(ours: pd.DataFrame, experiment: str, subset: str, metric: str) -> dict[int, float]:
    """Our per-fold values of one metric (fold number → value) for one experiment and subset.

    Raises ResultsError when a fold has several results (rows that differ in a RUN_KEYS column, e.g. two training
    datasets), since one cell cannot show them.
    """
    rows = latest(_rows(ours, experiment, subset))
    if rows.empty:
        return {}
    folds = [int(k) for k in rows["split_index"]]
    if len(set(folds)) < len(folds):
        differ = [k for k in RUN_KEYS if _column(rows, k).nunique() > 1 and k != "split_index"]
        raise results.ResultsError(f"{experiment} ({subset}) has several results per fold, differing in {differ}: "
                                   "make the tables from the results of one setting")
    return {k: float(v) for k, v in zip(folds, rows[metric])}


def ours_summary(ours: pd.DataFrame, experiment: str, subset: str, metric: str) -> dict[str, float] | None:
    """AVERAGE and sample VAR (NaN for one fold) of our folds, None when the experiment has no rows."""
    folds = ours_folds(ours, experiment, subset, metric)
    return fold_summary(list(folds.values())) if folds else None


def folds_run(ours: pd.DataFrame, experiment: str, subset: str = "all") -> list[int]:
    """The fold numbers we have rows for."""
    return sorted(ours_folds(ours, experiment, subset, METRICS[0]))


def _ours_cells(ours: pd.DataFrame, experiment: str, subset: str, metric: str) -> list[float | str]:
    """Our k=1..3, AVERAGE and VAR cells; missing folds read 'not run', a one-fold VAR 'n/a (1 fold)'."""
    folds = ours_folds(ours, experiment, subset, metric)
    if not folds:
        return [NOT_RUN] * len(ROWS)
    summary = fold_summary(list(folds.values()))
    var = summary["var"] if len(folds) > 1 else ONE_FOLD
    return [folds.get(k, NOT_RUN) for k in FOLD_IDS] + [summary["average"], var]


def _paper_cells(paper: pd.DataFrame, experiment: str, subset: str, metric: str) -> list[float | str]:
    """The paper's k=1..3, AVERAGE and VAR cells ('—' where it gives none)."""
    cells = [paper_value(paper, experiment, subset, fold, metric) for fold in PAPER_FOLDS]
    return ["—" if c is None else c for c in cells]


def _group_columns(ours: pd.DataFrame, paper: pd.DataFrame, experiment: str, subset: str, label: str) -> dict:
    """Paper SRCC/PLCC beside ours SRCC/PLCC for one experiment and subset, headed by ``label``."""
    columns = {}
    for who, cells, frame in (("paper", _paper_cells, paper), ("ours", _ours_cells, ours)):
        for metric in METRICS:
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
        return NOT_RUN
    if math.isnan(before[stat]) or math.isnan(after[stat]):
        return ONE_FOLD
    change = 100.0 * (after[stat] - before[stat]) / before[stat]
    return change if stat == "average" else -change


def _paper_summary(paper: pd.DataFrame, experiment: str, subset: str, metric: str) -> dict[str, float] | None:
    """AVERAGE and sample VAR recomputed from the paper's printed folds, None when any fold is missing."""
    values = [paper_value(paper, experiment, subset, str(k), metric) for k in FOLD_IDS]
    return None if None in values else fold_summary(values)


def improvement_table(
    ours: pd.DataFrame, paper: pd.DataFrame, before: str = "perception_before", after: str = "perception_after",
    subset: str = "all",
) -> pd.DataFrame:
    """Table III: percent change of AVERAGE and percent reduction of VAR, as printed, recomputed and ours."""
    source_of(ours)
    columns = {}
    for metric in METRICS:
        columns[f"paper {metric.upper()} %"] = [
            paper_value(paper, after, subset, stat, f"{metric}_improvement_pct") for stat in ("AVERAGE", "VAR")
        ]
    for who, summary, frame in (("paper recomputed", _paper_summary, paper), ("ours", ours_summary, ours)):
        for metric in METRICS:
            b, a = summary(frame, before, subset, metric), summary(frame, after, subset, metric)
            columns[f"{who} {metric.upper()} %"] = [_improvement(b, a, stat) for stat in ("average", "var")]
    return _frame(columns, ("AVERAGE", "VAR"), "statistic")


def _alphas(ours: pd.DataFrame, experiment: str) -> dict[int, np.ndarray]:
    """Our learned logistic α per fold (fold → 5 floats), folds without a mapping layer left out."""
    rows = latest(_rows(ours, experiment, "all"))
    if "alpha" not in rows.columns:
        return {}
    return {int(k): np.array(str(a).split(), dtype=float) for k, a in zip(rows["split_index"], rows["alpha"])
            if isinstance(a, str) and a.strip()}


def _format_alpha(values: np.ndarray) -> str:
    """α as space-separated floats with four decimals."""
    return " ".join(f"{v:.4f}" for v in values)


def _hyperparameter(ours: pd.DataFrame, experiment: str, name: str) -> str:
    """Our value of a hyperparameter when results record it (one distinct value), else a marker."""
    rows = _rows(ours, experiment, "all")
    if rows.empty:
        return NOT_RUN
    values = sorted(set(_column(rows, name)) - {""})
    return " | ".join(values) if values else NOT_RECORDED


def mapping_table(ours: pd.DataFrame, paper: pd.DataFrame, experiment: str) -> pd.DataFrame:
    """Tables I/V: hyperparameters and the learned α, paper beside ours (α averaged over our folds, then per fold)."""
    source_of(ours)
    alphas = _alphas(ours, experiment)
    printed = {name: paper_value(paper, experiment, "all", "", name, as_printed=True)
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


def format_cell(value: object, scientific: bool = False) -> str:
    """One cell as text: strings as they are, correlations to 4 decimals, variances (``scientific``) as 1.23e-04."""
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, (int, np.integer)):
        return str(value)
    size = abs(float(value))
    if scientific or 0 < size < 1e-3:
        return f"{value:.2e}"
    return f"{value:.2f}" if size >= 1 else f"{value:.4f}"


def _md_row(cells: Iterable[object], scientific: bool = False) -> str:
    """One markdown table line, pipes in cells escaped."""
    return "| " + " | ".join(format_cell(c, scientific).replace("|", "\\|") for c in cells) + " |"


def to_markdown(df: pd.DataFrame, title: str, provenance_line: str, scientific_rows: Sequence[str] = ("VAR",)) -> str:
    """A markdown section: title, provenance line, then the table (index first; variance rows in e-notation)."""
    header = [df.index.name or "", *map(str, df.columns)]
    lines = [f"### {title}", "", provenance_line, "", _md_row(header), "|" + "---|" * len(header)]
    lines += [_md_row([index, *row], scientific=index in scientific_rows)
              for index, row in zip(df.index, df.itertuples(index=False))]
    return "\n".join(lines) + "\n"


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write a text file atomically (temporary file in the same folder, then os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
