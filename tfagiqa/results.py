"""Result rows with provenance in CSV files, so later runs can compare and synthetic and real numbers never mix."""

from __future__ import annotations

import datetime
import functools
import math
import os
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from tfagiqa.version import __version__
from tfagiqa.atomic import atomic_path
from tfagiqa.errors import TfagiqaError

PAPERS = ("dlsr", "ipiqa", "sfiqa", "hypernet", "benchmark")  # "benchmark": rows of tfagiqa.benchmark
DATA_KINDS = ("real", "synthetic")
PROFILES = ("smoke", "paper")
PROVENANCE = (
    "paper", "experiment", "dataset", "data", "weights", "split", "split_index", "seed",
    "selection", "profile", "package_version", "git_commit", "timestamp",
)
METRICS = ("srcc", "plcc", "krcc", "rmse", "main")  # a column is a metric if named so or prefixed "<metric>_"
TEXT_COLUMNS = tuple(c for c in PROVENANCE if c not in ("split_index", "seed"))
DEFAULT_KEYS = (
    "paper", "experiment", "dataset", "data", "weights", "split", "split_index", "selection", "profile",
    "target", "subset",
)
_CHOICES = {"paper": PAPERS, "data": DATA_KINDS, "profile": PROFILES}
_PACKAGE_DIR = Path(__file__).resolve().parent


class ResultsError(TfagiqaError, ValueError):
    """A result row, results file or comparison request is malformed."""


