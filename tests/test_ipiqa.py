"""IP-IQA: the two attention pools, positional-embedding interpolation, [QA] trainability, the head's 10× learning
rate, Image2Prompt pre-training, serialisation, and run_ipiqa.py end to end on the synthetic AGIQA-3K (tiny encoders)."""

from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from tfagiqa.backbones import clip_resnet, clip_text
from tfagiqa.layers.attention_pool import AttentionPool2d, interpolate_positional_embedding
from tfagiqa.methods.ipiqa.cross_modal_pool import CrossModalAttentionPool
from tfagiqa.methods.ipiqa import model as ipiqa
from tfagiqa.methods.ipiqa import scorers as ipiqa_scorers
from tfagiqa.methods.ipiqa import image2prompt as i2p
from tfagiqa.methods.ipiqa.protocol import HeadScaledAdamW, RepeatOutcome
from experiment_scripts import load_script

SIZE = 64
TEXT = clip_text.tiny_text_config()


def tiny(**changes) -> ipiqa.IPIQAConfig:
    return ipiqa.IPIQAConfig(**{"outputs": ("quality", "alignment"), "image_size": SIZE,
                                "vision": clip_resnet.tiny_config(SIZE), "text": TEXT, **changes})


def token_ids(prompts):
    return clip_text.tokenize(prompts, clip_text.HashTokenizer(TEXT.vocab_size, TEXT.context_length))


def images(n=2, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, SIZE, SIZE, 3)).astype("float32")


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return ipiqa.build_ipiqa(tiny())


def test_cross_modal_pool_changes_with_the_prompt_and_the_visual_pool_does_not(model):
    pools = keras.Model(model.input, [model.get_layer("visual_pool").output, model.get_layer("cross_modal_pool").output])
    x = images()
    visual_a, cross_a = pools({"images": x, "token_ids": token_ids(["a red cat", "a blue dog in a city"])})
    visual_b, cross_b = pools({"images": x, "token_ids": token_ids(["a baroque castle", "an anime robot"])})
    np.testing.assert_array_equal(visual_a, visual_b)
    # at random initialisation the attention is nearly uniform, so the change is small but far above rounding
    assert np.abs(np.asarray(cross_a) - np.asarray(cross_b)).max() > 1e-4


def test_interpolated_positional_embedding_reproduces_the_original_at_the_original_size():
    table = np.random.default_rng(0).normal(size=(50, 16)).astype("float32")
    same = keras.ops.convert_to_numpy(interpolate_positional_embedding(keras.ops.convert_to_tensor(table), (7, 7), (7, 7)))
    np.testing.assert_array_equal(same, table)
    np.testing.assert_allclose(ipiqa.resize_table(table, 7, 7), table)
    there_and_back = ipiqa.resize_table(table, 7, 16)
    assert there_and_back.shape == (257, 16)
    np.testing.assert_array_equal(there_and_back[0], table[0])  # the mean-token row is kept
    # a pool learned on 7×7 applied to a 16×16 map = a 16×16 pool holding the interpolated table
    features = np.random.default_rng(1).normal(size=(2, 16, 16, 16)).astype("float32")
    small, big = AttentionPool2d(7, 4, 8), AttentionPool2d(16, 4, 8)
    small.build(features.shape), big.build(features.shape)
    small.positional_embedding.assign(table)
    big.set_weights([ipiqa.resize_table(table, 7, 16), *small.get_weights()[1:]])
    np.testing.assert_allclose(small(features), big(features), atol=1e-5)


