"""CLIP's text transformer (openai/CLIP model.py ``encode_text``) as Keras layers, the IP-IQA [QA] token, tokenizers.

token ids [N, L] → token + positional embedding → pre-LN residual attention blocks (causal mask, QuickGELU
MLP ×4) → ln_final → the feature at the EOT position (argmax of the ids; EOT is the largest id) @ text_projection.

The layout is OpenAI's own (fused in_proj, ``c_fc``/``c_proj``, a bias-free ``text_projection`` matrix), so the
converter maps a checkpoint one to one; keras-hub's CLIP text encoder follows the Hugging Face layout instead.
Tokenizers, both Keras layers that run in the graph: :class:`HashTokenizer` (a tiny word-hash vocabulary for
offline tests and smoke runs) and :class:`BPETokenizer` (keras-hub's CLIP BPE tokenizer built from OpenAI's
``bpe_simple_vocab_16e6.txt.gz``).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfagiqa.errors import WeightsError
from tfagiqa.layers.attention_pool import multi_head_attention

LN_EPSILON = 1e-5
QA_MODES = ("none", "learned", "code", "frozen")


@dataclass(frozen=True)
class CLIPTextConfig:
    """RN50's text tower: 49408 tokens, 77 positions, width 512, 8 heads, 12 layers, 1024-d output."""

    vocab_size: int = 49408
    context_length: int = 77
    width: int = 512
    heads: int = 8
    layers: int = 12
    embed_dim: int = 1024

    def to_dict(self) -> dict:
        return asdict(self)


RN50_TEXT = CLIPTextConfig()


def tiny_text_config(embed_dim: int = 32, vocab_size: int = 512, context_length: int = 16, width: int = 32,
                     heads: int = 2, layers: int = 2) -> CLIPTextConfig:
    """A tiny tower with the same structure, for tests and smoke runs."""
    return CLIPTextConfig(vocab_size, context_length, width, heads, layers, embed_dim)


def eot_mask(token_ids):
    """[N, L, 1] one-hot of each sequence's EOT position (``argmax`` of the ids, as CLIP reads it)."""
    return ops.expand_dims(ops.one_hot(ops.argmax(token_ids, axis=-1), ops.shape(token_ids)[-1]), -1)


@keras.saving.register_keras_serializable(package="tfagiqa")
class CLIPTokenEmbedding(keras.layers.Layer):
    """ids → token_embedding[ids] + positional_embedding; with ``qa_token`` a learned vector replaces the EOT token.

    ``train_tokens`` / ``train_positions`` set the trainability of the two tables separately (IP-IQA's modes).
    """

    def __init__(self, vocab_size: int, context_length: int, width: int, qa_token: bool = False,
                 train_tokens: bool = True, train_positions: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.context_length, self.width = int(vocab_size), int(context_length), int(width)
        self.qa_token, self.train_tokens, self.train_positions = bool(qa_token), bool(train_tokens), bool(train_positions)

    def build(self, input_shape):
        self.token_embedding = self.add_weight(
            name="token_embedding", shape=(self.vocab_size, self.width),
            initializer=keras.initializers.RandomNormal(stddev=0.02), trainable=self.train_tokens)
        self.positional_embedding = self.add_weight(
            name="positional_embedding", shape=(self.context_length, self.width),
            initializer=keras.initializers.RandomNormal(stddev=0.01), trainable=self.train_positions)
        if self.qa_token:
            self.qa_embedding = self.add_weight(name="qa_embedding", shape=(self.width,),
                                                initializer=keras.initializers.RandomNormal(stddev=0.02))

    def reset_qa_token(self) -> None:
        """Start the [QA] token from the EOT token's embedding (the last row of the vocabulary)."""
        self.qa_embedding.assign(self.token_embedding[self.vocab_size - 1])

    def call(self, token_ids):
        x = ops.take(self.token_embedding, ops.cast(token_ids, "int32"), axis=0)
        if self.qa_token:
            mask = eot_mask(token_ids)
            x = x * (1.0 - mask) + mask * self.qa_embedding
        return x + self.positional_embedding

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.width)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "context_length": self.context_length,
                "width": self.width, "qa_token": self.qa_token, "train_tokens": self.train_tokens,
                "train_positions": self.train_positions}


