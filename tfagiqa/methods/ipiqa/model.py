"""IP-IQA (Qu, Li, Gao; ICME 2024): CLIP RN50 image and text encoders, a visual and a cross-modal attention pool.

1. The image encoder (CLIP's ModifiedResNet, fully fine-tuned, 512 px) gives a 16×16×2048 map.
2. The visual pool: CLIP's AttentionPool2d with its 7×7 positional embedding interpolated to 16×16; the query
   is the mean token (the paper's GAP(Embed_v)).
3. The prompt goes through CLIP's text transformer; its [QA] token's output (read at the EOT position) is the
   query of the cross-modality attention pool, which has its own positional embedding.
4. The head maps concat(visual, cross-modal) = 2048 to the scores: ``mlp`` (the code: dropout, 2048→2048 tanh,
   dropout, →out) or ``linear`` (the paper). One output for AGIQA-1K, two (quality, alignment) for AGIQA-3K.

Backbone: the RN50 above, or (``vision`` a :class:`~tfagiqa.backbones.clip_vit.CLIPViTConfig`) keras-hub's CLIP
ViT, whose patch tokens on their grid take the ResNet map's place; the ViT has no AttentionPool2d, so the visual
pool then starts random.

[QA] token: ``learned`` (the paper: a new trainable token replaces [EOT], the rest of the text encoder frozen) or
``code`` (the official code: the token embedding table, positional embedding and text projection trainable,
SPEC §4.2 disagreement 4). Table 3's ablations switch the prompt branch, the [QA] token and Image2Prompt.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import keras
import numpy as np

from tfagiqa.backbones.clip_resnet import RN50, CLIPResNetConfig, clip_resnet_trunk
from tfagiqa.backbones.clip_text import (RN50_TEXT, CLIPTextConfig, HashTokenizer, clip_text_encoder,
                                         copy_text_weights)
from tfagiqa.backbones.clip_vit import (CLIPViTConfig, clip_vit_trunk, copy_vision_weights, find_vision_encoder,
                                        is_vit_trunk)
from tfagiqa.layers.attention_pool import AttentionPool2d, bicubic_matrix
from tfagiqa.layers.normalisation import CLIPNormalize
from tfagiqa.methods.ipiqa.cross_modal_pool import CrossModalAttentionPool

HEADS = ("mlp", "linear")
QA_TOKENS = ("learned", "code")


@dataclass(frozen=True)
class Ablation:
    """One row of Table 3: Image2Prompt pre-training, the integral prompt, the [QA] token."""

    image2prompt: bool
    prompt: bool
    qa: bool


# Row meaning inferred from §4.3's prose (SPEC §4.2); row 3 is read as prompt + [QA] without Image2Prompt.
ABLATIONS = {1: Ablation(False, False, False), 2: Ablation(True, False, False), 3: Ablation(False, True, True),
             4: Ablation(True, True, False), 5: Ablation(True, True, True)}


@dataclass(frozen=True)
class IPIQAConfig:
    """The model: encoders' configurations (``vision``: the RN50 or a ViT), resolution, outputs, head and [QA]."""

    outputs: tuple[str, ...] = ("quality",)
    image_size: int = 512
    vision: CLIPResNetConfig | CLIPViTConfig = RN50
    text: CLIPTextConfig = RN50_TEXT
    head: str = "mlp"
    qa_token: str = "learned"
    use_prompt: bool = True
    use_qa: bool = True
    dropout: float = 0.5

    def __post_init__(self):
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {self.head!r}")
        if self.qa_token not in QA_TOKENS:
            raise ValueError(f"qa_token must be one of {QA_TOKENS}, got {self.qa_token!r}")
        if isinstance(self.vision, CLIPViTConfig) and self.vision.output_dim != self.text.embed_dim:
            raise ValueError(f"the ViT's output_dim ({self.vision.output_dim}) must equal the text tower's embed_dim "
                             f"({self.text.embed_dim}): both are CLIP's joint embedding size")

    @property
    def text_mode(self) -> str:
        """The text encoder's trainability: the chosen [QA] handling, or fully frozen without [QA]."""
        return self.qa_token if self.use_qa else "frozen"

    def for_ablation(self, row: int) -> "IPIQAConfig":
        """The configuration of a Table 3 row (Image2Prompt is a matter of initial weights, not structure)."""
        ablation = ABLATIONS[row]
        return replace(self, use_prompt=ablation.prompt, use_qa=ablation.qa)


def head(x, config: IPIQAConfig):
    """``mlp``: Dropout → Dense(D, tanh) → Dropout → Dense(out); ``linear``: Dense(out). Layer names hold "head"
    (the optimiser gives them 10× the learning rate)."""
    if config.head == "mlp":
        x = keras.layers.Dropout(config.dropout, name="head_dropout_1")(x)
        x = keras.layers.Dense(x.shape[-1], activation="tanh", name="head_dense")(x)
        x = keras.layers.Dropout(config.dropout, name="head_dropout_2")(x)
    return keras.layers.Dense(len(config.outputs), name="head_out")(x)


