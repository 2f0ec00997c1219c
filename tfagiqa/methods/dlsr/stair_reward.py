"""StairReward's overall score from the per-morpheme alignment scores (AGIQA-3K paper, quoted as DLSR eq. 6)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfagiqa")
class StairRewardCombine(keras.layers.Layer):
    """F = A0 + (Σ_{k=1..K} A_k / 2^k) / (1 − 1/2^K) for inputs [..., K+1] = (A0, A1, ..., AK).

    Reading of eq. 6's precedence: the division normalises the stair-weighted sum, so the second term is a
    weighted mean of the morpheme scores (weights 1/2, 1/4, ... summing to 1) added to the whole-prompt score.
    """

    def call(self, scores):
        k = ops.shape(scores)[-1] - 1
        steps = ops.cast(ops.arange(1, k + 1), scores.dtype)
        weights = ops.power(0.5, steps) / (1.0 - ops.power(0.5, ops.cast(k, scores.dtype)))
        return scores[..., :1] + ops.sum(scores[..., 1:] * weights, axis=-1, keepdims=True)
