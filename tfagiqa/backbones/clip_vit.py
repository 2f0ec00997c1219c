"""The package's one CLIP ViT: keras-hub's ``CLIPVisionEncoder`` / ``CLIPBackbone`` built in a given shape, and
keras-hub CLIP presets mapped onto this project.

Every CLIP ViT of the package is built here: SF-IQA's PickScore and HPS use the whole dual encoder
(:func:`clip_backbone`, shaped by a :class:`CLIPConfig`; Hugging Face checkpoints are read into it by
:mod:`tfagiqa.backbones.clip_vit_hf`), IP-IQA uses its vision tower as a backbone (:func:`clip_vit_trunk`, shaped
by a :class:`CLIPViTConfig`). Both go through :func:`vision_encoder`.

keras-hub ships CLIP only as ViT models (``CLIPBackbone`` presets such as ``clip_vit_base_patch16``), so the ViT is
the backbone it can offer IP-IQA beside the converted RN50. The trunk is keras-hub's ``CLIPVisionEncoder`` at the model's
image size; its sequence output with the class token dropped is put back on its [N, g, g, hidden] patch grid
(g = image_size // patch_size), the layout of the RN50 feature map, so IP-IQA's AttentionPool2d and
CrossModalAttentionPool apply unchanged. keras-hub's encoder applies its final layer norm (OpenAI's ``ln_post``) to
every token, OpenAI's to the class token only; the grid keeps keras-hub's normalised tokens.

What keras-hub lacks, written here:

* ``position_ids``: a randomly initialised ``CLIPVisionEncoder`` leaves them 0, so every token would read row 0 of
  the positional table; they are set to 0…g² (as keras-hub's own checkpoint converters do).
* another resolution than the preset's: the positional table is resized with PyTorch's bicubic kernel, class row
  kept (IP-IQA's ``interpolate_pos_embed``).
* the text tower in OpenAI's layout (:func:`tfagiqa.backbones.clip_text.clip_text_encoder`, which IP-IQA's [QA]
  token modes are written for): keras-hub's ``CLIPTextEncoder`` (Hugging Face layout) and the backbone's
  ``text_projection`` are mapped onto it. keras-hub's final layer norm uses ε = 1e-6 where OpenAI's ``ln_final``
  (and the mapped encoder) use 1e-5, the value CLIP was trained with: at CLIP's activation scale the outputs agree
  to float32 rounding (with keras-hub's small random initialisation they differ by up to 1e-5).

A ViT has no AttentionPool2d (it pools with its class token), so IP-IQA's visual pool starts randomly initialised
with this backbone, as its cross-modal pool always does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from tfagiqa.backbones.clip_text import BPETokenizer, CLIPTextConfig, clip_text_encoder
from tfagiqa.errors import WeightsError
from tfagiqa.layers.attention_pool import interpolate_positional_embedding


@dataclass(frozen=True)
class CLIPViTConfig:
    """The vision tower: patch size, width, depth, heads, MLP width and activation; ``output_dim`` is CLIP's
    projection dim, the dimension IP-IQA's pools project to. Defaults: OpenAI's ViT-B/16."""

    patch_size: int = 16
    hidden_dim: int = 768
    num_layers: int = 12
    num_heads: int = 12
    intermediate_dim: int = 3072
    output_dim: int = 512
    activation: str = "quick_gelu"

    def grid(self, image_size: int) -> int:
        """Side of the patch grid at ``image_size`` pixels."""
        return image_size // self.patch_size


@dataclass(frozen=True)
class CLIPConfig:
    """A whole CLIP ViT (keras-hub ``CLIPVisionEncoder`` + ``CLIPTextEncoder`` and their projections). Defaults:
    laion's CLIP-ViT-H/14, the model PickScore_v1 fine-tunes (SPEC §3.4). The fields are flat because converted
    folders (``tfagiqa convert hps``) store them as such."""

    patch_size: int = 14
    vision_hidden: int = 1280
    vision_layers: int = 32
    vision_heads: int = 16
    vision_intermediate: int = 5120
    image_size: int = 224
    vocab_size: int = 49408
    text_hidden: int = 1024
    text_layers: int = 24
    text_heads: int = 16
    text_intermediate: int = 4096
    context_length: int = 77
    projection_dim: int = 1024
    activation: str = "gelu"

    @property
    def vision(self) -> CLIPViTConfig:
        """The vision tower's configuration."""
        return CLIPViTConfig(self.patch_size, self.vision_hidden, self.vision_layers, self.vision_heads,
                             self.vision_intermediate, self.projection_dim, self.activation)


