"""The ImageReward converter against a PyTorch re-implementation of the official network (written here from SPEC §3.3).

The PyTorch module uses the official parameter names (``blip.visual_encoder.*``: timm's ViT; ``blip.text_encoder.*``:
BLIP's BertModel with cross-attention; ``mlp.layers.*``), a tiny configuration with every weight random (layer-norm
scales and biases included); it is saved with torch.save as a state dict, converted, and both networks read the same
CLIP-normalised image and token ids.
"""

import argparse
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the converter parity test needs PyTorch (pip install 'tfagiqa[torch]')")
nn = torch.nn

from tfagiqa.backbones.blip_text import BertPromptTokenizer  # noqa: E402
from tfagiqa.methods.imagereward import convert as converter  # noqa: E402
from tfagiqa.errors import TfagiqaError  # noqa: E402

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "cat", "dog", "on", "the", "red", "blue", "##s", "mat",
         "sit", "##ting", ".", ",", "[DEC]", "[ENC]"]
SIZE, PATCH, VIT_WIDTH, TEXT_WIDTH, HEADS, LENGTH = 32, 8, 24, 16, 2, 12


def attend(q, k, v, heads, mask=None):
    """Scaled dot-product attention over [B, N, C] projections split into heads (additive mask [B, 1, 1, M])."""
    b, n, c = q.shape
    split = lambda t: t.reshape(b, t.shape[1], heads, c // heads).transpose(1, 2)  # noqa: E731
    scores = split(q) @ split(k).transpose(-1, -2) / (c // heads) ** 0.5
    if mask is not None:
        scores = scores + mask
    return (scores.softmax(-1) @ split(v)).transpose(1, 2).reshape(b, n, c)


class Block(nn.Module):
    """timm's pre-LN ViT block: fused qkv, proj, GELU MLP ×4."""

    def __init__(self, dim):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.attn = nn.Module()
        self.attn.qkv, self.attn.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Module()
        self.mlp.fc1, self.mlp.fc2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def forward(self, x):
        q, k, v = self.attn.qkv(self.norm1(x)).chunk(3, dim=-1)
        x = x + self.attn.proj(attend(q, k, v, HEADS))
        return x + self.mlp.fc2(nn.functional.gelu(self.mlp.fc1(self.norm2(x))))


class VisionTransformer(nn.Module):
    def __init__(self, depth=2):
        super().__init__()
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, VIT_WIDTH, PATCH, stride=PATCH)
        self.cls_token = nn.Parameter(torch.randn(1, 1, VIT_WIDTH))
        self.pos_embed = nn.Parameter(torch.randn(1, (SIZE // PATCH) ** 2 + 1, VIT_WIDTH))
        self.blocks = nn.ModuleList([Block(VIT_WIDTH) for _ in range(depth)])
        self.norm = nn.LayerNorm(VIT_WIDTH, eps=1e-6)

    def forward(self, x):
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


class BertAttention(nn.Module):
    """BLIP's BertAttention: ``self`` (query/key/value; key/value from the encoder width when crossing) + ``output``."""

    def __init__(self, kv_width):
        super().__init__()
        self.self = nn.Module()
        self.self.query = nn.Linear(TEXT_WIDTH, TEXT_WIDTH)
        self.self.key, self.self.value = nn.Linear(kv_width, TEXT_WIDTH), nn.Linear(kv_width, TEXT_WIDTH)
        self.output = nn.Module()
        self.output.dense = nn.Linear(TEXT_WIDTH, TEXT_WIDTH)
        self.output.LayerNorm = nn.LayerNorm(TEXT_WIDTH, eps=1e-12)

    def forward(self, x, context, mask=None):
        s = self.self
        out = attend(s.query(x), s.key(context), s.value(context), HEADS, mask)
        return self.output.LayerNorm(self.output.dense(out) + x)


class BertLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention, self.crossattention = BertAttention(TEXT_WIDTH), BertAttention(VIT_WIDTH)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(TEXT_WIDTH, 4 * TEXT_WIDTH)
        self.output = nn.Module()
        self.output.dense = nn.Linear(4 * TEXT_WIDTH, TEXT_WIDTH)
        self.output.LayerNorm = nn.LayerNorm(TEXT_WIDTH, eps=1e-12)

    def forward(self, x, mask, image):
        x = self.crossattention(self.attention(x, x, mask), image)
        return self.output.LayerNorm(self.output.dense(nn.functional.gelu(self.intermediate.dense(x))) + x)


class TextEncoder(nn.Module):
    """BLIP's BertModel(add_pooling_layer=False) in multimodal mode: word + position embeddings, no token types."""

    def __init__(self, depth=2):
        super().__init__()
        self.embeddings = nn.Module()
        self.embeddings.word_embeddings = nn.Embedding(len(VOCAB), TEXT_WIDTH)
        self.embeddings.position_embeddings = nn.Embedding(64, TEXT_WIDTH)
        self.embeddings.LayerNorm = nn.LayerNorm(TEXT_WIDTH, eps=1e-12)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList([BertLayer() for _ in range(depth)])

    def forward(self, ids, attention_mask, image):
        e = self.embeddings
        x = e.LayerNorm(e.word_embeddings(ids) + e.position_embeddings(torch.arange(ids.shape[1]))[None])
        mask = (1.0 - attention_mask[:, None, None, :].float()) * -10000.0
        for layer in self.encoder.layer:
            x = layer(x, mask, image)
        return x


class ImageReward(nn.Module):
    def __init__(self):
        super().__init__()
        self.blip = nn.Module()
        self.blip.visual_encoder, self.blip.text_encoder = VisionTransformer(), TextEncoder()
        self.blip.vision_proj, self.blip.text_proj = nn.Linear(VIT_WIDTH, 8), nn.Linear(TEXT_WIDTH, 8)  # unused
        self.mlp = nn.Module()
        self.mlp.layers = nn.Sequential(nn.Linear(TEXT_WIDTH, 32), nn.Dropout(0.2), nn.Linear(32, 16), nn.Dropout(0.2),
                                        nn.Linear(16, 8), nn.Dropout(0.1), nn.Linear(8, 4), nn.Linear(4, 1))

    def forward(self, image, ids, attention_mask):
        feature = self.blip.text_encoder(ids, attention_mask, self.blip.visual_encoder(image))[:, 0, :]
        return feature, (self.mlp.layers(feature) - 0.16717362830052426) / 1.0333394966054072


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """A random tiny ImageReward (random layer norms too) saved as a state dict; its path and the module."""
    torch.manual_seed(0)
    net = ImageReward().eval()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.LayerNorm):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.2)
    path = tmp_path_factory.mktemp("ckpt") / "ImageReward.pt"
    torch.save(net.state_dict(), path)
    return path, net


PROMPTS = ["a red cat sitting on the mat", "Blue DOGS, on a mat.", "the cat"]


def test_converted_model_matches_the_official_network(official):
    path, net = official
    model = converter.convert(converter.load_state_dict(path), VOCAB, HEADS, HEADS, normalise=False)
    rng = np.random.default_rng(1)
    image = rng.normal(size=(3, SIZE, SIZE, 3)).astype("float32")  # a CLIP-normalised NHWC batch
    tokens = BertPromptTokenizer(VOCAB, LENGTH)(np.array(PROMPTS))
    with torch.no_grad():
        feature, reward = net(torch.from_numpy(image.transpose(0, 3, 1, 2)),
                              torch.tensor(np.asarray(tokens["token_ids"])).long(),
                              torch.tensor(np.asarray(tokens["padding_mask"])))
    out = model({"image": image, "prompt": np.array(PROMPTS)})
    np.testing.assert_allclose(np.asarray(out["embedding"]), feature.numpy(), atol=1e-4)
    np.testing.assert_allclose(np.asarray(out["reward"]), reward.numpy()[:, 0], atol=1e-4)
    assert np.ptp(reward.numpy()) > 1e-3  # the prompts (and images) give different rewards: a real comparison


def test_sizes_are_read_from_the_checkpoint(official):
    config = converter.config_from_state(converter.load_state_dict(official[0]), HEADS, HEADS)
    assert (config.vision.image_size, config.vision.patch_size, config.vision.hidden_dim,
            config.vision.num_layers, config.vision.mlp_dim) == (SIZE, PATCH, VIT_WIDTH, 2, 4 * VIT_WIDTH)
    assert (config.text.vocab_size, config.text.max_positions, config.text.hidden_dim, config.text.num_layers,
            config.text.encoder_width, config.text.intermediate_dim) == (len(VOCAB), 64, TEXT_WIDTH, 2, VIT_WIDTH, 64)
    assert config.mlp_sizes == (32, 16, 8, 4)


def test_command_writes_model_and_savedmodel(official, tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(VOCAB[:-2]) + "\n")  # bert-base-uncased's file has no [DEC]/[ENC]: appended
    args = argparse.Namespace(torch=str(official[0]), vocab=str(vocab), out=str(tmp_path / "out"),
                              vision_heads=HEADS, text_heads=HEADS, no_savedmodel=False)
    assert converter.run(args) == 0
    meta = json.loads((tmp_path / "out" / "savedmodel" / "tfagiqa.json").read_text())
    assert meta["outputs"] == ["reward"] and meta["needs_prompt"] is True
    assert meta["views"] == {"crop": "fixed_crops", "n_crops": 1, "resize_to": SIZE}


def test_wrong_files_are_clear_errors(official, tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"fc.weight": torch.zeros(2, 2)}, other)
    with pytest.raises(TfagiqaError, match="not an ImageReward state dict"):
        converter.load_state_dict(other)
    with pytest.raises(TfagiqaError, match="vocabulary has 5 tokens"):
        converter.convert(converter.load_state_dict(official[0]), VOCAB[:5], HEADS, HEADS)
