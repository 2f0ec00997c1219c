"""IP-IQA's Fig. 1 and Fig. 3 (tfagiqa/methods/ipiqa/figures.py): the cross-modal pool's attention maps, the
figures from saved models with their provenance in the titles, and the synthetic fallback when no model is saved."""

import keras
import numpy as np
import pandas as pd
from PIL import Image

from tfagiqa.backbones import clip_resnet, clip_text
from tfagiqa.methods import get_method
from tfagiqa.methods.baselines.models import resnet50_regressor
from tfagiqa.methods.ipiqa import figures
from tfagiqa.methods.ipiqa import model as ipiqa

SIZE = 64  # tiny RN: grid 2, 8 · 32 / 64 = 4 heads
PROMPTS = ["an alien driving an aircraft, city, realistic style", "a baroque castle"]


def tiny_scorer(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    text = clip_text.tiny_text_config()
    config = ipiqa.IPIQAConfig(outputs=("overall",), image_size=SIZE, vision=clip_resnet.tiny_config(SIZE), text=text)
    return ipiqa.scoring_model(ipiqa.build_ipiqa(config), ("overall",))


def title(path) -> str:
    return Image.open(path).text["Title"]


def test_attention_maps_are_distributions_over_the_grid():
    scorer = tiny_scorer()
    images = np.random.default_rng(0).uniform(0, 255, (2, SIZE, SIZE, 3)).astype("float32")
    maps, mean_share = figures.attention_maps(scorer, images, PROMPTS)
    assert maps.shape == (2, 4, 2, 2) and mean_share.shape == (2, 4)
    np.testing.assert_allclose(maps.sum(axis=(-2, -1)), 1.0, atol=1e-6)
    assert (maps > 0).all() and ((mean_share > 0) & (mean_share < 1)).all()
    assert np.abs(maps[0] - maps[1]).max() > 1e-6  # image- and prompt-dependent
    pool = figures.ipiqa_network(scorer).get_layer("cross_modal_pool")
    pool.k_kernel.assign(np.zeros(pool.k_kernel.shape, "float32"))  # equal keys: uniform over mean + 4 locations
    pool.k_bias.assign(np.zeros(pool.k_bias.shape, "float32"))
    maps, mean_share = figures.attention_maps(scorer, images, PROMPTS)
    np.testing.assert_allclose(maps, 0.25, atol=1e-6)
    np.testing.assert_allclose(mean_share, 0.2, atol=1e-6)


def test_figures_from_saved_models_name_their_sources(tmp_path, synthetic_root):
    models = tmp_path / "models"
    models.mkdir()
    tiny_scorer().save(models / "ipiqa_agiqa1k_scorer.keras")
    resnet50_regressor(1, SIZE, None, tiny=True).model.save(models / "resnet50_agiqa1k.keras")
    results = pd.DataFrame([dict(experiment="ipiqa", dataset="agiqa1k", data="real", weights="clip:weights/rn50"),
                            dict(experiment="resnet50", dataset="agiqa1k", data="real", weights="random")])
    assert get_method("ipiqa").module("figures").make_figures is figures.make_figures
    written = figures.make_figures(results, tmp_path / "figures", models_dir=models, data_root=synthetic_root)
    assert [p.name for p in written] == ["ipiqa_fig1.png", "ipiqa_fig3.png"] and all(p.stat().st_size for p in written)
    fig1, fig3 = title(written[0]), title(written[1])
    assert "images: SYNTHETIC agiqa1k" in fig1 and "images: SYNTHETIC agiqa1k" in fig3
    assert "resnet50_agiqa1k.keras; real data, weights=random" in fig1
    assert "ipiqa_agiqa1k_scorer.keras; real data, weights=clip:weights/rn50" in fig1 + fig3
    assert "2×2 image locations" in fig3


def test_without_saved_models_tiny_synthetic_ones_are_trained_and_labelled(tmp_path, monkeypatch):
    monkeypatch.setattr(figures, "FALLBACK_IMAGES", 16)
    written = figures.make_figures(pd.DataFrame(), tmp_path / "figures", models_dir=tmp_path / "nothing")
    for path in written:
        assert path.is_file()
        assert "SYNTHETIC data, RANDOM init" in title(path) and "images: SYNTHETIC agiqa1k" in title(path)