VIT_B16 = CLIPViTConfig()
VIT_H14 = CLIPConfig()
TINY_CLIP = CLIPConfig(patch_size=8, vision_hidden=32, vision_layers=2, vision_heads=2, vision_intermediate=64,
                       image_size=32, vocab_size=512, text_hidden=32, text_layers=2, text_heads=2, text_intermediate=64,
                       context_length=16, projection_dim=32)
VIT_B16_TEXT = CLIPTextConfig(embed_dim=512)  # ViT-B/16's text tower: RN50's but with a 512-d projection


def tiny_vit_config(patch_size: int = 16, hidden_dim: int = 32, num_layers: int = 2, num_heads: int = 2,
                    intermediate_dim: int = 64, output_dim: int = 32) -> CLIPViTConfig:
    """A tiny ViT with ViT-B/16's structure for tests and smoke runs (output 32 = the tiny text tower's)."""
    return CLIPViTConfig(patch_size, hidden_dim, num_layers, num_heads, intermediate_dim, output_dim)


def vit_tag(config: CLIPViTConfig) -> str:
    """The backbone's name in result rows: ``clip_vit_b16``, ``clip_vit_tiny`` or ``clip_vit_p{P}_w{W}_l{L}``."""
    if config == VIT_B16:
        return "clip_vit_b16"
    if config == tiny_vit_config():
        return "clip_vit_tiny"
    return f"clip_vit_p{config.patch_size}_w{config.hidden_dim}_l{config.num_layers}"


@keras.saving.register_keras_serializable(package="tfagiqa")
class PatchGrid(keras.layers.Layer):
    """ViT tokens [N, 1 + g², C] → [N, g, g, C]: the class token dropped, the patches on their row-major grid."""

    @staticmethod
    def side(length: int) -> int:
        side = math.isqrt(length - 1)
        if side * side != length - 1:
            raise ValueError(f"{length} tokens are not a class token plus a square grid of patches")
        return side

    def call(self, tokens):
        side = self.side(tokens.shape[1])
        return ops.reshape(tokens[:, 1:], (-1, side, side, tokens.shape[-1]))

    def compute_output_shape(self, input_shape):
        side = self.side(input_shape[1])
        return (input_shape[0], side, side, input_shape[-1])


def reset_position_ids(encoder: keras.Model) -> None:
    """Set a ``CLIPVisionEncoder``'s position ids to 0…g² (keras-hub initialises them to 0)."""
    embedding = encoder.embedding
    embedding.position_ids.assign(np.arange(embedding.num_positions)[None])


def vision_encoder(config: CLIPViTConfig = VIT_B16, image_size: int = 224,
                   name: str | None = "vision_encoder") -> keras.Model:
    """keras-hub's ``CLIPVisionEncoder`` in ``config``'s shape at ``image_size``, randomly initialised, its position
    ids 0…g² (``name`` None: keras-hub's automatic name)."""
    import keras_hub

    encoder = keras_hub.models.CLIPVisionEncoder(
        config.patch_size, config.hidden_dim, config.num_layers, config.num_heads, config.intermediate_dim,
        intermediate_activation=config.activation, image_shape=(image_size, image_size, 3), name=name)
    reset_position_ids(encoder)  # keras-hub initialises them to 0: every patch would read position 0's embedding
    return encoder


def clip_backbone(config: CLIPConfig = VIT_H14) -> keras.Model:
    """A keras-hub ``CLIPBackbone`` (both towers and projections) in ``config``'s shape, randomly initialised."""
    import keras_hub

    vision = vision_encoder(config.vision, config.image_size, name=None)
    text = keras_hub.models.CLIPTextEncoder(
        vocabulary_size=config.vocab_size, embedding_dim=config.text_hidden, hidden_dim=config.text_hidden,
        num_layers=config.text_layers, num_heads=config.text_heads, intermediate_dim=config.text_intermediate,
        intermediate_activation=config.activation, max_sequence_length=config.context_length)
    return keras_hub.models.CLIPBackbone(vision_encoder=vision, text_encoder=text, projection_dim=config.projection_dim)


def clip_vit_trunk(config: CLIPViTConfig = VIT_B16, image_size: int = 224, name: str = "image_trunk") -> keras.Model:
    """CLIP-normalised images [N, S, S, 3] → patch tokens [N, S/P, S/P, hidden] (class token dropped)."""
    images = keras.Input((image_size, image_size, 3), name="images")
    tokens = vision_encoder(config, image_size)({"images": images})
    return keras.Model(images, PatchGrid(name="patch_grid")(tokens), name=name)


