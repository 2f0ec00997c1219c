"""ImageReward (Xu et al. 2023; SPEC §3.3): a BLIP prompt feature that has looked at the image, and a reward MLP.

The image (resized to 224 with its aspect kept, centre-cropped, CLIP mean/std) goes through BLIP's ViT-L/16. The
prompt ([CLS] prompt [SEP], 35 tokens) goes through BLIP's BERT encoder, whose every layer cross-attends to the
image tokens. The last hidden state at the [CLS] position (768-d) is the feature: ImageReward maps it to a reward
with a five-layer MLP without activations (768→1024→128→64→16→1, dropout .2/.2/.1) and normalises it with fixed
constants; the Hypernet paper feeds it to HyperIQA's target network instead (``tfagiqa.methods.hyperiqa.text_inputs``, ``blip``).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

from tfagiqa.backbones.blip_text import BLIP_BERT, BertPromptTokenizer, BLIPTextConfig, blip_text_encoder, \
    tiny_text_config
from tfagiqa.backbones.blip_vit import VIT_L16, BLIPViTConfig, blip_vit, tiny_vit_config
from tfagiqa.layers.normalisation import CLIPNormalize

REWARD_MEAN = 0.16717362830052426  # ImageReward.py: rewards = (mlp(f) - mean) / std
REWARD_STD = 1.0333394966054072
MLP_SIZES = (1024, 128, 64, 16)
MLP_DROPOUT = (0.2, 0.2, 0.1, 0.0)


@dataclass(frozen=True)
class ImageRewardConfig:
    """ViT-L/16 at 224, BERT-base cross-attending to it (encoder width = the ViT's), the reward MLP."""

    vision: BLIPViTConfig = VIT_L16
    text: BLIPTextConfig = BLIP_BERT
    mlp_sizes: tuple[int, ...] = MLP_SIZES

    def __post_init__(self):
        if self.text.encoder_width != self.vision.hidden_dim:
            raise ValueError(f"the text encoder cross-attends to width {self.text.encoder_width}, "
                             f"the ViT gives {self.vision.hidden_dim}")


IMAGEREWARD = ImageRewardConfig()


def tiny(vocab_size: int, image_size: int = 32) -> ImageRewardConfig:
    """A tiny ViT and text encoder (encoder width ≠ text width, as in the real model) and a small MLP."""
    vision = tiny_vit_config(image_size=image_size)
    return ImageRewardConfig(vision, tiny_text_config(vocab_size, encoder_width=vision.hidden_dim), (32, 16, 8, 4))


def reward_mlp(feature, sizes: tuple[int, ...] = MLP_SIZES):
    """ImageReward's MLP (no activations, by design): Dense/Dropout pairs, then Dense(1); init N(0, 1/(d+1))."""
    init = keras.initializers.RandomNormal(stddev=1.0 / (feature.shape[-1] + 1))
    x = feature
    for i, (units, rate) in enumerate(zip(sizes, MLP_DROPOUT)):
        x = keras.layers.Dense(units, kernel_initializer=init, name=f"reward_fc{i}")(x)
        if rate:
            x = keras.layers.Dropout(rate, name=f"reward_dropout{i}")(x)
    return keras.layers.Dense(1, kernel_initializer=init, name=f"reward_fc{len(sizes)}")(x)


def imagereward_model(config: ImageRewardConfig = IMAGEREWARD, vocabulary: list[str] | None = None,
                      normalise: bool = True, name: str = "imagereward") -> keras.Model:
    """{image [N, S, S, 3], prompt [N] strings} → {embedding [N, 768] (the [CLS] feature), reward [N]}.

    ``vocabulary``: the BERT token list (``blip_text.read_bert_vocab``); its length must be the text config's
    vocab size. With ``normalise`` the image is in [0, 255] and CLIP-normalised inside; without it, it already is.
    """
    if vocabulary is None or len(vocabulary) != config.text.vocab_size:
        raise ValueError(f"imagereward_model needs the {config.text.vocab_size}-token vocabulary "
                         f"(got {None if vocabulary is None else len(vocabulary)})")
    size = config.vision.image_size
    image = keras.Input((size, size, 3), name="image")
    prompt = keras.Input((), dtype="string", name="prompt")
    pixels = CLIPNormalize(name="clip_normalize")(image) if normalise else image
    image_embeds = blip_vit(config.vision)(pixels)
    tokens = BertPromptTokenizer(vocabulary, config.text.sequence_length, name="tokenizer")(prompt)
    hidden = blip_text_encoder(config.text)({**tokens, "image_embeds": image_embeds})
    embedding = keras.layers.Identity(name="embedding")(hidden[:, 0, :])
    raw = reward_mlp(embedding, config.mlp_sizes)
    reward = keras.layers.Rescaling(1.0 / REWARD_STD, offset=-REWARD_MEAN / REWARD_STD, name="reward_norm")(raw)
    reward = keras.layers.Reshape((), name="reward")(reward)
    return keras.Model({"image": image, "prompt": prompt}, {"embedding": embedding, "reward": reward}, name=name)