def test_qa_token_is_the_only_trainable_text_parameter_in_learned_mode(model):
    assert [v.path for v in model.get_layer("text_encoder").trainable_variables] == ["embedding/qa_embedding"]
    code = clip_text.clip_text_encoder(TEXT, "code")
    assert sorted(v.path for v in code.trainable_variables) == [
        "embedding/positional_embedding", "embedding/token_embedding", "text_projection/text_projection"]
    assert ipiqa.build_ipiqa(tiny(use_qa=False)).get_layer("text_encoder").trainable_variables == []
    # training moves [QA] (which starts as the EOT embedding) and leaves the vocabulary untouched
    keras.utils.set_random_seed(0)
    text = clip_text.clip_text_encoder(TEXT, "learned")
    embedding = text.get_layer("embedding")
    embedding.reset_qa_token()
    ids = token_ids(["a cat", "a dog", "a red car", "a hill"])
    np.testing.assert_allclose(text.predict(ids, verbose=0), clip_text_copy(text).predict(ids, verbose=0), atol=1e-6)
    tokens_before = keras.ops.convert_to_numpy(embedding.token_embedding)
    qa_before = keras.ops.convert_to_numpy(embedding.qa_embedding)
    text.compile(optimizer=HeadScaledAdamW(learning_rate=1e-2), loss="mse")
    text.fit(ids, np.ones((4, TEXT.embed_dim), "float32"), epochs=1, batch_size=4, verbose=0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(embedding.token_embedding), tokens_before)
    assert np.abs(keras.ops.convert_to_numpy(embedding.qa_embedding) - qa_before).max() > 0


def clip_text_copy(learned: keras.Model) -> keras.Model:
    """The same weights in a plain text encoder (no [QA]): equal outputs while [QA] is still the EOT embedding."""
    plain = clip_text.clip_text_encoder(TEXT, "none")
    clip_text.copy_text_weights(learned, plain)
    return plain


def test_head_gets_ten_times_the_learning_rate():
    keras.utils.set_random_seed(0)
    x = keras.Input((3,))
    model = keras.Model(x, keras.layers.Dense(1, name="head_out")(keras.layers.Dense(4, name="body")(x)))
    before = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
    model.compile(optimizer=HeadScaledAdamW(learning_rate=1e-3, weight_decay=0.0), loss="mse")
    model.fit(np.ones((8, 3), "float32"), np.full((8, 1), 5.0, "float32"), batch_size=8, epochs=1, verbose=0)
    steps = {v.path: np.abs(keras.ops.convert_to_numpy(v) - b).max() for v, b in zip(model.trainable_variables, before)}
    # Adam's first step is lr·g/(|g|+ε) ≈ lr for every parameter with a gradient
    np.testing.assert_allclose(steps["head_out/kernel"], 1e-2, rtol=1e-3)
    np.testing.assert_allclose(steps["body/kernel"], 1e-3, rtol=1e-3)


def test_heads_and_outputs(model):
    linear = ipiqa.build_ipiqa(tiny(head="linear", outputs=("overall",)))
    assert linear.output_shape == (None, 1) and [l.name for l in linear.layers if "head" in l.name] == ["head_out"]
    assert model.get_layer("head_dense").units == 2 * clip_resnet.tiny_config(SIZE).output_dim
    assert "token_ids" not in ipiqa.build_ipiqa(tiny().for_ablation(1)).input


def test_serialisation_round_trips(tmp_path, model):
    x = {"images": images(), "token_ids": token_ids(["a cat", "a dog"])}
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert [v.path for v in loaded.trainable_variables] == [v.path for v in model.trainable_variables]
    scorer = ipiqa.scoring_model(model, ("quality", "alignment"))
    prompts = {"images": x["images"], "prompt": np.array(["a cat", "a dog"])}
    scorer.save(tmp_path / "s.keras")
    reloaded = keras.saving.load_model(tmp_path / "s.keras")(prompts)
    np.testing.assert_allclose(reloaded["alignment"], model.predict(x, verbose=0)[:, 1], atol=1e-5)
    for layer in (AttentionPool2d(2, 4, 8), CrossModalAttentionPool(2, 4, 8), clip_text.HashTokenizer(64, 8),
                  clip_text.EOTProjection(8), clip_text.CLIPResidualAttentionBlock(16, 2)):
        assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()


