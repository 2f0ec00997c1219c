"""DLSR building blocks: the logistic mapping, StairReward's combination, prompt splitting, head shapes."""

import math

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from tfagiqa.methods.dlsr.logistic import LogisticMapping
from tfagiqa.methods.dlsr.stair_reward import StairRewardCombine
from tfagiqa.methods.dlsr import model as dlsr
from tfagiqa.methods.dlsr.prompts import morphemes, prompt_vectorizer, split_prompt


def test_logistic_mapping_matches_eq3_and_round_trips(tmp_path):
    alpha = (1.48, -0.34, 0.81, -0.18, 0.31)  # DLSR Table I's learned values
    layer = LogisticMapping(initial=alpha)
    y = np.array([[-1.0], [0.0], [2.5]], dtype="float32")
    expected = [a1 * (0.5 - 1 / (1 + math.exp(a2 * (v - a3)))) + a4 * v + a5
                for (a1, a2, a3, a4, a5), v in ((alpha, float(x)) for x in y[:, 0])]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(y))[:, 0], expected, rtol=1e-6)
    assert len(layer.trainable_weights) == 1 and layer.trainable_weights[0].shape == (5,)
    inputs = keras.Input((1,))
    model = keras.Model(inputs, LogisticMapping(initial=alpha)(inputs))
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(y, verbose=0), model.predict(y, verbose=0))


def test_logistic_mapping_rejects_wrong_parameter_count():
    with pytest.raises(ValueError, match="5 initial values"):
        LogisticMapping(initial=(1.0, 2.0))


def test_stair_reward_combination_eq6():
    scores = tf.constant([[1.0, 2.0, 4.0, 8.0], [0.0, 1.0, 1.0, 1.0]])
    combined = StairRewardCombine()(scores).numpy()[:, 0]
    # F = A0 + (A1/2 + A2/4 + A3/8) / (1 - 1/8)
    np.testing.assert_allclose(combined, [1 + 3 / 0.875, 1.0], rtol=1e-6)


def test_split_prompt_and_agiqa3k_morphemes():
    assert split_prompt("a cat on a sofa, cold color") == ["a cat", "on a sofa", "cold color"]
    assert split_prompt("statue of a man", k=3) == ["statue", "of a man", "none"]
    rows = pd.DataFrame({"prompt": ["x, cold color, anime style", "y"], "adj1": ["cold color", np.nan],
                         "adj2": [np.nan, np.nan], "style": ["anime style", np.nan]})
    assert morphemes(rows) == [["cold color", "none", "anime style"], ["none", "none", "none"]]


def test_heads_shapes_and_box_inputs():
    vectorizer = prompt_vectorizer(["a red ball", "two blue cubes"])
    perception = dlsr.perception_model(feature_dim=16)
    assert perception({"image_features": tf.zeros((3, 16))}).shape == (3, 1)
    stair = dlsr.stair_reward_model(vectorizer, ["glide"], feature_dim=16)
    assert sorted(t.name for t in stair.inputs) == sorted(
        ["image_features", "image_features_box50", "image_features_box75", "prompt", "morpheme_1", "morpheme_2",
         "morpheme_3", "generator"])
    assert [l.name for l in stair.layers if l.name in ("A0", "A1", "A2", "A3")] == ["A0", "A1", "A2", "A3"]
    baseline = dlsr.perception_model(dlsr.PERCEPTION_BASELINE, feature_dim=16)
    assert not any(isinstance(l, (LogisticMapping, keras.layers.Dropout)) for l in baseline.layers)


def _layer_sequence(layers):
    """(kind, units, activation, rate) of Dense and Dropout layers, in order."""
    return [(type(l).__name__, getattr(l, "units", None), getattr(getattr(l, "activation", None), "__name__", None),
             getattr(l, "rate", None)) for l in layers if isinstance(l, (keras.layers.Dense, keras.layers.Dropout))]


@pytest.mark.parametrize("dropout", [0.2, 0.0])
def test_stair_reward_trunk_is_the_alignment_trunk(dropout):
    """Table VIII compares the alignment head with StairReward on it: the shared trunk must be the same layers."""
    vectorizer = prompt_vectorizer(["a red ball", "two blue cubes"])
    config = dlsr.variant(dlsr.ALIGNMENT, dropout=dropout)
    alignment = dlsr.alignment_model(vectorizer, ["glide"], config, feature_dim=16)
    stair = dlsr.stair_reward_model(vectorizer, ["glide"], config, feature_dim=16)
    head = [l for l in alignment.layers if l.name.startswith("alignment_")]
    trunk = stair.get_layer("alignment_trunk").layers
    expected = [("Dense", 128, "relu", None), ("Dropout", None, None, dropout),
                ("Dense", 64, "sigmoid", None), ("Dropout", None, None, dropout)]
    expected = expected if dropout else expected[::2]
    assert _layer_sequence(head) == _layer_sequence(trunk) == expected
