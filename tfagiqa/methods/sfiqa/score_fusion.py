"""SF-IQA's score fusion: v = [Q, S] → MLP → P (paper: one hidden layer; official code: 2→10→10→1)."""

from __future__ import annotations

import keras

FUSIONS = {"paper": (10,), "code": (10, 10)}  # hidden widths; the paper does not give its width (10 assumed)


@keras.saving.register_keras_serializable(package="tfagiqa")
class ScoreFusion(keras.layers.Layer):
    """``[N, 2]`` (quality, similarity) scores → ``[N, 1]`` fused score through ReLU hidden layers."""

    def __init__(self, hidden: tuple[int, ...] = FUSIONS["code"], **kwargs):
        super().__init__(**kwargs)
        self.hidden = tuple(int(h) for h in hidden)
        self.dense = [keras.layers.Dense(h, activation="relu", name=f"fc{i + 1}") for i, h in enumerate(self.hidden)]
        self.out = keras.layers.Dense(1, name=f"fc{len(self.hidden) + 1}")

    def build(self, input_shape):
        width = input_shape[-1]
        for layer in self.dense:
            layer.build((None, width))
            width = layer.units
        self.out.build((None, width))

    def call(self, scores):
        x = scores
        for layer in self.dense:
            x = layer(x)
        return self.out(x)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 1)

    def get_config(self):
        return {**super().get_config(), "hidden": list(self.hidden)}
