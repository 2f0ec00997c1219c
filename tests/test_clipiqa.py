"""CLIP-IQA and CLIP-IQA+: the antonym softmax against a hand computation, the position-free attention pool, parity
with a PyTorch CLIP RN50 (OpenAI's layout, random weights, scored as the official code does with
``pos_embedding=False`` at another resolution than the checkpoint's) through ``tfagiqa convert clip`` and
``tfagiqa convert clipiqa+``, the catalogue entries, the SavedModel round trip and the benchmark adapter."""

import argparse
import json
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfagiqa
from older_layouts import older_layout
from tfagiqa.backbones import clip_convert, clip_resnet, clip_text
from tfagiqa.benchmark import adapters
from tfagiqa.catalogue import get_entry
from tfagiqa.errors import WeightsError
from tfagiqa.export import ViewPolicy, export_savedmodel
from tfagiqa.layers import normalisation
from tfagiqa.layers.attention_pool import AttentionPool2d
from tfagiqa.methods import get_method
from tfagiqa.methods.clipiqa import convert as plus_convert
from tfagiqa.methods.clipiqa import learned_prompts, scorers
from tfagiqa.methods.clipiqa.model import AntonymPromptScore, PositionFreeAttentionPool

CHECKPOINT_SIZE, SCORE_SIZE, WIDTH, EMBED, TEXT_WIDTH, CONTEXT = 64, 96, 8, 32, 64, 77


def images(size: int, count: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (count, size, size, 3)).astype("float32")


def test_antonym_score_is_the_softmax_of_scaled_cosines():
    """Two pairs of nearly equal prompts (so that 100·cos differences stay moderate), two images, by hand:
    P(good) = e^{100 s_good} / (e^{100 s_good} + e^{100 s_bad}), averaged over the pairs."""
    image = np.array([[1.0, 0.0, 0.0], [0.9, 0.1, 0.05]], "float32")
    text = np.array([[1.0, 0.03, 0.0], [1.0, 0.0, 0.03], [1.0, 0.1, 0.1], [1.0, 0.2, 0.0]], "float32")
    layer = AntonymPromptScore(pairs=2, embed_dim=3, logit_scale=100.0)
    layer.build((None, 3))
    layer.text_features.assign(text)
    got = np.asarray(layer(image))
    unit = text / np.linalg.norm(text, axis=1, keepdims=True)
    expected = []
    for x in image / np.linalg.norm(image, axis=1, keepdims=True):
        e = np.exp(100.0 * unit.astype("float64") @ x)  # good₁, bad₁, good₂, bad₂
        expected.append((e[0] / (e[0] + e[1]) + e[2] / (e[2] + e[3])) / 2)
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    assert got.shape == (2,) and ((got > 0.05) & (got < 0.95)).all()


def test_position_free_pool_ignores_where_the_tokens_are():
    """Without the positional embedding the pool sees a set of tokens: a flipped map pools to the same vector, and
    the learned table does not matter; CLIP's own pool depends on both."""
    x = np.random.default_rng(0).normal(size=(2, 3, 3, 8)).astype("float32")
    free, clip_pool = PositionFreeAttentionPool(2, 2, 4, seed=1), AttentionPool2d(2, 2, 4, seed=1)
    out = np.asarray(free(x))
    np.testing.assert_allclose(np.asarray(free(x[:, ::-1, ::-1])), out, atol=1e-5)
    free.positional_embedding.assign(free.positional_embedding * 10.0)
    np.testing.assert_allclose(np.asarray(free(x)), out, atol=1e-5)
    assert np.abs(np.asarray(clip_pool(x[:, ::-1, ::-1])) - np.asarray(clip_pool(x))).max() > 1e-3


def test_random_scorers_are_probabilities_at_any_resolution():
    """Random tiny scorers built for a 64-px grid score 64-px and 128-px images (no positional table to resize)."""
    for variant, size in (("clipiqa", 64), ("clipiqa+", 128)):
        model = scorers.random_scorer(variant, size, clip_resnet.tiny_config(64),
                                      clip_text.tiny_text_config(context_length=32))
        quality = np.asarray(model({"images": images(size)})["quality"])
        assert quality.shape == (2,) and ((quality >= 0) & (quality <= 1)).all()


