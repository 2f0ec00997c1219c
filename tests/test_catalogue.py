"""The model catalogue: entries and their metadata, random-init builds without I/O, DLSR heads from an earlier run's
output (``.keras`` heads, before presets) with the backbone the run recorded, clear refusals, and a light
``import tfagiqa``."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import tfagiqa
from tfagiqa.backbones.tiny import tiny_cnn_features
from tfagiqa.catalogue import get_entry
from tfagiqa.errors import TfagiqaError, WeightsError
from tfagiqa.export import scoring_model
from tfagiqa.methods.dlsr import model as dlsr
from tfagiqa.methods.dlsr.prompts import prompt_vectorizer

ROOT = Path(__file__).resolve().parents[1]


def test_entries_and_metadata():
    assert {"dlsr-perception", "dlsr-alignment"} <= set(tfagiqa.list_models())
    meta = get_entry("dlsr-alignment").metadata()
    assert meta["paper"] == "dlsr" and meta["needs_prompt"] and meta["outputs"] == ["alignment"]
    assert meta["input_size"] == 224 and meta["score_range"] == [0.0, 5.0] and meta["higher_is_better"]
    assert "AGIQA-3K MOS" in meta["label_scale"] and meta["views"] == {"crop": "resize"}
    assert not get_entry("dlsr-perception").needs_prompt
    with pytest.raises(TfagiqaError, match="known models: .*dlsr-perception"):
        get_entry("no-such-model")


def test_random_perception_scorer_is_resnet152v2_plus_dlsr_head():
    model = tfagiqa.create_scorer("dlsr-perception")  # weights=None: random, no I/O
    assert model.input["images"].shape[1:] == (224, 224, 3)
    layers = {layer.name for layer in model.layers}
    assert {"resnet152v2_features", "dlsr_perception"} <= layers
    backbone = model.get_layer("resnet152v2_features")
    assert backbone.output_shape[-1] == 2048 and backbone.count_params() > 50_000_000
    scores = model.predict({"images": np.full((1, 224, 224, 3), 128.0, "float32")}, verbose=0)
    assert scores["quality"].shape == (1,) and np.isfinite(scores["quality"]).all()
    assert get_entry("dlsr-perception").weights_provenance(None)["weights"] == "random"


def fake_run(root: Path, backbone: str, weights: str, feature_dim: int) -> Path:
    """A run_dlsr.py output folder: heads under models/ and their rows in results.csv."""
    (root / "models").mkdir(parents=True)
    dlsr.perception_model(feature_dim=feature_dim).save(root / "models" / "perception_after_fold2.keras")
    head = dlsr.alignment_model(prompt_vectorizer(["a red cat", "a dog in snow"]), ["dalle2"], feature_dim=feature_dim)
    head.save(root / "models" / "alignment_fold2.keras")
    rows = [{"experiment": e, "split_index": 2, "backbone": backbone, "weights": weights, "image_size": 32,
             "data": "synthetic"} for e in ("perception_after", "alignment")]
    pd.DataFrame(rows).to_csv(root / "results.csv", index=False)
    return root


def test_head_from_a_run_gets_the_backbone_the_run_used(tmp_path):
    run = fake_run(tmp_path / "run", "tiny", "random", 128)
    head_file = run / "models" / "alignment_fold2.keras"
    model = tfagiqa.create_scorer("dlsr-alignment", str(head_file))
    reference = scoring_model(tiny_cnn_features(32).model, keras.saving.load_model(head_file), "alignment")
    inputs = {"images": np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32"),
              "prompt": tf.constant(["a red cat", "a dog"]), "generator": tf.constant(["", ""])}
    np.testing.assert_allclose(model.predict(inputs, verbose=0)["alignment"],
                               reference.predict(inputs, verbose=0)["alignment"], atol=1e-6)
    provenance = get_entry("dlsr-alignment").weights_provenance(str(head_file))
    assert provenance["backbone"] == "tiny" and provenance["backbone_weights"] == "random"
    assert provenance["data"] == "synthetic" and provenance["head"] == str(head_file)
    with pytest.raises(WeightsError, match="dlsr-perception"):
        tfagiqa.create_scorer("dlsr-alignment", str(run / "models" / "perception_after_fold2.keras"))


def test_refusals_name_the_way_out(tmp_path, monkeypatch):
    run = fake_run(tmp_path / "random_resnet", "resnet152v2", "random", 2048)
    with pytest.raises(WeightsError, match="savedmodels/perception_after_fold2"):
        tfagiqa.create_scorer("dlsr-perception", str(run / "models" / "perception_after_fold2.keras"))
    run = fake_run(tmp_path / "imagenet", "resnet152v2", "imagenet", 2048)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty_keras_home"))
    with pytest.raises(WeightsError, match="resnet152v2_weights_tf_dim_ordering_tf_kernels_notop.h5"):
        tfagiqa.create_scorer("dlsr-perception", str(run / "models" / "perception_after_fold2.keras"))
    with pytest.raises(WeightsError, match="missing.keras does not exist; this needs dlsr-head"):
        tfagiqa.create_scorer("dlsr-perception", str(tmp_path / "missing.keras"))


def test_import_registers_every_custom_object():
    """A bare `import tfagiqa` imports every module that defines a Keras-serialisable class (so load_model finds
    them all), and lists every catalogue entry."""
    code = """
