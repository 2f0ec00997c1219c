"""ImageReward in Keras: the BERT tokenizer, an image-conditioned [CLS] feature, serialisation, the catalogue scorer,
and the Hypernet paper's BLIP text embedder (``blip:DIR``) end to end on the synthetic AIGCIQA2023."""

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import tfagiqa
from tfagiqa.backbones.blip_text import BertPromptTokenizer, read_bert_vocab
from tfagiqa.data import load_dataset, schema
from tfagiqa.errors import DataError, WeightsError
from tfagiqa.methods.imagereward import model as imagereward
from tfagiqa.methods.imagereward.scorers import placeholder_vocabulary
from tfagiqa.methods.hyperiqa import protocol as hypernet_protocol
from tfagiqa.methods.imagereward import protocol as protocol
from tfagiqa.methods.imagereward.protocol import prompt_vocabulary
from tfagiqa.scorer import Scorer
from experiment_scripts import load_script

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "cat", "dog", "on", "the", "red", "##s", "mat", "cafe",
         ".", ",", "[DEC]", "[ENC]"]


def tiny_model(vocabulary=VOCAB, seed=0, sequence_length=None):
    keras.utils.set_random_seed(seed)
    config = imagereward.tiny(len(vocabulary))
    if sequence_length:
        from dataclasses import replace

        config = replace(config, text=replace(config.text, sequence_length=sequence_length))
    return imagereward.imagereward_model(config, vocabulary)


def pixels(n, seed=0, size=32):
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")


def test_tokenizer_ids_by_hand():
    """[CLS] … [SEP] [PAD]…: lower-cased, accents stripped, punctuation split off, ## pieces, [UNK], truncation."""
    tokenizer = BertPromptTokenizer(VOCAB, 8)
    out = tokenizer(tf.constant(["A red CAT on the mat.", "Red dogs, café", "zebra", "a a a a a a a a a a"]))
    cls, sep, unk = 2, 3, 1
    expected = [[cls, 5, 10, 6, 8, 9, 12, sep],  # "a red cat on the mat": the "." gives way to [SEP] (length 8)
                [cls, 10, 7, 11, 15, 13, sep, 0],  # "red dog ##s , cafe"
                [cls, unk, sep, 0, 0, 0, 0, 0],
                [cls, 5, 5, 5, 5, 5, 5, sep]]
    np.testing.assert_array_equal(np.asarray(out["token_ids"]), expected)
    np.testing.assert_array_equal(np.asarray(out["padding_mask"]), np.asarray(expected) != 0)


def test_tokenizer_cleans_and_lower_cases_as_hugging_face():
    """Tab/newline → space, control and format characters dropped, ``str.lower`` (ß and ligatures stay as they are,
    where keras-hub's NFKC case folding would give ss and fi)."""
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "cafe", "ss", "fi", "##sh", "stra", "##ße", "##sse",
             "[DEC]", "[ENC]"]
    out = BertPromptTokenizer(vocab, 6)(tf.constant(["a\u200bcafe", "a\tcafe\n", "a\x00cafe", "STRAßE", "ﬁsh", "fish"]))
    cls, sep, unk = 2, 3, 1
    np.testing.assert_array_equal(np.asarray(out["token_ids"]), [
        [cls, unk, sep, 0, 0, 0],  # the zero-width space is dropped: "acafe", not in the vocabulary
        [cls, 5, 6, sep, 0, 0],
        [cls, unk, sep, 0, 0, 0],
        [cls, 10, 11, sep, 0, 0],  # "straße": stra ##ße (not strasse)
        [cls, unk, sep, 0, 0, 0],  # the ligature stays one character, unknown
        [cls, 8, 9, sep, 0, 0]])


def test_vocab_file_gets_blips_two_tokens(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(VOCAB[:-2]) + "\n")
    assert read_bert_vocab(path) == VOCAB  # [DEC] = 30522, [ENC] = 30523 in the real file
    path.write_text("a\nb\n")
    with pytest.raises(WeightsError, match="not a BERT vocab.txt"):
        read_bert_vocab(path)
    with pytest.raises(WeightsError, match="bert-base-uncased"):
        read_bert_vocab(tmp_path / "missing.txt")


