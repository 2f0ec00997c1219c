"""The run scripts' shared harness: profiles, result rows with provenance, the comparison with earlier rows,
atomic model saving and clean errors."""

import argparse

import keras
import numpy as np
import pandas as pd
import pytest

from experiment_scripts import load_script
from tfagiqa import experiment
from tfagiqa.errors import DataError
from tfagiqa.profile import Profile

PROFILES = {"smoke": Profile("smoke", epochs=3, batch_size=4, image_size=32, repeats=2, tiny=True,
                             options={"views": 2}),
            "paper": Profile("paper", epochs=100, batch_size=32, image_size=224, repeats=10, options={"views": 4})}


def args(tmp_path, *extra):
    parser = argparse.ArgumentParser()
    experiment.add_arguments(parser, out=str(tmp_path / "out"), profiles=sorted(PROFILES), weights="w", repeats=True)
    return parser.parse_args(["--data-root", str(tmp_path / "data"), *extra])


def test_profile_settings_and_changes():
    smoke = PROFILES["smoke"]
    assert smoke.views == 2 and smoke.tiny
    with pytest.raises(AttributeError, match="no setting 'crop'"):
        smoke.crop
    changed = smoke.but(epochs=7, views=5, repeats=None, crop=64)
    assert (changed.epochs, changed.views, changed.repeats, changed.crop) == (7, 5, 2, 64)
    assert smoke.epochs == 3 and "crop" not in smoke.options  # the original is unchanged


def test_profile_choice_follows_the_data_kind_and_the_flags(tmp_path):
    run = experiment.Experiment(args(tmp_path), paper="dlsr")
    assert run.profile(PROFILES, "synthetic").name == "smoke" and run.profile(PROFILES, "real").name == "paper"
    run = experiment.Experiment(args(tmp_path, "--profile", "paper", "--epochs", "2", "--repeats", "3"), paper="dlsr")
    chosen = run.profile(PROFILES, "synthetic")
    assert (chosen.name, chosen.epochs, chosen.repeats, chosen.views) == ("paper", 2, 3, 4)


def row(srcc, split_index=1):
    return dict(experiment="e", dataset="agiqa3k", data="synthetic", weights="random", split="s",
                split_index=split_index, selection="last_epoch", profile="smoke", target="quality", subset="all",
                srcc=srcc, plcc=srcc / 2)


def test_rows_get_provenance_are_appended_and_compared_with_the_earlier_ones(tmp_path, capsys):
    first = experiment.Experiment(args(tmp_path), paper="dlsr")
    first.record([row(0.5), row(0.7, 2)], lambda r: f"split {r['split_index']}")
    first.summary(["experiment", "target"])
    out = capsys.readouterr().out
    assert "split 1  [synthetic, weights=random]" in out and "SRCC 0.6000" in out and "earlier" not in out
    second = experiment.Experiment(args(tmp_path), paper="dlsr")
    second.record([row(0.55)])
    second.summary(["experiment", "target"])
    out = capsys.readouterr().out
    assert "Against the earlier rows" in out and "0.05" in out  # 0.55 − 0.5 for split 1
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert list(table["srcc"]) == [0.5, 0.7, 0.55]  # nothing lost: earlier runs' rows stay
    assert (table["paper"] == "dlsr").all() and (table["seed"] == 0).all() and (table["strategy"] == "default").all()
    assert table["git_commit"].notna().all() and table["timestamp"].notna().all()


def test_average_and_sample_variance_summary(tmp_path, capsys):
    run = experiment.Experiment(args(tmp_path), paper="dlsr")
    run.record([row(0.7332, 1), row(0.7231, 2), row(0.7227, 3)])
    run.summary(["experiment"], statistic="average_var", metrics=("srcc",))
    assert "SRCC 0.7263 (var 3.54e-05)" in capsys.readouterr().out  # DLSR Table II, after improving


def test_models_are_saved_whole_under_their_name(tmp_path):
    from tfagiqa.presets import load_preset

    run = experiment.Experiment(args(tmp_path), paper="dlsr")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    path = run.save_model(model, "perception after/fold 1", role="head", run={"data": "synthetic", "n_test": 3})
    assert path.name == "perception-after-fold-1"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no partial folder left behind
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.keras"]
    preset = load_preset(path)
    assert preset.kind == "dlsr-head" and preset.source["data"] == "synthetic" and "n_test" not in preset.source
    np.testing.assert_array_equal(preset.load().get_weights()[0], model.get_weights()[0])


@pytest.mark.parametrize("extra, message", [(["--epochs", "0"], "--epochs: must be at least 1, got 0"),
                                            (["--repeats", "-2"], "--repeats: must be at least 1, got -2"),
                                            (["--seed", "-5"], "--seed: must be from 0 to 4294967295, got -5"),
                                            (["--epochs", "two"], "--epochs: 'two' is not a whole number")])
def test_counts_are_checked_by_the_parser(tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as exit_info:
        args(tmp_path, *extra)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_a_file_given_for_a_folder_stops_before_any_work(tmp_path, capsys):
    """--out naming a file: one line from main(), before the run does anything (the output folder is otherwise made
    when the experiment starts, so a folder that cannot be made fails then, not after training); a --data-root
    naming a file is refused by the dataset loader, also in one line."""
    (tmp_path / "file").write_text("x")
    parsed = args(tmp_path, "--out", str(tmp_path / "file"), "--strategy", "default")
    assert experiment.main("run_x", lambda: experiment.Experiment(parsed, "dlsr")) == 2
    assert capsys.readouterr().err.strip() == f"run_x: error: --out {tmp_path / 'file'} is a file, not a folder; give a folder"
    made = experiment.Experiment(args(tmp_path, "--strategy", "default"), "dlsr")
    assert made.out.is_dir()
    run_dlsr = load_script("run_dlsr")
    assert run_dlsr.main(["--data-root", str(tmp_path / "file"), "--out", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"run_dlsr: error: the data root {tmp_path / 'file'} is a file; give the folder that holds the datasets")


def test_main_turns_package_errors_into_one_line(capsys):
    def fails():
        raise DataError("data.csv row 3: mos_quality is 'high', not a number")

    assert experiment.main("run_x", fails) == 2
    assert capsys.readouterr().err.strip() == "run_x: error: data.csv row 3: mos_quality is 'high', not a number"
    assert experiment.main("run_x", lambda: None) == 0

    def no_permission():
        raise PermissionError(13, "Permission denied", "/results/out")

    assert experiment.main("run_x", no_permission) == 2
    assert capsys.readouterr().err.strip() == "run_x: error: [Errno 13] Permission denied: '/results/out'"