def test_read_pairs_layouts_and_the_cosine_filter(tmp_path):
    folder = i2p.write_synthetic_pairs(tmp_path / "ddb", n=4, size=32)
    pairs = i2p.read_pairs(folder)
    assert len(pairs) == 4 and pairs["prompt"].str.startswith("a ").all()
    pd.DataFrame({"file_name": [Path(p).name for p in pairs["image"]], "text": pairs["prompt"]}).to_csv(
        folder / "part-000001" / "pairs.csv", index=False)
    assert i2p.read_pairs(folder / "part-000001" / "pairs.csv")["image"].tolist() == pairs["image"].tolist()
    for path, prompt in zip(pairs["image"], pairs["prompt"]):
        Path(path).with_suffix(".txt").write_text(prompt)
    (folder / "part-000001" / "part-000001.json").unlink()
    assert sorted(i2p.read_pairs(folder)["prompt"]) == sorted(pairs["prompt"])
    keep = i2p.filter_pairs(pairs, np.array([0.1, 0.35, 0.5, 0.349]))
    assert keep.tolist() == [False, True, True, False]
    with pytest.raises(i2p.DataError):
        i2p.read_pairs(tmp_path / "nothing")


class StopAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            raise KeyboardInterrupt


class EpochsRun(keras.callbacks.Callback):
    """The epochs a training actually runs."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)


@pytest.fixture(scope="module")
def pretrained_encoder(tmp_path_factory):
    """Image2Prompt on synthetic pairs, interrupted after epoch 1 and resumed: (encoder file, loss before, after)."""
    root = tmp_path_factory.mktemp("i2p")
    pairs = i2p.read_pairs(i2p.write_synthetic_pairs(root / "pairs", n=16, size=SIZE))
    keras.utils.set_random_seed(0)
    encoder = clip_resnet.clip_image_encoder(clip_resnet.tiny_config(SIZE))
    text = clip_text.clip_text_encoder(TEXT)
    targets = i2p.text_embeddings(text, pairs["prompt"], token_ids)
    before = i2p.mean_loss(encoder, pairs, targets)
    config = i2p.PretrainConfig(epochs=3, batch_size=8, learning_rate=1e-3)
    with pytest.raises(KeyboardInterrupt):
        i2p.pretrain(encoder, pairs, targets, config, root / "out", callbacks=[StopAfterFirstEpoch()])
    resumed, run = clip_resnet.clip_image_encoder(clip_resnet.tiny_config(SIZE)), EpochsRun()
    history = i2p.pretrain(resumed, pairs, targets, config, root / "out", callbacks=[run])
    return root / "out" / i2p.ENCODER_FILE, before, i2p.mean_loss(resumed, pairs, targets), (history, run.epochs)


def test_image2prompt_lowers_the_cosine_loss_and_resumes(pretrained_encoder):
    path, before, after, (history, epochs_run) = pretrained_encoder
    assert after < before - 0.1, (before, after)
    assert epochs_run == [1, 2]  # the interrupted run's first epoch was not repeated
    assert len(history) == 3 and all(np.isfinite(r["loss"]) for r in history)  # its record came from the backup
    assert path.is_file()


def test_epoch_selection_rules():
    def scores(s):
        return {"quality": {"srcc": s, "plcc": s, "krcc": s}, "alignment": {"srcc": s, "plcc": s, "krcc": np.nan}}

    history = [{"test": scores(0.1), "val": scores(0.9)}, {"test": scores(0.8), "val": scores(0.2)},
               {"test": scores(0.5), "val": scores(0.3)}]
    history[0]["val"]["alignment"]["krcc"] = 0.9  # the only finite validation sum: epoch 1
    outcome = RepeatOutcome(history, 10, 5)
    assert outcome.pick("best_test_sum")[0] == 1  # every test sum is NaN → none is preferred, the first is kept
    for h in history:
        h["test"]["alignment"]["krcc"] = 0.0
    assert outcome.pick("best_test_sum")[0] == 2 and outcome.pick("last_epoch")[0] == 3
    assert outcome.pick("best_val_sum") == (1, history[0]["test"])


@pytest.fixture(scope="module")
def ablation_run(tmp_path_factory, pretrained_encoder):
    """run_ipiqa.py's smoke path for Table 3 row 5, one split, one epoch, both selection runs: the results folder."""
    root = tmp_path_factory.mktemp("ipiqa_run")
    script = load_script("run_ipiqa")
    common = ["--dataset", "agiqa3k", "--data-root", str(root / "data"), "--profile", "smoke", "--weights", "none",
              "--repeats", "1", "--epochs", "1", "--out", str(root / "out")]
    assert script.main([*common, "--ablation", "2"]) == 2  # Image2Prompt rows need the pre-trained encoder
    assert script.main([*common, "--ablation", "5", "--image2prompt", str(pretrained_encoder[0]),
                        "--selection", "both"]) == 0
    return root / "out"