@keras.saving.register_keras_serializable(package="tfagiqa")
class CLIPResidualAttentionBlock(keras.layers.Layer):
    """x + attn(ln_1(x)) with a causal mask, then x + c_proj(QuickGELU(c_fc(ln_2(x))))."""

    def __init__(self, width: int, heads: int, **kwargs):
        super().__init__(**kwargs)
        self.width, self.heads = int(width), int(heads)
        self.ln_1 = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name="ln_1")
        self.in_proj = keras.layers.Dense(3 * self.width, name="in_proj")
        self.out_proj = keras.layers.Dense(self.width, name="out_proj")
        self.ln_2 = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name="ln_2")
        self.c_fc = keras.layers.Dense(4 * self.width, name="c_fc")
        self.c_proj = keras.layers.Dense(self.width, name="c_proj")
        for layer in (self.ln_1, self.in_proj, self.out_proj, self.ln_2, self.c_fc, self.c_proj):
            layer.trainable = self.trainable  # a block restored frozen from its config freezes its sublayers

    def build(self, input_shape):
        self.ln_1.build(input_shape)
        self.in_proj.build(input_shape)
        self.out_proj.build(input_shape)
        self.ln_2.build(input_shape)
        self.c_fc.build(input_shape)
        self.c_proj.build((*input_shape[:-1], 4 * self.width))

    def call(self, x):
        length = x.shape[1]
        causal = np.triu(np.full((length, length), -1e9, dtype="float32"), k=1)
        q, k, v = ops.split(self.in_proj(self.ln_1(x)), 3, axis=-1)
        x = x + self.out_proj(multi_head_attention(q, k, v, self.heads, mask=ops.convert_to_tensor(causal)))
        h = self.c_fc(self.ln_2(x))
        return x + self.c_proj(h * ops.sigmoid(1.702 * h))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "width": self.width, "heads": self.heads}


@keras.saving.register_keras_serializable(package="tfagiqa")
class EOTProjection(keras.layers.Layer):
    """([N, L, W] features, [N, L] ids) → features at the EOT position @ text_projection [W, E] (no bias)."""

    def __init__(self, embed_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim = int(embed_dim)

    def build(self, input_shape):
        width = int(input_shape[0][-1])
        self.text_projection = self.add_weight(name="text_projection", shape=(width, self.embed_dim),
                                               initializer=keras.initializers.RandomNormal(stddev=width ** -0.5))

    def call(self, inputs):
        features, token_ids = inputs
        pooled = ops.sum(features * eot_mask(token_ids), axis=1)
        return ops.matmul(pooled, self.text_projection)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.embed_dim)

    def get_config(self):
        return {**super().get_config(), "embed_dim": self.embed_dim}


def clip_text_encoder(config: CLIPTextConfig = RN50_TEXT, qa_mode: str = "none",
                      name: str = "clip_text_encoder") -> keras.Model:
    """int32 token ids [N, context_length] → text embedding [N, embed_dim], as CLIP's ``encode_text``.

    ``qa_mode``: ``none`` (all trainable: conversion, Image2Prompt's frozen copy is frozen by the caller),
    ``learned`` (the paper: a new [QA] vector replaces the EOT token and is the only trainable text weight),
    ``code`` (the official code: token, positional embedding and text_projection trainable, blocks and ln_final
    frozen; SPEC §4.2 disagreement 4) or ``frozen`` (nothing trainable).
    """
    if qa_mode not in QA_MODES:
        raise ValueError(f"qa_mode must be one of {QA_MODES}, got {qa_mode!r}")
    ids = keras.Input((config.context_length,), dtype="int32", name="token_ids")
    tune_tables = qa_mode in ("none", "code")
    x = CLIPTokenEmbedding(config.vocab_size, config.context_length, config.width, qa_token=qa_mode == "learned",
                           train_tokens=tune_tables, train_positions=tune_tables, name="embedding")(ids)
    for i in range(config.layers):
        block = CLIPResidualAttentionBlock(config.width, config.heads, name=f"resblocks_{i}")
        block.trainable = qa_mode == "none"
        x = block(x)
    ln_final = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name="ln_final")
    ln_final.trainable = qa_mode == "none"
    projection = EOTProjection(config.embed_dim, name="text_projection")
    projection.trainable = tune_tables
    return keras.Model(ids, projection([ln_final(x), ids]), name=name)


