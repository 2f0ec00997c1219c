"""PickScore loading against the reference implementation: Hugging Face transformers' ``CLIPModel``.

SF-IQA's similarity branch is PickScore (``yuvalkirstain/PickScore_v1``, a CLIP ViT-H/14 fine-tune stored as a
transformers ``CLIPModel``). ``tfagiqa.methods.sfiqa.model.load_pickscore(folder)`` rebuilds it as a keras-hub
``CLIPBackbone`` + ``BPETokenizer`` + logit scale. This file saves a TINY random ``CLIPModel`` (same layout and
activation as PickScore_v1, whose config.json says ``"hidden_act": "gelu"`` for both towers; weights re-drawn at a
realistic scale, ``logit_scale = log 50``) with ``save_pretrained``, adds a ``vocab.json``/``merges.txt`` pair
(a small CLIP-format BPE learned here from a few prompts: 256 byte symbols, their ``</w>`` forms, merges, then
``<|startoftext|>``/``<|endoftext|>``), loads the folder with the project's code and checks, on the same inputs:

* token ids: ``BPETokenizer`` from the folder = transformers' ``CLIPTokenizer`` from the folder (up to the first
  EOT; the project pads with 0 as OpenAI's ``clip.tokenize`` does, transformers with EOT);
* image embeddings (``get_image_features``) on the pixel values of transformers' CLIP image processor (rescale +
  OpenAI mean/std) for [0, 255] images that the project normalises itself (``CLIPNormalize``);
* text embeddings (``get_text_features``) on the project's token ids;
* S = ``similarity_model(..., logit_scale=t)`` = ``logits_per_image`` diagonal (exp(t) · cos);
* the same through the SF-IQA protocol's own path (``resolve_branches`` → ``Branches.new_clip`` →
  ``similarity_model``), which rebuilds the backbone and copies the loaded weights over;
* ``quick_gelu`` (transformers' default when config.json names no activation), and the stored variants
  ``load_pickscore`` reads: F16 and BF16 safetensors, and a ``pytorch_model.bin`` state dict (with the int64
  ``position_ids`` buffers older transformers versions saved).

Tolerance 1e-4 absolute on embeddings (entries up to ~6) and on S (exp(t) = 50; |S| up to ~17 here). Measured
with transformers 5.23 / torch 2.13 on CPU: at most 5e-6 on the embeddings and 3e-5 on S, in every variant.

    pip install transformers          # CI does not install it, so every test here skips there
    pytest tests/test_pickscore_parity.py -rs -s    # -s prints the measured max abs differences
"""

from __future__ import annotations

import collections
import copy
import json
import math

import numpy as np
import pytest

transformers = pytest.importorskip(
    "transformers", reason="PickScore parity needs the reference CLIPModel: pip install transformers")
torch = pytest.importorskip("torch", reason="PickScore parity needs torch for transformers' CLIPModel: pip install torch")

from tfagiqa.backbones.clip_text import tokenize  # noqa: E402
from tfagiqa.layers.normalisation import CLIPNormalize  # noqa: E402
from tfagiqa.methods.sfiqa import model as sfiqa  # noqa: E402

CORPUS = ["a photo of a cat sitting on a red sofa", "an astronaut riding a horse on the moon, digital art",
          "a bowl of fruit on a wooden table, oil painting", "portrait of a woman with blue eyes, highly detailed"]
PROMPTS = CORPUS + ["A Zebra's  PHOTO!! of 3 cats & 12 dogs",  # unseen words, case, spaces, punctuation, digits
                    "a photo of a cat sitting on a red sofa " * 4,  # truncated to the context length
                    "naïve café, über"]  # non-ASCII bytes
CONTEXT = 24
IMAGE_SIZE = 32
ATOL = 1e-4
# CLIP's pre-tokenisation pattern (openai/CLIP simple_tokenizer.py)
WORDS = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte → printable character table, in CLIP's vocabulary order."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def learn_bpe(corpus: list[str], max_merges: int = 200) -> tuple[dict[str, int], list[str]]:
    """A CLIP-format vocabulary and merge list learned from ``corpus`` (most frequent pair first, ties by text)."""
    import regex

    b2u = bytes_to_unicode()
    counts = collections.Counter(w for text in corpus for w in regex.findall(WORDS, text.lower(), regex.IGNORECASE))
    words = {}
    for w in counts:
        chars = [b2u[b] for b in w.encode("utf-8")]
        words[w] = chars[:-1] + [chars[-1] + "</w>"]
    base = list(b2u.values())
    vocab = base + [c + "</w>" for c in base]
    known, merges = set(vocab), []
    while len(merges) < max_merges:
        pairs = collections.Counter()
        for w, symbols in words.items():
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] += counts[w]
        fresh = sorted((p for p in pairs if "".join(p) not in known), key=lambda p: (-pairs[p], p))
        if not fresh:
            break
        a, b = fresh[0]
        merges.append(f"{a} {b}")
        vocab.append(a + b)
        known.add(a + b)
        for w, symbols in words.items():
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and symbols[i] == a and symbols[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            words[w] = out
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    return {w: i for i, w in enumerate(vocab)}, merges


@pytest.fixture(scope="module")
def bpe():
    return learn_bpe(CORPUS)


def reference_model(vocab: dict[str, int], act: str, seed: int = 0):
    """A tiny random transformers ``CLIPModel``: weights N(0, 0.2), LayerNorm scales 1 + N(0, 0.2), t = log 50."""
    eot = vocab["<|endoftext|>"]
    config = transformers.CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=CONTEXT, hidden_act=act,
                         bos_token_id=vocab["<|startoftext|>"], eos_token_id=eot, pad_token_id=eot),
        vision_config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                           image_size=IMAGE_SIZE, patch_size=8, hidden_act=act),
        projection_dim=24)
    torch.manual_seed(seed)
    model = transformers.CLIPModel(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                p.fill_(math.log(50.0))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.2 * torch.randn_like(p))
    return model


