"""HPS v1 / v2: 100·cos against a hand computation, ``tfagiqa convert hps`` against PyTorch CLIP ViTs written from
the public architecture (OpenAI's layout with QuickGELU for v1, open_clip's GELU for v2; random weights, saved as
HPS checkpoints are: ``{"state_dict": …}``), the catalogue entries, the SavedModel round trip, clear refusals and
the benchmark adapter."""

import argparse
from dataclasses import replace

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import tfagiqa
from tfagiqa.backbones.clip_text import tokenize
from tfagiqa.catalogue import get_entry
from tfagiqa.errors import TfagiqaError, WeightsError
from tfagiqa.export import ViewPolicy, export_savedmodel, image_views
from tfagiqa.benchmark import adapters
from tfagiqa.methods import get_method
from tfagiqa.methods.hps import benchmark, convert, scorers
from tfagiqa.methods.hps.model import PreferenceScore
from tfagiqa.backbones.clip_vit import TINY_CLIP

RESOLUTION, PATCH, WIDTH, EMBED, TEXT_WIDTH, CONTEXT = 32, 8, 128, 32, 64, 77
PROMPTS = ["a red cat on a sofa", "an astronaut riding a horse, digital art"]


def pixels(seed: int = 0, size: int = RESOLUTION) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (2, size, size, 3)).astype("float32")


def test_preference_score_is_100_cosine():
    image = np.array([[3.0, 4.0, 0.0], [1.0, 0.0, 0.0]], "float32")
    text = np.array([[4.0, 3.0, 0.0], [-1.0, 1.0, 0.0]], "float32")
    got = np.asarray(PreferenceScore()(image, text))
    np.testing.assert_allclose(got, [100 * 24 / 25, 100 * -1 / np.sqrt(2)], rtol=1e-6)


def test_random_tiny_scorer_scores_image_prompt_pairs():
    model = scorers.random_scorer("v1", replace(TINY_CLIP, activation="quick_gelu"))
    scores = np.asarray(model({"images": tf.constant(pixels()), "prompt": tf.constant(PROMPTS)})["hps"])
    assert scores.shape == (2,) and np.isfinite(scores).all() and np.abs(scores).max() <= 100
    assert scores[0] != scores[1]


def test_catalogue_entries():
    for version, views in (("v1", {"crop": "fixed_crops", "n_crops": 1, "resize_to": 224}), ("v2", {"crop": "resize"})):
        meta = get_entry(f"hps-{version}").metadata()
        assert meta["needs_prompt"] and meta["outputs"] == ["hps"] and meta["input_size"] == 224
        assert meta["views"] == views


def official_shapes(vision_width: int, vision_layers: int, text_width: int, text_layers: int, embed: int) -> dict:
    """Shape-only stand-ins (broadcast zeros, no memory) for an OpenAI-layout ViT-x/14 CLIP state dict at 224 px."""
    def zeros(*shape):
        return np.broadcast_to(np.float32(0), shape)

    state = {"visual.conv1.weight": zeros(vision_width, 3, 14, 14), "visual.positional_embedding": zeros(257, vision_width),
             "visual.proj": zeros(vision_width, embed), "token_embedding.weight": zeros(49408, text_width),
             "positional_embedding": zeros(77, text_width), "ln_final.weight": zeros(text_width),
             "text_projection": zeros(text_width, embed)}
    for prefix, width, layers in (("visual.transformer", vision_width, vision_layers),
                                  ("transformer", text_width, text_layers)):
        for i in range(layers):
            state[f"{prefix}.resblocks.{i}.mlp.c_fc.weight"] = zeros(4 * width, width)
    return state


def test_official_architectures_are_read_from_the_shapes():
    """hpc.pt's ViT-L/14 and HPS v2's ViT-H/14 shapes give the catalogue's configurations (heads included: 1024/64
    for v1, open_clip's head width 80 for ViT-H/14's 1280 channels)."""
    from tfagiqa.methods.hps.model import HPS_V1, HPS_V2

    assert convert.config_from_state(official_shapes(1024, 24, 768, 12, 768), "v1") == HPS_V1
    assert convert.config_from_state(official_shapes(1280, 32, 1024, 24, 1024), "v2") == HPS_V2


# --- parity with PyTorch ------------------------------------------------------------------------------------------

try:
    import torch
    from torch_clip import BPE_VOCAB, CLIP, QuickGELU, cosine, randomise, write_bpe