def is_vit_trunk(trunk: keras.Model) -> bool:
    """Whether an image trunk is :func:`clip_vit_trunk`'s (and not the ResNet's)."""
    return any(isinstance(layer, PatchGrid) for layer in trunk.layers)


def find_vision_encoder(model: keras.Model) -> keras.Model:
    """The keras-hub ``CLIPVisionEncoder`` that is ``model`` or one of its layers."""
    import keras_hub

    if isinstance(model, keras_hub.models.CLIPVisionEncoder):
        return model
    for layer in model.layers:
        if isinstance(layer, keras_hub.models.CLIPVisionEncoder):
            return layer
    raise ValueError(f"{model.name} holds no keras-hub CLIPVisionEncoder: a ViT IP-IQA model takes ViT CLIP weights "
                     "(--weights keras-hub:PRESET_OR_DIR)")


def _grid_of(encoder: keras.Model) -> int:
    return PatchGrid.side(encoder.embedding.num_positions)


def copy_vision_weights(source: keras.Model, target: keras.Model) -> None:
    """Copy one ``CLIPVisionEncoder``'s weights into another of the same architecture at any resolution: the
    positional table resized bicubically to the target's grid (class row kept), position ids 0…g²."""
    fields = ("patch_size", "hidden_dim", "num_layers", "num_heads", "intermediate_dim", "intermediate_activation")
    mismatched = [f for f in fields if getattr(source, f) != getattr(target, f)]
    if mismatched:
        raise ValueError(f"the ViT weights do not fit the model's ViT: {mismatched} differ")
    src, dst = source.embedding, target.embedding
    dst.patch_embedding.kernel.assign(src.patch_embedding.kernel)
    dst.class_embedding.assign(src.class_embedding)
    grids = (_grid_of(source),) * 2, (_grid_of(target),) * 2
    dst.position_embedding.embeddings.assign(
        interpolate_positional_embedding(src.position_embedding.embeddings, *grids))
    reset_position_ids(target)
    for a, b in zip([source.pre_layer_norm, *source.encoder_layers, source.layer_norm],
                    [target.pre_layer_norm, *target.encoder_layers, target.layer_norm]):
        b.set_weights(a.get_weights())


def vit_config_of(backbone: keras.Model) -> CLIPViTConfig:
    """The :class:`CLIPViTConfig` of a keras-hub ``CLIPBackbone`` (its vision encoder and projection dim)."""
    vision = backbone.vision_encoder
    if vision.intermediate_activation != "quick_gelu":
        raise WeightsError(f"the preset's ViT uses {vision.intermediate_activation!r}; IP-IQA's ViT is OpenAI's "
                           "(QuickGELU)")
    return CLIPViTConfig(vision.patch_size, vision.hidden_dim, vision.num_layers, vision.num_heads,
                         vision.intermediate_dim, backbone.projection_dim)


def text_config_of(backbone: keras.Model) -> CLIPTextConfig:
    """The OpenAI-layout :class:`CLIPTextConfig` of a keras-hub ``CLIPBackbone``'s text encoder; raises
    :class:`WeightsError` for a tower that layout cannot hold (other MLP ratio, activation or embedding width)."""
    text = backbone.text_encoder
    if (text.embedding_dim, text.intermediate_dim, text.intermediate_activation) != (
            text.hidden_dim, 4 * text.hidden_dim, "quick_gelu"):
        raise WeightsError("the preset's text encoder is not OpenAI CLIP's (embedding = width, MLP ×4, QuickGELU): "
                           f"{text.embedding_dim}, {text.intermediate_dim}, {text.intermediate_activation!r}")
    return CLIPTextConfig(text.vocabulary_size, text.max_sequence_length, text.hidden_dim, text.num_heads,
                          text.num_layers, backbone.projection_dim)


def _copy_block(source: keras.layers.Layer, target: keras.layers.Layer) -> None:
    """One Hugging Face-layout ``CLIPEncoderLayer`` → one OpenAI-layout residual block: q/k/v ([W, H, d] kernels)
    fused into ``in_proj``, the [H, d, W] output kernel flattened, layer_norm_1/2 → ln_1/2, dense_1/2 →
    c_fc/c_proj."""
    attention, width = source.attention, target.width
    kernels, biases = zip(*(dense.get_weights() for dense in (attention.query_dense, attention.key_dense,
                                                              attention.value_dense)))
    target.in_proj.set_weights([np.concatenate([k.reshape(width, width) for k in kernels], axis=1),
                                np.concatenate([b.reshape(width) for b in biases])])
    out_kernel, out_bias = attention.output_dense.get_weights()
    target.out_proj.set_weights([out_kernel.reshape(width, width), out_bias])
    for a, b in ((source.layer_norm_1, target.ln_1), (source.layer_norm_2, target.ln_2),
                 (source.dense_1, target.c_fc), (source.dense_2, target.c_proj)):
        b.set_weights(a.get_weights())


