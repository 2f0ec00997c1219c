"""What every paper's tables (``tfagiqa/methods/<method>/tables.py``) share: reading a paper's transcription,
selecting our result rows, naming their source, and writing a table as markdown.

`ours` is a results frame (tfagiqa.results); `split_by_source` cuts it into parts of one data kind, one weights
label, one profile and one backbone, so no table ever mixes synthetic and real numbers. `paper` is a method's
``paper.csv`` in the long format of docs/paper_numbers.md, read with `read_paper`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa import results
from tfagiqa.results import ResultsError

METRICS = ("srcc", "plcc")
PAPER_COLUMNS = ("table", "experiment", "subset", "fold", "metric", "value")  # what every paper.csv holds
NOT_RUN = "not run"
BENCHMARK_NOT_RUN = "not run (run_benchmark.py --splits {splits})"
# why the papers' other comparison rows have no number of ours (the table notes say it)
NOT_REBUILT = ("n/a: CEIQ, DSIQA, SISBLIM, GMLF, HIGRADE and BMPRI are MATLAB feature sets, FID, KID and ICS are "
               "distribution metrics, not per-image scores; neither is rebuilt here.")
SOURCE_KEYS = ("data", "weights", "profile", "backbone")
# settings a run script varies under one experiment name: run_hypernet.py's text embedder, schedule and loss,
# run_ipiqa.py's head and [QA] token
SETTING_KEYS = ("text_embedder", "schedule", "loss", "head", "qa_token", "pretrain")  # pretrain: run_sfiqa.py
RUN_KEYS = (*SOURCE_KEYS, "paper", "experiment", "dataset", "target", "subset", "selection", "split", "split_index",
            *SETTING_KEYS)


def read_paper(path: str | os.PathLike) -> pd.DataFrame:
    """A paper transcription CSV with every cell kept as text (values such as 0.7040 and 6.89e-5 stay as printed);
    a file that cannot be read, or lacks a column of PAPER_COLUMNS, is a ResultsError."""
    try:
        paper = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ResultsError(f"{path} is not a readable paper transcription CSV: {exc}") from exc
    missing = [c for c in PAPER_COLUMNS if c not in paper.columns]
    if missing:
        raise ResultsError(f"{path} is not a paper transcription CSV: it lacks the column(s) {missing} "
                           f"(it has {list(paper.columns)})")
    return paper


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


def _number(text: str) -> float | str:
    """A numeric cell as float, anything else unchanged."""
    try:
        return float(text)
    except ValueError:
        return text


def text_column(frame: pd.DataFrame, name: str) -> pd.Series:
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


@dataclass(frozen=True)
class BenchmarkCells:
    """A paper table's cells for the methods the package implements but the paper's own script does not run.

    They are read from the cross-method benchmark's rows (``experiments/run_benchmark.py``, ``paper=benchmark``)
    made under the paper's splits (``families``: dataset → split family, e.g. ``ratio802_seed42`` for IP-IQA's
    AGIQA-3K protocol) on the same data kind as the table's own rows, so synthetic and real numbers never share a
    table. ``names`` maps a paper's experiment name to the package method that fills it (``hypernet`` →
    ``hyperiqa``); a paper name that is a benchmark method's own name maps to itself.
    """

    rows: pd.DataFrame
    families: Mapping[str, str]
    names: Mapping[str, str] = field(default_factory=dict)

    def method(self, experiment: str) -> str | None:
        """The benchmark method behind a paper table's row, or None when the benchmark has no rows for it."""
        name = self.names.get(experiment, experiment)
        return name if len(matching(self.rows, experiment=name)) else None

    def data_kind(self, source: Mapping[str, str] | None) -> str:
        """The data kind a table's benchmark cells must have: its own rows' kind, else real when there are such."""
        if source is not None:
            return source["data"]
        return "real" if len(matching(self.rows, data="real")) else "synthetic"

    def cell(self, experiment: str, dataset: str, target: str, data: str) -> pd.DataFrame:
        """The benchmark's rows of one cell: every split of the paper's protocol the method was run on."""
        method = self.method(experiment)
        if method is None or dataset not in self.families:
            return self.rows.iloc[0:0]
        return matching(self.rows, experiment=method, dataset=dataset, target=target, data=data,
                        split=self.families[dataset])

    def note(self, used: pd.DataFrame) -> str:
        """Caption text naming where the benchmark-filled cells come from (data, weights, backbone, profile)."""
        if used.empty:
            return ""
        parts = []
        for method, rows in used.groupby("experiment", sort=True):
            sources = sorted({f"{r['data']} data, weights={r['weights']}, backbone {r['backbone']}, profile "
                              f"{r['profile']}" for _, r in rows.fillna("").iterrows()})
            parts.append(f"{method} ({'; '.join(sources)}; {len(rows)} split row(s))")
        synthetic = " — synthetic rows are NOT a reproduction (stand-in data)" if (used["data"] != "real").any() else ""
        return "† from the package's benchmark under this paper's splits: " + ", ".join(parts) + synthetic + "."