except ImportError:  # torch is in the test extra; without it only the parity tests skip
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="the parity tests need torch (pip install 'tfagiqa[torch]')")
ACTIVATIONS = {"v1": "quick_gelu", "v2": "gelu"}


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """Per version: the random PyTorch CLIP ViT and the folder ``tfagiqa convert hps`` wrote from it."""
    root = tmp_path_factory.mktemp("hps")
    bpe = write_bpe(root / "bpe.txt.gz")
    out = {}
    for version, activation, layers in (("v1", QuickGELU, 1), ("v2", torch.nn.GELU, 2)):  # v1 exported: kept short
        model = randomise(CLIP(("vit", PATCH, WIDTH, layers, 2), RESOLUTION, EMBED, BPE_VOCAB, CONTEXT, TEXT_WIDTH,
                               layers, activation=activation), seed=len(out))
        state = {**model.state_dict(), "attn_mask": torch.zeros(CONTEXT, CONTEXT)}  # open_clip's buffer, ignored
        torch.save({"state_dict": state, "epoch": 1}, root / f"{version}.pt")
        args = argparse.Namespace(torch=str(root / f"{version}.pt"), version=version, bpe=str(bpe),
                                  out=str(root / version))
        assert convert.run(args) == 0
        out[version] = (model, root / version)
    return root, out


def torch_hps(model, images, token_ids) -> np.ndarray:
    with torch.no_grad():
        return (100.0 * cosine(model.encode_image(images), model.encode_text(token_ids))).numpy()


@needs_torch
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_converted_scorer_matches_pytorch(converted, version):
    model, folder = converted[1][version]
    scorer = tfagiqa.create_scorer(f"hps-{version}", str(folder))
    _, tokenizer, found = convert.load_converted(folder)
    assert found == version
    ids = tokenize(PROMPTS, tokenizer)
    images = pixels(seed=len(version))
    got = np.asarray(scorer({"images": tf.constant(images), "prompt": tf.constant(PROMPTS)})["hps"])
    np.testing.assert_allclose(got, torch_hps(model, images, ids), atol=2e-3)
    assert np.abs(got).max() > 1.0  # informative: the random towers do not give ~0 similarities


@needs_torch
def test_config_is_read_from_the_shapes(converted):
    from tfagiqa.presets import load_preset

    record = load_preset(converted[1]["v2"][1], kind="hps").architecture
    assert record["version"] == "v2" and record["config"]["activation"] == ACTIVATIONS["v2"]
    config = record["config"]
    assert (config["patch_size"], config["vision_hidden"], config["vision_layers"], config["image_size"]) == (
        PATCH, WIDTH, 2, RESOLUTION)
    assert (config["text_hidden"], config["context_length"], config["vocab_size"], config["projection_dim"]) == (
        TEXT_WIDTH, CONTEXT, BPE_VOCAB, EMBED)
    assert config["vision_heads"] == WIDTH // 64 and config["text_heads"] == 1
    assert load_preset(converted[1]["v1"][1]).architecture["config"]["activation"] == "quick_gelu"


@needs_torch
def test_converted_folder_is_an_hps_preset_and_reads_like_its_older_layout(converted, tmp_path):
    from older_layouts import older_layout
    from tfagiqa.presets import load_preset

    folder = converted[1]["v2"][1]
    preset = load_preset(folder, kind="hps")
    assert preset.architecture["version"] == "v2" and preset.architecture["config"]["image_size"] == RESOLUTION
    assert preset.source["originals"]["torch"]["file"] == "v2.pt" and preset.extra == ()
    assert preset.source["command"].startswith(f"tfagiqa convert hps --torch {converted[0] / 'v2.pt'} --version v2")
    older = older_layout(folder, tmp_path / "older")
    legacy = load_preset(older, kind="hps")
    assert legacy.legacy and legacy.architecture == preset.architecture and legacy.files == preset.files
    assert legacy.assets == preset.assets == {"tokenizer": "tokenizer"}


@needs_torch
def test_export_round_trip(converted, tmp_path):
    """hps-v1 from a converted folder, exported with v1's views: the SavedModel (BPE inside its graph) scores two
    image-prompt pairs as the Keras scorer does."""
    _, folder = converted[1]["v1"]
    model = tfagiqa.create_scorer("hps-v1", str(folder))
    views = scorers.views("v1", RESOLUTION)
    out = export_savedmodel(model, tmp_path / "sm", get_entry("hps-v1").metadata(), ViewPolicy(**views))
    images = np.random.default_rng(7).integers(0, 256, (2, 40, 36, 3), dtype=np.uint8)
    exported = tfagiqa.Scorer.load(out)(images, prompts=PROMPTS)["hps"]
    crops = image_views(tf.constant(images), RESOLUTION, ViewPolicy(**views))[:, 0]  # shorter side → 32, centre crop
    in_memory = np.asarray(model({"images": crops, "prompt": tf.constant(PROMPTS)})["hps"])
    np.testing.assert_allclose(exported, in_memory, atol=1e-4)
    assert np.isfinite(exported).all() and exported[0] != exported[1]