def text_config_of(encoder: keras.Model) -> CLIPTextConfig:
    """The configuration a text encoder was built with (read back from its layers)."""
    embedding = encoder.get_layer("embedding")
    blocks = [layer for layer in encoder.layers if isinstance(layer, CLIPResidualAttentionBlock)]
    return CLIPTextConfig(embedding.vocab_size, embedding.context_length, embedding.width, blocks[0].heads,
                          len(blocks), encoder.get_layer("text_projection").embed_dim)


def copy_text_weights(source: keras.Model, target: keras.Model) -> None:
    """Copy every weight of one text encoder into another built with another ``qa_mode`` (then reset [QA])."""
    for layer in source.layers:
        if not layer.weights:
            continue
        dest = target.get_layer(layer.name)
        if isinstance(dest, CLIPTokenEmbedding):
            dest.token_embedding.assign(layer.token_embedding)
            dest.positional_embedding.assign(layer.positional_embedding)
            if dest.qa_token:
                dest.reset_qa_token()
        else:
            dest.set_weights(layer.get_weights())


@keras.saving.register_keras_serializable(package="tfagiqa")
class HashTokenizer(keras.layers.Layer):
    """In-graph word tokenizer for offline use: lower-case words hashed into ``vocab_size − 3`` ids.

    Layout as CLIP's: [SOT] words [EOT], zero-padded to ``context_length``, truncated with EOT kept last;
    SOT = vocab_size − 2 and EOT = vocab_size − 1 (the largest id, so the EOT position is the argmax).
    """

    def __init__(self, vocab_size: int, context_length: int, **kwargs):
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        self.vocab_size, self.context_length = int(vocab_size), int(context_length)

    def call(self, prompts):
        text = tf.strings.regex_replace(tf.strings.lower(tf.reshape(prompts, [-1])), r"[^a-z0-9]+", " ")
        words = tf.strings.split(tf.strings.strip(text))
        ids = tf.strings.to_hash_bucket_fast(words, self.vocab_size - 3) + 1
        ids = ids[:, : self.context_length - 2]
        column = tf.stack([ids.nrows(), tf.constant(1, tf.int64)])
        sot = tf.RaggedTensor.from_tensor(tf.fill(column, tf.constant(self.vocab_size - 2, tf.int64)))
        eot = tf.RaggedTensor.from_tensor(tf.fill(column, tf.constant(self.vocab_size - 1, tf.int64)))
        full = tf.concat([sot, ids, eot], axis=1)
        return tf.cast(full.to_tensor(0, shape=[None, self.context_length]), tf.int32)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.context_length)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "context_length": self.context_length}


def read_openai_bpe(path: str | Path) -> tuple[dict[str, int], list[str]]:
    """Vocabulary and merges exactly as OpenAI's SimpleTokenizer builds them from ``bpe_simple_vocab_16e6.txt.gz``."""
    from keras_hub.src.tokenizers.byte_pair_tokenizer import bytes_to_unicode

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"no BPE file at {path}; download bpe_simple_vocab_16e6.txt.gz from github.com/openai/CLIP "
                           "(clip/bpe_simple_vocab_16e6.txt.gz)")
    lines = gzip.open(path).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
    merges = [" ".join(line.split()) for line in lines if line.strip()]
    base = bytes_to_unicode()[1]
    words = base + [b + "</w>" for b in base] + ["".join(m.split()) for m in merges]
    words += ["<|startoftext|>", "<|endoftext|>"]
    return {w: i for i, w in enumerate(words)}, merges


# The parts of OpenAI's ``basic_clean`` (ftfy.fix_text, then html.unescape twice) that prompts meet, as plain
# replacements the graph can run: ftfy's Latin ligatures and curly quotes, then the HTML entities (``&amp;`` last,
# so one pass unescapes once, as html.unescape does).
LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "\u017ft",
             "\ufb06": "st", "\u0132": "IJ", "\u0133": "ij"}
