"""Reading and checking label files: text decoding, CSV and spreadsheet parsing, per-row problems.

Every problem names the label file and the row (as the file numbers it: a CSV's line, a spreadsheet's row),
and is either raised as one DataError or, with ``on_error="skip"``, dropped and listed in
``df.attrs["skipped"]``. What is refused and why:

* a file that is empty, or has a header and no rows;
* a CSV row with more or fewer fields than its header (an unquoted comma in a prompt, say);
* a spreadsheet whose first sheet (the one read) is empty;
* a label cell that is empty, text (``'high'``, ``'3,5'``, ``'N/A'``: quoted in the message), NaN or infinite;
* an empty image name or prompt (a prompt may be empty only in a dataset without text prompts for every image:
  PKU-I2IQA), a repeated image name, and (with images) an image that is missing, a folder, or a broken
  symbolic link.

Text files are decoded as UTF-8 (a byte-order mark is honoured, UTF-16/32 included); a file that is not
UTF-8 is read as cp1252 (Latin-1 where cp1252 cannot) with a :class:`~tfagiqa.errors.DataWarning` naming
the encoding and the first such row; a file mixing UTF-8 with other bytes, or holding NUL bytes without a
byte-order mark (UTF-16 without BOM, binary data), is refused with the row and how to re-save it.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io

from tfagiqa.data import schema
from tfagiqa.data.images import path_problem
from tfagiqa.errors import DataError, DataWarning

ON_ERROR = ("raise", "skip")
SYNTHETIC_MARKER = "SYNTHETIC.json"
TFRECORD_DIR = "tfrecords"  # shards written here by `tfagiqa datasets to-tfrecord` are read by the pipeline
SKIP_HINT = ("Fix the file, or drop these rows and list them: on_error='skip' in Python, --skip-bad with "
             "`tfagiqa datasets summary` / `to-tfrecord` (`tfagiqa datasets check` lists every problem).")
SAVE_AS_UTF8 = "Save it as UTF-8 (in Excel: 'CSV UTF-8'; in an editor: encoding UTF-8) and try again."
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
SHOWN_PROBLEMS = 20
DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
NUMBER = re.compile(r"[+-]?((\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|inf|infinity|nan)", re.IGNORECASE)


def require_file(path: Path, dataset: str, hint: str) -> Path:
    """Return ``path`` if it is a file, else raise a DataError that says what to download and where to put it."""
    if path.is_dir():
        raise DataError(f"{dataset}: {path} is a folder, not the label file.\n{hint}")
    if not path.is_file():
        raise DataError(
            f"{dataset}: label file not found: {path}\n{hint}\nSee datasets/README.md for the folder layout."
        )
    return path


def read_text(path: Path) -> str:
    """The text of a user's file, decoded as described in the module docstring (DataError when refused)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return _decode(data, encoding, path, f"the file starts with a {encoding.upper()} byte-order mark")
    if b"\0" in data:
        nul_row = _row_of(data, data.index(b"\0"))
        raise DataError(f"{path}: row {nul_row} holds a NUL byte: this is UTF-16 without "
                        f"a byte-order mark, or not a text file. {SAVE_AS_UTF8}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    row = _row_of(data, first_bad)
    if any(not line.isascii() and _is_utf8(line) for line in data.split(b"\n")):
        raise DataError(f"{path}: row {row} is not UTF-8 (byte 0x{data[first_bad]:02x}) while other rows are: "
                        f"the file mixes two encodings. {SAVE_AS_UTF8}")
    encoding = "cp1252" if _decodes(data, "cp1252") else "latin-1"
    warnings.warn(f"{path} is not UTF-8 (row {row} has byte 0x{data[first_bad]:02x}); read it as {encoding}. "
                  "If its accented letters come out wrong, save it as UTF-8.", DataWarning, stacklevel=2)
    return data.decode(encoding)


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV file as text cells (NaN where empty), its header as columns; ``attrs["rows"]`` holds each record's
    line in the file. Blank lines are skipped; a ragged row, a repeated or empty column name is a DataError."""
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    records, lines, start = [], [], 1
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                records.append(record)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"{path}: row {reader.line_num}: {exc}. {SAVE_AS_UTF8}") from exc
    if not records:
        raise DataError(f"{path} is empty: expected a header line and one row per image")
    header, rows = [c.strip() for c in records[0]], records[1:]
    _check_header(header, path)
    ragged = [(line, len(r)) for line, r in zip(lines[1:], rows) if len(r) != len(header)]
    if ragged:
        shown = ", ".join(f"row {line} has {n}" for line, n in ragged[:5])
        raise DataError(f"{path}: the header has {len(header)} fields but {shown}"
                        + (f" (and {len(ragged) - 5} more rows)" if len(ragged) > 5 else "")
                        + ". Quote cells that contain commas (\"a, b\"), and give every row every column.")
    table = pd.DataFrame(rows, columns=header, dtype=object).replace("", np.nan)
    table.attrs.update(source=str(path), rows=lines[1:])
    return table


def read_excel(path: Path, header: int | None = 0) -> pd.DataFrame:
    """The first sheet of a spreadsheet (DataError for a damaged file or an empty sheet, naming the sheet);
    fully blank rows are dropped, ``attrs["rows"]`` holds each row's number in the sheet. Text such as
    ``'N/A'`` stays text (not NaN), so that a row holding only it is reported, not dropped as blank."""
    try:
        with pd.ExcelFile(path, engine="openpyxl") as book:
            sheets = list(book.sheet_names)
            table = book.parse(sheets[0], header=header, keep_default_na=False, na_values=[""])
    except Exception as exc:  # openpyxl raises many unrelated types for a damaged file
        raise DataError(f"cannot read spreadsheet {path}: {str(exc) or type(exc).__name__}. "
                        "Is it an .xlsx file? Open and re-save it in a spreadsheet program.") from exc
    if table.empty and not len(table.columns):
        raise DataError(f"{path}: sheet {sheets[0]!r} is empty; the labels are read from the first sheet "
                        f"(the file's sheets: {sheets}). Move the label table to the first sheet.")
    first = 2 if header == 0 else 1
    rows = [i + first for i in range(len(table))]
    keep = table.notna().any(axis=1).to_numpy()
    table = table[keep].reset_index(drop=True)
    table.attrs.update(source=str(path), sheet=sheets[0], rows=[r for r, k in zip(rows, keep) if k])
    return table


def require_columns(df: pd.DataFrame, columns: Sequence[str], source: Path) -> None:
    """Raise a DataError naming the missing columns, the ones the file (sheet) has, and a likely cause."""
    missing = [c for c in columns if c not in df.columns]
    if not missing:
        return
    where = f" (sheet {df.attrs['sheet']!r})" if "sheet" in df.attrs else ""
    found = [str(c) for c in df.columns]
    hint = "Is this the official, unmodified label file?"
    if len(found) == 1 and re.search(r"[;\t|]", found[0]):
        hint = "The file seems to use another separator than a comma; save it as a comma-separated CSV."
    raise DataError(f"{source}: missing column(s) {list(missing)}; the file{where} has {found}. {hint}")


def require_rows(df: pd.DataFrame, source: Path) -> None:
    """A label table with a header but no rows is refused (it would pass every check with zero images)."""
    if len(df) == 0:
        raise DataError(f"{source} has a header but no rows: no images are labelled. "
                        "Is the file complete (not cut off while copying)?")


def text_cells(cells: pd.Series, what: str) -> tuple[list[str], dict[int, str]]:
    """Cells as stripped strings ('' where empty) and the problems of the empty ones, keyed by DataFrame row."""
    values = ["" if _missing(c) else str(c).strip() for c in cells]
    return values, {i: f"no {what}" for i, v in enumerate(values) if not v}


def numbers(cells: pd.Series) -> pd.Series:
    """Label cells as float64: a cell that is not a real number (text, bool, complex) becomes NaN, which
    :func:`validate` then reports quoting the cell."""
    return pd.Series([_number(c) for c in cells], index=cells.index, dtype=float)


def mat_column(path: Path, key: str) -> tuple[np.ndarray, pd.Series]:
    """One column of numbers from a MATLAB file: (float64 [N], the cells as read, named ``"<file> <key>"``).

    An unreadable file, a missing key or a matrix that is not one row or column is a DataError; a cell that
    is not a number (text, an empty cell of a cell array) becomes NaN, and :func:`validate` quotes it.
    """
    try:
        content = scipy.io.loadmat(path)
    except Exception as exc:  # scipy raises ValueError, TypeError, NotImplementedError (v7.3), OSError...
        raise DataError(f"cannot read MATLAB file {path}: {str(exc) or type(exc).__name__}. "
                        "Is it a MATLAB .mat file of version 7.2 or older?") from exc
    if key not in content:
        keys = [k for k in content if not k.startswith("__")]
        raise DataError(f"{path}: no variable {key!r} (it has {keys})")
    array = np.asarray(content[key])
    if array.ndim > 2 or (array.ndim == 2 and min(array.shape) > 1):
        raise DataError(f"{path}: {key} is a {' × '.join(map(str, array.shape))} array; expected one column of values")
    cells = pd.Series([_mat_cell(c) for c in array.reshape(-1)], dtype=object, name=f"{path.name} {key}")
    return numbers(cells).to_numpy(), cells


def image_problem(path: str | os.PathLike) -> str | None:
    """Why an image path cannot be read as a file ("missing image <path>", a folder, a broken link), or None."""
    problem = path_problem(path)
    if problem is None:
        return None
    return f"missing image {path}" if problem == "file not found" else f"image {path}: {problem}"


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
    known_duplicates: frozenset[str] = frozenset(), *, rows: Sequence[int] | None = None,
    problems: Mapping[int, str] | None = None, cells: Mapping[str, pd.Series] | None = None,
    allow_empty_prompt: bool = False,
) -> pd.DataFrame:
    """Check canonical rows; raise listing every bad row, or drop them and list them in attrs["skipped"].

    Every label and ``<label>_std`` cell must be a finite number. ``rows`` are the file's numbers of the DataFrame's rows (default: ``first_row`` + position; 2 under a header
    line, 0 for index-keyed files). ``problems`` are what the reader already found, by position. ``cells``
    maps a label column to the cells it was parsed from (a Series named as the file names the column), so that
    a bad label is reported with its text. ``known_duplicates`` are names the official file itself repeats:
    kept, and listed in attrs["notes"]. ``allow_empty_prompt`` accepts rows without a text prompt.
    """
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
    rows = list(rows) if rows is not None else [i + first_row for i in range(len(df))]
    found: dict[int, str] = dict(problems or {})
    for column in label_columns_and_std(df):
        source_cells = (cells or {}).get(column)
        for i in np.flatnonzero(~np.isfinite(df[column].to_numpy(dtype=float))):
            cell = df[column].iat[i] if source_cells is None else source_cells.iat[i]
            name = column if source_cells is None else str(source_cells.name)
            found.setdefault(int(i), label_problem(column.replace("_", " "), name, cell, float(df[column].iat[i])))
    if not allow_empty_prompt:
        for i in np.flatnonzero(df[schema.PROMPT].fillna("").astype(str).str.strip().to_numpy() == ""):
            found.setdefault(int(i), "empty prompt")
    notes = []
    for i in np.flatnonzero(df[schema.NAME].duplicated(keep="first").to_numpy()):
        name = df[schema.NAME].iat[i]
        if name in known_duplicates:
            notes.append(f"row {rows[i]}: {name} repeats an earlier row in the official file; kept")
        elif name:
            found.setdefault(int(i), f"duplicate image name {name!r}")
    if require_images:
        for i, path in enumerate(df[schema.IMAGE]):
            if i not in found and (problem := image_problem(path)):
                found[i] = problem
    found = dict(sorted(found.items()))
    if found and on_error == "raise":
        listed = "\n".join(f"  row {rows[i]} ({df[schema.NAME].iat[i] or '?'}): {m}"
                           for i, m in list(found.items())[:SHOWN_PROBLEMS])
        more = f"\n  ... and {len(found) - SHOWN_PROBLEMS} more" if len(found) > SHOWN_PROBLEMS else ""
        raise DataError(f"{source}: {len(found)} bad row(s) (row numbers as in the file):\n{listed}{more}\n{SKIP_HINT}")
    skipped = [{"source": str(source), "row": rows[i], "name": df[schema.NAME].iat[i], "problem": m}
               for i, m in found.items()]
    out = df.drop(index=df.index[list(found)]).reset_index(drop=True)
    out.attrs.update(df.attrs)
    out.attrs["skipped"] = skipped
    out.attrs["notes"] = notes
    return out


def label_columns_and_std(df: pd.DataFrame) -> list[str]:
    """The label columns and their ``<label>_std`` companions present in ``df``: all must be finite numbers."""
    return [c for label in schema.label_columns(df) for c in (label, f"{label}_std") if c in df.columns]


def label_problem(label: str, column: str, cell: object, value: float) -> str:
    """Why a label cell is unusable, quoting the cell: empty, text that is not a number, NaN or infinite."""
    if _missing(cell):
        return f"NaN {label} label (no value in {column})"
    text = str(cell).strip()
    if np.isnan(value) and text.lower() not in ("nan", "-nan", "+nan"):
        hint = "; use a dot as the decimal separator" if DECIMAL_COMMA.fullmatch(text) else ""
        return f"{label} label: {column} is {text!r}, not a number{hint}"
    kind = "NaN" if np.isnan(value) else "infinite"
    return f"{kind} {label} label ({column} is {text!r})"


def finish(df: pd.DataFrame, dataset: str, dataset_dir: Path) -> pd.DataFrame:
    """Stamp the dataset name and whether the folder is the synthetic stand-in."""
    df[schema.DATASET] = dataset
    df.attrs["dataset"] = dataset
    df.attrs["data"] = "synthetic" if (dataset_dir / SYNTHETIC_MARKER).is_file() else "real"
    df.attrs["root"] = str(dataset_dir)
    if (dataset_dir / TFRECORD_DIR / "manifest.json").is_file():
        df.attrs["tfrecords"] = str(dataset_dir / TFRECORD_DIR)
    return df


def _check_header(header: list[str], path: Path) -> None:
    """A header with an empty or repeated column name is refused (which column is meant would be a guess)."""
    if not all(header):
        raise DataError(f"{path}: the header (row 1) has an empty column name: {header}. Name every column.")
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise DataError(f"{path}: the header (row 1) repeats column(s) {repeated}. Give every column its own name.")


def _decode(data: bytes, encoding: str, path: Path, why: str) -> str:
    """Decode with the encoding a byte-order mark declares; a DataError naming the row if that fails."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: {why}, but row {_row_of(data, exc.start)} is not valid {encoding.upper()}. "
                        f"{SAVE_AS_UTF8}") from exc


