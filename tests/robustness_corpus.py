"""A corpus of broken dataset folders and awkward image folders, made at test time from the synthetic stand-ins.

Each :class:`Case` copies one synthetic layout and breaks it in one way; ``outcome`` says what every entry point
must make of it: ``clean`` (read as it is), ``problems`` (bad rows: listed by ``datasets check``, refused by
``summary`` and the readers unless rows are skipped), ``image`` (an image that only decoding shows to be
broken: listed by ``check``, which decodes every image; the readers do not decode) or ``error`` (the folder
cannot be read: one clear message).
``expect`` are substrings the message must hold (the file, the row, the cell's text). ``warn`` is a substring of
the warning the reading must give (a file read in another encoding).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import openpyxl
import scipy.io
from hypothesis import settings
from PIL import Image

from conftest import SYNTHETIC_DIRS

from tfagiqa.data import LABEL_FILES

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0  # root reads files whatever their permissions


def examples(scale: float = 1.0) -> settings:
    """Hypothesis settings with the loaded profile's example count times ``scale`` (at least 2)."""
    return settings(max_examples=max(2, round(settings.default.max_examples * scale)))


def copy_layout(root: Path, layout: str, dest: Path) -> Path:
    """A private copy of the synthetic ``layout`` under ``dest`` (its folder named as the dataset's)."""
    folder = dest / SYNTHETIC_DIRS[layout]
    shutil.copytree(root / SYNTHETIC_DIRS[layout], folder)
    return folder


# --- editing helpers -------------------------------------------------------------------------------------------

def csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def write_rows(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))


def set_cell(path: Path, row: int, column: str, value: str) -> None:
    """Set a data row's (0-based) cell of a CSV file."""
    rows = csv_rows(path)
    rows[row + 1][rows[0].index(column)] = value
    write_rows(path, rows)


def sheet_rows(path: Path) -> list[list]:
    return [list(r) for r in openpyxl.load_workbook(path).active.iter_rows(values_only=True)]


def write_sheet(path: Path, rows: list[list], first_sheet: str | None = None) -> None:
    """A workbook with ``rows`` on a sheet 'Sheet1', optionally behind an empty first sheet."""
    book = openpyxl.Workbook()
    book.active.title = "Sheet1"
    for row in rows:
        book.active.append(row)
    if first_sheet is not None:
        book.create_sheet(first_sheet, 0)
    book.save(path)


def set_sheet_cell(path: Path, row: int, column: str, value) -> None:
    rows = sheet_rows(path)
    rows[row + 1][rows[0].index(column)] = value
    write_sheet(path, rows)


def mat_values(path: Path, key: str) -> np.ndarray:
    return scipy.io.loadmat(path)[key]


def mat_cells(values: np.ndarray, replace: dict[int, object]) -> np.ndarray:
    """A MATLAB cell array (N, 1) of the values, with some elements replaced (e.g. by text)."""
    cells = np.empty((len(values.reshape(-1)), 1), dtype=object)
    for i, v in enumerate(values.reshape(-1)):
        cells[i, 0] = replace.get(i, float(v))
    return cells


def image_of(folder: Path, layout: str, row: int) -> Path:
    """The image file of a data row of a synthetic copy."""
    if layout == "agiqa3k":
        return folder / "images" / csv_rows(folder / "data.csv")[row + 1][0]
    if layout == "agiqa1k":
        return folder / "images" / sheet_rows(folder / "AIGC_MOS_Zscore.xlsx")[row + 1][0]
    if layout == "aigiqa20k":
        return folder / "train" / sheet_rows(folder / "info_train.xlsx")[row + 1][0]
    return folder / "Image" / "allimg" / f"{row}.png"


# --- mutations -------------------------------------------------------------------------------------------------

def cell(column: str, value: str, row: int = 1) -> Callable[[Path], None]:
    return lambda d: set_cell(d / "data.csv", row, column, value)