import json, pathlib, sys
import tfagiqa
root = pathlib.Path(tfagiqa.__file__).parent
defining = sorted(".".join(("tfagiqa",) + p.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
                  for p in root.rglob("*.py") if "register_keras_serializable" in p.read_text())
print(json.dumps({"names": tfagiqa.list_models(), "defining": defining,
                  "missing": [m for m in defining if m not in sys.modules]}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert "dlsr-perception" in result["names"]
    assert len(result["defining"]) >= 10 and result["missing"] == []


def test_export_and_score_by_catalogue_name(tmp_path, monkeypatch, capsys):
    """A registered entry exports with its metadata, provenance and view policy, and scores by name."""
    from tfagiqa import catalogue
    from tfagiqa.cli import main

    def build(weights):
        keras.utils.set_random_seed(0)  # the same head weights on every build
        backbone = tiny_cnn_features(32).model
        return scoring_model(backbone, dlsr.perception_model(feature_dim=128), "quality")

    entry = catalogue.ModelEntry(name="test-tiny", paper="dlsr", needs_prompt=False, outputs=("quality",),
                                 input_size=32, score_range=(0.0, 5.0), label_scale="test scale", build=build,
                                 views={"crop": "fixed_crops", "n_crops": 2})
    monkeypatch.setitem(catalogue._REGISTRY, "test-tiny", entry)
    assert main(["export", "--model", "test-tiny", "--out", str(tmp_path / "sm")]) == 0
    assert "RANDOM weights" in capsys.readouterr().out
    meta = json.loads((tmp_path / "sm" / "tfagiqa.json").read_text())
    assert meta["name"] == "test-tiny" and meta["weights"] == "random" and meta["label_scale"] == "test scale"
    assert meta["views"] == {"crop": "fixed_crops", "n_crops": 2, "resize_to": None}
    image = tmp_path / "images" / "a.png"
    image.parent.mkdir()
    from PIL import Image

    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(image)
    for model, out in (("test-tiny", "by_name.csv"), (str(tmp_path / "sm"), "by_dir.csv")):
        assert main(["score", "--model", model, "--images", str(image.parent), "--out", str(tmp_path / out),
                     "--no-progress"]) == 0
    by_name = pd.read_csv(tmp_path / "by_name.csv")
    by_dir = pd.read_csv(tmp_path / "by_dir.csv")
    assert abs(by_name["quality"][0] - by_dir["quality"][0]) <= 2e-6  # same seeded tiny model, Keras vs SavedModel
    assert "RANDOM weights" in capsys.readouterr().out
