"""One normalisation layer per convention (CLIP, ImageNet with a Caffe option) and one CLIP ViT builder.

``data/legacy_normalisers.keras`` was saved by the package before the layers were merged: it holds the five old
layers (``CLIPNormalize`` of backbones/clip_resnet, ``CLIPNormalise`` and ``ImageNetNormalise`` of SF-IQA,
``ImageNetNormalize`` of the baselines with and without ``caffe``) side by side on one 4×4 input.
"""

from pathlib import Path

import keras
import numpy as np

import tfagiqa  # noqa: F401  (registers every custom class)
from tfagiqa.backbones import clip_vit
from tfagiqa.layers.normalisation import (CAFFE_BGR_MEAN, CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD,
                                          CLIPNormalize, ImageNetNormalize)

LEGACY = Path(__file__).parent / "data" / "legacy_normalisers.keras"


def test_models_saved_with_the_old_layer_names_load_and_normalise_as_before():
    model = keras.saving.load_model(LEGACY)
    x = np.random.default_rng(0).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    out = {k: np.asarray(v) for k, v in model(x).items()}
    clip = (x / 255 - np.array(CLIP_MEAN)) / np.array(CLIP_STD)
    imagenet = (x / 255 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    expected = {"clip_normalize": clip, "clip_normalise": clip, "imagenet_normalise": imagenet,
                "imagenet_normalize": imagenet, "caffe_preprocess": x[..., ::-1] - np.array(CAFFE_BGR_MEAN)}
    for name, value in expected.items():
        layer = model.get_layer(name)
        assert type(layer) is (CLIPNormalize if name.startswith("clip") else ImageNetNormalize), name
        np.testing.assert_allclose(out[name], value, atol=1e-5, err_msg=name)


def test_one_registered_normaliser_per_convention():
    from tfagiqa.methods.cnniqa.model import LocalContrastNormalization

    normalisers = {cls for name, cls in keras.saving.get_custom_objects().items()
                   if name.startswith("tfagiqa>") and "normali" in name.lower()}
    # CNNIQA's local contrast normalisation is part of its network, not a convention of input statistics
    assert normalisers - {LocalContrastNormalization} == {CLIPNormalize, ImageNetNormalize}


def test_every_clip_vit_is_built_by_one_module():
    from tfagiqa.methods.sfiqa import model as sfiqa

    backbone = sfiqa.clip_backbone(clip_vit.TINY_CLIP)
    vision = backbone.vision_encoder
    assert (vision.patch_size, vision.hidden_dim, vision.intermediate_activation) == (8, 32, "gelu")
    np.testing.assert_array_equal(np.asarray(vision.embedding.position_ids)[0], np.arange(1 + 4 * 4))
    trunk = clip_vit.clip_vit_trunk(clip_vit.TINY_CLIP.vision, 32)
    assert clip_vit.find_vision_encoder(trunk).intermediate_activation == "gelu"
    assert sfiqa.clip_backbone is clip_vit.clip_backbone and sfiqa.PICKSCORE is clip_vit.VIT_H14
