"""Official ImageReward checkpoint (``ImageReward.pt``, THUDM/ImageReward: a state dict of ``ImageReward``) → Keras.

Writes an ``imagereward`` preset (:mod:`tfagiqa.presets`): ``DIR/preset.json``, ``DIR/model.keras``: {image
[N, 224, 224, 3] in [0, 255], prompt [N]} → {embedding [N, 768], reward [N]}
(:func:`tfagiqa.methods.imagereward.model.imagereward_model`: CLIP normalisation, tokenizer and both BLIP encoders
inside), and ``DIR/savedmodel``: the catalogue's ``imagereward`` scorer exported by ``tfagiqa.export`` (shorter side
resized to 224, centre crop). The tokenizer's vocabulary is bert-base-uncased's ``vocab.txt`` (``--vocab``), which
the official code loads from the Hugging Face hub. Sizes are read from the tensors' shapes; the heads are not in a
state dict, so they are the width / 64 (BLIP's ViT-L 16, BERT-base 12) unless given.

Layouts: Linear (out, in) → Dense (in, out); q/k/v (heads·64, in) → keras MultiHeadAttention (in, heads, 64), the
output projection (out, heads·64) → (heads, 64, out); the ViT's fused ``qkv`` rows are [q; k; v]; the patch
convolution (out, in, kh, kw) → (kh, kw, in, out). The NCHW patch flatten and NHWC reshape are both row-major.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import keras
import numpy as np

from tfagiqa.torch_state import read_torch_state
from tfagiqa.errors import TfagiqaError

HELP = "official ImageReward checkpoint (ImageReward.pt) + bert-base-uncased vocab.txt → DIR/model.keras + SavedModel"
CHECKPOINT_HINT = "The official one is ImageReward.pt from huggingface.co/THUDM/ImageReward."
HEAD_DIM = 64
VIT = "blip.visual_encoder."
TEXT = "blip.text_encoder."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--torch", required=True, help="ImageReward.pt: the state dict saved with torch.save")
    parser.add_argument("--vocab", required=True, help="bert-base-uncased's vocab.txt (30522 lines; BLIP's [DEC] and "
                        "[ENC] are appended)")
    parser.add_argument("--out", required=True, help="output folder (model.keras, savedmodel/)")
    parser.add_argument("--vision-heads", type=int, default=None, help="ViT attention heads (default width/64: 16)")
    parser.add_argument("--text-heads", type=int, default=None, help="BERT attention heads (default width/64: 12)")
    parser.add_argument("--no-savedmodel", action="store_true", help="write model.keras only")


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """The checkpoint's tensors as float32 numpy arrays; an error if it is not an ImageReward state dict."""
    state = read_torch_state(path, CHECKPOINT_HINT)
    if f"{VIT}cls_token" not in state or "mlp.layers.0.weight" not in state:
        raise TfagiqaError(f"{path} is not an ImageReward state dict (no {VIT}cls_token or mlp.layers.0.weight). "
                           f"{CHECKPOINT_HINT}")
    return state


def _count(state: dict, pattern: str) -> int:
    return len({m.group(1) for k in state for m in [re.match(pattern, k)] if m})


