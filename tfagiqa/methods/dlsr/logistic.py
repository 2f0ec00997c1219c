"""The trainable five-parameter logistic mapping of DLSR eq. 3 (the AGIQA-3K benchmark's PLCC mapping, learned)."""

from __future__ import annotations

import keras
from keras import ops

# Initial α: a near-identity monotone map (ŷ ≈ y + σ(y) − 0.5). The paper does not give its initial values.
DEFAULT_INITIAL = (1.0, 1.0, 0.0, 1.0, 0.0)


@keras.saving.register_keras_serializable(package="tfagiqa")
class LogisticMapping(keras.layers.Layer):
    """ŷ = α1·(0.5 − 1/(1 + exp(α2·(y − α3)))) + α4·y + α5 with α trainable (DLSR Table I reports the learned α)."""

    def __init__(self, initial: tuple[float, ...] = DEFAULT_INITIAL, **kwargs):
        super().__init__(**kwargs)
        if len(initial) != 5:
            raise ValueError(f"LogisticMapping needs 5 initial values, got {len(initial)}")
        self.initial = tuple(float(v) for v in initial)

    def build(self, input_shape):
        self.alpha = self.add_weight(
            name="alpha", shape=(5,), initializer=keras.initializers.Constant(self.initial), trainable=True
        )

    def call(self, y):
        a1, a2, a3, a4, a5 = (self.alpha[i] for i in range(5))
        return a1 * (0.5 - 1.0 / (1.0 + ops.exp(a2 * (y - a3)))) + a4 * y + a5

    def get_config(self):
        return {**super().get_config(), "initial": list(self.initial)}
