"""CLIP-IQA+ (§3.3): the antonym prompts' context learned CoOp-style, the class words in the middle.

The official code (IceClear/CLIP-IQA ``PromptLearner``, ``class_token_position="middle"``, n_ctx = 16, followed
exactly by pyiqa's ``clipiqa+``) tokenizes "X X … X Good photo.." (16 placeholders, the class name, an extra
"."), takes its token embeddings, and rebuilds each prompt as

    [SOT] ctx[:8] <class tokens> ctx[8:] <the rest: ".", [EOT], padding>

where the class tokens are as many as the class name "Good photo." has BPE tokens (3). The sequence then goes
through the text transformer as CLIP's own prompts do (positions added, causal blocks, ln_final) and is read at
the [EOT] position of the placeholder tokenization. ``ctx`` is one [16, W] context shared by both prompts (the
published ``CLIP-IQA+_learned_prompts-603f3273.pth``) or class-specific [2, 16, W].
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from tfagiqa.backbones.clip_text import CLIPResidualAttentionBlock, tokenize
from tfagiqa.errors import WeightsError

N_CTX = 16
CLASS_NAMES = ("Good photo.", "Bad photo.")


def placeholder_prompts(class_names=CLASS_NAMES, n_ctx: int = N_CTX) -> list[str]:
    """The texts whose tokenization fixes the layout: ``"X X … X " + name + "."`` (the official extra dot)."""
    return [" ".join(["X"] * n_ctx) + " " + name + "." for name in class_names]


def class_token_counts(tokenizer: keras.layers.Layer, class_names=CLASS_NAMES) -> list[int]:
    """How many tokens each class name has between [SOT] and [EOT] (the official ``name_lens``)."""
    ids = tokenize(list(class_names), tokenizer)
    return [int(n) - 1 for n in np.argmax(ids, axis=-1)]


def arrange(token_embeddings: np.ndarray, ctx: np.ndarray, name_lens: list[int], n_ctx: int = N_CTX) -> np.ndarray:
    """[n_cls, L, W] embeddings of the placeholder prompts → the learned prompts [n_cls, L, W] (middle position)."""
    if ctx.ndim == 2:
        ctx = np.broadcast_to(ctx, (token_embeddings.shape[0], *ctx.shape))
    half = n_ctx // 2
    prompts = []
    for i, name_len in enumerate(name_lens):
        suffix = token_embeddings[i, 1 + n_ctx:]
        prompts.append(np.concatenate([token_embeddings[i, :1], ctx[i, :half], suffix[:name_len], ctx[i, half:],
                                       suffix[name_len:]], axis=0))
    return np.stack(prompts).astype("float32")


def encode_embeddings(text_encoder: keras.Model, embeddings: np.ndarray, token_ids: np.ndarray) -> np.ndarray:
    """CLIP's text tower after its token lookup: + positional embedding → residual blocks → ln_final → the feature
    at the [EOT] position of ``token_ids`` @ text_projection; [n, E]."""
    x = ops.convert_to_tensor(embeddings) + text_encoder.get_layer("embedding").positional_embedding
    for layer in text_encoder.layers:
        if isinstance(layer, CLIPResidualAttentionBlock):
            x = layer(x)
    x = text_encoder.get_layer("ln_final")(x)
    return np.asarray(text_encoder.get_layer("text_projection")([x, ops.convert_to_tensor(token_ids)]), "float32")


def check_context(ctx: np.ndarray, width: int, n_cls: int = len(CLASS_NAMES)) -> np.ndarray:
    """``ctx`` as float32 [n_ctx, W] or [n_cls, n_ctx, W], or a WeightsError saying what was expected."""
    ctx = np.asarray(ctx, "float32")
    shapes_ok = ctx.ndim == 2 or (ctx.ndim == 3 and ctx.shape[0] == n_cls)
    if not shapes_ok or ctx.shape[-1] != width or ctx.shape[-2] % 2:
        raise WeightsError(f"learned prompt context of shape {ctx.shape} does not fit: expected [n_ctx, {width}] or "
                           f"[{n_cls}, n_ctx, {width}] with an even n_ctx (the published one is [16, 512])")
    return ctx


def learned_prompt_features(text_encoder: keras.Model, tokenizer: keras.layers.Layer, ctx: np.ndarray,
                            class_names=CLASS_NAMES) -> np.ndarray:
    """Text embeddings [n_cls, E] of the learned prompts (good, bad), as the official ``PromptLearner`` +
    ``TextEncoder`` compute them."""
    width = text_encoder.get_layer("embedding").width
    ctx = check_context(ctx, width, len(class_names))
    n_ctx = ctx.shape[-2]
    ids = tokenize(placeholder_prompts(class_names, n_ctx), tokenizer)
    lens = class_token_counts(tokenizer, class_names)
    if int(np.argmax(ids, axis=-1).max()) + 1 >= ids.shape[1]:  # no padding left: the prompts may be cut short
        raise ValueError(f"a context of {ids.shape[1]} tokens cannot hold [SOT], {n_ctx} learned tokens, the class "
                         "name, '.' and [EOT]")
    embedded = np.asarray(ops.take(text_encoder.get_layer("embedding").token_embedding, ids, axis=0))
    prompts = arrange(embedded, ctx, lens, n_ctx)
    return encode_embeddings(text_encoder, prompts, ids)
