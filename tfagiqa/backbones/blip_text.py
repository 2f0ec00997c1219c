"""BLIP's text encoder with cross-attention to the image (ImageReward/models/BLIP/med.py, SPEC §3.3), and its tokenizer.

BLIP's ``BertModel`` in ``mode='multimodal'``: word + absolute position embeddings (no token types) → LayerNorm →
12 post-LN layers, each self-attention over the prompt (padding masked, not causal), cross-attention from the
prompt to the image tokens (keys and values projected from the ViT's width), and a GELU feed-forward ×4, all with
LayerNorm ε = 1e-12. keras-hub's ``TransformerDecoder`` with ``normalize_first=False`` is that layer, so each of the
12 is one, called with ``use_causal_mask=False``; the embeddings are keras-hub's ``TokenAndPositionEmbedding``.

Tokenizer: BLIP's ``BertTokenizer('bert-base-uncased')`` (+ ``[DEC]``, ``[ENC]`` appended: 30524 ids), called by
ImageReward with ``padding='max_length', truncation=True, max_length=35``: [CLS] prompt [SEP] [PAD]…. In the graph
here: Hugging Face's clean-up and lower-casing, keras-hub's BERT WordPiece tokenizer (accents stripped) and a
start/end packer to 35.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from tfagiqa.errors import WeightsError

LN_EPSILON = 1e-12
SEQUENCE_LENGTH = 35  # ImageReward's max_length
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
BLIP_TOKENS = ("[DEC]", "[ENC]")  # BLIP's init_tokenizer appends these after bert-base-uncased's 30522
VOCAB_HINT = ("ImageReward tokenizes with bert-base-uncased's vocab.txt (30522 lines, from huggingface.co/"
              "bert-base-uncased); pass that file")


@dataclass(frozen=True)
class BLIPTextConfig:
    """ImageReward's med_config.json: BERT-base (768, 12 layers, 12 heads, ff 3072), cross-attending to width 1024."""

    vocab_size: int = 30524
    max_positions: int = 512
    hidden_dim: int = 768
    num_layers: int = 12
    num_heads: int = 12
    intermediate_dim: int = 3072
    encoder_width: int = 1024
    sequence_length: int = SEQUENCE_LENGTH


BLIP_BERT = BLIPTextConfig()


def tiny_text_config(vocab_size: int, encoder_width: int = 24, hidden_dim: int = 16, num_layers: int = 2,
                     num_heads: int = 2, sequence_length: int = 12) -> BLIPTextConfig:
    """A tiny encoder of the same structure (its vocabulary from a small vocab file), for tests and smoke runs."""
    return BLIPTextConfig(vocab_size, 64, hidden_dim, num_layers, num_heads, 4 * hidden_dim, encoder_width,
                          sequence_length)


def blip_text_encoder(config: BLIPTextConfig = BLIP_BERT, dropout: float = 0.1,
                      name: str = "text_encoder") -> keras.Model:
    """{token_ids [N, L], padding_mask [N, L], image_embeds [N, T, encoder_width]} → last hidden state [N, L, hidden]."""
    import keras_hub

    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    padding_mask = keras.Input((None,), dtype="int32", name="padding_mask")
    image_embeds = keras.Input((None, config.encoder_width), name="image_embeds")
    x = keras_hub.layers.TokenAndPositionEmbedding(config.vocab_size, config.max_positions, config.hidden_dim,
                                                   name="embeddings")(token_ids)
    x = keras.layers.LayerNormalization(epsilon=LN_EPSILON, name="embeddings_layer_norm")(x)
    x = keras.layers.Dropout(dropout, name="embeddings_dropout")(x)
    for i in range(config.num_layers):
        layer = keras_hub.layers.TransformerDecoder(
            config.intermediate_dim, config.num_heads, dropout=dropout, activation="gelu",
            layer_norm_epsilon=LN_EPSILON, name=f"layer_{i}")
        x = layer(x, image_embeds, decoder_padding_mask=padding_mask, use_causal_mask=False)
    inputs = {"token_ids": token_ids, "padding_mask": padding_mask, "image_embeds": image_embeds}
    return keras.Model(inputs, x, name=name)


def read_bert_vocab(path: str | Path) -> list[str]:
    """bert-base-uncased's ``vocab.txt`` (one token a line) plus BLIP's ``[DEC]``/``[ENC]`` when absent."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"no vocabulary file at {path}: {VOCAB_HINT}")
    tokens = path.read_text(encoding="utf-8").splitlines()
    missing = [t for t in SPECIAL_TOKENS if t not in tokens]
    if missing:
        raise WeightsError(f"{path} is not a BERT vocab.txt (it lacks {missing}): {VOCAB_HINT}")
    return tokens + [t for t in BLIP_TOKENS if t not in tokens]


def bert_clean_lower(text: tf.Tensor) -> tf.Tensor:
    """Hugging Face BertTokenizer's text clean-up and lower-casing, in the graph: tab/newline/CR → space, other
    control and format characters and U+FFFD dropped, then ``str.lower``'s mapping (not keras-hub's NFKC case
    folding, which would also turn ß into ss and ligatures into letters)."""
    text = tf.strings.regex_replace(text, r"[\t\n\r]", " ")
    text = tf.strings.regex_replace(text, r"[\p{Cc}\p{Cf}\x{FFFD}]", "")
    return tf.strings.lower(text, encoding="utf-8")


@keras.saving.register_keras_serializable(package="tfagiqa")
class BertPromptTokenizer(keras.layers.Layer):
    """prompts [N] (strings) → {token_ids, padding_mask} int32 [N, sequence_length]: :func:`bert_clean_lower`, WordPiece
    (accents stripped), then [CLS] … [SEP] and [PAD] to the length, truncated as Hugging Face's ``truncation=True``
    does. Special-token strings typed in a prompt ("[SEP]") are split like other text; Hugging Face keeps them whole."""

    def __init__(self, vocabulary: list[str], sequence_length: int = SEQUENCE_LENGTH, **kwargs):
        import keras_hub

        kwargs["trainable"] = False
        super().__init__(**kwargs)
        self.vocabulary, self.sequence_length = list(vocabulary), int(sequence_length)
        self.tokenizer = keras_hub.tokenizers.BertTokenizer(vocabulary=self.vocabulary, lowercase=False,
                                                            strip_accents=True)
        ids = {t: i for i, t in enumerate(self.vocabulary)}
        self.packer = keras_hub.layers.StartEndPacker(
            sequence_length=self.sequence_length, start_value=ids["[CLS]"], end_value=ids["[SEP]"],
            pad_value=ids["[PAD]"], return_padding_mask=True)

    def build(self, input_shape):
        self.built = True

    def call(self, prompts):
        token_ids, mask = self.packer(self.tokenizer(bert_clean_lower(tf.reshape(prompts, [-1]))))
        return {"token_ids": tf.cast(token_ids, tf.int32), "padding_mask": tf.cast(mask, tf.int32)}

    def compute_output_spec(self, prompts):
        shape = (prompts.shape[0], self.sequence_length)
        return {"token_ids": keras.KerasTensor(shape, "int32"), "padding_mask": keras.KerasTensor(shape, "int32")}

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary, "sequence_length": self.sequence_length}