@needs_torch
def test_refusals_say_what_to_do(converted, tmp_path):
    root, versions = converted
    with pytest.raises(WeightsError, match="holds HPS v1; score it with hps-v1"):
        tfagiqa.create_scorer("hps-v2", str(versions["v1"][1]))
    with pytest.raises(WeightsError, match="tfagiqa convert hps"):
        tfagiqa.create_scorer("hps-v1", str(tmp_path))
    state = {k: v for k, v in torch.load(root / "v1.pt", weights_only=True)["state_dict"].items()}
    torch.save({"state_dict": {**state, "visual.extra.weight": torch.zeros(2)}}, tmp_path / "extra.pt")
    with pytest.raises(WeightsError, match="no place in CLIP"):
        convert.run(argparse.Namespace(torch=str(tmp_path / "extra.pt"), version="v1", bpe=str(root / "bpe.txt.gz"),
                                       out=str(tmp_path / "o")))
    torch.save({"state_dict": {"visual.layer1.0.conv1.weight": torch.zeros(2)}}, tmp_path / "resnet.pt")
    with pytest.raises(WeightsError, match="not an OpenAI/open_clip ViT CLIP"):
        convert.run(argparse.Namespace(torch=str(tmp_path / "resnet.pt"), version="v2", bpe=str(root / "bpe.txt.gz"),
                                       out=str(tmp_path / "o")))
    with pytest.raises(WeightsError, match="huggingface.co/xswu/HPSv2"):
        convert.run(argparse.Namespace(torch=str(tmp_path / "missing.pt"), version="v2", bpe=str(root / "bpe.txt.gz"),
                                       out=str(tmp_path / "o")))


# --- benchmark adapter --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def split(tmp_path_factory):
    from zero_shot_data import tiny_split

    return tiny_split(tmp_path_factory.mktemp("data"))


def decoded(test) -> np.ndarray:
    return np.stack([np.asarray(Image.open(path)) for path in test["image"]]).astype("float32")


def test_benchmark_scores_test_rows_with_their_prompts(split, tmp_path):
    """One fit_predict (smoke, random) equals a freshly resolved scorer (same seed) called on the same views with
    each row's prompt: the rows' order, their prompts and the seed's determinism in one check."""
    train, test = split
    assert benchmark.NEEDS_PROMPT and not benchmark.TRAINED
    assert all(benchmark.skip_reason(t) is None for t in ("quality", "alignment", "overall"))
    out = benchmark.fit_predict(train, test, "alignment", profile="smoke", weights="none", seed=0, workdir=tmp_path)
    assert out["predictions"].shape == (len(test),) and np.isfinite(out["predictions"]).all()
    assert out["weights"] == "random" and out["backbone"] == "clip_vit_l14_hps_v1_tiny" and "alignment" in out["notes"]
    model, views, _, _ = benchmark.resolve("none", "smoke", seed=0)
    size = model.input["images"].shape[1]
    crops = image_views(tf.constant(decoded(test)), size, ViewPolicy(**views))[:, 0]
    expected = np.asarray(model({"images": crops, "prompt": tf.constant(test["prompt"].tolist())})["hps"])
    np.testing.assert_allclose(out["predictions"], expected, atol=1e-4)
    with pytest.raises(TfagiqaError, match="hps: HPS gives one preference score; there is no authenticity reading"):
        adapters.load(get_method("hps")).fit_predict(train, test, "authenticity", profile="smoke", weights="none",
                                                     seed=0, workdir=tmp_path)


@needs_torch
def test_benchmark_resolves_a_converted_checkpoint(converted):
    _, folder = converted[1]["v2"]
    model, views, weights, backbone = benchmark.resolve(str(folder), "paper", seed=0)
    assert (weights, backbone, views) == (str(folder), "clip_vit_h14_hps_v2", {"crop": "resize"})
    assert model.input["images"].shape[1] == RESOLUTION and "prompt" in model.input
