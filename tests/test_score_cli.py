"""`tfagiqa score`: a row for every file of a folder of awkward and broken images, clear errors, no traceback,
byte-identical output across runs, JSON output, prompts from CSV files."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_export import BAD, GOOD, PROMPTS, tiny_scorer, write_mixed_folder
from tfagiqa.cli import main
from tfagiqa.export import export_savedmodel
from tfagiqa.scorer import Scorer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("score")
    return {"root": root, "folder": write_mixed_folder(root / "images"),
            "perception": export_savedmodel(tiny_scorer("perception"), root / "perception", {"weights": "random"}),
            "alignment": export_savedmodel(tiny_scorer("alignment"), root / "alignment", {"weights": "random"})}


def score_in_subprocess(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "tfagiqa", "score", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def read_rows(path: Path) -> dict:
    with path.open(newline="") as f:
        return {Path(r["path"]).name: r for r in csv.DictReader(f)}


def test_mixed_folder_every_file_a_row_and_identical_runs(setup):
    outs = [setup["root"] / f"run{i}.csv" for i in (1, 2)]
    runs = [score_in_subprocess("--model", str(setup["perception"]), "--images", str(setup["folder"]),
                                "--batch-size", "4", "--out", str(out)) for out in outs]
    for done in runs:
        assert done.returncode == 1, done.stderr[-2000:]  # some files failed: the exit code says so
        assert "Traceback" not in done.stderr + done.stdout
        assert f"scored {len(GOOD)} of {len(GOOD) + len(BAD)} images" in done.stdout
        assert f"{len(BAD)} image(s) could not be scored" in done.stdout
    assert outs[0].read_bytes() == outs[1].read_bytes()
    rows = read_rows(outs[0])
    assert set(rows) == set(GOOD) | set(BAD)
    assert list(next(iter(rows.values()))) == ["path", "quality", "error"]
    for name in GOOD:  # CMYK, 16-bit, RGBA, palette and grayscale files are converted to RGB and scored
        assert rows[name]["error"] == "" and len(rows[name]["quality"].split(".")[1]) == 6, rows[name]
    assert "truncated" in rows["truncated.jpg"]["error"]
    assert "empty file" in rows["empty.png"]["error"]
    assert "not a recognised image" in rows["text.png"]["error"]
    assert all(rows[n]["quality"] == "" for n in BAD)
    # the command's scores are the Python API's, to the printed precision
    expected = Scorer.load(setup["perception"])([setup["folder"] / n for n in GOOD])["quality"]
    np.testing.assert_allclose([float(rows[n]["quality"]) for n in GOOD], expected, atol=1e-6)


def test_json_output_and_prompts_from_csv(setup, capsys):
    prompts = setup["root"] / "prompts.csv"
    prompts.write_text("name,prompt\ngood.png,a red cat on a mat\nrgba.png,\"a blue dog, in the snow\"\n")
    out = setup["root"] / "aligned.json"
    code = main(["score", "--model", str(setup["alignment"]), "--images", str(setup["folder"]),
                 "--prompts", str(prompts), "--out", str(out), "--format", "json", "--no-progress"])
    assert code == 1
    rows = {Path(r["path"]).name: r for r in json.loads(out.read_text())}
    assert set(rows) == set(GOOD) | set(BAD)
    assert rows["rgba.png"]["prompt"] == "a blue dog, in the snow" and rows["rgba.png"]["error"] is None
    assert isinstance(rows["good.png"]["alignment"], float)
    assert rows["gray.png"]["alignment"] is None and rows["gray.png"]["error"] == "no prompt for this image"
    expected = Scorer.load(setup["alignment"])(setup["folder"] / "good.png", prompts="a red cat on a mat")
    assert rows["good.png"]["alignment"] == pytest.approx(float(expected["alignment"][0]), abs=1e-6)
    assert "could not be scored" in capsys.readouterr().out


def test_images_listed_in_a_csv_with_prompts(setup):
    listing = setup["root"] / "listing.csv"
    listing.write_text("path,prompt\nimages/good.jpg,%s\nimages/gray16.png,%s\n" % tuple(PROMPTS[:2]))
    out = setup["root"] / "listing_scores.csv"
    assert main(["score", "--model", str(setup["alignment"]), "--images", str(listing), "--out", str(out),
                 "--batch-size", "1", "--no-progress"]) == 0
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["path"] for r in rows] == ["images/good.jpg", "images/gray16.png"]
    assert [r["prompt"] for r in rows] == PROMPTS[:2] and all(r["alignment"] and not r["error"] for r in rows)


def test_bad_arguments_are_one_clear_line(setup, capsys):
    assert main(["score", "--model", "no-such-model", "--images", str(setup["folder"]), "--out", "x.csv"]) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err
    assert main(["score", "--model", str(setup["perception"]), "--images", str(setup["root"] / "nothing"),
                 "--out", "x.csv"]) == 2
    assert "must be a folder or a .csv" in capsys.readouterr().err
