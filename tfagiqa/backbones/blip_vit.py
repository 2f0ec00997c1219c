"""BLIP's ViT image encoder (ImageReward: ViT-L/16 at 224, SPEC §3.3) as keras-hub's ``ViTBackbone``.

BLIP's ``VisionTransformer`` (ImageReward/models/BLIP/vit.py) is timm's ViT: a 16×16 patch convolution, a class
token, learned positions, pre-LN blocks (qkv with bias, exact-GELU MLP ×4), LayerNorm ε = 1e-6 in the blocks and at
the end, every token normalised. keras-hub's ``ViTBackbone`` computes exactly that, so it is used as is; the
converter (``tfagiqa.methods.imagereward.convert``) maps ``visual_encoder.*`` onto it, splitting the fused qkv.
Output: [N, 1 + (S/P)², hidden] tokens, class token first: the ``encoder_hidden_states`` the text encoder reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

LN_EPSILON = 1e-6


@dataclass(frozen=True)
class BLIPViTConfig:
    """ViT-L/16 at 224 (``create_vit('large', 224)``): width 1024, 24 blocks, 16 heads, MLP 4096."""

    image_size: int = 224
    patch_size: int = 16
    hidden_dim: int = 1024
    num_layers: int = 24
    num_heads: int = 16
    mlp_dim: int = 4096


VIT_L16 = BLIPViTConfig()


def tiny_vit_config(image_size: int = 32, patch_size: int = 8, hidden_dim: int = 24, num_layers: int = 2,
                    num_heads: int = 2) -> BLIPViTConfig:
    """A tiny ViT of the same structure, for tests and smoke runs."""
    return BLIPViTConfig(image_size, patch_size, hidden_dim, num_layers, num_heads, 4 * hidden_dim)


def blip_vit(config: BLIPViTConfig = VIT_L16, name: str = "visual_encoder") -> keras.Model:
    """CLIP-normalised images [N, S, S, 3] → tokens [N, 1 + (S/P)², hidden], randomly initialised."""
    import keras_hub

    return keras_hub.models.ViTBackbone(
        image_shape=(config.image_size, config.image_size, 3), patch_size=config.patch_size,
        num_layers=config.num_layers, num_heads=config.num_heads, hidden_dim=config.hidden_dim,
        mlp_dim=config.mlp_dim, layer_norm_epsilon=LN_EPSILON, name=name)
