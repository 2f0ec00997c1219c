"""HPS: a CLIP whose image and text towers were fine-tuned on human choices between generated images, read as

    HPS(I, p) = 100 · ⟨E_img(I)/‖E_img(I)‖, E_txt(p)/‖E_txt(p)‖⟩

* v1 (Wu et al. 2023, "Better aligning text-to-image models with human preference"; the HPC checkpoint
  ``hpc.pt``): OpenAI's CLIP ViT-L/14 (QuickGELU, 224 px, 768-d joint space) fine-tuned; images are resized
  (shorter side 224, bicubic) and centre-cropped, as ``clip.load``'s preprocessing does.
* v2 (Wu et al. 2023, "Human Preference Score v2"; ``HPS_v2_compressed.pt`` / ``HPS_v2.1_compressed.pt``): open_clip's
  ViT-H/14 (GELU, 224 px, 1024-d) fine-tuned; HPSv2's preprocessing resizes the longer side to 224 and pads.

The official code returns the cosine itself; the papers report it × 100, as here (a constant factor: ranks and
correlations are unchanged). Both are the package's CLIP ViT (:func:`tfagiqa.backbones.clip_vit.clip_backbone`, as
SF-IQA's PickScore);
prompts go through CLIP's BPE (``clip.tokenize`` / open_clip's tokenizer: 77 tokens, truncated, [EOT] kept).
"""

from __future__ import annotations

from dataclasses import replace

import keras
from keras import ops

from tfagiqa.backbones.clip_vit import VIT_H14, CLIPConfig
from tfagiqa.layers.normalisation import CLIPNormalize

VERSIONS = ("v1", "v2")
SCALE = 100.0
HPS_V1 = CLIPConfig(patch_size=14, vision_hidden=1024, vision_layers=24, vision_heads=16, vision_intermediate=4096,
                    image_size=224, text_hidden=768, text_layers=12, text_heads=12, text_intermediate=3072,
                    projection_dim=768, activation="quick_gelu")  # OpenAI ViT-L/14
HPS_V2 = replace(VIT_H14, activation="gelu")  # open_clip ViT-H/14 (laion2B-s32B-b79K), as PickScore's
CONFIGS = {"v1": HPS_V1, "v2": HPS_V2}


@keras.saving.register_keras_serializable(package="tfagiqa")
class PreferenceScore(keras.layers.Layer):
    """(image embeddings [N, D], text embeddings [N, D]) → ``scale`` · cos, [N] (HPS: scale = 100)."""

    def __init__(self, scale: float = SCALE, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, image, text):
        image = image / ops.norm(image, axis=-1, keepdims=True)
        text = text / ops.norm(text, axis=-1, keepdims=True)
        return self.scale * ops.sum(image * text, axis=-1)

    def compute_output_shape(self, image_shape, text_shape=None):
        return (image_shape[0],)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def hps_scorer(clip, tokenizer: keras.layers.Layer, name: str = "hps_scorer") -> keras.Model:
    """The catalogue's contract: {"images": [N, S, S, 3] in [0, 255] at the CLIP's resolution, "prompt": [N]} →
    {"hps": [N]}; CLIP normalisation and tokenization inside the graph."""
    size = clip.vision_encoder.image_shape[0]
    images = keras.Input((size, size, 3), name="images")
    prompt = keras.Input((), dtype="string", name="prompt")
    image_embeddings = clip.get_vision_embeddings(CLIPNormalize(name="clip_normalise")(images))
    text_embeddings = clip.get_text_embeddings(tokenizer(prompt))
    score = PreferenceScore(name="hps")(image_embeddings, text_embeddings)
    return keras.Model({"images": images, "prompt": prompt}, {"hps": score}, name=name)
