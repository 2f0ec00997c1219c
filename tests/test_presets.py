"""Presets (``tfagiqa.presets``): the folder format's round trip, the one resolver on every input users have (presets,
the layouts written before presets, single files, keras-hub references) and on wrong ones, scorers built from saved
presets equal to the models saved, and every ``.keras`` kind the package writes loading in a fresh process after a
bare ``import tfagiqa``."""

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfagiqa
from older_layouts import older_layout
from tfagiqa import experiment, presets
from tfagiqa.catalogue import get_entry
from tfagiqa.errors import TfagiqaError, WeightsError

ROOT = Path(__file__).resolve().parents[1]
SIZE = 32  # the tiny DLSR backbone's images, the tiny SF-IQA similarity branch's CLIP


def dense(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")], name="tiny")


def assert_same_weights(got: keras.Model, want: keras.Model) -> None:
    assert len(got.weights) == len(want.weights) > 0
    for a, b in zip(got.get_weights(), want.get_weights()):
        np.testing.assert_array_equal(a, b)


def run_args(out: Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    experiment.add_arguments(parser, out=str(out), profiles=["smoke"], weights="w")
    return parser.parse_args(["--data-root", str(out / "data")])


# --- the format ---------------------------------------------------------------------------------------------------

def test_save_and_load_round_trip(tmp_path):
    whole, weights_only = dense(0), dense(1)
    (tmp_path / "vocab").mkdir()
    (tmp_path / "vocab" / "words.txt").write_text("a\nb\n")
    preset = presets.save_preset(
        tmp_path / "p", kind="scorer", files={"model": whole, "head": presets.Weights(weights_only)},
        architecture={"sizes": (3, 2), "name": "tiny"}, source={"file": tmp_path / "x.pt", "step": np.int64(4)},
        assets={"vocab": tmp_path / "vocab"}, extra={"notes.txt": lambda path: path.write_text("older readers")})
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["config.json", "head.weights.h5", "model.keras",
                                                                 "notes.txt", "vocab"]
    record = json.loads((tmp_path / "p" / "config.json").read_text())
    stamp = {key: record["source"][key] for key in ("package_version", "git_commit", "timestamp")}
    assert stamp["package_version"] == tfagiqa.__version__ and stamp["git_commit"] and stamp["timestamp"]
    assert record == {"format": "tfagiqa-preset", "format_version": 1, "kind": "scorer", "method": None,
                      "architecture": {"sizes": [3, 2], "name": "tiny"},
                      "files": {"model": "model.keras", "head": "head.weights.h5"}, "assets": {"vocab": "vocab"},
                      "extra": ["notes.txt"], "source": {**stamp, "file": str(tmp_path / "x.pt"), "step": 4}}
    again = presets.load_preset(tmp_path / "p")
    assert again == preset and not again.legacy and again.path("vocab").joinpath("words.txt").read_text() == "a\nb\n"
    assert_same_weights(again.load("model"), whole)
    rebuilt = dense(2)
    rebuilt.load_weights(again.path("head"))
    assert_same_weights(rebuilt, weights_only)
    with pytest.raises(WeightsError, match="weights only"):
        again.load("head")
    with pytest.raises(WeightsError, match="has no 'tokenizer'"):
        again.path("tokenizer")
    presets.save_preset(tmp_path / "p", kind="scorer", files={"model": dense(3)})  # replaces what the old one listed
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["config.json", "model.keras"]
    (tmp_path / "p" / "mine.txt").write_text("not the preset's")
    with pytest.raises(TfagiqaError, match="mine.txt"):
        presets.save_preset(tmp_path / "p", kind="scorer", files={"model": dense(4)})
    assert_same_weights(presets.load_preset(tmp_path / "p").load(), dense(3))  # the refused write changed nothing


def test_experiment_saves_its_models_as_presets_recording_the_run(tmp_path):
    run = experiment.Experiment(run_args(tmp_path / "out"), paper="hypernet")
    row = {"experiment": "quality", "dataset": "agiqa3k", "data": "synthetic", "weights": "random", "split_index": 1,
           "srcc": 0.5}
    folder = run.save_model(dense(), "agiqa3k quality/split1", role="model", run=row, architecture={"crop": 32})
    assert folder == tmp_path / "out" / "models" / "agiqa3k-quality-split1"
    preset = presets.load_preset(folder)
    assert (preset.kind, preset.method, preset.architecture) == ("hyperiqa-model", "hyperiqa", {"crop": 32})
    source = preset.source
    assert {k: source[k] for k in ("paper", "seed", "strategy", "experiment", "data", "weights", "split_index")} == {
        "paper": "hypernet", "seed": 0, "strategy": "default", "experiment": "quality", "data": "synthetic",
        "weights": "random", "split_index": 1}
    assert "srcc" not in source and source["arguments"]["out"] == str(tmp_path / "out")
    assert source["command"] and source["package_version"] == tfagiqa.__version__ and source["git_commit"]
    assert_same_weights(preset.load(), dense())


# --- the resolver ---------------------------------------------------------------------------------------------------

def test_random_auto_and_imagenet(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TFAGIQA_CLIP_DIR", raising=False)
    for spec in (None, "none"):
        assert presets.resolve(spec, kind="clip-rn50").random and presets.resolve(spec, kind="clip-rn50").label == "random"
    with pytest.warns(RuntimeWarning, match="(?s)RANDOM.*tfagiqa convert clip"):
        assert presets.resolve("auto", kind="clip-rn50").label == "random"
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    found = presets.resolve("imagenet", kind="resnet152v2")
    assert found.label == "imagenet" and not found.fallback
    assert found.imagenet == tmp_path / "keras" / "models" / "resnet152v2_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert presets.resolve("auto", kind="resnet50").fallback  # auto: Keras may try, random follows if it cannot
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(WeightsError, match="resnet50-19c8e357.pth are not in .*torch/hub/checkpoints or .*data/weights"):
        presets.resolve("imagenet", kind="torchvision-resnet50", search=[tmp_path / "data" / "weights"])
    (tmp_path / "data" / "weights").mkdir(parents=True)
    (tmp_path / "data" / "weights" / "resnet50-19c8e357.pth").write_bytes(b"")
    found = presets.resolve("auto", kind="torchvision-resnet50", search=[tmp_path / "data" / "weights"])
    assert found.label == "imagenet" and found.preset.path("weights") == tmp_path / "data/weights/resnet50-19c8e357.pth"
    with pytest.raises(WeightsError, match="'imagenet' is for ImageNet backbones; clipiqa takes clip-rn50"):
        presets.resolve("imagenet", kind="clip-rn50", what="clipiqa")


def test_single_files_and_keras_hub_references(tmp_path):
    (tmp_path / "resnet50-19c8e357.pth").write_bytes(b"")
    dense().save_weights(tmp_path / "backbone.weights.h5")
    dense().save(tmp_path / "scorer.keras")
    for spec, kind, role in ((tmp_path / "resnet50-19c8e357.pth", "torchvision-resnet50", "weights"),
                             (tmp_path / "backbone.weights.h5", "resnet152v2", "weights"),
                             (tmp_path / "scorer.keras", "scorer", "model")):
        resolved = presets.resolve(str(spec), kind=kind)
        assert (resolved.label, resolved.kind, resolved.preset.legacy) == (str(spec), kind, True)
        assert resolved.preset.path(role) == spec
    hub = presets.resolve(f"keras-hub:{tmp_path}/clip", kind="clip-vit")
    assert hub.label == f"keras-hub:{tmp_path}/clip" and hub.preset.source == {"keras_hub": f"{tmp_path}/clip"}
    with pytest.raises(WeightsError, match="is a keras-hub preset; IP-IQA takes clip-rn50"):
        presets.resolve(f"keras-hub:{tmp_path}", kind="clip-rn50", what="IP-IQA")
    with pytest.raises(WeightsError, match="neither a preset .* nor an older layout of resnet152v2"):
        presets.resolve(str(tmp_path / "scorer.keras"), kind="resnet152v2")


def test_pickscore_hugging_face_folder(tmp_path):
    folder = tmp_path / "weights" / "PickScore_v1"
    folder.mkdir(parents=True)
    config = {"projection_dim": 32, "vision_config": {"patch_size": 8}, "text_config": {"hidden_size": 32}}
    (folder / "config.json").write_text(json.dumps(config))
    for name in ("model.safetensors", "vocab.json", "merges.txt"):
        (folder / name).write_text("{}")
    for spec in (folder, folder.parent):  # the Hugging Face folder, or SF-IQA's --weights folder holding it
        resolved = presets.resolve(str(spec), kind=("swinv2", "pickscore"), what="SF-IQA")
        assert resolved.kind == "pickscore" and resolved.label == str(spec) and resolved.preset.folder == folder
        assert dict(resolved.preset.architecture) == config and resolved.preset.path("weights").name == "model.safetensors"
        assert resolved.preset.path("vocab") == folder / "vocab.json"


def test_wrong_inputs_say_what_is_wrong_and_what_to_do(tmp_path):
    with pytest.raises(WeightsError, match=f"clipiqa: {tmp_path / 'missing'} does not exist.*tfagiqa convert clip"):
        presets.resolve(str(tmp_path / "missing"), kind="clip-rn50", what="clipiqa")
    presets.save_preset(tmp_path / "hps", kind="hps", files={"clip": presets.Weights(dense())})
    with pytest.raises(WeightsError, match="is a hps preset .* this needs clip-rn50 .*To make a clip-rn50: tfagiqa "
                                           "convert clip"):
        presets.resolve(str(tmp_path / "hps"), kind="clip-rn50")
    broken = tmp_path / "broken"
    shutil.copytree(tmp_path / "hps", broken)
    (broken / "config.json").write_text('{"format": "tfagiqa-preset", "kind": ')
    with pytest.raises(WeightsError, match=f"{broken / 'config.json'} cannot be read as JSON .*write the preset again"):
        presets.resolve(str(broken), kind="hps")
    (broken / "config.json").write_text(json.dumps({"format": "tfagiqa-preset", "format_version": 9, "kind": "hps"}))
    with pytest.raises(WeightsError, match="format_version 9; .*upgrade tfagiqa"):
        presets.load_preset(broken)
    (broken / "config.json").write_text(json.dumps({"format": "tfagiqa-preset", "format_version": 1, "kind": "hps",
                                                    "files": {"clip": "gone.weights.h5"}}))
    with pytest.raises(WeightsError, match="lists gone.weights.h5, missing from .*incomplete"):
        presets.load_preset(broken)
    (broken / "config.json").write_text(json.dumps({"format": "tfagiqa-preset", "format_version": 1, "kind": "",
                                                    "files": {"clip": "/etc/passwd"}}))
    with pytest.raises(WeightsError, match="kind is not a name; files is not a mapping"):
        presets.load_preset(broken)
    with pytest.raises(WeightsError, match="has no tfagiqa config.json: it is not a preset"):
        presets.load_preset(tmp_path)


# --- what the package writes --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> dict[str, Path]:
    """Each converter that writes .keras files, run on a tiny random checkpoint as the converter tests make them:
    kind → the preset folder it wrote."""
    torch = pytest.importorskip("torch", reason="the converters need PyTorch (pip install 'tfagiqa[torch]')")
    from test_cnniqa import TorchCNNIQA, randomised as randomised_cnniqa
    from test_convert_hyperiqa import HyperNet, randomised
    from test_convert_imagereward import HEADS, VOCAB, ImageReward
    from test_dbcnn import TorchDBCNN, randomised as randomised_dbcnn
    from torch_clip import BPE_VOCAB, CLIP, randomise, write_bpe

    from tfagiqa.backbones import clip_convert
    from tfagiqa.methods.clipiqa import convert as clipiqa_convert
    from tfagiqa.methods.cnniqa import convert as cnniqa_convert
    from tfagiqa.methods.dbcnn import convert as dbcnn_convert
    from tfagiqa.methods.hyperiqa import convert as hyperiqa_convert
    from tfagiqa.methods.imagereward import convert as imagereward_convert

    root = tmp_path_factory.mktemp("converted")
    out = {kind: root / kind for kind in ("clip-rn50", "clipiqa+", "hyperiqa", "imagereward", "cnniqa", "dbcnn")}
    torch.save(randomise(CLIP(("resnet", (1, 1, 1, 1), 8), 64, 32, BPE_VOCAB, 77, 64, 1)).state_dict(), root / "c.pt")
    assert clip_convert.run(argparse.Namespace(torch=str(root / "c.pt"), bpe=str(write_bpe(root / "bpe.txt.gz")),
                                               out=str(out["clip-rn50"]))) == 0
    torch.save(torch.randn(16, 64) * 0.3, root / "ctx.pth")
    assert clipiqa_convert.run(argparse.Namespace(torch=str(root / "ctx.pth"), clip=str(out["clip-rn50"]),
                                                  out=str(out["clipiqa+"]), image_size=64)) == 0
    net = randomised(HyperNet(width=8, blocks=(1, 1, 1, 1), lda=4, hyper=16, sizes=(32, 16, 8, 4, 2), fs=2), seed=2)
    torch.save(net.state_dict(), root / "hyperiqa.pth")
    assert hyperiqa_convert.run(argparse.Namespace(torch=str(root / "hyperiqa.pth"), out=str(out["hyperiqa"]),
                                                   no_savedmodel=True)) == 0
    torch.manual_seed(0)
    torch.save(ImageReward().state_dict(), root / "ImageReward.pt")
    (root / "vocab.txt").write_text("\n".join(VOCAB[:-2]) + "\n")
    assert imagereward_convert.run(argparse.Namespace(
        torch=str(root / "ImageReward.pt"), vocab=str(root / "vocab.txt"), out=str(out["imagereward"]),
        vision_heads=HEADS, text_heads=HEADS, no_savedmodel=True)) == 0
    for kind, network, convert in (("cnniqa", randomised_cnniqa(TorchCNNIQA(1), seed=1), cnniqa_convert),
                                   ("dbcnn", randomised_dbcnn(TorchDBCNN(), seed=1), dbcnn_convert)):
        torch.save(network.state_dict(), root / f"{kind}.pth")
        assert convert.run(argparse.Namespace(torch=str(root / f"{kind}.pth"), out=str(out[kind]), input_size=32,
                                              no_savedmodel=True)) == 0
    return out


@pytest.fixture(scope="module")
def run_models(tmp_path_factory) -> dict[str, tuple[Path, keras.Model]]:
    """Tiny models of every kind the run scripts save, saved as they save them (``Experiment.save_model``):
    name → (preset folder, the model saved); and the Image2Prompt encoder as ``image2prompt.pretrain`` writes it."""
    from tfagiqa.backbones import clip_resnet, clip_text
    from tfagiqa.methods.baselines.models import resnet50_regressor
    from tfagiqa.methods.dlsr import model as dlsr
    from tfagiqa.methods.dlsr.prompts import prompt_vectorizer
    from tfagiqa.methods.hyperiqa import model as hypernet
    from tfagiqa.methods.ipiqa import image2prompt as i2p
    from tfagiqa.methods.ipiqa import model as ipiqa
    from tfagiqa.methods.ipiqa import protocol as ipiqa_protocol
    from tfagiqa.methods.sfiqa import model as sfiqa
    from tfagiqa.methods.sfiqa import protocol as sfiqa_protocol

    root = tmp_path_factory.mktemp("runs")
    keras.utils.set_random_seed(0)
    saved = {}

    def save(paper, model, name, role, **kwargs):
        run = experiment.Experiment(run_args(root / paper), paper=paper)
        saved[name] = (run.save_model(model, name, role=role, **kwargs), model)

    vectorizer = prompt_vectorizer(["a red cat", "a dog in snow"])
    head = {"backbone": "tiny", "backbone_weights": "random", "image_size": SIZE}
    row = {"experiment": "perception_after", "data": "synthetic", "weights": "random", "split_index": 1}
    save("dlsr", dlsr.compile_model(dlsr.perception_model(feature_dim=128), dlsr.PERCEPTION), "perception_after_fold1",
         "head", run=row, architecture={"head": "perception", **head})
    save("dlsr", dlsr.compile_model(dlsr.alignment_model(vectorizer, ["dalle2"], feature_dim=128), dlsr.ALIGNMENT),
         "alignment_fold1", "head", architecture={"head": "alignment", **head})
    save("dlsr", dlsr.compile_model(dlsr.stair_reward_model(vectorizer, ["dalle2"], feature_dim=128), dlsr.ALIGNMENT),
         "stair_after_fold1", "head", architecture={"head": "stair_reward", **head})
    text = clip_text.tiny_text_config()
    config = ipiqa.IPIQAConfig(outputs=("quality", "alignment"), image_size=64, vision=clip_resnet.tiny_config(64),
                               text=text)
    model = ipiqa.build_ipiqa(config)
    model.compile(optimizer=ipiqa_protocol.optimizer(ipiqa_protocol.PROFILES["smoke"]), loss="mean_squared_error")
    save("ipiqa", model, "ipiqa_agiqa3k", "model")
    save("ipiqa", ipiqa.scoring_model(model, config.outputs), "ipiqa_agiqa3k_scorer", "scorer")
    baseline = resnet50_regressor(2, 64, None, tiny=True).model
    baseline.compile(optimizer="adam", loss="mean_squared_error")
    save("ipiqa", baseline, "resnet50_agiqa3k", "baseline")
    quality = sfiqa.quality_model(sfiqa.TINY)
    quality.compile(optimizer=sfiqa_protocol.CoupledDecayAdam(l2=5e-4), loss="mse")
    save("sfiqa", quality, "agiqa3k_quality_quality_split1", "quality")
    save("sfiqa", sfiqa.similarity_model(sfiqa.TINY), "agiqa3k_similarity_quality_split1", "similarity")
    save("sfiqa", sfiqa.fusion_model("code"), "agiqa3k_fusion_code_quality_split1", "fusion",
         architecture={"fusion": "code", "quality": "agiqa3k_quality_quality_split1",
                       "similarity": "agiqa3k_similarity_quality_split1"})
    save("sfiqa", sfiqa.detached_model(sfiqa.TINY), "agiqa3k_detached_isfe_split1", "detached")
    save("hypernet", hypernet.hypernet_model(hypernet.tiny(image_size=SIZE)), "agiqa3k_quality_split1", "model")
    encoder = clip_resnet.clip_image_encoder(clip_resnet.tiny_config(64))
    (root / "i2p").mkdir()
    encoder.save(root / "i2p" / i2p.ENCODER_FILE)  # as i2p.pretrain ends (its training is test_ipiqa.py's)
    saved["image2prompt"] = (root / "i2p" / i2p.ENCODER_FILE, encoder)
    return saved


def test_run_presets_have_their_kinds(run_models):
    kinds = {name: presets.load_preset(folder).kind for name, (folder, _) in run_models.items() if folder.is_dir()}
    assert kinds == {"perception_after_fold1": "dlsr-head", "alignment_fold1": "dlsr-head",
                     "stair_after_fold1": "dlsr-head", "ipiqa_agiqa3k": "ipiqa-model",
                     "ipiqa_agiqa3k_scorer": "ipiqa-scorer", "resnet50_agiqa3k": "ipiqa-baseline",
                     "agiqa3k_quality_quality_split1": "sfiqa-quality",
                     "agiqa3k_similarity_quality_split1": "sfiqa-similarity",
                     "agiqa3k_fusion_code_quality_split1": "sfiqa-fusion",
                     "agiqa3k_detached_isfe_split1": "sfiqa-detached", "agiqa3k_quality_split1": "hyperiqa-model"}
    assert presets.load_preset(run_models["image2prompt"][0], kind="image2prompt").legacy


def test_converted_presets_record_their_source_and_read_like_their_older_folders(converted, tmp_path):
    for kind, folder in converted.items():
        resolved = presets.resolve(str(folder), kind=kind)
        preset = resolved.preset
        assert resolved.kind == kind and resolved.label == str(folder) and not preset.legacy
        assert preset.architecture and all(preset.path(role).is_file() for role in preset.files)
        assert preset.source["command"].startswith(f"tfagiqa convert {kind.removesuffix('-rn50')} --torch ")
        assert len(preset.source["originals"]["torch"]["sha256"]) == 64 and preset.source["git_commit"]
        older = older_layout(folder, tmp_path / kind)  # what the converter wrote before presets
        legacy = presets.resolve(str(older), kind=kind).preset
        assert legacy.legacy and dict(legacy.files) == dict(preset.files) and dict(legacy.assets) == dict(preset.assets)
        if kind in ("clip-rn50", "clipiqa+"):  # their older config files hold the architecture
            assert dict(legacy.architecture) == dict(preset.architecture)


def test_every_keras_file_loads_in_a_fresh_process_after_a_bare_import(converted, run_models):
    """``python -c "import tfagiqa, keras; keras.saving.load_model(...)"`` for every .keras kind: each converter's,
    each run script's, the Image2Prompt encoder; their weights are the ones written."""
    files = {name: str(folder / "model.keras") if folder.is_dir() else str(folder)
             for name, (folder, _) in run_models.items()}
    files.update({f"{kind}/{role}": str(presets.load_preset(folder).path(role)) for kind, folder in converted.items()
                  for role in presets.load_preset(folder).files})
    code = """
import json, sys
import numpy as np
import tfagiqa, keras
sums = {}
for name, path in json.loads(sys.argv[1]).items():
    model = keras.saving.load_model(path)
    sums[name] = [len(model.weights), float(sum(np.abs(w).astype("float64").sum() for w in model.get_weights()))]
print(json.dumps(sums))
"""
    done = subprocess.run([sys.executable, "-c", code, json.dumps(files)], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    sums = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(sums) == set(files) and len(files) == 19
    for name, (_, model) in run_models.items():
        want = float(sum(np.abs(w).astype("float64").sum() for w in model.get_weights()))
        assert sums[name][0] == len(model.weights) > 0 and sums[name][1] == pytest.approx(want, rel=1e-6), name
    assert all(count > 0 and total > 0 for count, total in sums.values())


# --- scorers from presets ------------------------------------------------------------------------------------------

def pixels(size: int, n: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")


def test_dlsr_scorer_rebuilds_the_backbone_its_preset_records(run_models):
    from tfagiqa.backbones.tiny import tiny_cnn_features
    from tfagiqa.export import scoring_model

    folder, head = run_models["perception_after_fold1"]
    model = tfagiqa.create_scorer("dlsr-perception", weights=str(folder))
    expected = scoring_model(tiny_cnn_features(SIZE).model, head, "quality")
    np.testing.assert_allclose(model.predict({"images": pixels(SIZE)}, verbose=0)["quality"],
                               expected.predict({"images": pixels(SIZE)}, verbose=0)["quality"], atol=1e-6)
    provenance = get_entry("dlsr-perception").weights_provenance(str(folder))
    assert provenance["weights"] == provenance["head"] == str(folder)
    assert (provenance["backbone"], provenance["backbone_weights"], provenance["data"]) == ("tiny", "random",
                                                                                           "synthetic")
    with pytest.raises(WeightsError, match="is a DLSR perception model; use dlsr-perception"):
        tfagiqa.create_scorer("dlsr-alignment", weights=str(folder))
    with pytest.raises(WeightsError, match="is a sfiqa-fusion preset"):
        tfagiqa.create_scorer("dlsr-perception", weights=str(run_models["agiqa3k_fusion_code_quality_split1"][0]))


def test_ipiqa_and_sfiqa_scorers_equal_the_models_saved(run_models):
    folder, scorer = run_models["ipiqa_agiqa3k_scorer"]
    inputs = {"images": tf.constant(pixels(64)), "prompt": tf.constant(["a cat", "a red dog"])}
    got = tfagiqa.create_scorer("ipiqa-agiqa3k", weights=str(folder))(inputs)
    for output, value in scorer(inputs).items():
        np.testing.assert_allclose(got[output], value, atol=1e-6)
    fusion_folder, fusion = run_models["agiqa3k_fusion_code_quality_split1"]
    for weights in (fusion_folder, fusion_folder.parent):  # the fusion preset, or the run's models/ folder
        full = tfagiqa.create_scorer("sfiqa", weights=str(weights))
        out = full({"images": tf.constant(pixels(64)), "prompt": tf.constant(["a cat", "a red dog"])})
        quality = run_models["agiqa3k_quality_quality_split1"][1]({"images": pixels(64)}, training=False)
        np.testing.assert_allclose(out["quality"], np.asarray(quality)[:, 0], atol=1e-5)
        fused = fusion(np.stack([out["quality"], out["similarity"]], 1), training=False)
        np.testing.assert_allclose(out["overall"], np.asarray(fused)[:, 0], atol=1e-5)


def test_converted_hyperiqa_scores_alike_from_preset_older_folder_and_file(converted, tmp_path):
    from tfagiqa.methods.hyperiqa.scorers import scoring_model

    folder = converted["hyperiqa"]
    older = older_layout(folder, tmp_path / "older")
    expected = np.asarray(scoring_model(keras.saving.load_model(folder / "model.keras"))({"images": pixels(64)})["quality"])
    assert np.ptp(expected) > 0
    for weights in (folder, older, older / "model.keras"):
        got = tfagiqa.create_scorer("hyperiqa", weights=str(weights))({"images": pixels(64)})["quality"]
        np.testing.assert_allclose(np.asarray(got), expected, atol=1e-6)


def test_every_catalogue_model_builds_tiny_and_scores_two_images(converted, run_models, tmp_path):
    """Every registered catalogue entry, built in a tiny configuration (the tiny presets the converters and runs
    write; NIQE/BRISQUE need none; PickScore, whose only weights are a Hugging Face folder, through its own random
    builder with the tiny CLIP), scores two images through ``tfagiqa.Scorer``: a new entry without a tiny
    configuration here fails this test."""
    torch = pytest.importorskip("torch")
    from test_hps import CONTEXT, EMBED, PATCH, RESOLUTION, TEXT_WIDTH, WIDTH
    from torch_clip import BPE_VOCAB, CLIP, randomise, write_bpe

    from tfagiqa.backbones import clip_resnet, clip_text
    from tfagiqa.backbones.clip_vit import TINY_CLIP
    from tfagiqa.methods.hps import convert as hps_convert
    from tfagiqa.methods.ipiqa import model as ipiqa
    from tfagiqa.methods.pickscore.scorers import random_scorer

    hps = {}
    for version in ("v1", "v2"):  # a random one-layer ViT CLIP per version (the activation does not matter here)
        clip = randomise(CLIP(("vit", PATCH, WIDTH, 1, 2), RESOLUTION, EMBED, BPE_VOCAB, CONTEXT, TEXT_WIDTH, 1,
                              activation=torch.nn.GELU))
        torch.save({"state_dict": clip.state_dict()}, tmp_path / f"{version}.pt")
        assert hps_convert.run(argparse.Namespace(torch=str(tmp_path / f"{version}.pt"), version=version,
                                                  bpe=str(write_bpe(tmp_path / "bpe.txt.gz")),
                                                  out=str(tmp_path / version))) == 0
        hps[f"hps-{version}"] = tmp_path / version
    config = ipiqa.IPIQAConfig(outputs=("overall",), image_size=64, vision=clip_resnet.tiny_config(64),
                               text=clip_text.tiny_text_config())
    ipiqa.scoring_model(ipiqa.build_ipiqa(config), config.outputs).save(tmp_path / "ipiqa_agiqa1k.keras")
    tiny = {
        "brisque": None, "niqe": None, **hps,
        "clipiqa": converted["clip-rn50"], "clipiqa+": converted["clipiqa+"], "cnniqa": converted["cnniqa"],
        "dbcnn": converted["dbcnn"], "hyperiqa": converted["hyperiqa"], "imagereward": converted["imagereward"],
        "dlsr-perception": run_models["perception_after_fold1"][0], "dlsr-alignment": run_models["alignment_fold1"][0],
        "ipiqa-agiqa1k": tmp_path / "ipiqa_agiqa1k.keras", "ipiqa-agiqa3k": run_models["ipiqa_agiqa3k_scorer"][0],
        "sfiqa": run_models["agiqa3k_fusion_code_quality_split1"][0],
        "sfiqa-quality": run_models["agiqa3k_quality_quality_split1"][0], "pickscore": random_scorer(TINY_CLIP),
    }
    assert sorted(tiny) == tfagiqa.list_models()
    images = [np.asarray(image, dtype="uint8") for image in pixels(48)]
    for name, weights in tiny.items():
        entry = get_entry(name)
        model = weights if isinstance(weights, keras.Model) else \
            tfagiqa.create_scorer(name, None if weights is None else str(weights))
        scorer = tfagiqa.Scorer.from_keras(model)
        scores = scorer(images, prompts=["a red cat", "a dog in snow"] if entry.needs_prompt else None)
        assert set(scores) == set(entry.outputs), name
        for output, values in scores.items():
            assert values.shape == (2,) and np.isfinite(values).all(), (name, output, values)