@functools.lru_cache(maxsize=None)
def git_commit() -> str:
    """HEAD of the git checkout this package runs from, or "unknown" (installed copy, no git, no commit yet)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel", "HEAD"],
            cwd=_PACKAGE_DIR, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if len(out) != 2 or Path(out[0]).resolve() / _PACKAGE_DIR.name != _PACKAGE_DIR:
        return "unknown"  # a git repo that merely contains an installed copy is not our source tree
    return out[1] if re.fullmatch(r"[0-9a-f]{40}", out[1]) else "unknown"


def is_metric(column: str) -> bool:
    """Whether a column holds a score (srcc, plcc_logistic4, krcc_align, ...) rather than provenance or extras."""
    return any(column == m or column.startswith(m + "_") for m in METRICS)


def _blank(value: object) -> bool:
    """None, NaN or an empty/whitespace string: a provenance value that was not really given."""
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, float) and math.isnan(value)
    )


def validate_row(row: Mapping[str, object], where: str = "result row") -> None:
    """Raise ResultsError unless every provenance column is filled and paper/data/profile take known values."""
    missing = [c for c in PROVENANCE if _blank(row.get(c))]
    if missing:
        raise ResultsError(f"{where} lacks required provenance column(s) {missing} (has {sorted(row)})")
    for column, allowed in _CHOICES.items():
        if row[column] not in allowed:
            raise ResultsError(f"{where}: {column}={row[column]!r} is not one of {list(allowed)}")


def _ordered(row: Mapping[str, object]) -> dict[str, object]:
    """The row with its keys in file column order."""
    return {c: row[c] for c in column_order([], row)}


def provenance(**fields: object) -> dict[str, object]:
    """A validated row: the given fields plus package_version, git_commit and a UTC timestamp (given ones win)."""
    row = {**build_stamp(), **fields}
    validate_row(row)
    return _ordered(row)


def build_stamp() -> dict[str, str]:
    """What made a result or a file, and when: package_version, git_commit and a UTC timestamp (also recorded in
    every preset's ``source``, :mod:`tfagiqa.presets`)."""
    return {"package_version": __version__, "git_commit": git_commit(),
            "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def column_order(existing: Sequence[str], incoming: Iterable[str]) -> list[str]:
    """Existing columns keep their place; new ones follow as provenance, then metrics, then extras (first seen)."""
    new = [c for c in dict.fromkeys(incoming) if c not in existing]
    prov = [c for c in PROVENANCE if c in new]
    metrics = [c for c in new if is_metric(c) and c not in prov]
    extras = [c for c in new if c not in prov and c not in metrics]
    return [*existing, *prov, *metrics, *extras]


def _read_csv(path: Path) -> pd.DataFrame:
    """One results CSV; provenance text stays text and only empty cells are missing ("None", "NA" stay strings)."""
    try:
        return pd.read_csv(path, dtype={c: str for c in TEXT_COLUMNS}, keep_default_na=False, na_values=[""])
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path} is not a readable results CSV: {exc}") from exc


def read_results(path_or_dir: str | os.PathLike) -> pd.DataFrame:
    """The rows of one results CSV, or of every *.csv in a folder (sorted by name, concatenated)."""
    path = Path(path_or_dir)
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            return pd.DataFrame(columns=list(PROVENANCE))
        return pd.concat([_read_csv(f) for f in files], ignore_index=True)
    if path.is_file():
        return _read_csv(path)
    raise ResultsError(f"no results file or folder at {path}")


def _records(rows: Mapping[str, object] | Iterable[Mapping[str, object]] | pd.DataFrame) -> list[dict]:
    """Rows as a list of dicts, accepting one dict, an iterable of dicts or a DataFrame."""
    if isinstance(rows, pd.DataFrame):
        return rows.to_dict("records")
    if isinstance(rows, Mapping):
        return [dict(rows)]
    return [dict(r) for r in rows]


def _atomic_write(df: pd.DataFrame, path: Path) -> None:
    """Write the table through a temporary file (tfagiqa.atomic), so a failure or a kill leaves the old file."""
    with atomic_path(path) as temporary, temporary.open("w", newline="", encoding="utf-8") as handle:
        df.to_csv(handle, index=False)


def append_rows(
    path: str | os.PathLike, rows: Mapping[str, object] | Iterable[Mapping[str, object]] | pd.DataFrame
) -> pd.DataFrame:
    """Validate rows and add them to a results CSV atomically (created if absent); returns the whole table."""
    path = Path(path)
    records = _records(rows)
    if not records:
        raise ResultsError(f"no rows to append to {path}")
    for i, record in enumerate(records):
        validate_row(record, where=f"row {i} for {path}")
    new = pd.DataFrame.from_records(records)
    if path.exists():
        old = _read_csv(path)
        lacking = [c for c in PROVENANCE if c not in old.columns]
        if lacking:
            raise ResultsError(f"{path} is not a results file: it lacks provenance column(s) {lacking}")
        table = pd.concat([old, new], ignore_index=True)
        columns = column_order(list(old.columns), new.columns)
    else:
        table, columns = new, column_order([], new.columns)
    table = table[columns]
    _atomic_write(table, path)
    return table


def _compare_keys(new_df: pd.DataFrame, old_df: pd.DataFrame, keys: Sequence[str] | None) -> list[str]:
    """Join keys: the given ones (all must exist), else the DEFAULT_KEYS both frames have; `data` is mandatory."""
    if keys is None:
        keys = [k for k in DEFAULT_KEYS if k in new_df.columns and k in old_df.columns]
    keys = list(keys)
    absent = [k for k in keys if k not in new_df.columns or k not in old_df.columns]
    if absent:
        raise ResultsError(f"compare keys {absent} are not columns of both tables")
    if "data" not in keys:
        raise ResultsError("compare keys must include 'data' so synthetic and real rows are never matched")
    return keys


def compare(
    new_df: pd.DataFrame,
    old_df: pd.DataFrame,
    keys: Sequence[str] | None = None,
    metrics: Sequence[str] = ("srcc", "plcc"),
) -> pd.DataFrame:
    """Rows present in both tables, matched on `keys`, with <metric>_new, _old and _delta (= new − old).

    When a key occurs more than once in a table (a rerun appended to the same file), its last row counts.
    """
    keys = _compare_keys(new_df, old_df, keys)
    absent = [m for m in metrics if m not in new_df.columns or m not in old_df.columns]
    if absent:
        raise ResultsError(f"metric column(s) {absent} are not in both tables")
    cols = [*keys, *metrics]
    new = new_df[cols].drop_duplicates(keys, keep="last")
    old = old_df[cols].drop_duplicates(keys, keep="last")
    merged = new.merge(old, on=keys, how="inner", suffixes=("_new", "_old"))
    for m in metrics:
        merged[f"{m}_delta"] = merged[f"{m}_new"] - merged[f"{m}_old"]
    return merged[[*keys, *(f"{m}_{s}" for m in metrics for s in ("new", "old", "delta"))]]
