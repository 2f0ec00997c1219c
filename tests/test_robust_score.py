"""``tfagiqa score`` with awkward inputs: every entry of a folder or row of a listing gets a row and is counted,
prompt and listing CSVs in other encodings are read (or refused naming the row), bad model files and output paths
are one clear line, and a catalogue model without weights gives the same file in every process."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from robustness_corpus import awkward_images
from tfagiqa.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["score", *argv, "--no-progress"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


def rows_of(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> tuple[Path, dict[str, str | None]]:
    folder = tmp_path_factory.mktemp("awkward") / "images"
    return folder, awkward_images(folder)


@pytest.fixture
def two_images(tmp_path) -> Path:
    folder = tmp_path / "two"
    folder.mkdir()
    for name, colour in (("a.png", "red"), ("b.png", "blue")):
        Image.new("RGB", (9, 7), colour).save(folder / name)
    return folder


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_every_folder_entry_gets_a_row_and_is_counted(images, tiny_savedmodels, tmp_path, capsys, fmt):
    folder, expected = images
    out = tmp_path / f"scores.{fmt}"
    code, stdout, _ = run(capsys, "--model", str(tiny_savedmodels["perception"]), "--images", str(folder),
                          "--out", str(out), "--format", fmt, "--batch-size", "3")
    failed = sum(error is not None for error in expected.values())
    assert code == 1 and f"scored {len(expected) - failed} of {len(expected)} images" in stdout, stdout
    rows = rows_of(out) if fmt == "csv" else json.loads(out.read_text(encoding="utf-8"))
    by_name = {Path(r["path"]).relative_to(folder).as_posix(): r for r in rows}
    assert len(rows) == len(by_name) == len(expected) and set(by_name) == set(expected)
    assert [r["path"] for r in rows] == sorted(r["path"] for r in rows)  # input order: sorted relative paths
    for name, error in expected.items():
        row = by_name[name]
        if error is None:
            assert not row["error"] and row["quality"] not in ("", None), row
        else:
            assert error in row["error"] and row["quality"] in ("", None), row


def test_a_folder_that_cannot_be_listed_gets_a_row(tiny_savedmodels, two_images, tmp_path, capsys, monkeypatch):
    locked = two_images / "locked"
    locked.mkdir()
    Image.new("RGB", (5, 5)).save(locked / "hidden.png")
    listing = os.scandir

    def scandir(path="."):  # as for a folder without read permission (which root, running tests, can still read)
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code, stdout, _ = run(capsys, "--model", str(tiny_savedmodels["perception"]), "--images", str(two_images),
                          "--out", str(tmp_path / "o.csv"))
    rows = {Path(r["path"]).name: r for r in rows_of(tmp_path / "o.csv")}
    assert code == 1 and "scored 2 of 3 images" in stdout
    assert rows["locked"]["error"] == "cannot list this folder (Permission denied): its images are not scored"


def test_listing_csv_accounts_for_every_row(images, tiny_savedmodels, tmp_path, capsys):
    folder, _ = images
    listing = tmp_path / "listing.csv"
    text = (f"path,note\n{folder / 'ok.png'},absolute\n,no path here\n{os.path.relpath(folder / 'tiny.png', tmp_path)},"
            f"relative\nnot/there.png,missing\n{folder / 'ok.png'},again\n")
    listing.write_bytes(text.encode("utf-16"))  # a listing saved by Excel as 'Unicode Text'-like UTF-16
    out = tmp_path / "listed.csv"
    code, stdout, _ = run(capsys, "--model", str(tiny_savedmodels["perception"]), "--images", str(listing),
                          "--out", str(out))
    rows = rows_of(out)
    assert code == 1 and "scored 3 of 5 images" in stdout
    assert [r["error"] for r in rows][1] == "row 3 of listing.csv has no path"
    assert "file not found" in rows[3]["error"] and rows[0]["quality"] == rows[4]["quality"] != ""


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252"])
def test_prompt_files_in_other_encodings(tiny_savedmodels, two_images, tmp_path, capsys, encoding):
    prompts = tmp_path / "prompts.csv"
    prompts.write_bytes("path,prompt\na.png,café crème, “quoted”\nb.png,a dog\n".replace(
        "café crème, “quoted”", '"café crème, “quoted”"').encode(encoding))
    out = tmp_path / "aligned.csv"
    code, _, err = run(capsys, "--model", str(tiny_savedmodels["alignment"]), "--images", str(two_images),
                       "--prompts", str(prompts), "--out", str(out))
    assert code == 0, err
    assert [r["prompt"] for r in rows_of(out)] == ["café crème, “quoted”", "a dog"]
    assert ("read it as cp1252" in err) == (encoding == "cp1252")


@pytest.mark.parametrize("content, message", [
    ("path,prompt\na.png,a cat, on a mat, oil painting\nb.png,a dog\n", "the header has 2 fields but row 2 has 4"),
    ("path,prompt\na.png,a cat\nb.png,a dog\na.png,a bird\n", "rows 2 and 4 give 'a.png' different prompts"),
    ("path,text\na.png,a cat\n", "needs a prompt column; it has ['path', 'text']"),
    ("file,prompt\na.png,a cat\n", "needs one of the columns path, image, name"),
    ("path,prompt\n", "has a header but no rows"),
    ("", "is empty"),
])
def test_bad_prompt_files_are_refused_naming_the_row(tiny_savedmodels, two_images, tmp_path, capsys, content,
                                                     message):
    prompts = tmp_path / "prompts.csv"
    prompts.write_text(content, encoding="utf-8")
    out = tmp_path / "aligned.csv"
    code, _, err = run(capsys, "--model", str(tiny_savedmodels["alignment"]), "--images", str(two_images),
                       "--prompts", str(prompts), "--out", str(out))
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not out.exists()


def test_missing_prompts_are_error_rows(tiny_savedmodels, two_images, tmp_path, capsys):
    prompts = tmp_path / "prompts.csv"
    prompts.write_text("name,prompt\na.png,\"\"\n", encoding="utf-8")
    code, stdout, _ = run(capsys, "--model", str(tiny_savedmodels["alignment"]), "--images", str(two_images),
                          "--prompts", str(prompts), "--out", str(tmp_path / "o.csv"))
    assert code == 1 and "scored 0 of 2 images" in stdout
    assert {r["error"] for r in rows_of(tmp_path / "o.csv")} == {"no prompt for this image"}


def test_bad_models_and_outputs_are_one_line(tiny_savedmodels, two_images, tmp_path, capsys):
    (tmp_path / "broken.keras").write_text("not a zip")
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "saved_model.pb").write_bytes(b"\x00garbage")
    (damaged / "tfagiqa.json").write_text('{"outputs": ["quality"], "needs_prompt": false, "input_size": 32}')
    bad_json = tmp_path / "bad_json"
    bad_json.mkdir()
    (bad_json / "saved_model.pb").write_bytes(b"")
    (bad_json / "tfagiqa.json").write_text("{")
    (tmp_path / "file").write_text("")
    cases = [
        (["--model", str(tmp_path / "broken.keras")], "cannot load"),
        (["--model", str(damaged)], "cannot load SavedModel"),
        (["--model", str(bad_json)], "tfagiqa.json is not valid JSON"),
        (["--model", str(tiny_savedmodels["perception"]), "--out", str(tmp_path)], "is a folder; give a file name"),
        (["--model", str(tiny_savedmodels["perception"]), "--out", str(tmp_path / "file" / "x.csv")], "File exists"),
        (["--model", "dlsr-perception", "--seed", "-1"], "seed must be an integer in 0.."),
    ]
    for argv, message in cases:
        argv = [*argv, "--images", str(two_images)] + ([] if "--out" in argv else ["--out", str(tmp_path / "o.csv")])
        code, _, err = run(capsys, *argv)
        assert code == 2 and err.startswith("tfagiqa: error: ") and message in err and err.count("\n") == 1, err
    assert main(["export", "--model", str(tmp_path / "broken.keras"), "--out", str(tmp_path / "sm")]) == 2
    assert "cannot load" in capsys.readouterr().err and not (tmp_path / "sm").exists()


def test_catalogue_model_without_weights_gives_the_same_file_in_every_process(two_images, tmp_path, capsys):
    """Random initialisation is seeded: the same command, in this process (whose random state earlier tests have
    used) and in a fresh one, writes the same bytes. sfiqa-quality is the quickest catalogue model to build; the
    seeding is the catalogue's (create_scorer), the same for every name (dlsr-alignment included)."""
    argv = ["--model", "sfiqa-quality", "--images", str(two_images)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    other = subprocess.Popen([sys.executable, "-m", "tfagiqa", "score", *argv, "--out", str(tmp_path / "other.csv"),
                              "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    code, stdout, _ = run(capsys, *argv, "--out", str(tmp_path / "here.csv"))  # this process, its state already used
    other_out, other_err = other.communicate(timeout=600)
    assert code == 0 and other.returncode == 0, other_err[-3000:]
    assert "weights=random (initialisation seed 0)" in stdout and "initialisation seed 0" in other_out
    assert (tmp_path / "here.csv").read_bytes() == (tmp_path / "other.csv").read_bytes()