def test_feature_looks_at_the_image_and_the_prompt_and_ignores_padding():
    model = tiny_model()
    x = pixels(2)
    same_prompt = model({"image": x, "prompt": np.array(["a red cat", "a red cat"])})["embedding"]
    assert np.abs(np.asarray(same_prompt[0] - same_prompt[1])).max() > 1e-3  # image-conditioned (cross-attention)
    same_image = model({"image": x[[0, 0]], "prompt": np.array(["a red cat", "the dog on the mat"])})["embedding"]
    assert np.abs(np.asarray(same_image[0] - same_image[1])).max() > 1e-3
    longer = tiny_model(sequence_length=20)  # same weights (seed), more [PAD]: masked, so the same feature
    longer.set_weights(model.get_weights())
    padded = longer({"image": x, "prompt": np.array(["a red cat", "a red cat"])})["embedding"]
    np.testing.assert_allclose(np.asarray(padded), np.asarray(same_prompt), atol=1e-5)


def test_reward_is_the_normalised_mlp_output_and_round_trips(tmp_path):
    model = tiny_model()
    x = {"image": pixels(3), "prompt": np.array(["a cat", "red dogs", "the mat"])}
    out = model(x)
    raw = keras.Model(model.input, model.get_layer(f"reward_fc{len(imagereward.tiny(1).mlp_sizes)}").output)(x)
    expected = (np.asarray(raw)[:, 0] - imagereward.REWARD_MEAN) / imagereward.REWARD_STD
    np.testing.assert_allclose(np.asarray(out["reward"]), expected, rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "model.keras")
    again = keras.saving.load_model(tmp_path / "model.keras")(x)
    for name in ("embedding", "reward"):
        np.testing.assert_allclose(np.asarray(again[name]), np.asarray(out[name]), atol=1e-6)


def test_catalogue_scorer_centre_crops_and_scores_like_the_model(tmp_path):
    model = tiny_model()
    model.save(tmp_path / "model.keras")
    scorer = Scorer.from_keras(tfagiqa.create_scorer("imagereward", str(tmp_path)),
                               tfagiqa.catalogue.get_entry("imagereward").metadata())
    wide = np.random.default_rng(3).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    got = scorer(wide, prompts="a red cat")["reward"]
    centre = wide[:, 8:40].astype("float32")[None]  # shorter side already 32: the view is the centre 32×32
    expected = model({"image": centre, "prompt": np.array(["a red cat"])})["reward"]
    np.testing.assert_allclose(got, np.asarray(expected), atol=1e-5)
    with pytest.raises(WeightsError, match="tfagiqa convert imagereward"):
        tfagiqa.create_scorer("imagereward", str(tmp_path / "nothing"))
    vocab = placeholder_vocabulary(30524)
    assert len(vocab) == 30524 and vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert vocab[-2:] == ["[DEC]", "[ENC]"]


@pytest.fixture(scope="module")
def blip_dir(tmp_path_factory):
    """A tiny random ImageReward saved as ``tfagiqa convert imagereward`` lays it out, and the data root it fits."""
    root = tmp_path_factory.mktemp("blip")
    data = load_dataset("aigciqa2023", root / "data")
    vocabulary = prompt_vocabulary(data[schema.PROMPT])
    model = imagereward.imagereward_model(imagereward.tiny(len(vocabulary)), vocabulary)
    (root / "ir").mkdir()
    model.save(root / "ir" / "model.keras")
    return root, data, model


def test_blip_embedder_gives_each_images_cls_feature_and_caches_it(blip_dir, monkeypatch):
    from tfagiqa.methods.imagereward import scorers as imagereward_scorers
    from tfagiqa.methods.hyperiqa.text_inputs import embed_texts

    root, data, model = blip_dir
    df = data.iloc[:6]
    table = embed_texts(df, f"blip:{root / 'ir'}", cache_dir=root / "cache")
    assert table.key == "name" and table.keys == df[schema.NAME].tolist() and table.vectors.shape == (6, 16)
    image = tf.keras.utils.load_img(df[schema.IMAGE].iloc[2])  # 96² synthetic: resized to 32, centre crop = all
    view = tf.image.resize(np.asarray(image, "float32")[None], (32, 32), method="bilinear", antialias=True)
    direct = model({"image": view, "prompt": tf.constant([df[schema.PROMPT].iloc[2]])})["embedding"]
    np.testing.assert_allclose(table.vectors[2], np.asarray(direct)[0], atol=1e-5)
    assert len(list((root / "cache").glob("*.npy"))) == 1
    monkeypatch.setattr(imagereward_scorers, "load_imagereward", lambda path: pytest.fail("a cache hit loaded BLIP"))
    again = embed_texts(df.iloc[::-1], f"blip:{root / 'ir'}", cache_dir=root / "cache")  # from the cache, reordered
    np.testing.assert_allclose(again.vectors, table.vectors[::-1], atol=0)
    with pytest.raises(DataError, match="not unique"):
        embed_texts(pd.concat([df, df]), f"blip:{root / 'ir'}")