QUOTES = {"[\u02bc\u2018-\u201b]": "'", "[\u201c-\u201f]": '"'}
ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&#x27;": "'", "&apos;": "'", "&nbsp;": "\u00a0",
            "&amp;": "&"}


def clip_basic_clean(text: tf.Tensor) -> tf.Tensor:
    """In-graph subset of CLIP's ``basic_clean``: full-width forms → ASCII (ftfy's width fix), ligatures, curly
    quotes, HTML entities unescaped twice. ftfy's mojibake repair is not reproduced."""
    points = tf.strings.unicode_decode(text, "UTF-8", errors="replace")
    points = tf.ragged.map_flat_values(
        lambda c: tf.where((c >= 0xFF01) & (c <= 0xFF5E), c - 0xFEE0, tf.where(c == 0x3000, 0x20, c)), points)
    text = tf.strings.unicode_encode(points, "UTF-8")
    for table in (LIGATURES, QUOTES):
        for pattern, plain in table.items():
            text = tf.strings.regex_replace(text, pattern, plain)
    for _ in range(2):
        for entity, plain in ENTITIES.items():
            text = tf.strings.regex_replace(text, entity, plain, replace_global=True)
    return text


@keras.saving.register_keras_serializable(package="tfagiqa")
class BPETokenizer(keras.layers.Layer):
    """In-graph CLIP BPE: keras-hub's CLIP tokenizer + [SOT]/[EOT] packing to ``context_length`` (OpenAI
    ``clip.tokenize`` with ``truncate=True``). Text is cleaned as :func:`clip_basic_clean` says, lower-cased and
    its whitespace collapsed, as OpenAI's ``basic_clean``/``whitespace_clean``/``lower`` do."""

    def __init__(self, vocabulary: dict[str, int], merges: list[str], context_length: int = 77, **kwargs):
        import keras_hub

        kwargs["trainable"] = False
        super().__init__(**kwargs)
        self.vocabulary, self.merges, self.context_length = dict(vocabulary), list(merges), int(context_length)
        self.sot, self.eot = self.vocabulary["<|startoftext|>"], self.vocabulary["<|endoftext|>"]
        self.tokenizer = keras_hub.tokenizers.CLIPTokenizer(vocabulary=self.vocabulary, merges=self.merges)
        self.packer = keras_hub.layers.StartEndPacker(sequence_length=self.context_length, start_value=self.sot,
                                                      end_value=self.eot, pad_value=0)

    @classmethod
    def from_bpe(cls, path: str | Path, context_length: int = 77) -> "BPETokenizer":
        return cls(*read_openai_bpe(path), context_length=context_length)

    @classmethod
    def load(cls, folder: str | Path, context_length: int = 77) -> "BPETokenizer":
        """Read ``vocab.json`` and ``merges.txt`` written by :meth:`save`."""
        folder = Path(folder)
        merges = (folder / "merges.txt").read_text(encoding="utf-8").splitlines()
        return cls(json.loads((folder / "vocab.json").read_text(encoding="utf-8")), merges, context_length)

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "vocab.json").write_text(json.dumps(self.vocabulary), encoding="utf-8")
        (folder / "merges.txt").write_text("\n".join(self.merges), encoding="utf-8")
        return folder

    def call(self, prompts):
        text = tf.strings.lower(clip_basic_clean(tf.reshape(prompts, [-1])), encoding="utf-8")
        text = tf.strings.strip(tf.strings.regex_replace(text, r"\s+", " "))
        return tf.cast(self.packer(self.tokenizer(text)), tf.int32)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.context_length)

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary, "merges": self.merges,
                "context_length": self.context_length}


def tokenize(prompts, tokenizer: HashTokenizer | BPETokenizer) -> np.ndarray:
    """int32 [N, L] ids of ``prompts`` with either tokenizer (run eagerly here, in the graph inside a scorer)."""
    return np.asarray(tokenizer(tf.constant([str(p) for p in prompts])))