def text_encoder_from_keras_hub(backbone: keras.Model, name: str = "clip_text_encoder") -> keras.Model:
    """A keras-hub ``CLIPBackbone``'s text encoder and ``text_projection`` as the OpenAI-layout text encoder
    (``qa_mode="none"``; :func:`tfagiqa.backbones.clip_text.copy_text_weights` moves it into IP-IQA's)."""
    source = backbone.text_encoder
    encoder = clip_text_encoder(text_config_of(backbone), "none", name=name)
    embedding = encoder.get_layer("embedding")
    embedding.token_embedding.assign(source.embedding.token_embedding.embeddings)
    embedding.positional_embedding.assign(source.embedding.position_embedding.position_embeddings)
    for i, block in enumerate(source.encoder_layers):
        _copy_block(block, encoder.get_layer(f"resblocks_{i}"))
    encoder.get_layer("ln_final").set_weights(source.layer_norm.get_weights())
    encoder.get_layer("text_projection").text_projection.assign(backbone.text_projection.kernel)
    return encoder


def clip_vit_image_encoder(backbone: keras.Model, name: str = "clip_image_encoder") -> keras.Model:
    """CLIP-normalised images at the preset's size → CLIP's image embedding [N, projection_dim] (class token →
    ``vision_projection``, keras-hub's ``get_vision_embeddings``): the ViT's ``encode_image``, usable by CLIPScore
    and holding the vision encoder whose weights :func:`copy_vision_weights` moves into IP-IQA."""
    size = backbone.vision_encoder.image_shape[0]
    images = keras.Input((size, size, 3), name="images")
    return keras.Model(images, backbone.get_vision_embeddings(images), name=name)


def random_image_encoder(config: CLIPViTConfig, image_size: int = 224, name: str = "clip_image_encoder") -> keras.Model:
    """A randomly initialised ViT ``encode_image`` (class token → bias-free projection), for code-path checks such as
    CLIPScore without weights."""
    images = keras.Input((image_size, image_size, 3), name="images")
    tokens = vision_encoder(config, image_size)({"images": images})
    embedding = keras.layers.Dense(config.output_dim, use_bias=False, name="vision_projection")(tokens[:, 0])
    return keras.Model(images, embedding, name=name)


PRESET_HINT = ("On a machine with internet, save the preset once: `keras_hub.models.CLIPBackbone.from_preset("
               "'clip_vit_base_patch16').save_to_preset(DIR)` and `keras_hub.tokenizers.CLIPTokenizer.from_preset("
               "'clip_vit_base_patch16').save_to_preset(DIR)`, copy DIR here and pass --weights keras-hub:DIR.")


def _first_line(exc: Exception) -> str:
    """``Type: first line of the message`` (keras-hub's preset errors run to a page)."""
    return f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"


def load_backbone(preset: str) -> keras.Model:
    """keras-hub's ``CLIPBackbone`` from a preset folder or a (cached) preset name; :class:`WeightsError` otherwise."""
    import keras_hub

    try:
        return keras_hub.models.CLIPBackbone.from_preset(preset)
    except (OSError, ValueError) as exc:  # no network (requests' errors are OSErrors), no such folder or preset
        raise WeightsError(f"cannot load the keras-hub CLIP preset {preset!r} ({_first_line(exc)}). "
                           f"{PRESET_HINT}") from exc


def load_tokenizer(preset: str, context_length: int) -> BPETokenizer:
    """The preset's CLIP BPE vocabulary and merges (keras-hub's ``CLIPTokenizer``) in the in-graph
    :class:`BPETokenizer`, which packs [SOT] … [EOT] to ``context_length`` as OpenAI's ``clip.tokenize``."""
    import keras_hub

    try:
        hub = keras_hub.tokenizers.CLIPTokenizer.from_preset(preset)
    except (OSError, ValueError) as exc:
        raise WeightsError(f"no CLIP tokenizer in the keras-hub preset {preset!r} ({_first_line(exc)}); CLIP's "
                           f"weights need CLIP's BPE ids. {PRESET_HINT}") from exc
    return BPETokenizer(hub.vocabulary, hub.merges, context_length)