def reencode(encoding: str, text: str | None = "café crème") -> Callable[[Path], None]:
    def mutate(d: Path) -> None:
        rows = csv_rows(d / "data.csv")
        if text:
            rows[3][1] = f"{rows[3][1]}, {text}"
        write_rows(d / "data.csv", rows, encoding)
    return mutate


def mixed_encodings(d: Path) -> None:
    rows = csv_rows(d / "data.csv")
    rows[2][1] += ", naïve"
    data = io.StringIO()
    csv.writer(data, lineterminator="\n").writerows(rows[:4])
    tail = io.StringIO()
    csv.writer(tail, lineterminator="\n").writerows(rows[4:])
    (d / "data.csv").write_bytes(data.getvalue().encode("utf-8") + tail.getvalue().replace("a", "á").encode("cp1252"))


def ragged(extra: bool) -> Callable[[Path], None]:
    """Data row 1 (file row 3) with a field too many (an unquoted comma) or with only 5 fields."""
    def mutate(d: Path) -> None:
        rows = csv_rows(d / "data.csv")
        rows[2] = [*rows[2], "oops"] if extra else rows[2][:5]
        write_rows(d / "data.csv", rows)
    return mutate


def header_only_csv(d: Path) -> None:
    (d / "data.csv").write_text((d / "data.csv").read_text().splitlines()[0] + "\n")


def blank_line_then_bad(d: Path) -> None:
    rows = csv_rows(d / "data.csv")
    rows[4][rows[0].index("mos_quality")] = "high"
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    lines = text.getvalue().splitlines()
    (d / "data.csv").write_text("\n".join(lines[:2] + [""] + lines[2:]) + "\n")  # the bad row is now line 6


def semicolons(d: Path) -> None:
    write_rows(d / "data.csv", [[";".join(r)] for r in csv_rows(d / "data.csv")])


def rename_column(d: Path) -> None:
    rows = csv_rows(d / "data.csv")
    rows[0][rows[0].index("mos_align")] = "alignment"
    write_rows(d / "data.csv", rows)


def duplicate_name(d: Path) -> None:
    rows = csv_rows(d / "data.csv")
    rows[3][0] = rows[2][0]
    write_rows(d / "data.csv", rows)


