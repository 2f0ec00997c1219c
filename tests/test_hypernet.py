"""HyperIQA / Hypernet AGIQA: per-sample target weights, serialisation, schedules, losses, scorer, learning."""

import os

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from tfagiqa import distribute
from tfagiqa.layers import normalisation
from tfagiqa.methods.hyperiqa import model as hypernet
from tfagiqa.methods.hyperiqa import protocol as protocol
from experiment_scripts import load_script

TINY = hypernet.tiny(image_size=32)


def images(n, size=32, seed=0):
    return np.random.RandomState(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")


def test_target_weights_are_generated_per_image():
    model = hypernet.hypernet_model(TINY)
    hyper = keras.Model(model.input, model.get_layer("hyper").output)
    x = images(2)
    w1, b1 = (np.asarray(t) for t in hyper({"image": x})[:2])
    assert w1.shape == (2, 16, 32) and b1.shape == (2, 16)
    assert np.abs(w1[0] - w1[1]).max() > 1e-4  # a hypernetwork, not one shared head
    same = np.asarray(hyper({"image": np.stack([x[0], x[0]])})[0])
    np.testing.assert_allclose(same[0], same[1], atol=1e-6)


def test_target_network_is_the_per_sample_mlp():
    rng = np.random.RandomState(1)
    sizes = (5, 4, 3, 1)
    params = []
    for f_in, f_out in zip(sizes[:-1], sizes[1:]):
        params += [rng.normal(size=(2, f_out, f_in)).astype("float32"), rng.normal(size=(2, f_out)).astype("float32")]
    x = rng.normal(size=(2, 5)).astype("float32")
    got = np.asarray(hypernet.TargetNetwork()([x, *params]))
    for b in range(2):
        q = x[b]
        for k in range(3):
            q = params[2 * k][b] @ q + params[2 * k + 1][b]
            q = 1 / (1 + np.exp(-q)) if k < 2 else q
        np.testing.assert_allclose(got[b], q, rtol=1e-5)


def test_generator_reads_nchw_memory_like_the_official_view():
    layer = hypernet.HyperNetwork(feature_size=2, hyper_channels=4, target_sizes=(4, 2, 2, 2, 2), conv_channels=(8, 8))
    x = np.random.RandomState(2).normal(size=(1, 2, 2, 6)).astype("float32")
    w1 = np.asarray(layer(x)[0])
    conv_map = np.asarray(layer.weight_convs[0](layer.convs[2](layer.convs[1](layer.convs[0](x)))))  # [1, 2, 2, 2]
    np.testing.assert_allclose(w1[0], conv_map[0].transpose(2, 0, 1).reshape(2, 4), rtol=1e-6)


@pytest.mark.parametrize("target,variant", [("quality", "image"), ("hybrid", "image"), ("alignment", "text")])
def test_keras_round_trip(tmp_path, target, variant):
    exp = hypernet.experiment(target, variant, "aigciqa2023")
    prompts = ["a red cube", "two blue balls"]
    config = hypernet.tiny(image_size=32, outputs=exp.outputs, hyper_input=exp.hyper_input,
                           target_input=exp.target_input, text_dim=3 if target != "quality" else 0,
                           hyper_text_dim=2 if variant == "text" else 0)
    model = hypernet.hypernet_model(config, text_keys=prompts if config.needs_target_text else (),
                                    hyper_text_keys=prompts if config.needs_hyper_text else ())
    if config.needs_target_text:
        hypernet.set_text_table(model, np.arange(6, dtype="float32").reshape(2, 3))
    if config.needs_hyper_text:
        hypernet.set_text_table(model, np.arange(4, dtype="float32").reshape(2, 2), "hyper")
    x = {"image": images(3), "prompt": np.array(prompts + ["unseen"])}
    x = {k: v for k, v in x.items() if k in model.input}
    before = np.asarray(model(x))
    assert before.shape == (3, len(exp.outputs))
    model.save(tmp_path / "m.keras")
    after = np.asarray(keras.saving.load_model(tmp_path / "m.keras")(x))
    np.testing.assert_allclose(after, before, atol=1e-6)


def test_schedules():
    assert protocol.learning_rates(0, "official") == protocol.learning_rates(0, "fixed") == (2e-5, 2e-4)
    assert all(protocol.learning_rates(t, "official") == (2e-5, None) for t in range(1, 16))
    fixed = [protocol.learning_rates(t, "fixed")[1] for t in range(16)]
    np.testing.assert_allclose(fixed[:7], [2e-4] * 7)  # made after epochs 0..5: 2e-5 / 10^0 × 10
    np.testing.assert_allclose(fixed[7:10], [2e-5] * 3)  # after epochs 6..8: 2e-6 × 10
    np.testing.assert_allclose(fixed[10:13], [2e-6] * 3)  # after epoch 9..11: ratio 1 (t > 8), 2e-6
    np.testing.assert_allclose(fixed[13:], [2e-7] * 3)
    assert all(protocol.learning_rates(t, s)[0] == 2e-5 for t in range(16) for s in protocol.SCHEDULES)


@pytest.mark.parametrize("schedule", protocol.SCHEDULES)
def test_official_schedule_freezes_the_hyper_network_after_epoch_one(schedule):
    keras.utils.set_random_seed(0)
    model = hypernet.hypernet_model(TINY)
    trainer = protocol.Trainer(model, lr=1e-3)
    data = tf.data.Dataset.from_tensor_slices(({"image": images(8)}, np.linspace(0, 5, 8)[:, None].astype("float32"))).batch(4)

    def snapshot(variables):
        return [np.array(v) for v in variables]

    for epoch in range(2):
        hyper_before, res_before = snapshot(trainer.hyper_vars), snapshot(trainer.backbone_vars)
        trainer.start_epoch(*protocol.learning_rates(epoch, schedule, 1e-3))
        trainer.train_epoch(data)
        hyper_moved = any(np.abs(a - np.array(v)).max() > 0 for a, v in zip(hyper_before, trainer.hyper_vars))
        res_moved = any(np.abs(a - np.array(v)).max() > 0 for a, v in zip(res_before, trainer.backbone_vars))
        assert res_moved
        assert hyper_moved == (epoch == 0 or schedule == "fixed")


def test_parameter_groups_follow_the_official_split():
    model = hypernet.hypernet_model(TINY)
    backbone, hyper = hypernet.parameter_groups(model)
    names_b = {v.path.split("/")[0] for v in backbone}
    names_h = {v.path.split("/")[0] for v in hyper}
    assert {"res_lda1", "res_lda4"} <= names_b and names_h == {"hyper"}
    assert len(backbone) + len(hyper) == len(model.trainable_variables)


def test_losses():
    y = tf.constant([[1.0], [2.0], [3.0]])
    assert float(hypernet.score_loss(y, y)) == pytest.approx(0.0, abs=1e-6)
    assert float(hypernet.score_loss(y, y + 0.5)) > 0 and float(hypernet.score_loss(y, y - 0.5)) > 0
    literal = lambda f: float(tf.reduce_mean(tf.nn.softplus(-(f - y))))  # −log σ(f − s): keeps falling
    assert literal(y + 100.0) < literal(y + 10.0) < literal(y)
    right, wrong = tf.constant([[0.0], [1.0], [2.0]]), tf.constant([[2.0], [1.0], [0.0]])
    assert float(hypernet.rank_loss(y, right)) < np.log(2) < float(hypernet.rank_loss(y, wrong))
    groups = tf.constant([0, 1, 2])
    assert float(hypernet.rank_loss(y, wrong, groups)) == 0.0  # no pair shares a prompt


def test_scorer_and_its_fixed_views():
    """The catalogue scorer normalises inside; the export's view policy averages the fixed 2×2 grid crops."""
    from tfagiqa.export import ViewPolicy, image_views, view_scorer
    from tfagiqa.methods.hyperiqa.scorers import VIEWS, scoring_model

    assert VIEWS == {"crop": "fixed_crops", "n_crops": 25, "resize_to": 512}
    crop_model = hypernet.hypernet_model(TINY, normalise=False)
    scorer = scoring_model(crop_model)
    x = images(2, 48)
    views = image_views(x, 32, ViewPolicy("fixed_crops", 4))
    score = np.asarray(view_scorer(scorer)(views)["quality"])
    crops = np.asarray(views).reshape(-1, 32, 32, 3)
    np.testing.assert_array_equal(crops[3], x[0, 16:48, 16:48])  # crop 4 of image 1: bottom-right corner
    normalised = (crops / 255.0 - np.array(normalisation.IMAGENET_MEAN)) / np.array(normalisation.IMAGENET_STD)
    per_crop = np.asarray(crop_model({"image": normalised.astype("float32")}))[:, 0]
    np.testing.assert_allclose(score, per_crop.reshape(2, 4).mean(1), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(score, np.asarray(view_scorer(scorer)(views)["quality"]))


def test_tiny_run_learns_on_synthetic_data(tmp_path):
    """run_hypernet.py end to end (test profile, one split): tagged rows, and SRCC far above chance."""
    script = load_script("run_hypernet")
    assert script.main(["--dataset", "aigciqa2023", "--target", "quality", "--profile", "test", "--epochs", "6",
                        "--selection", "test", "--schedule", "fixed", "--data-root", str(tmp_path / "data"),
                        "--out", str(tmp_path / "out"), "--no-save"]) == 0
    rows = pd.read_csv(tmp_path / "out" / "results.csv")
    assert set(rows["selection"]) == {"best_test_srcc", "last_epoch"}
    assert (rows["data"] == "synthetic").all() and (rows["weights"] == "random").all()
    assert (rows["paper"] == "hypernet").all() and (rows["schedule"] == "fixed").all()
    best = rows[rows["selection"] == "best_test_srcc"].iloc[0]
    assert best["srcc"] > 0.4, rows[["selection", "epoch", "srcc"]]


def test_tables_show_every_result_row(tmp_path):
    """run_hypernet.py --dataset agiqa3k --target alignment --variant image (test profile, one split, both selection
    runs), then make_tables --paper hypernet: each row's SRCC/PLCC is in Table IV's cell for its selection (the
    median over the rows of that selection)."""
    from tfagiqa.methods.hyperiqa import tables as hypernet_tables

    assert load_script("run_hypernet").main([
        "--dataset", "agiqa3k", "--target", "alignment", "--variant", "image", "--profile", "test", "--epochs", "1",
        "--repeats", "1", "--data-root", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--no-save"]) == 0
    results_csv = tmp_path / "out" / "results.csv"
    assert load_script("make_tables").main(["--paper", "hypernet", "--results", str(results_csv),
                                            "--out", str(tmp_path / "tables")]) == 0
    rows = pd.read_csv(results_csv)
    assert len(rows) == 3 and set(rows["selection"]) == set(hypernet_tables.SELECTIONS)
    tag = "synthetic_random_smoke_resnet-w8-b1111-tiny"
    table = pd.read_csv(tmp_path / "tables" / f"hypernet_tableIV_{tag}_text-tfidf.csv", index_col=0)
    for row in rows.itertuples():
        group = rows[rows["selection"] == row.selection]
        for metric in ("srcc", "plcc"):
            column = f"{hypernet_tables.SELECTIONS[row.selection]} {metric.upper()}"
            cell = float(table.loc[f"{row.experiment} {row.subset}", column])
            assert cell == pytest.approx(np.median(group[metric])), (row.selection, metric)
    assert not list((tmp_path / "tables").glob("hypernet_other_runs*"))


def test_prompt_embedders(tmp_path):
    """The TF-IDF baseline and a (tiny, local) keras-hub preset, one row per distinct prompt; bare ``blip`` says how
    to get the converted ImageReward it needs (``blip:DIR`` is tested in test_imagereward.py)."""
    import keras_hub

    from tfagiqa.errors import WeightsError
    from tfagiqa.methods.hyperiqa.text_inputs import embed_texts

    df = pd.DataFrame({"prompt": ["a red cube", "blue ball", "a red cube"], "name": ["0.png", "1.png", "2.png"]})
    tfidf = embed_texts(df)
    assert tfidf.label == "tfidf" and tfidf.key == "prompt" and tfidf.keys == ["a red cube", "blue ball"]
    assert tfidf.vectors.shape[0] == 2 and np.abs(tfidf.vectors[0] - tfidf.vectors[1]).max() > 0
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "red", "cube", "blue", "ball"]
    keras_hub.models.BertBackbone(vocabulary_size=len(vocab), num_layers=1, num_heads=2, hidden_dim=8,
                                  intermediate_dim=16, max_sequence_length=16).save_to_preset(tmp_path)
    keras_hub.models.BertTextClassifierPreprocessor(keras_hub.models.BertTokenizer(vocabulary=vocab),
                                                    sequence_length=8).save_to_preset(tmp_path)
    hub = embed_texts(df, f"keras-hub:{tmp_path}")
    assert hub.vectors.shape == (2, 8) and hub.dim == 8 and hub.label == f"keras-hub:{tmp_path}"
    with pytest.raises(WeightsError, match="tfagiqa convert imagereward"):
        embed_texts(df, "blip")


def test_weights_resolution_and_refusals(tmp_path):
    from tfagiqa.errors import WeightsError

    smoke, paper = protocol.PROFILES["smoke"], protocol.PROFILES["paper"]
    assert protocol.resolve_weights("auto", smoke, tmp_path) == (None, "random")
    assert protocol.resolve_weights("none", paper, tmp_path) == (None, "random")
    with pytest.raises(WeightsError, match="width-reduced"):
        protocol.resolve_weights("imagenet", smoke, tmp_path)
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / protocol.TORCHVISION_RESNET50).write_bytes(b"")
    assert protocol.resolve_weights("imagenet", paper, tmp_path)[1] == "imagenet"
    script = load_script("run_hypernet")
    os.environ.pop("TF_CONFIG", None)
    assert script.main(["--strategy", "multiworker", "--data-root", str(tmp_path)]) == 2  # no TF_CONFIG: clear error


def test_interrupted_split_resumes_from_its_backup(tmp_path):
    """A split killed after epoch 2 of 3 restarts at epoch 3 with its backed-up weights and history."""
    script = load_script("run_hypernet")
    run = script.Run(script.parse_args(["--dataset", "aigciqa2023", "--target", "quality", "--profile", "test",
                                        "--epochs", "3", "--data-root", str(tmp_path / "data"),
                                        "--out", str(tmp_path / "out")]))
    setting, side = run.setting(run.experiments[0]), protocol.grouped_splits(run.data, 1)[1]
    backup, lines = tmp_path / "backup", []

    def dies_after_epoch_two(line):
        lines.append(line)
        if line.strip().startswith("epoch 2/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        protocol.run_split(run.data, side, setting, run.profile, "fixed", 1, run.text,
                           backup_dir=backup, log=dies_after_epoch_two)
    assert (backup / "state.pkl").is_file()
    saved = distribute.EpochBackup(backup)
    probe = protocol.build_model(setting, run.text, 7, None)
    first_epoch = saved.restore(probe)
    assert len(first_epoch) == 1  # the kill came before epoch 2's backup was written

    resumed = protocol.run_split(run.data, side, setting, run.profile, "fixed", 1, run.text,
                                 backup_dir=backup, log=lines.append)
    assert any("resumed" in line and "after epoch 1" in line for line in lines)
    assert len(resumed.history) == 3 and not backup.exists()
    np.testing.assert_array_equal(resumed.history[0]["test_scores"], first_epoch[0]["test_scores"])
    whole = protocol.run_split(run.data, side, setting, run.profile, "fixed", 1, run.text, log=lines.append)
    for epoch in range(3):  # the resumed run drew the same crops, flips and order: it ends where this one ends
        np.testing.assert_array_equal(resumed.history[epoch]["test_scores"], whole.history[epoch]["test_scores"])


def test_text_tables_are_made_per_text_embedder(tmp_path):
    """Table IV from rows of two embedders: one table each, never a median across them; Table II made once."""
    from tfagiqa.methods.hyperiqa.tables import make_tables

    base = dict(paper="hypernet", data="synthetic", weights="random", profile="smoke", backbone="tiny",
                selection="best_test_srcc", plcc=0.5)
    rows = [dict(base, experiment="alignment_image", subset="aigciqa2023:alignment", split_index=i,
                 text_embedder=embedder, srcc=srcc)
            for embedder, values in (("tfidf", (0.1, 0.2, 0.9)), ("blip:/m", (0.6, 0.7, 0.8)))
            for i, srcc in enumerate(values, start=1)]
    rows.append(dict(base, experiment="quality", subset="aigciqa2023:quality", split_index=1, text_embedder="",
                     srcc=0.3))
    written = {p.name for p in make_tables(pd.DataFrame(rows), tmp_path)}
    tag = "synthetic_random_smoke_tiny"
    assert {f"hypernet_tableIV_{tag}_text-tfidf.csv", f"hypernet_tableIV_{tag}_text-blip-m.csv",
            f"hypernet_tableII_{tag}.csv"} <= written
    cell = "alignment_image aigciqa2023:alignment"
    tfidf = pd.read_csv(tmp_path / f"hypernet_tableIV_{tag}_text-tfidf.csv", index_col=0)
    blip = pd.read_csv(tmp_path / f"hypernet_tableIV_{tag}_text-blip-m.csv", index_col=0)
    assert float(tfidf.loc[cell, "ours SRCC"]) == pytest.approx(0.2)
    assert float(blip.loc[cell, "ours SRCC"]) == pytest.approx(0.7)
    assert "text embedder blip:/m" in (tmp_path / f"hypernet_tables_{tag}.md").read_text()


def test_text_hypernet_reads_its_own_embedder_beside_the_target_networks(tmp_path, synthetic_root, capsys):
    """Table V: the hyper network reads the prompt through one text model (KPEval's phrase encoder in the paper),
    the target network an image-aware embedding keyed by the image (BLIP): two tables, two inputs, two labels."""
    import keras_hub

    from tfagiqa.methods.hyperiqa.tables import make_tables
    from tfagiqa.methods.hyperiqa.text_inputs import KPEVAL_STAND_IN, resolve_embedder

    prompts, names = ["a red cube", "two blue balls"], ["0.png", "1.png", "2.png"]
    config = hypernet.tiny(image_size=32, outputs=("alignment",), hyper_input="text", target_input="text",
                           text_dim=4, text_key="name", hyper_text_dim=3, hyper_text_key="prompt")
    model = hypernet.hypernet_model(config, text_keys=names, hyper_text_keys=prompts)
    assert set(model.input) == {"prompt", "name"}
    rng = np.random.default_rng(0)
    hypernet.set_text_table(model, rng.normal(size=(3, 4)).astype("float32"))
    hypernet.set_text_table(model, rng.normal(size=(2, 3)).astype("float32"), "hyper")
    probe = keras.Model(model.input, [model.get_layer("target_in_projection").output,
                                      model.get_layer("hyper").output[0]])
    x = {"prompt": np.array([prompts[0], prompts[0], prompts[1]]), "name": np.array(names)}
    target_in, generated = (np.asarray(t) for t in probe(x))
    assert np.abs(target_in[0] - target_in[1]).max() > 1e-3  # same prompt, other image: other target input
    np.testing.assert_array_equal(generated[0], generated[1])  # same prompt: the same generated target network
    assert np.abs(generated[0] - generated[2]).max() > 1e-6
    hypernet.set_text_table(model, rng.normal(size=(2, 3)).astype("float32"), "hyper")
    assert np.abs(np.asarray(probe(x)[1]) - generated).max() > 1e-6  # the hyper network reads its own table

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "red", "cube", "blue", "ball"]
    preset = tmp_path / "weights" / "keras-hub" / KPEVAL_STAND_IN
    keras_hub.models.BertBackbone(vocabulary_size=len(vocab), num_layers=1, num_heads=2, hidden_dim=8,
                                  intermediate_dim=16, max_sequence_length=16).save_to_preset(preset)
    keras_hub.models.BertTextClassifierPreprocessor(keras_hub.models.BertTokenizer(vocabulary=vocab),
                                                    sequence_length=8).save_to_preset(preset)
    assert resolve_embedder("auto", "hyper", tmp_path).spec == f"keras-hub:{preset}"
    assert resolve_embedder("auto", "target", tmp_path).spec == "tfidf"

    script = load_script("run_hypernet")
    common = ["--dataset", "agiqa3k", "--target", "alignment", "--variant", "text", "--profile", "test",
              "--data-root", str(synthetic_root), "--out", str(tmp_path / "out")]
    run = script.Run(script.parse_args(common + ["--hyper-text-embedder", f"keras-hub:{preset}"]))
    setting = run.setting(run.experiments[0])
    assert (setting.config.hyper_text_dim, setting.config.text_dim) == (8, run.text.dim)
    assert run.row_embedder(setting.config) == f"hyper:keras-hub:{preset}+target:tfidf"
    banner = capsys.readouterr().out
    assert "does NOT SEE THE IMAGE" in banner and "feeds the text hypernet" not in banner
    run = script.Run(script.parse_args(common))  # auto, no weights under the data root: TF-IDF for both, loudly
    assert run.row_embedder(run.setting(run.experiments[0]).config) == "hyper:tfidf+target:tfidf"
    assert "TF-IDF feeds the text hypernet" in capsys.readouterr().out

    label = f"hyper:keras-hub:{preset}+target:blip:/m"
    row = dict(paper="hypernet", data="synthetic", weights="random", profile="smoke", backbone="tiny", split_index=1,
               selection="best_test_srcc", experiment="alignment_text", subset="agiqa3k:alignment",
               text_embedder=label, srcc=0.1, plcc=0.2)
    written = {p.name for p in make_tables(pd.DataFrame([row]), tmp_path / "tables")}
    assert any(name.startswith("hypernet_tableV_synthetic_random_smoke_tiny_text-hyper-keras-hub-")
               and name.endswith("-target-blip-m.csv") for name in written), written
