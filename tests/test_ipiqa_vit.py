"""IP-IQA on keras-hub's CLIP ViT: the text tower mapped from keras-hub's layout, a locally saved keras-hub preset
through resolve_clip, the ViT model's outputs and training, and run_ipiqa.py --backbone vit (tiny, random weights)."""

import gzip
from pathlib import Path

import keras
import keras_hub
import numpy as np
import pandas as pd
import pytest

from tfagiqa.backbones import clip_text, clip_vit
from tfagiqa.errors import WeightsError
from tfagiqa.methods.ipiqa import model as ipiqa
from tfagiqa.methods.ipiqa.protocol import PROFILES, HeadScaledAdamW, resolve_clip
from experiment_scripts import load_script

PRESET_SIZE, SIZE = 32, 64  # the preset's resolution (2×2 patches) and the model's (4×4: the table is resized)
VIT = clip_vit.tiny_vit_config()
TEXT = clip_text.tiny_text_config()


def bpe_vocabulary(folder: Path) -> tuple[dict[str, int], list[str]]:
    """CLIP's byte-level base vocabulary with four merges ("cat", "dog"): 518 ids, EOT the largest."""
    with gzip.open(folder / "bpe.txt.gz", "wt", encoding="utf-8") as fh:
        fh.write("#version: 0.2\nc a\nca t</w>\nd o\ndo g</w>\n")
    return clip_text.read_openai_bpe(folder / "bpe.txt.gz")


def hub_backbone(vocab_size: int, seed: int = 0) -> keras.Model:
    """A tiny keras-hub CLIPBackbone, every float weight drawn N(0, 0.3²) (activations at CLIP's scale, where
    keras-hub's final-LN ε of 1e-6 and OpenAI's 1e-5 agree), position ids 0…g² as in keras-hub's real presets."""
    vision = keras_hub.models.CLIPVisionEncoder(VIT.patch_size, VIT.hidden_dim, VIT.num_layers, VIT.num_heads,
                                                VIT.intermediate_dim, image_shape=(PRESET_SIZE, PRESET_SIZE, 3))
    text = keras_hub.models.CLIPTextEncoder(vocab_size, TEXT.width, TEXT.width, TEXT.layers, TEXT.heads,
                                            4 * TEXT.width, max_sequence_length=TEXT.context_length)
    backbone = keras_hub.models.CLIPBackbone(vision_encoder=vision, text_encoder=text, projection_dim=VIT.output_dim)
    rng = np.random.default_rng(seed)
    for weight in backbone.weights:
        if weight.dtype.startswith("float"):
            weight.assign(rng.normal(0.0, 0.3, weight.shape).astype("float32"))
    clip_vit.reset_position_ids(vision)
    return backbone


def eot_ids(vocab_size: int, lengths=(2, 5, 9)) -> np.ndarray:
    """[SOT] random words [EOT] 0-padded, EOT (the largest id) at a different position in each row."""
    rng = np.random.default_rng(1)
    ids = np.zeros((len(lengths), TEXT.context_length), "int32")
    for row, n in enumerate(lengths):
        ids[row, : n + 2] = [vocab_size - 2, *rng.integers(1, vocab_size - 3, n), vocab_size - 1]
    return ids


def hub_text(backbone: keras.Model, ids: np.ndarray) -> np.ndarray:
    return keras.ops.convert_to_numpy(backbone.get_text_embeddings(keras.ops.convert_to_tensor(ids)))


def images(n=2, size=SIZE, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    """A keras-hub CLIP preset folder (backbone and BPE tokenizer, saved with save_to_preset) and its backbone."""
    folder = tmp_path_factory.mktemp("preset")
    vocabulary, merges = bpe_vocabulary(folder)
    keras.utils.set_random_seed(0)
    backbone = hub_backbone(len(vocabulary))
    backbone.save_to_preset(folder / "clip")
    keras_hub.tokenizers.CLIPTokenizer(vocabulary=vocabulary, merges=merges).save_to_preset(folder / "clip")
    return folder / "clip", backbone


def test_mapped_text_encoder_reproduces_keras_hub(preset):
    _, backbone = preset
    ids = eot_ids(backbone.text_encoder.vocabulary_size)
    mapped = clip_vit.text_encoder_from_keras_hub(backbone)
    assert clip_text.text_config_of(mapped) == clip_vit.text_config_of(backbone)
    reference = hub_text(backbone, ids)
    assert np.abs(reference).max() > 0.5
    np.testing.assert_allclose(mapped.predict(ids, verbose=0), reference, atol=1e-5, rtol=0)


def test_keras_hub_preset_loads_into_the_vit_model(preset):
    folder, backbone = preset
    with pytest.raises(WeightsError, match="--backbone vit"):
        resolve_clip(f"keras-hub:{folder}", PROFILES["smoke"])
    with pytest.raises(WeightsError, match="save_to_preset"):
        resolve_clip(f"keras-hub:{folder.parent / 'missing'}", PROFILES["smoke"], backbone="vit")
    start = resolve_clip(f"keras-hub:{folder}", PROFILES["smoke"], backbone="vit")
    assert start.pretrained and start.label == f"keras-hub:{folder}" and start.vision == VIT
    assert start.text == clip_text.CLIPTextConfig(518, TEXT.context_length, TEXT.width, TEXT.heads, TEXT.layers, 32)
    ids = start.tokenize(["A cat  dog", "dog"])
    sot, eot = 516, 517
    np.testing.assert_array_equal(ids[:, :5], [[sot, 320, 513, 515, eot], [sot, 515, eot, 0, 0]])

    def loaded(size):
        config = ipiqa.IPIQAConfig(outputs=("quality",), image_size=size, vision=start.vision, text=start.text)
        model = ipiqa.build_ipiqa(config)
        ipiqa.load_clip(model, start.image_encoder, start.text_encoder)
        return model

    # at the preset's resolution the grid tokens are keras-hub's sequence output without the class token
    model = loaded(PRESET_SIZE)
    x = images(size=PRESET_SIZE)
    normalised = model.get_layer("clip_normalize")(x)
    grid = model.get_layer("image_trunk").predict(normalised, verbose=0)
    sequence = keras.ops.convert_to_numpy(backbone.vision_encoder({"images": normalised}))
    assert grid.shape == (2, 2, 2, VIT.hidden_dim)
    np.testing.assert_allclose(grid.reshape(2, 4, -1), sequence[:, 1:], atol=1e-5, rtol=0)
    # the [QA] token starts as EOT: IP-IQA's text tower gives keras-hub's text embedding
    text = model.get_layer("text_encoder").predict(ids, verbose=0)
    np.testing.assert_allclose(text, hub_text(backbone, ids), atol=1e-5, rtol=0)
    # at another resolution the positional table is resized bicubically, the class row kept
    table = clip_vit.find_vision_encoder(loaded(SIZE).get_layer("image_trunk")).embedding.position_embedding.embeddings
    source = keras.ops.convert_to_numpy(backbone.vision_encoder.embedding.position_embedding.embeddings)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(table), ipiqa.resize_table(source, 2, 4), atol=1e-5)