def image_trunk(config: IPIQAConfig) -> tuple[keras.Model, int]:
    """The image trunk ("image_trunk": the ResNet's last stage or the ViT's patch grid) and its grid side."""
    if isinstance(config.vision, CLIPViTConfig):
        trunk = clip_vit_trunk(config.vision, config.image_size, name="image_trunk")
        return trunk, config.vision.grid(config.image_size)
    return clip_resnet_trunk(config.vision, config.image_size, name="image_trunk"), config.image_size // 32


def build_ipiqa(config: IPIQAConfig = IPIQAConfig()) -> keras.Model:
    """{"images": [N, S, S, 3] in [0, 255], "token_ids": int32 [N, L]} → scores [N, len(outputs)].

    Randomly initialised; :func:`load_clip` puts the (converted, keras-hub or Image2Prompt-pretrained) CLIP
    weights in.
    """
    vision = config.vision
    images = keras.Input((config.image_size, config.image_size, 3), name="images")
    inputs = {"images": images}
    trunk, grid = image_trunk(config)
    feature_map = trunk(CLIPNormalize(name="clip_normalize")(images))
    features = AttentionPool2d(grid, vision.num_heads, vision.output_dim, name="visual_pool")(feature_map)
    if config.use_prompt:
        inputs["token_ids"] = keras.Input((config.text.context_length,), dtype="int32", name="token_ids")
        text = clip_text_encoder(config.text, config.text_mode, name="text_encoder")(inputs["token_ids"])
        cross = CrossModalAttentionPool(grid, vision.num_heads, vision.output_dim, name="cross_modal_pool")(
            [feature_map, text])
        features = keras.layers.Concatenate(name="joint")([features, cross])
    return keras.Model(inputs, head(features, config), name="ipiqa")


def load_clip(model: keras.Model, image_encoder: keras.Model | None = None,
              text_encoder: keras.Model | None = None) -> None:
    """Copy CLIP weights into a model from :func:`build_ipiqa`: the ResNet trunk, the attention pool (its
    positional embedding bicubically resized to the model's grid, mean-token row kept) and the text tower.

    A ViT model takes the keras-hub ``CLIPVisionEncoder`` held by ``image_encoder`` (its positional table resized
    to the model's grid; the visual pool stays as initialised: the ViT has none)."""
    trunk = model.get_layer("image_trunk")
    if image_encoder is not None and is_vit_trunk(trunk):
        copy_vision_weights(find_vision_encoder(image_encoder), find_vision_encoder(trunk))
    elif image_encoder is not None:
        for layer in trunk.layers:
            if layer.weights:
                layer.set_weights(image_encoder.get_layer(layer.name).get_weights())
        source, target = image_encoder.get_layer("attnpool"), model.get_layer("visual_pool")
        table = keras.ops.convert_to_numpy(source.positional_embedding)
        target.positional_embedding.assign(resize_table(table, source.spacial_dim, target.spacial_dim))
        for name in ("q", "k", "v", "c"):
            for part in ("kernel", "bias"):
                getattr(target, f"{name}_{part}").assign(getattr(source, f"{name}_{part}"))
    if text_encoder is not None and "token_ids" in model.input:
        copy_text_weights(text_encoder, model.get_layer("text_encoder"))


def resize_table(table: np.ndarray, grid: int, new_grid: int) -> np.ndarray:
    """[1 + g², C] positional table → [1 + g'², C] (IP-IQA's ``interpolate_pos_embed``, PyTorch bicubic)."""
    if grid == new_grid:
        return table
    spatial = table[1:].reshape(grid, grid, -1)
    matrix = bicubic_matrix(grid, new_grid)
    resized = np.einsum("ph,hwc,qw->pqc", matrix, spatial, matrix).reshape(new_grid * new_grid, -1)
    return np.concatenate([table[:1], resized]).astype(table.dtype)


def scoring_model(model: keras.Model, outputs: tuple[str, ...], tokenizer: keras.layers.Layer | None = None,
                  name: str = "ipiqa_scorer") -> keras.Model:
    """The catalogue's contract: {"images" [N,S,S,3] in [0,255], "prompt" string [N]} → {output: [N]}.

    Prompts are tokenized in the graph by ``tokenizer``: the BPE tokenizer for a model fine-tuned from CLIP
    (:class:`tfagiqa.backbones.clip_text.BPETokenizer`), by default the hash tokenizer.
    """
    size = model.input["images"].shape[1]
    inputs = {"images": keras.Input((size, size, 3), name="images")}
    feed = {"images": inputs["images"]}
    if "token_ids" in model.input:
        context = model.input["token_ids"].shape[1]
        tokenizer = tokenizer or HashTokenizer(model.get_layer("text_encoder").get_layer("embedding").vocab_size,
                                               context, name="tokenizer")
        inputs["prompt"] = keras.Input((), dtype="string", name="prompt")
        feed["token_ids"] = tokenizer(inputs["prompt"])
    scores = model(feed)
    named = {out: keras.layers.Identity(name=out)(scores[:, i]) for i, out in enumerate(outputs)}
    return keras.Model(inputs, named, name=name)
