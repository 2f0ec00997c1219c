"""A PyTorch CLIP in OpenAI's parameter layout (openai/CLIP model.py, which open_clip's ViT CLIP shares), written
from the public architecture for the converter parity tests of CLIP-IQA and HPS: ModifiedResNet (its attention
pool with or without the positional embedding, as CLIP-IQA's ``pos_embedding`` switch) or VisionTransformer, the
causal text transformer, and a text path that starts from token embeddings (CoOp / CLIP-IQA+ learned prompts).

Also a tiny BPE file in OpenAI's ``bpe_simple_vocab_16e6.txt.gz`` format, so that converters run with ``--bpe``.
"""

from __future__ import annotations

import gzip
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
# A handful of merges: enough for the BPE machinery to run; words fall apart into characters and these pairs.
MERGES = ("g o", "o d</w>", "p h", "o t", "b a", "a d</w>", "r e", "c a")
BPE_VOCAB = 256 * 2 + len(MERGES) + 2  # bytes, bytes + </w>, merges, <|startoftext|>, <|endoftext|>


def write_bpe(path: Path) -> Path:
    """An OpenAI-format BPE merges file (a header line, then one merge per line), gzipped."""
    path.write_bytes(gzip.compress(("#version: 0.2\n" + "\n".join(MERGES) + "\n").encode("utf-8")))
    return path


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Bottleneck(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(inplanes, planes, 1, bias=False), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False), nn.BatchNorm2d(planes)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3, self.bn3 = nn.Conv2d(planes, planes * 4, 1, bias=False), nn.BatchNorm2d(planes * 4)
        self.downsample = None
        if stride > 1 or inplanes != planes * 4:
            self.downsample = nn.Sequential(OrderedDict([("-1", nn.AvgPool2d(stride)),
                                                         ("0", nn.Conv2d(inplanes, planes * 4, 1, bias=False)),
                                                         ("1", nn.BatchNorm2d(planes * 4))]))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(self.avgpool(out)))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class AttentionPool2d(nn.Module):
    """The mean token queries [mean; HW tokens]; ``pos_embedding=False`` leaves the positional embedding out."""

    def __init__(self, spacial_dim: int, embed_dim: int, heads: int, output_dim: int):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(spacial_dim ** 2 + 1, embed_dim) / embed_dim ** 0.5)
        self.k_proj, self.q_proj, self.v_proj = (nn.Linear(embed_dim, embed_dim) for _ in range(3))
        self.c_proj = nn.Linear(embed_dim, output_dim)
        self.heads = heads

    def forward(self, x, pos_embedding: bool = True):
        x = x.flatten(start_dim=2).permute(2, 0, 1)
        x = torch.cat([x.mean(dim=0, keepdim=True), x], dim=0)
        if pos_embedding:
            x = x + self.positional_embedding[:, None, :]
        out, _ = F.multi_head_attention_forward(
            query=x, key=x, value=x, embed_dim_to_check=x.shape[-1], num_heads=self.heads,
            q_proj_weight=self.q_proj.weight, k_proj_weight=self.k_proj.weight, v_proj_weight=self.v_proj.weight,
            in_proj_weight=None, in_proj_bias=torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]),
            bias_k=None, bias_v=None, add_zero_attn=False, dropout_p=0, out_proj_weight=self.c_proj.weight,
            out_proj_bias=self.c_proj.bias, use_separate_proj_weight=True, training=False, need_weights=False)
        return out[0]