def image_to(kind: str, layout: str = "agiqa3k", row: int = 0) -> Callable[[Path], None]:
    """Replace a row's image: missing, a folder, a broken link, truncated."""
    def mutate(d: Path) -> None:
        image = image_of(d, layout, row)
        data = image.read_bytes()
        image.unlink()
        if kind == "folder":
            image.mkdir()
        elif kind == "broken_link":
            image.symlink_to(d / "nowhere.jpg")
        elif kind == "truncated":
            image.write_bytes(data[: len(data) // 3])
    return mutate


def sheet_edit(file: str, row: int, column: str, value) -> Callable[[Path], None]:
    return lambda d: set_sheet_cell(d / file, row, column, value)


def sheet_row(file: str, row: int, values: list) -> Callable[[Path], None]:
    """Replace a whole data row (0 = the first after the header)."""
    def mutate(d: Path) -> None:
        rows = sheet_rows(d / file)
        rows[row + 1] = values
        write_sheet(d / file, rows)
    return mutate


def sheet_header_only(file: str) -> Callable[[Path], None]:
    return lambda d: write_sheet(d / file, sheet_rows(d / file)[:1])


def empty_first_sheet(file: str) -> Callable[[Path], None]:
    return lambda d: write_sheet(d / file, sheet_rows(d / file), first_sheet="Empty")


def not_a_spreadsheet(file: str) -> Callable[[Path], None]:
    return lambda d: (d / file).write_text("name,prompt\nthis is a CSV renamed to .xlsx\n")


def mat_edit(file: str, key: str, make: Callable[[np.ndarray], dict]) -> Callable[[Path], None]:
    def mutate(d: Path) -> None:
        path = d / "DATA" / file
        scipy.io.savemat(path, make(mat_values(path, key)))
    return mutate


def mat_set(values: np.ndarray, index: int, value: float) -> np.ndarray:
    values = values.astype(float).copy()
    values.reshape(-1)[index] = value
    return values


def empty_prompt_sheet(d: Path) -> None:
    write_sheet(d / "AIGCIQA2023_Prompts.xlsx", [])


@dataclass(frozen=True)
class Case:
    id: str
    layout: str
    mutate: Callable[[Path], None]
    outcome: str  # clean | problems | image | error
    expect: tuple[str, ...] = ()
    warn: str | None = None
    bad_rows: int = field(default=1)


CASES = [
    # AGIQA-3K data.csv
    Case("3k-text-label", "agiqa3k", cell("mos_quality", "high"), "problems",
         ("data.csv row 3", "mos_quality is 'high', not a number")),
    Case("3k-decimal-comma", "agiqa3k", cell("mos_quality", "3,5"), "problems", ("'3,5'", "decimal separator")),
    Case("3k-na-text", "agiqa3k", cell("mos_align", "N/A"), "problems", ("mos_align is 'N/A'",)),
    Case("3k-empty-label", "agiqa3k", cell("mos_quality", ""), "problems", ("row 3", "NaN quality label")),
    Case("3k-infinite-label", "agiqa3k", cell("mos_align", "inf"), "problems", ("infinite alignment label",)),
    Case("3k-huge-label", "agiqa3k", cell("mos_align", "1e400"), "problems", ("'1e400'", "infinite")),
    Case("3k-text-std", "agiqa3k", cell("std_quality", "x"), "problems", ("std_quality is 'x'",)),
    Case("3k-bad-name", "agiqa3k", cell("name", "picture.jpg"), "problems", ("is not model_variant_NNN.jpg",)),
    Case("3k-empty-name", "agiqa3k", cell("name", ""), "problems", ("row 3 (?)", "no image name")),
    Case("3k-empty-prompt", "agiqa3k", cell("prompt", "  "), "problems", ("empty prompt",)),
    Case("3k-duplicate-name", "agiqa3k", duplicate_name, "problems", ("row 4", "duplicate image name")),
    Case("3k-missing-image", "agiqa3k", image_to("missing"), "problems", ("missing image",)),
    Case("3k-image-is-folder", "agiqa3k", image_to("folder"), "problems", ("it is a folder, not a file",)),
    Case("3k-broken-link", "agiqa3k", image_to("broken_link"), "problems", ("broken symbolic link",)),
    Case("3k-truncated-image", "agiqa3k", image_to("truncated"), "image", ("cannot read image", "runcated")),
    Case("3k-blank-line", "agiqa3k", blank_line_then_bad, "problems", ("data.csv row 6", "'high'")),
    Case("3k-renamed-column", "agiqa3k", rename_column, "error", ("missing column(s) ['mos_align']", "'alignment'")),
    Case("3k-semicolons", "agiqa3k", semicolons, "error", ("another separator",)),
    Case("3k-header-only", "agiqa3k", header_only_csv, "error", ("data.csv has a header but no rows",)),
    Case("3k-empty-file", "agiqa3k", lambda d: (d / "data.csv").write_bytes(b""), "error", ("data.csv is empty",)),
    Case("3k-ragged-long", "agiqa3k", ragged(True), "error", ("row 3 has 10", "Quote cells")),
    Case("3k-ragged-short", "agiqa3k", ragged(False), "error", ("row 3 has 5",)),
    Case("3k-utf8-bom", "agiqa3k", reencode("utf-8-sig"), "clean"),
    Case("3k-utf16-bom", "agiqa3k", reencode("utf-16"), "clean"),
    Case("3k-latin1", "agiqa3k", reencode("latin-1"), "clean", warn="read it as cp1252"),
    Case("3k-utf16-no-bom", "agiqa3k", reencode("utf-16-le"), "error", ("NUL byte", "Save it as UTF-8")),
    Case("3k-mixed-encodings", "agiqa3k", mixed_encodings, "error", ("row 5", "mixes two encodings")),
    # AGIQA-1K AIGC_MOS_Zscore.xlsx
    Case("1k-text-label", "agiqa1k", sheet_edit("AIGC_MOS_Zscore.xlsx", 1, "MOS", "high"), "problems",
         ("AIGC_MOS_Zscore.xlsx row 3", "MOS is 'high'")),
    Case("1k-empty-label", "agiqa1k", sheet_edit("AIGC_MOS_Zscore.xlsx", 2, "MOS", None), "problems",
         ("row 4", "NaN overall label")),
    Case("1k-na-only-row", "agiqa1k", sheet_row("AIGC_MOS_Zscore.xlsx", 1, [None, None, "N/A"]), "problems",
         ("AIGC_MOS_Zscore.xlsx row 3", "no image name")),
    Case("1k-bad-name", "agiqa1k", sheet_edit("AIGC_MOS_Zscore.xlsx", 0, "Image", 12345), "problems",
         ("'12345' is not {deepai|dreamStudio}",)),
    Case("1k-missing-image", "agiqa1k", image_to("missing", "agiqa1k", 2), "problems", ("missing image",)),
    Case("1k-empty-first-sheet", "agiqa1k", empty_first_sheet("AIGC_MOS_Zscore.xlsx"), "error",
         ("sheet 'Empty' is empty", "['Empty', 'Sheet1']")),
    Case("1k-header-only", "agiqa1k", sheet_header_only("AIGC_MOS_Zscore.xlsx"), "error", ("header but no rows",)),
    Case("1k-renamed-column", "agiqa1k", lambda d: write_sheet(
        d / "AIGC_MOS_Zscore.xlsx", [["Image", "Prompt", "Score"], *sheet_rows(d / "AIGC_MOS_Zscore.xlsx")[1:]]),
        "error", ("missing column(s) ['MOS']", "sheet 'Sheet1'")),
    Case("1k-not-a-spreadsheet", "agiqa1k", not_a_spreadsheet("AIGC_MOS_Zscore.xlsx"), "error",
         ("cannot read spreadsheet", "AIGC_MOS_Zscore.xlsx")),
    # AIGCIQA2023 .mat + prompt sheet
    Case("2023-text-cell", "aigciqa2023", mat_edit("MOS/mosz2.mat", "MOSz", lambda v: {"MOSz": mat_cells(v, {5: "high"})}),
         "problems", ("row 5 (5.png)", "mosz2.mat MOSz is 'high'")),
    Case("2023-empty-cell", "aigciqa2023", mat_edit("MOS/mosz3.mat", "MOSz", lambda v: {
        "MOSz": mat_cells(v, {7: np.zeros((0, 0))})}), "problems", ("row 7", "NaN alignment label")),
    Case("2023-text-array", "aigciqa2023", mat_edit("MOS/mosz1.mat", "MOSz", lambda v: {"MOSz": np.array(["abc"] * v.size)}),
         "problems", ("mosz1.mat MOSz is 'abc'",), bad_rows=24),
    Case("2023-infinite", "aigciqa2023", mat_edit("MOS/mosz1.mat", "MOSz", lambda v: {"MOSz": mat_set(v, 3, np.inf)}),
         "problems", ("row 3 (3.png)", "infinite quality label")),
    Case("2023-nan-std", "aigciqa2023", mat_edit("STD/SD2.mat", "SD", lambda v: {"SD": mat_set(v, 4, np.nan)}),
         "problems", ("row 4", "SD2.mat SD")),
    Case("2023-wrong-key", "aigciqa2023", mat_edit("MOS/mosz1.mat", "MOSz", lambda v: {"MOS": v}), "error",
         ("mosz1.mat: no variable 'MOSz'", "['MOS']")),
    Case("2023-matrix", "aigciqa2023", mat_edit("MOS/mosz1.mat", "MOSz", lambda v: {"MOSz": v.reshape(2, -1)}),
         "error", ("MOSz is a 2 × 12 array",)),
    Case("2023-short", "aigciqa2023", mat_edit("STD/SD3.mat", "SD", lambda v: {"SD": v[:-1]}), "error",
         ("'SD3.mat': 23",)),
    Case("2023-empty-mat", "aigciqa2023", mat_edit("MOS/mosz1.mat", "MOSz", lambda v: {"MOSz": np.zeros((0, 1))}),
         "error", ("same length",)),
    Case("2023-garbage-mat", "aigciqa2023", lambda d: (d / "DATA/MOS/mosz2.mat").write_bytes(b"garbage" * 20),
         "error", ("cannot read MATLAB file", "mosz2.mat")),
    Case("2023-empty-prompt-sheet", "aigciqa2023", empty_prompt_sheet, "error",
         ("AIGCIQA2023_Prompts.xlsx: sheet 'Sheet1' is empty",)),
    Case("2023-missing-image", "aigciqa2023", image_to("missing", "aigciqa2023", 9), "problems", ("row 9", "missing image")),
    # AIGIQA-20K info_{train,val,test}.xlsx
    Case("20k-text-label", "aigiqa20k", sheet_edit("info_train.xlsx", 2, "mos", "3,5"), "problems",
         ("info_train.xlsx row 4", "mos is '3,5'")),
    Case("20k-header-only", "aigiqa20k", sheet_header_only("info_train.xlsx"), "error",
         ("info_train.xlsx has a header but no rows",)),
    Case("20k-broken-val", "aigiqa20k", not_a_spreadsheet("info_val.xlsx"), "error", ("info_val.xlsx",)),
    Case("20k-val-no-name", "aigiqa20k", sheet_edit("info_val.xlsx", 1, "name", None), "problems",
         ("info_val.xlsx row 3", "no image name")),
    Case("20k-empty-first-sheet", "aigiqa20k", empty_first_sheet("info_test.xlsx"), "error",
         ("info_test.xlsx: sheet 'Empty' is empty",)),
    Case("20k-image-is-folder", "aigiqa20k", image_to("folder", "aigiqa20k", 1), "problems", ("it is a folder",)),
]


# --- awkward image folders for `tfagiqa score` ------------------------------------------------------------------

def awkward_images(folder: Path) -> dict[str, str | None]:
    """A folder of entries named like images, each with the error substring expected for it (None: scored)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    expected: dict[str, str | None] = {}

    def image(name: str, error: str | None = None, **save) -> Path:
        Image.fromarray(pixels).save(folder / name, **save)
        expected[name] = error
        return folder / name

    image("ok.png")
    image("upper.JPG", format="JPEG")
    Image.new("RGB", (1, 1)).save(folder / "tiny.png")
    Image.new("RGB", (3000, 1)).save(folder / "strip.png")
    expected.update({"tiny.png": None, "strip.png": None})
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.png").write_text("not an image")
    jpeg = image("cut.jpg", format="JPEG").read_bytes()
    (folder / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    expected.update({"empty.jpg": "empty file", "text.png": "not a recognised image file", "cut.jpg": "runcated"})
    (folder / "broken.png").symlink_to(folder / "gone.png")
    expected["broken.png"] = "broken symbolic link"
    (folder / "folder.jpg").mkdir()
    expected["folder.jpg"] = "it is a folder"
    Image.fromarray(pixels).save(folder / "folder.jpg" / "inside.png")
    expected["folder.jpg/inside.png"] = None
    (folder / "linked.png").symlink_to(folder / "ok.png")
    expected["linked.png"] = None
    Image.fromarray(pixels).save(os.fsencode(folder) + b"/caf\xe9.png")  # not UTF-8: Latin-1 bytes
    expected["caf\ufffd.png"] = None
    (folder / "notes.txt").write_text("not listed: no image suffix")
    if not IS_ROOT:
        image("locked.png", "Permission denied").chmod(0)
    return expected
