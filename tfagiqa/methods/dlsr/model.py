"""DLSR-IQA (Qi, 2023): small MLP heads on frozen ResNet152V2 features, ending in a trainable logistic mapping.

Perception (§III): image features → Dense 128 → Dropout → Dense 64 → Dropout → Dense 1 → LogisticMapping.
Alignment (§IV-A): the same head on [image features, prompt tokens, T2I model].
StairReward (§IV-C): the alignment head applied to (prompt, image) and to each (morpheme, centred box) pair,
four parallel outputs A0..A3 combined by eq. 6 into F, then the logistic mapping.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import keras

from tfagiqa.methods.dlsr.logistic import LogisticMapping
from tfagiqa.methods.dlsr.stair_reward import StairRewardCombine

FEATURE_DIM = 2048
STAIR_BOXES = (0.5, 0.75, 1.0)  # L_k = 1/2 + (k−1)/(2(K−1)) for K = 3


@dataclass(frozen=True)
class HeadConfig:
    """Everything DLSR tuned: layer sizes, activation(s), dropout, the mapping layer, optimiser, learning rate, loss."""

    hidden: tuple[int, ...] = (128, 64)
    activation: str | tuple[str, ...] = "sigmoid"
    dropout: float = 0.2
    mapping: bool = True
    optimizer: str = "adam"
    learning_rate: float = 0.0015
    loss: str = "mse"

    def activations(self) -> tuple[str, ...]:
        """One activation per hidden layer."""
        if isinstance(self.activation, str):
            return (self.activation,) * len(self.hidden)
        return tuple(self.activation)


PERCEPTION = HeadConfig()  # Table I: (128, 64), 20 % dropout, lr 0.0015, Adam, sigmoid, MSE, mapping layer
PERCEPTION_BASELINE = HeadConfig(activation="relu", dropout=0.0, mapping=False, learning_rate=0.001)  # "before"
# Table V says "relu/sigmoid": read as ReLU on the first hidden layer and sigmoid on the second.
ALIGNMENT = HeadConfig(activation=("relu", "sigmoid"), learning_rate=0.0005)
OPTIMIZERS = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}
LOSSES = {"mse": "mean_squared_error", "mae": "mean_absolute_error", "huber": "huber"}


def variant(config: HeadConfig, **changes) -> HeadConfig:
    """A copy of ``config`` with some fields changed (the alternatives the paper tried)."""
    return replace(config, **{k: v for k, v in changes.items() if v is not None})


def trunk_layers(config: HeadConfig, prefix: str) -> list[keras.layers.Layer]:
    """The hidden layers of every DLSR head: each Dense followed by its Dropout (no Dropout when dropout is 0)."""
    layers: list[keras.layers.Layer] = []
    for i, (units, activation) in enumerate(zip(config.hidden, config.activations()), start=1):
        layers.append(keras.layers.Dense(units, activation=activation, name=f"{prefix}dense_{i}"))
        if config.dropout:
            layers.append(keras.layers.Dropout(config.dropout, name=f"{prefix}dropout_{i}"))
    return layers


def mlp_trunk(x, config: HeadConfig, prefix: str):
    """``x`` through the hidden layers of ``trunk_layers``."""
    for layer in trunk_layers(config, prefix):
        x = layer(x)
    return x


def score_output(y, config: HeadConfig, name: str):
    """The logistic mapping on the scalar score, or the scalar itself for the baseline."""
    return LogisticMapping(name=name)(y) if config.mapping else keras.layers.Identity(name=name)(y)


def standardise(features, normalizer: keras.layers.Normalization | None):
    """Features scaled by the training set's mean and std (identity without a normalizer).

    The report does not say how features were scaled; standardising keeps the sigmoid units in their useful
    range whatever the backbone's feature scale (random-initialised features are ~10× smaller than ImageNet's).
    """
    return features if normalizer is None else normalizer(features)


def perception_model(config: HeadConfig = PERCEPTION, feature_dim: int = FEATURE_DIM,
                     normalizer: keras.layers.Normalization | None = None) -> keras.Model:
    """Image features → perceptual quality score (DLSR §III, Table I)."""
    features = keras.Input((feature_dim,), name="image_features")
    y = keras.layers.Dense(1, name="score")(mlp_trunk(standardise(features, normalizer), config, "quality_"))
    return keras.Model({"image_features": features}, score_output(y, config, "quality"), name="dlsr_perception")


class PromptEncoder:
    """Tokens → embedding → masked mean: the prompt feature vector (DLSR §II-B; how tokens were fed is unspecified)."""

    def __init__(self, vectorizer: keras.layers.TextVectorization, dim: int = 32):
        self.vectorizer = vectorizer
        self.embedding = keras.layers.Embedding(vectorizer.vocabulary_size(), dim, mask_zero=True, name="prompt_embedding")
        self.pool = keras.layers.GlobalAveragePooling1D(name="prompt_pool")

    def __call__(self, prompts):
        tokens = self.vectorizer(prompts)
        return self.pool(self.embedding(tokens), mask=self.embedding.compute_mask(tokens))


def generator_features(generators, vocabulary: list[str], dim: int = 4):
    """The harmonised T2I model name as a learned embedding (unknown names share one out-of-vocabulary slot)."""
    ids = keras.layers.StringLookup(vocabulary=list(vocabulary), name="generator_ids")(generators)
    return keras.layers.Flatten(name="generator_flat")(
        keras.layers.Embedding(len(vocabulary) + 1, dim, name="generator_embedding")(ids)
    )


def alignment_model(vectorizer: keras.layers.TextVectorization, generators: list[str],
                    config: HeadConfig = ALIGNMENT, feature_dim: int = FEATURE_DIM,
                    normalizer: keras.layers.Normalization | None = None) -> keras.Model:
    """[image features, prompt, T2I model] → text-image alignment score (DLSR §IV-A, Table V)."""
    features = keras.Input((feature_dim,), name="image_features")
    prompt = keras.Input((1,), dtype="string", name="prompt")
    generator = keras.Input((1,), dtype="string", name="generator")
    text = PromptEncoder(vectorizer)(keras.layers.Reshape(())(prompt))
    joint = keras.layers.Concatenate(name="joint")(
        [standardise(features, normalizer), text, generator_features(generator, generators)])
    y = keras.layers.Dense(1, name="score")(mlp_trunk(joint, config, "alignment_"))
    inputs = {"image_features": features, "prompt": prompt, "generator": generator}
    return keras.Model(inputs, score_output(y, config, "alignment"), name="dlsr_alignment")


def stair_reward_model(vectorizer: keras.layers.TextVectorization, generators: list[str],
                       config: HeadConfig = ALIGNMENT, feature_dim: int = FEATURE_DIM,
                       normalizer: keras.layers.Normalization | None = None) -> keras.Model:
    """StairReward alignment: A0 = A(p0, I0) and A_k = A(p_k, Box_{L_k}(I0)) share one encoder and trunk,
    each with its own output unit (4 parallel outputs); F (eq. 6) goes through the logistic mapping.

    The shared trunk is the alignment head's (``trunk_layers``: Dropout after each hidden Dense), so Table VIII's
    before (``alignment_model``) and after differ only in the StairReward part: the report applies StairReward to
    its alignment model and names no other change.
    """
    boxes = {box: keras.Input((feature_dim,), name=box_input_name(box)) for box in STAIR_BOXES}
    prompt = keras.Input((1,), dtype="string", name="prompt")
    parts = [keras.Input((1,), dtype="string", name=f"morpheme_{k}") for k in range(1, len(STAIR_BOXES) + 1)]
    generator = keras.Input((1,), dtype="string", name="generator")
    encode = PromptEncoder(vectorizer)
    model_feature = generator_features(generator, generators)
    trunk = keras.Sequential(trunk_layers(config, "alignment_"), name="alignment_trunk")
    pairs = [(prompt, boxes[1.0])] + list(zip(parts, (boxes[b] for b in STAIR_BOXES)))
    scores = [
        keras.layers.Dense(1, name=f"A{k}")(trunk(keras.layers.Concatenate()([
            standardise(image, normalizer), encode(keras.layers.Reshape(())(text)), model_feature])))
        for k, (text, image) in enumerate(pairs)
    ]
    overall = StairRewardCombine(name="F")(keras.layers.Concatenate(name="A")(scores))
    inputs = {t.name: t for t in [*boxes.values(), prompt, *parts, generator]}
    return keras.Model(inputs, score_output(overall, config, "alignment"), name="dlsr_stair_reward")


def box_input_name(box: float) -> str:
    """Input name of the features of the centred box of side ``box`` (1.0 = the whole image)."""
    return "image_features" if box == 1.0 else f"image_features_box{round(box * 100)}"


def compile_model(model: keras.Model, config: HeadConfig) -> keras.Model:
    """Compile with the configuration's optimiser, learning rate and loss."""
    model.compile(optimizer=OPTIMIZERS[config.optimizer](learning_rate=config.learning_rate), loss=LOSSES[config.loss])
    return model