class ModifiedResNet(nn.Module):
    def __init__(self, layers, width: int, output_dim: int, resolution: int):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, width // 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(width // 2)
        self.conv2, self.bn2 = nn.Conv2d(width // 2, width // 2, 3, padding=1, bias=False), nn.BatchNorm2d(width // 2)
        self.conv3, self.bn3 = nn.Conv2d(width // 2, width, 3, padding=1, bias=False), nn.BatchNorm2d(width)
        self.avgpool = nn.AvgPool2d(2)
        inplanes = width
        for stage, (blocks, mult) in enumerate(zip(layers, (1, 2, 4, 8)), start=1):
            stage_blocks = []
            for block in range(blocks):
                stage_blocks.append(Bottleneck(inplanes, width * mult, 2 if stage > 1 and block == 0 else 1))
                inplanes = width * mult * 4
            setattr(self, f"layer{stage}", nn.Sequential(*stage_blocks))
        self.attnpool = AttentionPool2d(resolution // 32, width * 32, width * 32 // 64, output_dim)

    def forward(self, x, pos_embedding: bool = True):
        for conv, bn in ((self.conv1, self.bn1), (self.conv2, self.bn2), (self.conv3, self.bn3)):
            x = F.relu(bn(conv(x)))
        x = self.avgpool(x)
        for stage in range(1, 5):
            x = getattr(self, f"layer{stage}")(x)
        return self.attnpool(x, pos_embedding)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int, heads: int, activation: type[nn.Module], mask: torch.Tensor | None = None):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1, self.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(width, width * 4)), ("gelu", activation()),
                                              ("c_proj", nn.Linear(width * 4, width))]))
        self.mask = mask

    def forward(self, x):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=self.mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int, activation, mask=None):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads, activation, mask) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    def __init__(self, resolution: int, patch: int, width: int, layers: int, heads: int, output_dim: int, activation):
        super().__init__()
        scale = width ** -0.5
        self.conv1 = nn.Conv2d(3, width, patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((resolution // patch) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads, activation)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))

    def forward(self, x, pos_embedding: bool = True):
        x = self.conv1(x).flatten(2).permute(0, 2, 1)
        x = torch.cat([self.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1]), x], dim=1)
        x = self.ln_pre(x + self.positional_embedding)
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_post(x[:, 0]) @ self.proj


class CLIP(nn.Module):
    """``vision``: ("resnet", layers, width) or ("vit", patch, width, layers, heads); text towers of OpenAI's
    layout with ``text_width // 64`` heads unless ``text_heads`` says otherwise."""

    def __init__(self, vision: tuple, resolution: int, embed_dim: int, vocab: int, context: int, text_width: int,
                 text_layers: int, text_heads: int | None = None, activation=QuickGELU):
        super().__init__()
        if vision[0] == "resnet":
            self.visual = ModifiedResNet(vision[1], vision[2], embed_dim, resolution)
        else:
            self.visual = VisionTransformer(resolution, *vision[1:], embed_dim, activation)
        mask = torch.full((context, context), float("-inf")).triu_(1)
        self.transformer = Transformer(text_width, text_layers, text_heads or text_width // 64, activation, mask)
        self.token_embedding = nn.Embedding(vocab, text_width)
        self.positional_embedding = nn.Parameter(torch.randn(context, text_width) * 0.01)
        self.ln_final = nn.LayerNorm(text_width)
        self.text_projection = nn.Parameter(torch.randn(text_width, embed_dim) * text_width ** -0.5)
        self.logit_scale = nn.Parameter(torch.ones([]) * np.log(100.0))

    def encode_image(self, images_nhwc: np.ndarray, pos_embedding: bool = True) -> torch.Tensor:
        """float [N, H, W, 3] images in [0, 255] → embeddings, after CLIP's normalisation."""
        x = (torch.from_numpy(np.asarray(images_nhwc, "float32")) / 255.0 - torch.tensor(CLIP_MEAN)) / torch.tensor(CLIP_STD)
        return self.visual(x.permute(0, 3, 1, 2), pos_embedding)

    def encode_embeddings(self, embeddings: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
        """The text tower after the token lookup: + positions → transformer → ln_final → EOT (argmax id) → proj."""
        x = self.transformer((embeddings + self.positional_embedding).permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), token_ids.argmax(dim=-1)] @ self.text_projection

    def encode_text(self, token_ids: np.ndarray) -> torch.Tensor:
        ids = torch.from_numpy(np.asarray(token_ids, "int64"))
        return self.encode_embeddings(self.token_embedding(ids), ids)


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Every parameter and BN statistic drawn at random (no weight can be skipped silently); eval mode."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                continue
            is_gain = name.endswith(("bn1.weight", "ln_1.weight", "ln_2.weight", "ln_pre.weight", "ln_post.weight",
                                     "ln_final.weight"))
            p.copy_(torch.randn_like(p) * (0.3 if p.ndim > 1 else 0.1) + (1.0 if is_gain else 0.0))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn_like(m.running_mean) * 0.1)
                m.running_var.copy_(torch.rand_like(m.running_var) + 0.5)
    return model.eval()


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise cosine similarity of two [N, D] batches."""
    return (F.normalize(a, dim=-1) * F.normalize(b, dim=-1)).sum(-1)
