"""Shared checks for label tables: required columns, NaN labels, duplicates, empty prompts, missing images.

Every problem names the label file and the row, and is either raised as one DataError or, with
``on_error="skip"``, dropped and listed in ``df.attrs["skipped"]``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tfagiqa.data import schema
from tfagiqa.errors import DataError

ON_ERROR = ("raise", "skip")
SYNTHETIC_MARKER = "SYNTHETIC.json"
TFRECORD_DIR = "tfrecords"  # shards written here by `tfagiqa datasets to-tfrecord` are read by the pipeline


def require_file(path: Path, dataset: str, hint: str) -> Path:
    """Return ``path`` if it exists, else raise a DataError that says what to download and where to put it."""
    if not path.is_file():
        raise DataError(
            f"{dataset}: label file not found: {path}\n{hint}\nSee datasets/README.md for the folder layout."
        )
    return path


def require_columns(df: pd.DataFrame, columns: list[str], source: Path) -> None:
    """Raise a DataError naming the missing columns and the ones the file has."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {missing}; the file has {list(df.columns)}. "
            "Is this the official, unmodified label file?"
        )


def read_excel(path: Path, **kwargs) -> pd.DataFrame:
    """pandas.read_excel with a DataError instead of a parser traceback."""
    try:
        return pd.read_excel(path, engine="openpyxl", **kwargs)
    except Exception as exc:  # openpyxl raises many unrelated types for a damaged file
        raise DataError(f"cannot read spreadsheet {path}: {exc}") from exc


def find_image_dir(dataset_dir: Path, candidates: tuple[str, ...], dataset: str) -> Path:
    """The first existing candidate image folder under ``dataset_dir``, or a DataError listing them."""
    for name in candidates:
        folder = dataset_dir / name
        if folder.is_dir():
            return folder
    tried = ", ".join(str(dataset_dir / c) for c in candidates)
    raise DataError(
        f"{dataset}: no image folder found (tried {tried}). Download the images and unpack them there, "
        "or pass require_images=False / --labels-only to read the labels alone. See datasets/README.md."
    )


def validate(
    df: pd.DataFrame, source: Path, on_error: str, require_images: bool, first_row: int = 2,
    known_duplicates: frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Check canonical rows; raise listing every bad row, or drop them and list them in attrs["skipped"].

    ``first_row`` is how the file numbers the DataFrame's row 0 (2 under a header line, 0 for index-keyed files).
    ``known_duplicates`` are names the official file itself repeats: kept, and listed in attrs["notes"].
    """
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
    problems: dict[int, str] = {}
    for column in schema.label_columns(df):
        for row in df.index[df[column].isna()]:
            problems.setdefault(row, f"NaN {column} label")
    for row in df.index[df[schema.PROMPT].fillna("").astype(str).str.strip() == ""]:
        problems.setdefault(row, "empty prompt")
    notes = []
    for row in df.index[df[schema.NAME].duplicated(keep="first")]:
        name = df.at[row, schema.NAME]
        if name in known_duplicates:
            notes.append(f"row {row + first_row}: {name} repeats an earlier row in the official file; kept")
        else:
            problems.setdefault(row, f"duplicate image name {name!r}")
    if require_images:
        for row, path in df[schema.IMAGE].items():
            if not Path(path).is_file():
                problems.setdefault(row, f"missing image {path}")
    if problems and on_error == "raise":
        listed = "\n".join(f"  row {r + first_row} ({df.at[r, schema.NAME]}): {msg}" for r, msg in list(problems.items())[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise DataError(
            f"{source}: {len(problems)} bad row(s) (row numbers as in the file):\n{listed}{more}\n"
            "Fix the file, or pass on_error='skip' (CLI: --skip-bad) to drop these rows and list them."
        )
    skipped = [{"row": r + first_row, "name": df.at[r, schema.NAME], "problem": m} for r, m in problems.items()]
    out = df.drop(index=list(problems)).reset_index(drop=True)
    out.attrs.update(df.attrs)
    out.attrs["skipped"] = skipped
    out.attrs["notes"] = notes
    return out


def finish(df: pd.DataFrame, dataset: str, dataset_dir: Path) -> pd.DataFrame:
    """Stamp the dataset name and whether the folder is the synthetic stand-in."""
    df[schema.DATASET] = dataset
    df.attrs["dataset"] = dataset
    df.attrs["data"] = "synthetic" if (dataset_dir / SYNTHETIC_MARKER).is_file() else "real"
    df.attrs["root"] = str(dataset_dir)
    if (dataset_dir / TFRECORD_DIR / "manifest.json").is_file():
        df.attrs["tfrecords"] = str(dataset_dir / TFRECORD_DIR)
    return df