@pytest.fixture(scope="module")
def vit_model():
    keras.utils.set_random_seed(0)
    config = ipiqa.IPIQAConfig(outputs=("quality", "alignment"), image_size=SIZE, vision=VIT, text=TEXT)
    return ipiqa.build_ipiqa(config)


def token_ids(prompts):
    return clip_text.tokenize(prompts, clip_text.HashTokenizer(TEXT.vocab_size, TEXT.context_length))


def test_vit_model_outputs_prompt_dependence_and_training(vit_model, tmp_path):
    with pytest.raises(ValueError, match="embed_dim"):
        ipiqa.IPIQAConfig(vision=VIT, text=clip_text.tiny_text_config(embed_dim=16))
    trunk = vit_model.get_layer("image_trunk")
    assert trunk.output_shape == (None, 4, 4, VIT.hidden_dim)
    position_ids = clip_vit.find_vision_encoder(trunk).embedding.position_ids
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(position_ids), [np.arange(17)])  # keras-hub leaves 0s
    x = images()
    pools = keras.Model(vit_model.input, [vit_model.get_layer("visual_pool").output,
                                          vit_model.get_layer("cross_modal_pool").output])
    visual_a, cross_a = pools({"images": x, "token_ids": token_ids(["a red cat", "a blue dog in a city"])})
    visual_b, cross_b = pools({"images": x, "token_ids": token_ids(["a baroque castle", "an anime robot"])})
    assert cross_a.shape == (2, VIT.output_dim)
    np.testing.assert_array_equal(visual_a, visual_b)
    assert np.abs(np.asarray(cross_a) - np.asarray(cross_b)).max() > 1e-4
    batch = {"images": images(4, seed=1), "token_ids": token_ids(["a cat", "a dog", "a red car", "a hill"])}
    assert vit_model.predict(batch, verbose=0).shape == (4, 2)
    vit_model.save(tmp_path / "vit.keras")
    reloaded = keras.saving.load_model(tmp_path / "vit.keras")
    np.testing.assert_allclose(reloaded.predict(batch, verbose=0), vit_model.predict(batch, verbose=0), atol=1e-6)
    targets = np.array([[1.0, 2.0], [3.0, 1.0], [2.0, 2.0], [4.0, 3.0]], "float32")
    vit_model.compile(optimizer=HeadScaledAdamW(learning_rate=1e-3, weight_decay=0.0), loss="mse")
    before = vit_model.evaluate(batch, targets, verbose=0)
    for _ in range(2):
        vit_model.train_on_batch(batch, targets)
    assert vit_model.evaluate(batch, targets, verbose=0) < before


def test_run_ipiqa_smoke_with_the_vit_backbone(tmp_path, capsys):
    script = load_script("run_ipiqa")
    assert script.main(["--dataset", "agiqa3k", "--profile", "smoke", "--backbone", "vit", "--repeats", "1",
                        "--epochs", "1", "--selection", "test", "--weights", "none", "--out", str(tmp_path / "out"),
                        "--data-root", str(tmp_path / "data")]) == 0
    assert "backbone clip_vit_tiny" in capsys.readouterr().out
    rows = pd.read_csv(tmp_path / "out" / "results.csv")
    assert len(rows) == 4 and (rows["backbone"] == "clip_vit_tiny").all() and (rows["weights"] == "random").all()
    assert rows[["srcc", "plcc", "krcc"]].notna().all().all()
    assert (tmp_path / "out" / "models" / "ipiqa_agiqa3k_scorer" / "model.keras").is_file()


@pytest.mark.parametrize("backbone", ["rn50", "vit"])
def test_clipscore_baseline_runs_on_random_encoders_of_either_backbone(tmp_path, backbone):
    script = load_script("run_ipiqa")
    assert script.main(["--dataset", "agiqa3k", "--profile", "smoke", "--backbone", backbone, "--repeats", "1",
                        "--baseline", "clipscore", "--weights", "none", "--out", str(tmp_path / "out"),
                        "--data-root", str(tmp_path / "data")]) == 0
    rows = pd.read_csv(tmp_path / "out" / "results.csv")
    assert set(rows["selection"]) == {"zero_shot"} and set(rows["target"]) == {"quality", "alignment"}
    assert (rows["weights"] == "random").all() and rows["srcc"].notna().all()