def test_run_ipiqa_smoke_writes_tagged_rows_and_a_usable_scorer(ablation_run):
    rows = pd.read_csv(ablation_run / "results.csv")
    assert set(rows["target"]) == {"quality", "alignment"}
    assert set(rows["selection"]) == {"best_test_sum", "last_epoch", "best_val_sum"}
    assert (rows["data"] == "synthetic").all() and (rows["profile"] == "smoke").all()
    assert rows["weights"].str.startswith("random+i2p:").all() and (rows["experiment"] == "ablation5").all()
    assert (rows["split"] == "ratio802_seed42").all() and rows["backbone"].str.startswith("clip_rn_w8").all()
    assert rows[["srcc", "plcc", "krcc"]].notna().all().all()
    prompts = {"images": images(), "prompt": np.array(["a cat", "a dog"])}
    wrapped = ipiqa_scorers.build_agiqa3k(str(ablation_run / "models" / "ablation5_agiqa3k"))(prompts)
    saved = ipiqa_scorers.build_agiqa3k(str(ablation_run / "models" / "ablation5_agiqa3k_scorer"))(prompts)
    assert set(saved) == {"quality", "alignment"} and saved["quality"].shape == (2,)
    np.testing.assert_allclose(saved["alignment"], wrapped["alignment"], atol=1e-5)


def test_tables_show_every_result_row(ablation_run, tmp_path):
    """make_tables --paper ipiqa: each row's SRCC/KRCC is in its table's cell (the mean over the rows of that
    experiment, dataset, target and selection) and the cell counts its split."""
    from tfagiqa.methods.ipiqa import tables as ipiqa_tables

    assert load_script("make_tables").main(["--paper", "ipiqa", "--results", str(ablation_run / "results.csv"),
                                            "--out", str(tmp_path)]) == 0
    rows = pd.read_csv(ablation_run / "results.csv")
    tag = {selection: tag for tag, selection in ipiqa_tables.SELECTIONS.items()}
    assert len(rows) == 6
    for row in rows.itertuples():
        table = pd.read_csv(tmp_path / f"ipiqa_table3{tag[row.selection]}.csv", index_col=0)
        column = ipiqa_tables.DATASET_NAMES[f"{row.dataset}:{row.target}"]
        group = rows[(rows["selection"] == row.selection) & (rows["target"] == row.target)]
        for metric in ("srcc", "krcc"):
            cell = float(table.loc[row.experiment, f"{column} {metric.upper()} ours"])
            assert cell == pytest.approx(group[metric].mean()), (row.selection, row.target, metric)
        assert table.loc[row.experiment, f"{column} splits"] == len(group) == 1
    assert not list(tmp_path.glob("ipiqa_other_runs*"))  # every row has its cell