def config_from_state(state: dict[str, np.ndarray], vision_heads: int | None = None, text_heads: int | None = None):
    """The ImageRewardConfig whose shapes match the checkpoint (heads: width / 64 unless given)."""
    from tfagiqa.backbones.blip_text import SEQUENCE_LENGTH, BLIPTextConfig
    from tfagiqa.backbones.blip_vit import BLIPViTConfig
    from tfagiqa.methods.imagereward.model import ImageRewardConfig

    width = state[f"{VIT}cls_token"].shape[-1]
    patch = state[f"{VIT}patch_embed.proj.weight"].shape[-1]
    grid = int(round((state[f"{VIT}pos_embed"].shape[1] - 1) ** 0.5))
    vision = BLIPViTConfig(grid * patch, patch, width, _count(state, rf"{re.escape(VIT)}blocks\.(\d+)\."),
                           vision_heads or width // HEAD_DIM, state[f"{VIT}blocks.0.mlp.fc1.weight"].shape[0])
    words = state[f"{TEXT}embeddings.word_embeddings.weight"]
    hidden = words.shape[1]
    layer0 = f"{TEXT}encoder.layer.0."
    text = BLIPTextConfig(words.shape[0], state[f"{TEXT}embeddings.position_embeddings.weight"].shape[0], hidden,
                          _count(state, rf"{re.escape(TEXT)}encoder\.layer\.(\d+)\."), text_heads or hidden // HEAD_DIM,
                          state[f"{layer0}intermediate.dense.weight"].shape[0],
                          state[f"{layer0}crossattention.self.key.weight"].shape[1], SEQUENCE_LENGTH)
    mlp = tuple(state[f"mlp.layers.{i}.weight"].shape[0] for i in (0, 2, 4, 6))
    return ImageRewardConfig(vision, text, mlp)


class _Source:
    """The checkpoint's tensors, remembering which were taken (every one must be, but the unused projections)."""

    def __init__(self, state: dict[str, np.ndarray]):
        self.state, self.used = state, set()

    def __call__(self, key: str) -> np.ndarray:
        if key not in self.state:
            raise TfagiqaError(f"the checkpoint lacks {key}")
        self.used.add(key)
        return self.state[key]

    def dense(self, layer: keras.layers.Layer, prefix: str) -> None:
        layer.set_weights([self(f"{prefix}.weight").T, self(f"{prefix}.bias")])

    def norm(self, layer: keras.layers.Layer, prefix: str) -> None:
        layer.set_weights([self(f"{prefix}.weight"), self(f"{prefix}.bias")])

    def left_over(self) -> list[str]:
        ignored = ("blip.vision_proj.", "blip.text_proj.", f"{TEXT}embeddings.position_ids")
        return sorted(k for k in set(self.state) - self.used if not k.startswith(ignored))


def _attention(layer, weights: list[np.ndarray], heads: int) -> None:
    """q, k, v, output (torch weight, bias) pairs → a keras MultiHeadAttention's eight variables."""
    (wq, bq), (wk, bk), (wv, bv), (wo, bo) = weights
    out = []
    for w, b in ((wq, bq), (wk, bk), (wv, bv)):
        out += [w.T.reshape(w.shape[1], heads, -1), b.reshape(heads, -1)]
    out += [wo.T.reshape(heads, -1, wo.shape[0]), bo]
    layer.set_weights(out)


def assign_vit(vit: keras.Model, take: _Source, heads: int) -> None:
    """``blip.visual_encoder.*`` → keras-hub's ViTBackbone."""
    embed = vit.get_layer("vit_patching_and_embedding")
    embed.patch_embedding.set_weights([np.transpose(take(f"{VIT}patch_embed.proj.weight"), (2, 3, 1, 0)),
                                       take(f"{VIT}patch_embed.proj.bias")])
    embed.class_token.assign(take(f"{VIT}cls_token"))
    embed.position_embedding.set_weights([take(f"{VIT}pos_embed")[0]])
    encoder = vit.get_layer("vit_encoder")
    for i, block in enumerate(encoder.encoder_layers):
        p = f"{VIT}blocks.{i}."
        take.norm(block.layer_norm_1, f"{p}norm1")
        qkv, qkv_bias = np.split(take(f"{p}attn.qkv.weight"), 3), np.split(take(f"{p}attn.qkv.bias"), 3)
        _attention(block.mha, [*zip(qkv, qkv_bias), (take(f"{p}attn.proj.weight"), take(f"{p}attn.proj.bias"))], heads)
        take.norm(block.layer_norm_2, f"{p}norm2")
        take.dense(block.mlp.dense_1, f"{p}mlp.fc1")
        take.dense(block.mlp.dense_2, f"{p}mlp.fc2")
    take.norm(encoder.layer_norm, f"{VIT}norm")


def assign_text(text: keras.Model, take: _Source, heads: int) -> None:
    """``blip.text_encoder.*`` (BLIP's BertModel) → the keras-hub embedding and TransformerDecoder layers."""
    embeddings = text.get_layer("embeddings")
    embeddings.token_embedding.set_weights([take(f"{TEXT}embeddings.word_embeddings.weight")])
    embeddings.position_embedding.set_weights([take(f"{TEXT}embeddings.position_embeddings.weight")])
    take.norm(text.get_layer("embeddings_layer_norm"), f"{TEXT}embeddings.LayerNorm")
    layers = [layer for layer in text.layers if layer.name.startswith("layer_")]
    for i, layer in enumerate(layers):
        p = f"{TEXT}encoder.layer.{i}."
        for attention, norm, name in ((layer._self_attention_layer, layer._self_attention_layer_norm, "attention"),
                                      (layer._cross_attention_layer, layer._cross_attention_layer_norm,
                                       "crossattention")):
            pairs = [(take(f"{p}{name}.self.{w}.weight"), take(f"{p}{name}.self.{w}.bias"))
                     for w in ("query", "key", "value")]
            pairs.append((take(f"{p}{name}.output.dense.weight"), take(f"{p}{name}.output.dense.bias")))
            _attention(attention, pairs, heads)
            take.norm(norm, f"{p}{name}.output.LayerNorm")
        take.dense(layer._feedforward_intermediate_dense, f"{p}intermediate.dense")
        take.dense(layer._feedforward_output_dense, f"{p}output.dense")
        take.norm(layer._feedforward_layer_norm, f"{p}output.LayerNorm")


def assign(model: keras.Model, state: dict[str, np.ndarray], vision_heads: int, text_heads: int) -> None:
    """Copy every checkpoint tensor into an :func:`imagereward_model`; fail on any left over."""
    take = _Source(state)
    assign_vit(model.get_layer("visual_encoder"), take, vision_heads)
    assign_text(model.get_layer("text_encoder"), take, text_heads)
    for i, index in enumerate((0, 2, 4, 6, 7)):
        take.dense(model.get_layer(f"reward_fc{i}"), f"mlp.layers.{index}")
    left = take.left_over()
    if left:
        raise TfagiqaError(f"{len(left)} checkpoint tensor(s) have no Keras counterpart, e.g. {left[:5]}")


def convert(state: dict[str, np.ndarray], vocabulary: list[str], vision_heads: int | None = None,
            text_heads: int | None = None, normalise: bool = True) -> keras.Model:
    """The :func:`imagereward_model` with the checkpoint's weights (``normalise=False``: CLIP-normalised input)."""
    from tfagiqa.methods.imagereward.model import imagereward_model

    config = config_from_state(state, vision_heads, text_heads)
    if len(vocabulary) != config.text.vocab_size:
        raise TfagiqaError(f"the vocabulary has {len(vocabulary)} tokens with [DEC]/[ENC], the checkpoint's "
                           f"embedding {config.text.vocab_size}: pass bert-base-uncased's vocab.txt")
    model = imagereward_model(config, vocabulary, normalise=normalise)
    assign(model, state, config.vision.num_heads, config.text.num_heads)
    return model


def run(args: argparse.Namespace) -> int:
    """Convert; write an imagereward preset (model.keras and, unless --no-savedmodel, the scoring SavedModel);
    print what was written."""
    from dataclasses import asdict

    from tfagiqa.backbones.blip_text import read_bert_vocab
    from tfagiqa.export import ViewPolicy, export_savedmodel
    from tfagiqa.methods.imagereward.scorers import VIEWS, scoring_model
    from tfagiqa.presets import conversion_source, save_preset

    state = load_state_dict(args.torch)
    model = convert(state, read_bert_vocab(args.vocab), args.vision_heads, args.text_heads)
    out = Path(args.out)
    size = model.input["image"].shape[1]

    def savedmodel(path: Path) -> None:
        export_savedmodel(scoring_model(model), path, {"paper": "hypernet", "model": "imagereward",
                                                       "source": str(args.torch)},
                          ViewPolicy(**{**VIEWS, "resize_to": size}))

    save_preset(out, kind="imagereward", files={"model": model},
                architecture={"network": asdict(config_from_state(state, args.vision_heads, args.text_heads)),
                              "image_size": size},
                source=conversion_source("imagereward", args, torch=args.torch, vocab=args.vocab),
                extra={} if args.no_savedmodel else {"savedmodel": savedmodel})
    print(f"wrote {out / 'model.keras'} (inputs: {size}² RGB in [0, 255] and the prompt → embedding, reward; "
          f"imagereward preset {out})")
    if not args.no_savedmodel:
        print(f"wrote {out / 'savedmodel'} (shorter side → {size}, centre crop; output: reward)")
    return 0