def read_benchmark(path: str | os.PathLike | None, families: Mapping[str, str],
                   names: Mapping[str, str] | None = None) -> BenchmarkCells:
    """The benchmark's result rows at ``path`` (reruns collapsed) for a paper's tables; empty when there are none."""
    rows = load_results(path, "benchmark") if path is not None else pd.DataFrame(columns=list(results.PROVENANCE))
    return BenchmarkCells(rows, families, dict(names or {}))


def latest(ours: pd.DataFrame) -> pd.DataFrame:
    """Results with reruns collapsed: rows equal in every RUN_KEYS column are one result run again; the last counts.

    RUN_KEYS are every column that tells two results of the four run scripts apart: the source, paper, experiment,
    dataset, target label, subset, epoch-selection rule, split and split index, and the SETTING_KEYS. What else a
    row holds (seed, epoch, timestamp, commit, sizes) describes a run, not which result it is. A column a file
    lacks counts as empty. Every paper's tables collapse reruns with this one function.
    """
    if ours.empty:
        return ours
    keys = pd.DataFrame({k: text_column(ours, k) for k in RUN_KEYS})
    return ours[~keys.duplicated(keep="last")]


def matching(ours: pd.DataFrame, **values: str) -> pd.DataFrame:
    """The rows whose columns equal the given values, compared as text (a missing column reads as empty)."""
    if ours.empty:
        return ours
    mask = np.ones(len(ours), dtype=bool)
    for column, value in values.items():
        mask &= (text_column(ours, column) == str(value)).to_numpy()
    return ours[mask]


def settings_of(ours: pd.DataFrame, experiment: str, columns: Sequence[str] = SETTING_KEYS) -> list[tuple[str, dict]]:
    """(label, values) per distinct setting an experiment's rows were run with, in order of first appearance.

    With one setting (or none run) the label is "" and the values are {} (no filter), so a table row keeps the
    paper's name; with several, each gets its own row labelled by the columns that differ ("head=linear").
    """
    rows = matching(ours, experiment=experiment)
    if rows.empty:
        return [("", {})]
    frame = pd.DataFrame({c: text_column(rows, c) for c in columns})
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
    columns = [c for c in RUN_KEYS if c in rest.columns and c not in SOURCE_KEYS and text_column(rest, c).ne("").any()]
    scores = [c for c in ("srcc", "plcc", "krcc", "main") if c in rest.columns]
    return rest[columns + scores].reset_index(drop=True)


def split_by_source(ours: pd.DataFrame) -> list[tuple[dict[str, str], pd.DataFrame]]:
    """(source, rows) per distinct data/weights/profile/backbone, real data first; [] for an empty frame."""
    if ours.empty:
        return []
    keys = pd.DataFrame({k: text_column(ours, k) for k in SOURCE_KEYS})
    groups = keys.groupby(list(SOURCE_KEYS)).groups
    parts = [(dict(zip(SOURCE_KEYS, key)), ours.loc[index]) for key, index in groups.items()]
    return sorted(parts, key=lambda part: (part[0]["data"] != "real", tuple(part[0].values())))


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

