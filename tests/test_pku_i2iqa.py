"""PKU-I2IQA: the stand-in's layout, both releases' layouts read alike, other layouts refused, bad rows named by
their spreadsheet row (and skipped on request), and the `tfagiqa datasets` commands on it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from tfagiqa.cli import main
from tfagiqa.data import load_dataset, schema
from tfagiqa.data.pku_i2iqa import read_pku_i2iqa
from tfagiqa.data.synthetic import write_synthetic
from tfagiqa.errors import DataError

N = 32  # 4 image prompts × 2 generators × 4 images
COLUMNS = ["Image_prompt", "Text_prompt", "Generated_image", "MOS_q", "MOS_a", "MOS_c"]


@pytest.fixture(scope="module")
def standin(tmp_path_factory) -> Path:
    return write_synthetic("pku_i2iqa", tmp_path_factory.mktemp("pku") / "PKU-I2IQA", n=N, image_size=32)


@pytest.fixture
def copy(standin, tmp_path) -> Path:
    """A private copy of the stand-in to break."""
    return Path(shutil.copytree(standin, tmp_path / "PKU-I2IQA"))


def rows_of(path: Path) -> list[list]:
    return [list(r) for r in openpyxl.load_workbook(path).active.iter_rows(values_only=True)]


def write_rows(path: Path, rows: list[list]) -> None:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)


def edit(folder: Path, change) -> Path:
    """Apply ``change(rows)`` (header at rows[0]; spreadsheet row r is rows[r - 1]) to the label file."""
    path = folder / "I2IQA_annotation.xlsx"
    rows = rows_of(path)
    change(rows)
    write_rows(path, rows)
    return path


def test_standin_is_written_in_the_release_layout(standin):
    table = pd.read_excel(standin / "I2IQA_annotation.xlsx")
    assert list(table.columns) == COLUMNS and len(table) == N and table["Generated_image"].is_unique
    assert table[["MOS_q", "MOS_a", "MOS_c"]].stack().between(0, 5).all()
    assert sorted(p.name for p in (standin / "Generated_image" / "All").iterdir()) == sorted(table["Generated_image"])
    assert sorted(p.name for p in (standin / "Image_prompt").iterdir()) == [f"{k}.jpg" for k in range(N // 8)]
    assert table["Generated_image"].str.match(r"^(MJ|SD)_").all()
    blocks = table.groupby(table.index // 4)  # rows come in blocks of four: one prompt image, one generator
    assert (blocks["Image_prompt"].nunique() == 1).all()
    assert (blocks["Generated_image"].apply(lambda s: s.str[:2].nunique()) == 1).all()
    assert table.groupby("Image_prompt").size().eq(8).all()


def test_reader_gives_canonical_columns(standin):
    df = read_pku_i2iqa(standin)
    assert df.attrs["data"] == "synthetic" and df.attrs["release"] == "PKU-I2IQA" and not df.attrs["skipped"]
    assert schema.label_columns(df) == ["quality", "alignment", "authenticity"]
    assert set(df["generator"]) == {"midjourney", "stable-diffusion"}
    assert df["group"].nunique() == N // 8 and df["group"].str.startswith("image_prompt_").all()
    assert all(Path(p).is_file() for p in [*df["image"], *df["image_prompt"]])
    table = pd.read_excel(standin / "I2IQA_annotation.xlsx")
    assert df["quality"].tolist() == table["MOS_q"].tolist() and df["prompt"].tolist() == table["Text_prompt"].tolist()


def test_the_pku_aigiqa_4k_layout_reads_the_same_rows(standin, tmp_path):
    """annotation.xlsx with text-to-image rows after the I2I ones, All/ and I2I/Image_prompt/ (the 4K release)."""
    folder = tmp_path / "PKU-AIGIQA-4K"
    (folder / "I2I").mkdir(parents=True)
    shutil.copytree(standin / "Generated_image" / "All", folder / "All")
    shutil.copytree(standin / "Image_prompt", folder / "I2I" / "Image_prompt")
    rows = rows_of(standin / "I2IQA_annotation.xlsx")
    t2i = [[None, "a text-to-image prompt", f"DALLE_{k}_00.jpg", 3.0, 3.0, 3.0] for k in range(3)]
    write_rows(folder / "annotation.xlsx", rows + t2i)
    df = read_pku_i2iqa(folder)
    expected = read_pku_i2iqa(standin)
    assert df.attrs["release"] == "PKU-AIGIQA-4K" and len(df) == N
    assert df.drop(columns=["image", "image_prompt"]).equals(expected.drop(columns=["image", "image_prompt"]))
    assert df.attrs["notes"] == ["annotation.xlsx: 3 text-to-image row(s) (no Image_prompt) left out; "
                                 "PKU-I2IQA is the image-to-image subset"]


def test_other_layouts_are_refused_naming_both_releases(copy):
    table = pd.read_excel(copy / "I2IQA_annotation.xlsx")
    table.to_csv(copy / "I2IQA_annotation.csv", index=False)
    (copy / "I2IQA_annotation.xlsx").unlink()
    with pytest.raises(DataError) as error:
        read_pku_i2iqa(copy)
    message = str(error.value)
    assert "neither I2IQA_annotation.xlsx" in message and "annotation.xlsx (PKU-AIGIQA-4K" in message
    assert "I2IQA_annotation.csv" in message and "a CSV export" in message


def test_a_missing_score_column_is_named(copy):
    source = edit(copy, lambda rows: rows[0].__setitem__(3, "quality"))
    with pytest.raises(DataError, match=r"missing column\(s\) \['MOS_q'\]") as error:
        read_pku_i2iqa(copy)
    assert str(source) in str(error.value)


def test_bad_rows_are_named_by_spreadsheet_row_and_can_be_skipped(copy):
    rows = rows_of(copy / "I2IQA_annotation.xlsx")
    names = [r[2] for r in rows[1:]]
    (copy / "Generated_image" / "All" / names[6]).unlink()     # row 8: missing image
    (copy / "Image_prompt" / "3.jpg").unlink()                 # rows 26-33: their prompt image is missing

    def damage(rows):
        rows[2][3] = "high"            # row 3: a score that is text
        rows[3][2] = None              # row 4: no generated image name
        rows[4][2] = "DALLE_4_0.jpg"   # row 5: not Midjourney or Stable Diffusion
        rows[5][2] = rows[1][2]        # row 6: repeats row 2's image
        rows[6][0] = None              # row 7: no image prompt
    source = edit(copy, damage)
    with pytest.raises(DataError) as error:
        read_pku_i2iqa(copy)
    message = str(error.value)
    assert f"{source}: 14 bad row(s)" in message
    for text in ("row 3 (", "MOS_q is 'high', not a number", "row 4 (?): no generated image name",
                 "row 5 (DALLE_4_0.jpg): generated image name 'DALLE_4_0.jpg' does not start with MJ_ or SD_",
                 f"row 6 ({names[0]}): duplicate image name", "row 7 (", "no image prompt", f"row 8 ({names[6]}): "
                 "missing image", "row 26 (", "image prompt", "3.jpg: file not found"):
        assert text in message, text
    df = read_pku_i2iqa(copy, on_error="skip")
    assert len(df) == N - 14 and sorted(s["row"] for s in df.attrs["skipped"]) == [3, 4, 5, 6, 7, 8, *range(26, 34)]
    assert read_pku_i2iqa(copy, require_images=False, on_error="skip").shape[0] == N - 5


def test_text_prompts_and_optional_scores_may_be_absent(copy):
    def drop(rows):
        for row in rows:
            del row[4:6]     # MOS_a, MOS_c
            del row[1]       # Text_prompt
    edit(copy, drop)
    df = read_pku_i2iqa(copy)
    assert len(df) == N and (df["prompt"] == "").all() and schema.label_columns(df) == ["quality"]


def test_an_empty_text_prompt_is_read_as_no_prompt(copy):
    edit(copy, lambda rows: rows[1].__setitem__(1, None))
    df = read_pku_i2iqa(copy)
    assert len(df) == N and df["prompt"].iat[0] == "" and (df["prompt"].iloc[1:] != "").all()


def test_load_dataset_and_cli_on_the_standin(tmp_path, capsys):
    df = load_dataset("pku_i2iqa", tmp_path)  # no real dataset under tmp_path: the stand-in
    assert df.attrs["data"] == "synthetic" and (tmp_path / "synthetic" / "PKU-I2IQA" / "I2IQA_annotation.xlsx").is_file()
    assert main(["datasets", "check", "--dataset", "pku_i2iqa", "--data-root", str(tmp_path)]) == 0
    assert f"clean, {len(df)} images" in capsys.readouterr().out
    assert main(["datasets", "summary", "--dataset", "pku_i2iqa", "--data-root", str(tmp_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == len(df) and set(summary["per_generator"]) == {"midjourney", "stable-diffusion"}
    assert set(summary["labels"]) == {"quality", "alignment", "authenticity"}