def test_run_hypernet_alignment_with_the_blip_embedder(blip_dir, tmp_path, capsys):
    """Table IV's image-based hypernet with the BLIP target input: keyed by image name, recorded in the rows."""
    root, _, _ = blip_dir
    script = load_script("run_hypernet")
    code = script.main(["--dataset", "aigciqa2023", "--target", "alignment", "--variant", "image", "--profile", "test",
                        "--epochs", "1", "--repeats", "1", "--selection", "test", "--data-root", str(root / "data"),
                        "--text-embedder", f"blip:{root / 'ir'}", "--cache-dir", str(root / "cache"),
                        "--out", str(tmp_path / "out")])
    assert code == 0
    rows = pd.read_csv(tmp_path / "out" / "results.csv")
    assert (rows["text_embedder"] == f"blip:{root / 'ir'}").all() and (rows["data"] == "synthetic").all()
    assert rows["srcc"].notna().all()
    saved = keras.saving.load_model(tmp_path / "out" / "models" / "aigciqa2023_alignment_image_split1" / "model.keras")
    assert set(saved.input) == {"image", "name"}
    assert "text embedder blip:" in capsys.readouterr().out


def test_rank_pairs_by_hand():
    df = pd.DataFrame({"prompt": ["a", "a", "a", "b", "b", "c"], "alignment": [1.0, 3.0, 2.0, 2.0, 2.0, 5.0]})
    better, worse = protocol.rank_pairs(df, "alignment")
    assert sorted(zip(better.tolist(), worse.tolist())) == [(1, 0), (1, 2), (2, 0)]  # the tie in "b" is skipped
    with pytest.raises(DataError, match="NaN alignment"):
        protocol.rank_pairs(df.assign(alignment=[1.0, np.nan, 2.0, 2.0, 2.0, 5.0], image=list("uvwxyz")), "alignment")


def test_fix_rate_freezes_as_the_official_loop():
    """fix_rate 0.7 of the full sizes: BERT embeddings + layers 0–7 and ViT embeddings + blocks 0–15 frozen, and the
    first parameter of BERT layer 8 and ViT block 16 (the official ``break`` comes after freezing it)."""
    model = imagereward.imagereward_model(imagereward.IMAGEREWARD, placeholder_vocabulary(30524))
    vit = 16 * 16 * 3 * 1024 + 1024 + 1024 + 197 * 1024 + 24 * (  # patch conv, class token, positions, blocks
        4 * 1024 + 1024 * 3072 + 3072 + 1024 * 1024 + 1024 + 1024 * 4096 + 4096 + 4096 * 1024 + 1024) + 2 * 1024
    cross = 768 * 768 + 768 + 2 * (1024 * 768 + 768) + 768 * 768 + 768  # q from the text, k/v from the ViT, output
    bert = 30524 * 768 + 512 * 768 + 2 * 768 + 12 * (4 * (768 * 768 + 768) + cross + 768 * 3072 + 3072 + 3072 * 768
                                                     + 768 + 3 * 2 * 768)
    mlp = 768 * 1024 + 1024 + 1024 * 128 + 128 + 128 * 64 + 64 + 64 * 16 + 16 + 16 + 1
    assert model.count_params() == vit + bert + mlp == 446_206_689  # SPEC §3.3's sizes, nothing more
    protocol.freeze_like_official(model)
    trainable = {v.path for v in model.trainable_weights}  # keras-hub names ViT blocks from 1, these layers from 0
    assert len({v.path for v in model.weights}) == len(model.weights)
    assert not any(p.startswith(("embeddings/", "embeddings_layer_norm/", "vit_patching_and_embedding/"))
                   for p in trainable)
    assert not any(p.startswith(f"layer_{i}/") for i in range(8) for p in trainable)
    assert not any(p.startswith(f"vit_encoder/transformer_block_{i}/") for i in range(1, 17) for p in trainable)
    assert "layer_8/self_attention/query/kernel" not in trainable
    assert {"layer_8/self_attention/query/bias", "layer_11/feedforward_output_dense/kernel"} <= trainable
    assert "vit_encoder/transformer_block_17/ln_1/gamma" not in trainable
    assert {"vit_encoder/transformer_block_17/ln_1/beta", "vit_encoder/ln/gamma"} <= trainable
    assert all(f"reward_fc{i}/kernel" in trainable for i in range(5))