def test_bpe_tokenizer_follows_openai_layout(tmp_path):
    import gzip

    with gzip.open(tmp_path / "bpe.txt.gz", "wt", encoding="utf-8") as fh:
        fh.write("#version: 0.2\nc a\nca t</w>\nd o\ndo g</w>\n")
    tokenizer = clip_text.BPETokenizer.from_bpe(tmp_path / "bpe.txt.gz", context_length=8)
    vocab = tokenizer.vocabulary
    sot, eot = vocab["<|startoftext|>"], vocab["<|endoftext|>"]
    assert (vocab["a</w>"], vocab["cat</w>"], sot, eot) == (320, 513, 516, 517)  # "a</w>" is 320 in CLIP's vocabulary
    np.testing.assert_array_equal(clip_text.tokenize(["Cat  dog", "a cat"], tokenizer),
                                  [[sot, 513, 515, eot, 0, 0, 0, 0], [sot, 320, 513, eot, 0, 0, 0, 0]])
    truncated = clip_text.tokenize(["cat " * 20], tokenizer)[0]
    assert truncated[-1] == eot and truncated.argmax() == 7  # cut to the context, EOT kept last
    reloaded = clip_text.BPETokenizer.load(tokenizer.save(tmp_path / "tok"), context_length=8)
    np.testing.assert_array_equal(clip_text.tokenize(["cat dog"], reloaded), clip_text.tokenize(["cat dog"], tokenizer))
    # in the graph of a saved scorer: the same ids as tokenizing beforehand
    keras.utils.set_random_seed(0)
    model = ipiqa.build_ipiqa(tiny(text=clip_text.tiny_text_config(vocab_size=len(vocab), context_length=8)))
    scorer = ipiqa.scoring_model(model, ("quality", "alignment"), tokenizer)
    scorer.save(tmp_path / "scorer.keras")
    prompts = ["a cat", "Dog cat"]
    served = keras.saving.load_model(tmp_path / "scorer.keras")({"images": images(), "prompt": np.array(prompts)})
    direct = model.predict({"images": images(), "token_ids": clip_text.tokenize(prompts, tokenizer)}, verbose=0)
    np.testing.assert_allclose(served["quality"], direct[:, 0], atol=1e-5)


@pytest.mark.slow  # the same training.fit resume path as test_resume.py's run_dlsr kill test; minutes on 2 cores
def test_interrupted_repeat_resumes_from_its_backup(tmp_path, monkeypatch):
    """A split killed during epoch 2 of 3 restarts at epoch 2 from the backed-up weights, moments and metrics."""
    from tfagiqa.methods.ipiqa import protocol as protocol

    script = load_script("run_ipiqa")
    run = script.Run(script.parse_args(["--dataset", "agiqa3k", "--profile", "smoke", "--weights", "none",
                                        "--repeats", "1", "--epochs", "3", "--data-root", str(tmp_path / "data"),
                                        "--out", str(tmp_path / "out")]))
    side = next(iter(protocol.repeat_splits(run.data, "agiqa3k", 1).values()))
    backup, evaluate, calls = tmp_path / "backup", protocol.evaluate_outputs, []

    def dies_in_epoch_two(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return evaluate(*args)

    monkeypatch.setattr(protocol, "evaluate_outputs", dies_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        protocol.train_repeat(run.build, run.data, side, run.labels, run.profile, run.lookup, 1,
                              with_validation=False, backup_dir=backup)
    monkeypatch.setattr(protocol, "evaluate_outputs", evaluate)
    epoch, states = protocol.distribute.EpochBackup(backup).restore(run.build())
    first_epoch = states["records"]
    assert epoch == 1 and len(first_epoch) == 1
    outcome = protocol.train_repeat(run.build, run.data, side, run.labels, run.profile, run.lookup, 1,
                                    with_validation=False, backup_dir=backup)
    assert len(outcome.history) == 3 and outcome.history[0] == first_epoch[0] and not backup.exists()
    whole = protocol.train_repeat(run.build, run.data, side, run.labels, run.profile, run.lookup, 1,
                                  with_validation=False)
    assert [h["test"] for h in outcome.history] == [h["test"] for h in whole.history]  # it ends where this one ends


def test_bpe_cleaning_follows_clip_basic_clean():
    """What ftfy.fix_text + html.unescape×2 make of prompts (checked against the official tokenizer in
    test_official_parity.py when a CLIP checkout is given)."""
    import tensorflow as tf

    raw = ["it\u2019s \u201cgood\u201d", "salt &amp; pepper &lt;3, &amp;gt;", "\ufb01ne \ufb02ow",
           "\uff26\uff35\uff2c\uff2c\u3000\uff11\uff12", "caf\u00e9 unchanged"]
    cleaned = [t.decode() for t in clip_text.clip_basic_clean(tf.constant(raw)).numpy()]
    assert cleaned == ["it's \"good\"", "salt & pepper <3, >", "fine flow", "FULL 12", "caf\u00e9 unchanged"]