# --- parity with PyTorch ------------------------------------------------------------------------------------------

try:
    import torch
    from torch_clip import BPE_VOCAB, CLIP, cosine, randomise, write_bpe
except ImportError:  # torch is in the test extra; without it only the parity tests skip
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="the parity tests need torch (pip install 'tfagiqa[torch]')")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A random PyTorch CLIP RN50 (64 px), converted by ``tfagiqa convert clip`` with a tiny BPE file."""
    root = tmp_path_factory.mktemp("clipiqa")
    model = randomise(CLIP(("resnet", (1, 1, 1, 1), WIDTH), CHECKPOINT_SIZE, EMBED, BPE_VOCAB, CONTEXT, TEXT_WIDTH, 2))
    with torch.no_grad():  # a moderate logit scale keeps the random probabilities away from 0 and 1
        model.logit_scale.fill_(np.log(8.0))
    torch.save(model.state_dict(), root / "clip.pt")
    bpe = write_bpe(root / "bpe.txt.gz")
    assert clip_convert.run(argparse.Namespace(torch=str(root / "clip.pt"), bpe=str(bpe), out=str(root / "clip"))) == 0
    tokenizer = clip_text.BPETokenizer.from_bpe(bpe, CONTEXT)
    with pytest.MonkeyPatch.context() as patch:  # the catalogue entry, built at SCORE_SIZE instead of 512
        patch.setattr(scorers, "IMAGE_SIZE", SCORE_SIZE)
        scorer = tfagiqa.create_scorer("clipiqa", str(root / "clip"))
    return root, model, tokenizer, scorer


def torch_quality(model, pixels, text_features):
    """The official forward: image at its own resolution with ``pos_embedding=False``, softmax over the pair."""
    with torch.no_grad():
        image = model.encode_image(pixels, pos_embedding=False)
        logits = model.logit_scale.exp() * torch.stack([cosine(image, t.expand_as(image)) for t in text_features], -1)
        return logits.reshape(len(pixels), -1, 2).softmax(-1)[..., 0].mean(-1).numpy(), image.numpy()


@needs_torch
def test_clipiqa_matches_pytorch_at_another_resolution(reference):
    root, model, tokenizer, scorer = reference
    assert scorer.input["images"].shape[1:] == (SCORE_SIZE, SCORE_SIZE, 3)
    pixels = images(SCORE_SIZE)
    ids = clip_text.tokenize(["Good photo.", "Bad photo."], tokenizer)
    with torch.no_grad():
        text = model.encode_text(ids)
    expected, image = torch_quality(model, pixels, text)
    np.testing.assert_allclose(scorer.get_layer("antonym_prompts").text_features.numpy(), text.numpy(), atol=1e-4)
    encoder = scorer.get_layer("clipiqa_image_encoder")
    normalised = (pixels / 255.0 - np.array(normalisation.CLIP_MEAN)) / np.array(normalisation.CLIP_STD)
    np.testing.assert_allclose(np.asarray(encoder(normalised.astype("float32"))), image, atol=1e-4, rtol=1e-4)
    got = np.asarray(scorer({"images": pixels})["quality"])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert 0.01 < got.min() and got.max() < 0.99  # informative probabilities, not saturated ones


def torch_learned_features(model, tokenizer, ctx):
    """The official PromptLearner (middle class position) + TextEncoder, written from the public code."""
    n_ctx = ctx.shape[-2]
    ids = clip_text.tokenize([" ".join(["X"] * n_ctx) + f" {name}." for name in ("Good photo.", "Bad photo.")],
                             tokenizer)
    name_ids = clip_text.tokenize(["Good photo.", "Bad photo."], tokenizer)
    name_lens = [int((row != 0).sum()) - 2 for row in name_ids]
    ctx = torch.from_numpy(ctx)
    ctx = ctx.unsqueeze(0).expand(2, -1, -1) if ctx.dim() == 2 else ctx
    with torch.no_grad():
        embedded = model.token_embedding(torch.from_numpy(ids.astype("int64")))
        prefix, suffix = embedded[:, :1], embedded[:, 1 + n_ctx:]
        half = n_ctx // 2
        prompts = torch.cat([torch.cat([prefix[i:i + 1], ctx[i:i + 1, :half], suffix[i:i + 1, :n],
                                        ctx[i:i + 1, half:], suffix[i:i + 1, n:]], 1) for i, n in enumerate(name_lens)])
        return model.encode_embeddings(prompts, torch.from_numpy(ids.astype("int64")))


@needs_torch
@pytest.mark.parametrize("layout", ["tensor", "class_specific_state_dict"])
def test_learned_prompts_match_pytorch(reference, tmp_path, layout):
    """The published file (one [16, W] context saved as a tensor) and a class-specific context inside a pyiqa-style
    state dict are read, and the learned prompts are encoded as the official PromptLearner + TextEncoder do."""
    root, model, tokenizer, _ = reference
    rng = np.random.default_rng(3)
    if layout == "tensor":
        ctx = rng.normal(0, 0.3, (16, TEXT_WIDTH)).astype("float32")
        torch.save(torch.from_numpy(ctx), tmp_path / "ctx.pth")
    else:
        ctx = rng.normal(0, 0.3, (2, 16, TEXT_WIDTH)).astype("float32")
        torch.save({"params": {"prompt_learner.ctx": torch.from_numpy(ctx)}}, tmp_path / "ctx.pth")
    read = plus_convert.read_context(tmp_path / "ctx.pth")
    np.testing.assert_array_equal(read, ctx)
    text_encoder = keras.saving.load_model(root / "clip" / clip_convert.TEXT_FILE)
    ours = learned_prompts.learned_prompt_features(text_encoder, tokenizer, read)
    np.testing.assert_allclose(ours, torch_learned_features(model, tokenizer, ctx).numpy(), atol=1e-4)


@needs_torch
def test_clipiqa_plus_converter_and_catalogue_match_pytorch(reference, tmp_path):
    root, model, tokenizer, _ = reference
    ctx = np.random.default_rng(4).normal(0, 0.3, (16, TEXT_WIDTH)).astype("float32")
    torch.save(torch.from_numpy(ctx), tmp_path / "ctx.pth")
    args = argparse.Namespace(torch=str(tmp_path / "ctx.pth"), clip=str(root / "clip"), out=str(tmp_path / "plus"),
                              image_size=SCORE_SIZE)
    assert plus_convert.run(args) == 0
    scorer = tfagiqa.create_scorer("clipiqa+", str(tmp_path / "plus"))
    pixels = images(SCORE_SIZE, seed=1)
    expected, _ = torch_quality(model, pixels, torch_learned_features(model, tokenizer, ctx))
    np.testing.assert_allclose(np.asarray(scorer({"images": pixels})["quality"]), expected, atol=1e-5)
    assert get_entry("clipiqa+").weights_provenance(str(tmp_path / "plus"))["context_shape"] == [16, TEXT_WIDTH]


@needs_torch
def test_export_round_trip(reference, tmp_path):
    """The catalogue scorer exported as a SavedModel scores two images as the Keras model does."""
    model = reference[3]
    out = export_savedmodel(model, tmp_path / "sm", get_entry("clipiqa").metadata(), ViewPolicy())
    pixels = np.random.default_rng(5).integers(0, 256, (2, 80, 72, 3), dtype=np.uint8)
    exported = tfagiqa.Scorer.load(out)(pixels)["quality"]
    resized = tf.image.resize(pixels.astype("float32"), (SCORE_SIZE,) * 2, antialias=True).numpy()
    np.testing.assert_allclose(exported, np.asarray(model({"images": resized})["quality"]), atol=1e-6)


@needs_torch
def test_bad_weights_are_clear_errors(reference, tmp_path):
    root = reference[0]
    with pytest.raises(WeightsError, match="tfagiqa convert clip"):
        tfagiqa.create_scorer("clipiqa", str(tmp_path / "missing"))
    no_tokenizer = shutil.copytree(root / "clip", tmp_path / "no_tokenizer", ignore=shutil.ignore_patterns("tokenizer"))
    record = json.loads((no_tokenizer / "config.json").read_text())
    (no_tokenizer / "config.json").write_text(json.dumps({**record, "assets": {}}))  # as converted without --bpe
    with pytest.raises(WeightsError, match="--bpe"):
        tfagiqa.create_scorer("clipiqa", str(no_tokenizer))
    older = older_layout(no_tokenizer, tmp_path / "older")  # the same folder as the converter wrote it before presets
    with pytest.raises(WeightsError, match="has no tokenizer/: convert again with --bpe"):
        tfagiqa.create_scorer("clipiqa", str(older))
    with pytest.raises(WeightsError, match="tfagiqa convert clipiqa\\+"):
        tfagiqa.create_scorer("clipiqa+", str(tmp_path))
    torch.save(torch.zeros(16, TEXT_WIDTH + 1), tmp_path / "wrong.pth")
    with pytest.raises(WeightsError, match="does not fit"):
        plus_convert.run(argparse.Namespace(torch=str(tmp_path / "wrong.pth"), clip=str(root / "clip"),
                                            out=str(tmp_path / "o"), image_size=None))
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(WeightsError, match="no key ending in 'ctx'"):
        plus_convert.read_context(tmp_path / "other.pth")


def test_catalogue_entries():
    for name in ("clipiqa", "clipiqa+"):
        meta = get_entry(name).metadata()
        assert meta["outputs"] == ["quality"] and not meta["needs_prompt"] and meta["score_range"] == [0.0, 1.0]
        assert meta["input_size"] == 512 and get_entry(name).weights_provenance(None) == {"weights": "random"}
    assert keras.saving.get_registered_object("tfagiqa>AntonymPromptScore") is AntonymPromptScore


# --- benchmark adapter --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def split(tmp_path_factory):
    from zero_shot_data import tiny_split

    return tiny_split(tmp_path_factory.mktemp("data"))


def test_benchmark_scores_the_test_split_deterministically(split, tmp_path):
    """One fit_predict (smoke, random) equals a freshly resolved scorer (same seed) on the same resized images."""
    from PIL import Image

    from tfagiqa.methods.clipiqa import benchmark

    train, test = split
    assert not benchmark.NEEDS_PROMPT and not benchmark.TRAINED
    assert benchmark.skip_reason("quality") is None and benchmark.skip_reason("overall") is None
    assert "alignment" in benchmark.skip_reason("alignment")
    out = benchmark.fit_predict(train, test, "quality", profile="smoke", weights="none", seed=0, workdir=tmp_path)
    assert out["predictions"].shape == (len(test),) and np.isfinite(out["predictions"]).all()
    assert out["weights"] == "random" and out["backbone"] == "clip_rn50_tiny" and "zero-shot" in out["notes"]
    model, _, _ = benchmark.resolve("none", "smoke", seed=0)
    decoded = np.stack([np.asarray(Image.open(path)) for path in test["image"]]).astype("float32")
    resized = tf.image.resize(decoded, (benchmark.TINY_SIZE,) * 2, antialias=True)
    np.testing.assert_allclose(out["predictions"], np.asarray(model({"images": resized})["quality"]), atol=1e-6)
    with pytest.raises(tfagiqa.errors.TfagiqaError, match="clipiqa: .*never reads the prompt"):
        adapters.load(get_method("clipiqa")).fit_predict(train, test, "alignment", profile="smoke", weights="none",
                                                         seed=0, workdir=tmp_path)


@needs_torch
def test_benchmark_resolves_converted_weights(reference):
    from tfagiqa.methods.clipiqa import benchmark

    model, weights, backbone = benchmark.resolve(str(reference[0] / "clip"), "smoke", seed=0)
    assert (weights, backbone) == (str(reference[0] / "clip"), "clip_rn50")
    assert model.input["images"].shape[1] == benchmark.IMAGE_SIZES["smoke"]
