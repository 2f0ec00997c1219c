"""run_dlsr.py end to end on the synthetic stand-ins with the tiny backbone: learning, provenance, SavedModel parity,
and the dlsr-head presets it saves scoring alike through the catalogue."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from tfagiqa.backbones.tiny import tiny_cnn_features
from tfagiqa.catalogue import create_scorer
from tfagiqa.data import load_dataset
from tfagiqa.data.pipeline import make_dataset
from tfagiqa.export import scoring_model
from tfagiqa.presets import load_preset
from experiment_scripts import load_script


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One fold of perception and of alignment, on a shared data root (the stand-ins are generated on first use)."""
    root = tmp_path_factory.mktemp("dlsr")
    script = load_script("run_dlsr")
    common = ["--data-root", str(root / "data"), "--out", str(root / "out"), "--profile", "test", "--fold", "1"]
    assert script.main([*common, "--task", "alignment"]) == 0
    assert script.main([*common, "--task", "perception"]) == 0
    return root


def test_rows_are_tagged_and_perception_learns(run):
    everything = pd.read_csv(run / "out" / "results.csv")
    # the second invocation appended its rows: the first one's (alignment) are kept beside them
    assert list(dict.fromkeys(everything["experiment"])) == ["alignment", "perception_before", "perception_after"]
    rows = everything[everything["experiment"] != "alignment"]
    assert (rows["data"] == "synthetic").all() and (rows["weights"] == "random").all()
    assert (rows["split"] == "kfold3_seed42").all() and (rows["split_index"] == 1).all()
    # the stand-in is built so that learning shows, even through a tiny random CNN at 32 px; with ~200 test
    # images a chance SRCC has a standard deviation of about 0.07
    after = rows[rows["experiment"] == "perception_after"].iloc[0]
    before = rows[rows["experiment"] == "perception_before"].iloc[0]
    assert after["srcc"] > 0.45 and before["srcc"] > 0.2, rows[["experiment", "srcc"]]
    assert len(after["alpha"].split()) == 5


def test_features_are_cached_once_per_view(run):
    # plain + 1 augmented view, for each of the two datasets
    assert len(list((run / "data" / "cache" / "features").glob("*.npy"))) == 4


def test_tables_show_every_result_row(run, tmp_path):
    """make_tables --paper dlsr: each row's SRCC and PLCC is the ours cell of its experiment and fold (Table II for
    perception, VI alignment, VIII StairReward; Tables IV/VII for the subsets)."""
    results_csv = run / "out" / "results.csv"
    assert load_script("make_tables").main(["--paper", "dlsr", "--results", str(results_csv),
                                            "--out", str(tmp_path)]) == 0
    rows = pd.read_csv(results_csv)
    assert len(rows) == 3 and set(rows["experiment"]) == {"alignment", "perception_before", "perception_after"}
    for row in rows.itertuples():
        if row.subset == "all":
            number = {"perception": 2, "alignment": 6, "stair": 8}[row.experiment.split("_")[0]]
            table = pd.read_csv(tmp_path / f"dlsr_table{number}.csv", index_col=0)
            cells = [table.loc[f"k={row.split_index}", f"{row.experiment} ours {m.upper()}"] for m in ("srcc", "plcc")]
        else:
            number = 4 if row.experiment == "perception_after" else 7
            table = pd.read_csv(tmp_path / f"dlsr_table{number}.csv", index_col=[1, 2])
            cells = [table.loc[(row.subset, f"k={row.split_index}"), f"ours {m.upper()}"] for m in ("srcc", "plcc")]
        assert [float(c) for c in cells] == pytest.approx([row.srcc, row.plcc]), (row.experiment, row.subset)


def score_in_fresh_process(savedmodel: Path, images: np.ndarray, prompts=None) -> np.ndarray:
    """Load the SavedModel with TensorFlow alone (no tfagiqa import) and score the images."""
    np.save(savedmodel.parent / "images.npy", images)
    code = f"""
import json, sys, numpy as np, tensorflow as tf
assert "tfagiqa" not in sys.modules
model = tf.saved_model.load({str(savedmodel)!r})
fn = model.signatures["score_views"]  # prepared pixels, one view per image: what the Keras scorer takes
kwargs = {{"views": tf.constant(np.load({str(savedmodel.parent / 'images.npy')!r})[:, None])}}
prompts = {prompts!r}
if prompts is not None:
    kwargs["prompt"] = tf.constant(prompts)
out = fn(**kwargs)
print(json.dumps({{k: v.numpy().tolist() for k, v in out.items()}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          cwd="/", env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name,output", [("perception_after", "quality"), ("alignment", "alignment")])
def test_savedmodel_matches_keras_in_fresh_process(run, name, output):
    preset = load_preset(run / "out" / "models" / f"{name}_fold1")
    assert preset.kind == "dlsr-head" and preset.architecture == {
        "head": name.split("_")[0], "backbone": "tiny", "backbone_weights": "random", "image_size": 32}
    assert (preset.source["experiment"], preset.source["split_index"], preset.source["data"]) == (name, 1, "synthetic")
    head = preset.load()
    backbone = tiny_cnn_features(32).model
    scorer = scoring_model(backbone, head, output)
    df = load_dataset("agiqa3k", run / "data").head(6)
    images = np.concatenate([b.numpy() for b in make_dataset(df, image_size=32)])
    inputs = {"images": images}
    prompts = None
    if output == "alignment":
        prompts = df["prompt"].tolist()
        inputs.update(prompt=np.array(prompts), generator=np.array([""] * len(df)))
    expected = scorer.predict({k: keras.ops.convert_to_tensor(v) for k, v in inputs.items()}, verbose=0)[output]
    entry = "dlsr-perception" if output == "quality" else "dlsr-alignment"
    from_preset = create_scorer(entry, weights=str(preset.folder))  # the backbone rebuilt from the preset's record
    np.testing.assert_allclose(from_preset.predict({k: keras.ops.convert_to_tensor(v) for k, v in inputs.items()},
                                                   verbose=0)[output], expected, atol=1e-5)
    served = score_in_fresh_process(run / "out" / "savedmodels" / f"{name}_fold1", images, prompts)
    np.testing.assert_allclose(served[output], expected, atol=1e-5)
    metadata = json.loads((run / "out" / "savedmodels" / f"{name}_fold1" / "tfagiqa.json").read_text())
    assert metadata["data"] == "synthetic" and metadata["weights"] == "random"
