"""``tfagiqa datasets``: synth writes what the readers load and check calls clean; check reports broken folders."""

import json
import subprocess
import sys

import pytest

from tfagiqa.cli import main
from tfagiqa.data import READERS, registry

LAYOUT_DIRS = {r.name: r.folder for r in registry.records(registry.AIGC)}


@pytest.fixture(scope="module")
def synthesised(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    for layout, dirname in LAYOUT_DIRS.items():
        assert main(["datasets", "synth", "--layout", layout, "--out", str(root / dirname), "--n", "48"]) == 0
    return root


@pytest.mark.parametrize("layout", sorted(LAYOUT_DIRS))
def test_synth_then_reader_and_check(synthesised, layout, capsys):
    extra = {"splits": ("train", "val", "test")} if layout == "aigiqa20k" else {}
    df = READERS[layout](synthesised / LAYOUT_DIRS[layout], **extra)
    assert len(df) >= 0.8 * 48 and df.attrs["data"] == "synthetic"  # n is approximate per layout
    assert main(["datasets", "check", "--dataset", layout, "--data-root", str(synthesised)]) == 0
    assert "clean" in capsys.readouterr().out


def test_summary_json(synthesised, capsys):
    assert main(["datasets", "summary", "--dataset", "agiqa3k", "--data-root", str(synthesised), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["data"] == "synthetic"
    assert set(summary["per_t2i_group"]) == {"bad", "medium", "good"}
    assert sum(summary["per_prompt_length"].values()) == summary["rows"]


def test_check_reports_broken_images_and_exits_1(synthesised, tmp_path, capsys):
    import shutil

    folder = tmp_path / "AGIQA-3K"
    shutil.copytree(synthesised / "AGIQA-3K", folder)
    images = sorted((folder / "images").iterdir())
    images[0].write_bytes(b"")
    images[1].write_bytes(images[1].read_bytes()[:200])
    images[2].unlink()
    assert main(["datasets", "check", "--dataset", "agiqa3k", "--data-root", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "3 problem(s)" in out
    assert f"{images[0].name}: cannot read image" in out and "empty file" in out
    assert f"missing image {images[2]}" in out


def test_missing_dataset_is_one_clear_line(tmp_path, capsys):
    assert main(["datasets", "summary", "--dataset", "agiqa1k", "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tfagiqa: error: agiqa1k: no AIGC_MOS_Zscore.xlsx") and "Traceback" not in err


def test_console_help_and_registered_layers():
    """`tfagiqa --help` works; importing the package (as the CLI does) registers the custom layers for load_model."""
    code = "import keras, tfagiqa.cli; print(keras.saving.get_registered_object('tfagiqa>LogisticMapping') is not None)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip().splitlines()[-1] == "True", done.stderr[-2000:]
    helped = subprocess.run([sys.executable, "-m", "tfagiqa", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "datasets" in helped.stdout