def write_folder(model, folder, bpe, stored: str = "f32", drop_act: bool = False):
    """``model`` saved as a Hugging Face folder in the ``stored`` form; returns the float32 reference model that
    holds exactly the stored (rounded) weights."""
    vocab, merges = bpe
    if stored == "bin":  # a plain state dict, as PickScore_v1's pytorch_model.bin
        folder.mkdir(parents=True)
        model.config.save_pretrained(folder)
        state = dict(model.state_dict())
        state["text_model.embeddings.position_ids"] = torch.arange(CONTEXT)[None]
        state["vision_model.embeddings.position_ids"] = torch.arange((IMAGE_SIZE // 8) ** 2 + 1)[None]
        torch.save(state, folder / "pytorch_model.bin")
        reference = model
    else:
        dtype = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[stored]
        copy.deepcopy(model).to(dtype).save_pretrained(folder)
        reference = transformers.CLIPModel.from_pretrained(folder, dtype=torch.float32).eval()
    if drop_act:  # transformers then falls back to its default, quick_gelu
        config = json.loads((folder / "config.json").read_text())
        for part in ("text_config", "vision_config"):
            config[part].pop("hidden_act")
        (folder / "config.json").write_text(json.dumps(config))
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return reference


@pytest.fixture(scope="module")
def pickscore(tmp_path_factory, bpe):
    """PickScore_v1's layout (gelu, F32 safetensors): (folder, reference CLIPModel)."""
    folder = tmp_path_factory.mktemp("hf") / "PickScore_v1"
    model = reference_model(bpe[0], "gelu")
    return folder, write_folder(model, folder, bpe)


def images_and_pixels(n: int, seed: int = 0):
    """[0, 255] images as the project takes them, and the pixel values transformers' CLIP processor makes of them."""
    images = np.random.default_rng(seed).integers(0, 256, size=(n, IMAGE_SIZE, IMAGE_SIZE, 3)).astype("uint8")
    processor_class = getattr(transformers, "CLIPImageProcessorPil", None) or transformers.CLIPImageProcessor
    processor = processor_class(do_resize=False, do_center_crop=False)  # the images are already at CLIP resolution
    pixels = processor(images=list(images), return_tensors="pt")["pixel_values"].float()
    return images.astype("float32"), pixels


def reference_outputs(model, ids: np.ndarray, pixels):
    """(image embeddings, text embeddings, S = logits_per_image diagonal) from transformers."""
    ids = torch.from_numpy(ids.astype("int64"))
    with torch.no_grad():
        image, text = model.get_image_features(pixel_values=pixels), model.get_text_features(input_ids=ids)
        s = model(input_ids=ids, pixel_values=pixels).logits_per_image.diagonal()
    image, text = (getattr(x, "pooler_output", x) for x in (image, text))  # transformers 5 returns an output object
    return image.numpy(), text.numpy(), s.numpy()


def project_outputs(clip, config: sfiqa.CLIPConfig, ids: np.ndarray, images: np.ndarray, logit_scale: float):
    """The same three from the project: the CLIP backbone's embeddings and SF-IQA's similarity model."""
    image = np.asarray(clip.get_vision_embeddings(CLIPNormalize()(images)))
    text = np.asarray(clip.get_text_embeddings(ids))
    model = sfiqa.similarity_model(sfiqa.SFIQAConfig(swin=sfiqa.TINY_TEST, clip=config), clip, logit_scale=logit_scale)
    s = np.asarray(model({"images": images, "token_ids": ids}))[:, 0]
    return image, text, s


def assert_parity(ours, theirs, label: str) -> None:
    diffs = {name: float(np.abs(a - b).max()) for name, a, b in zip(("image", "text", "S"), ours, theirs)}
    print(f"\n{label}: max abs diff " + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items())
          + f" (largest |image| {np.abs(theirs[0]).max():.2f}, |text| {np.abs(theirs[1]).max():.2f},"
            f" |S| {np.abs(theirs[2]).max():.2f})")
    assert max(diffs.values()) <= ATOL, f"{label}: max abs differences from transformers {diffs}"


def test_tokenizer_matches_transformers(pickscore):
    folder, _ = pickscore
    ours = tokenize(PROMPTS, sfiqa.load_pickscore(folder)[1])
    reference = transformers.CLIPTokenizer.from_pretrained(str(folder))
    theirs = reference(PROMPTS, padding="max_length", truncation=True, max_length=CONTEXT)["input_ids"]
    eot = reference.eos_token_id
    for prompt, a, b in zip(PROMPTS, ours, theirs):
        end = b.index(eot) + 1
        assert list(a[:end]) == b[:end], prompt
        assert not a[end:].any(), f"{prompt!r}: padding after EOT must be 0"
    assert ours.shape == (len(PROMPTS), CONTEXT) and (ours[:, -1] == eot).any()  # the long prompt is truncated to EOT


def test_loaded_vision_positions_are_0_to_n(pickscore):
    """keras-hub's ``CLIPVisionEncoder`` looks its position embeddings up through a non-trainable ``position_ids``
    weight that it initialises to 0 (its presets store 0..n); left so, every patch reads position 0's row and the
    image embedding differs from transformers' (by ~0.5 here)."""
    clip = sfiqa.load_pickscore(pickscore[0])[0]
    embedding = clip.vision_encoder.embedding
    np.testing.assert_array_equal(np.asarray(embedding.position_ids), [np.arange(embedding.num_positions)])


@pytest.mark.parametrize("act", ["gelu", "quick_gelu"])
def test_embeddings_and_similarity_match_transformers(act, pickscore, bpe, tmp_path):
    """gelu: PickScore_v1's activation; quick_gelu: transformers' default (config.json without hidden_act)."""
    if act == "gelu":
        folder, reference = pickscore
    else:
        folder = tmp_path / "quick_gelu"
        reference = write_folder(reference_model(bpe[0], "quick_gelu", seed=1), folder, bpe, drop_act=True)
    clip, tokenizer, logit_scale = sfiqa.load_pickscore(folder)
    config = sfiqa.config_from_hf(json.loads((folder / "config.json").read_text()))
    assert config.activation == act
    assert logit_scale == pytest.approx(math.log(50.0), abs=1e-6)
    ids = tokenize(PROMPTS, tokenizer)
    images, pixels = images_and_pixels(len(PROMPTS))
    assert_parity(project_outputs(clip, config, ids, images, logit_scale), reference_outputs(reference, ids, pixels),
                  f"{act}, F32 safetensors")


def test_protocol_branches_score_like_transformers(pickscore):
    """The SF-IQA protocol's path: weights folder/PickScore_v1 → resolve_branches → new_clip → similarity_model."""
    from tfagiqa.methods.sfiqa import protocol as protocol

    folder, reference = pickscore
    branches = protocol.resolve_branches(protocol.PROFILES["paper"], str(folder.parent))
    ids = tokenize(PROMPTS, branches.tokenizer)
    images, pixels = images_and_pixels(len(PROMPTS), seed=1)
    clip = branches.new_clip()
    assert_parity(project_outputs(clip, branches.config.clip, ids, images, branches.logit_scale),
                  reference_outputs(reference, ids, pixels), "protocol Branches.new_clip")


@pytest.mark.parametrize("stored", ["f16", "bf16", "bin"])
def test_stored_precisions_and_formats(stored, bpe, tmp_path):
    """Half-precision safetensors (read as float32, compared with transformers reading the same file as float32)
    and a pytorch_model.bin state dict."""
    folder = tmp_path / stored
    reference = write_folder(reference_model(bpe[0], "gelu", seed=2), folder, bpe, stored=stored)
    if stored != "bin":  # the file really holds half-precision tensors
        raw = (folder / "model.safetensors").read_bytes()
        header = json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")])
        assert {v["dtype"] for k, v in header.items() if k != "__metadata__"} == {stored.upper()}
    clip, tokenizer, logit_scale = sfiqa.load_pickscore(folder)
    config = sfiqa.config_from_hf(json.loads((folder / "config.json").read_text()))
    assert logit_scale == pytest.approx(float(reference.logit_scale.detach()), abs=1e-6)
    ids = tokenize(PROMPTS, tokenizer)
    images, pixels = images_and_pixels(len(PROMPTS), seed=2)
    assert_parity(project_outputs(clip, config, ids, images, logit_scale), reference_outputs(reference, ids, pixels),
                  f"gelu, {stored}")