def test_imagereward_fine_tuning_lowers_the_rank_loss(blip_dir):
    """A tiny random ImageReward fine-tuned on synthetic AIGCIQA2023 pairs: the pairwise loss falls from log 2."""
    _, data, _ = blip_dir
    side = hypernet_protocol.grouped_splits(data, 1)[1]
    result = protocol.run_split(data, side, "alignment", protocol.PROFILES["smoke"], seed=1, log=lambda line: None)
    losses = [epoch["loss"] for epoch in result.history]
    assert losses[0] == pytest.approx(np.log(2), abs=0.01) and losses[-1] < losses[0] - 0.05, losses
    assert result.history[-1]["test_scores"].shape == (len(result.test), 1)


def test_run_hypernet_imagereward_rows_sit_in_table_iv(blip_dir, tmp_path, capsys):
    from tfagiqa.methods.hyperiqa.tables import make_tables

    root, _, _ = blip_dir
    script = load_script("run_hypernet")
    args = ["--dataset", "aigciqa2023", "--target", "alignment", "--variant", "imagereward", "--profile", "test",
            "--epochs", "1", "--repeats", "1", "--selection", "test", "--data-root", str(root / "data"),
            "--out", str(tmp_path / "out")]
    assert script.main(args) == 0
    rows = pd.read_csv(tmp_path / "out" / "results.csv")
    assert (rows["experiment"] == "imagereward").all() and (rows["loss"] == "rank").all()
    assert (rows["text_embedder"] == "imagereward-tiny-random").all()
    make_tables(rows, tmp_path / "tables")
    table = next((tmp_path / "tables").glob("hypernet_tableIV_*_text-imagereward-tiny-random.csv"))
    cell = pd.read_csv(table, index_col=0).loc["imagereward aigciqa2023:alignment"]
    assert float(cell["ours SRCC"]) == pytest.approx(rows[rows["selection"] == "best_test_srcc"]["srcc"].median())
    assert script.main([*args[:-2], "--target", "quality", "--out", str(tmp_path / "x")]) == 2  # alignment only
    paper = [*args[:6], "--profile", "paper", *args[8:]]
    assert script.main([*paper[:-2], "--weights", "none", "--out", str(tmp_path / "y")]) == 2  # paper size needs blip:DIR
    assert "tfagiqa convert imagereward" in capsys.readouterr().err


@pytest.mark.slow  # the same training.fit resume path as test_resume.py's run_dlsr kill test; minutes on 2 cores
def test_interrupted_fine_tuning_resumes_from_its_backup(blip_dir, tmp_path):
    """Killed after epoch 2 of 3, the split restarts at epoch 3 with the backed-up weights, moments and history."""
    from tfagiqa import distribute

    _, data, _ = blip_dir
    side, backup, lines = hypernet_protocol.grouped_splits(data, 1)[1], tmp_path / "backup", []
    profile = protocol.PROFILES["test"].but(batch_size=64)

    def dies_after_epoch_two(line):
        lines.append(line)
        if line.strip().startswith("epoch 2/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        protocol.run_split(data, side, "alignment", profile, 1, backup_dir=backup, log=dies_after_epoch_two)
    probe = protocol.pair_model(protocol.base_model(None, data[schema.PROMPT], 7))
    epoch, states = distribute.EpochBackup(backup).restore(probe)
    first_epoch = states["records"]
    assert epoch == 1 and len(first_epoch) == 1  # the kill came before epoch 2's backup was written
    resumed = protocol.run_split(data, side, "alignment", profile, 1, backup_dir=backup, log=lines.append)
    assert any("resumed" in line and "after epoch 1" in line for line in lines)
    assert len(resumed.history) == 3 and not backup.exists()
    np.testing.assert_array_equal(resumed.history[0]["test_scores"], first_epoch[0]["test_scores"])
    whole = protocol.run_split(data, side, "alignment", profile, 1, log=lines.append)
    for epoch in range(3):  # the same pairs in the same order after the resume: it ends where this one ends
        np.testing.assert_array_equal(resumed.history[epoch]["test_scores"], whole.history[epoch]["test_scores"])