def _row_of(data: bytes, offset: int) -> int:
    """The 1-based line of a byte offset."""
    return data.count(b"\n", 0, offset) + 1


def _is_utf8(line: bytes) -> bool:
    return _decodes(line, "utf-8")


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _number(cell: object) -> float:
    """A cell's value as a float: ints and floats as they are, decimal text (dot separator, optional exponent,
    inf, nan) parsed; anything else NaN."""
    if isinstance(cell, (int, float, np.integer, np.floating)) and not isinstance(cell, (bool, np.bool_)):
        return float(cell)
    if isinstance(cell, str) and NUMBER.fullmatch(cell.strip()):
        return float(cell.strip())
    return float("nan")


def _mat_cell(cell: object) -> object:
    """A MATLAB cell's value: the number or text it holds (a cell array's element is itself an array)."""
    while isinstance(cell, np.ndarray):
        if cell.size != 1:
            return None if cell.size == 0 else str(cell.tolist())
        cell = cell.reshape(-1)[0]
    return cell.item() if isinstance(cell, np.generic) else cell


def _missing(cell: object) -> bool:
    """None, NaN, pd.NA or an empty string."""
    if isinstance(cell, str):
        return not cell.strip()
    try:
        return bool(pd.isna(cell))
    except (TypeError, ValueError):
        return False
