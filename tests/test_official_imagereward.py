"""ImageReward converter and tokenizer parity against the OFFICIAL THUDM/ImageReward code, imported from a checkout.

    pip install fairscale transformers==4.46.3 && pip install --no-deps timm==0.6.13   # what BLIP's code imports
    git clone https://github.com/THUDM/ImageReward /path/ImageReward
    TFAGIQA_OFFICIAL_IMAGEREWARD=/path/ImageReward pytest tests/test_official_imagereward.py -rs -s

Skipped, saying why, without the checkout (CI has none). The official ``ImageReward`` class is built at its real
size (BLIP ViT-L/16 at 224 + BERT-base from the checkout's ``med_config.json``; ~450M parameters, a few GB of
memory) with every parameter random, saved as a state dict with torch.save and converted with
``tfagiqa convert imagereward`` (heads from the widths: 16 and 12). The official ``BertTokenizer.from_pretrained(
'bert-base-uncased')`` call is answered from a local folder of that name holding a WordPiece vocabulary learned
on the test prompts (the real vocab.txt is a download); ``init_tokenizer`` itself runs unchanged.

* tokenizer: the official ids and attention mask (``padding='max_length', truncation=True, max_length=35``) equal
  :class:`BertPromptTokenizer`'s on every prompt (AGIQA-3K's real prompts when ../shared/data is there);
* network: on the same CLIP-normalised images and those ids, the official ``score_gard`` (ViT → BERT cross-attending
  → [CLS] → MLP → normalisation) and its [CLS] feature equal the converted model's reward and embedding to 1e-4.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from test_official_parity import assert_close, checkout, nchw, randomise_, torchvision_or_stand_in

torch = pytest.importorskip("torch", reason="the official-code parity checks need PyTorch (pip install torch)")

ENV = "TFAGIQA_OFFICIAL_IMAGEREWARD"
PACKAGE = "tfagiqa_official_imagereward"
BERT_VOCAB_SIZE = 30522  # bert-base-uncased; BLIP appends [DEC], [ENC]
PROMPTS = ["a red cat sitting on the mat", "Two BLUE dogs, in the snow.", "café au lait — oil painting",
           "an astronaut riding a horse on mars, highly detailed, 8k, trending on artstation", "", "!!!",
           "a " * 40, "kittens playing with yarn balls", "Straße in Köln", "ﬁsh and chips", "zero\u200bwidth",
           "tab\tand\nnewline", "null\x00byte", "İstanbul at night", "ＦＵＬＬ width", "日本の風景 mountains"]


@pytest.fixture(scope="module")
def root() -> Path:
    return checkout(ENV, "ImageReward/models/BLIP/med.py", "THUDM/ImageReward")


def prompts_under_test() -> list[str]:
    """The fixed prompts plus AGIQA-3K's distinct real prompts when the shared label file is beside the checkout."""
    from conftest import SHARED_DATA

    real = SHARED_DATA / "agiqa3k_data.csv"
    extra = sorted(pd.read_csv(real)["prompt"].astype(str).unique()) if real.is_file() else []
    return PROMPTS + extra


@pytest.fixture(scope="module")
def vocab_dir(tmp_path_factory) -> Path:
    """``bert-base-uncased/vocab.txt``: a WordPiece vocabulary learned on the prompts, padded to 30522 lines."""
    import keras_hub
    import tensorflow as tf

    learned = keras_hub.tokenizers.compute_word_piece_vocabulary(
        tf.data.Dataset.from_tensor_slices(prompts_under_test()), vocabulary_size=2000, lowercase=True, strip_accents=True,
        reserved_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tokens = learned + [f"[unused{i}]" for i in range(BERT_VOCAB_SIZE - len(learned))]
    folder = tmp_path_factory.mktemp("hub") / "bert-base-uncased"
    folder.mkdir()
    (folder / "vocab.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    (folder / "tokenizer_config.json").write_text('{"do_lower_case": true}')
    return folder


def official_package(root: Path) -> types.ModuleType:
    """``ImageReward/ImageReward.py`` and ``models/BLIP`` imported under a private name, without the package's
    ``__init__`` files (they import CLIP, diffusers and the ReFL trainer, none of which this check runs).

    Its torchvision image transform (PIL-side preprocessing, not what is compared here) is replaced by nothing, so
    a torchvision stand-in is enough where the real one does not import."""
    for name, path in ((PACKAGE, root / "ImageReward"), (f"{PACKAGE}.models", root / "ImageReward" / "models")):
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__path__ = [str(path)]
            sys.modules[name] = module
    with torchvision_or_stand_in():
        module = importlib.import_module(f"{PACKAGE}.ImageReward")
    module._transform = lambda size: None
    return module


@pytest.fixture(scope="module")
def official(root, vocab_dir, tmp_path_factory):
    """The official ImageReward, full size, random; its state dict saved; the converted Keras model."""
    from tfagiqa.backbones.blip_text import read_bert_vocab
    from tfagiqa.cli import main

    module = official_package(root)
    here = os.getcwd()
    os.chdir(vocab_dir.parent)  # from_pretrained('bert-base-uncased') reads the local folder of that name
    try:
        net = module.ImageReward(med_config=str(root / "train" / "src" / "config" / "med_config.json"), device="cpu")
    finally:
        os.chdir(here)
    randomise_(net, seed=0)
    out = tmp_path_factory.mktemp("imagereward")
    torch.save(net.state_dict(), out / "ImageReward.pt")
    assert main(["convert", "imagereward", "--torch", str(out / "ImageReward.pt"), "--vocab",
                 str(vocab_dir / "vocab.txt"), "--out", str(out / "converted"), "--no-savedmodel"]) == 0
    assert read_bert_vocab(vocab_dir / "vocab.txt")[-2:] == ["[DEC]", "[ENC]"]
    return net, out / "converted"


def test_tokenizer_ids_equal_the_official_ones(official, vocab_dir):
    from tfagiqa.backbones.blip_text import BertPromptTokenizer, read_bert_vocab

    net, _ = official
    prompts = prompts_under_test()
    ours = BertPromptTokenizer(read_bert_vocab(vocab_dir / "vocab.txt"))(np.array(prompts, dtype=object))
    theirs = net.blip.tokenizer(prompts, padding="max_length", truncation=True, max_length=35, return_tensors="np")
    assert net.blip.tokenizer.enc_token_id == len(net.blip.tokenizer) - 1
    mismatched = [p for p, a, b in zip(prompts, np.asarray(ours["token_ids"]), theirs["input_ids"]) if (a != b).any()]
    assert not mismatched, f"{len(mismatched)} of {len(prompts)} prompts tokenize differently, e.g. {mismatched[:3]}"
    np.testing.assert_array_equal(np.asarray(ours["padding_mask"]), theirs["attention_mask"])
    print(f"\ntokenizer: {len(prompts)} prompts, identical ids and masks")


def test_converted_network_equals_the_official_one(official):

    from tfagiqa.methods.imagereward.model import IMAGEREWARD, imagereward_model
    from tfagiqa.methods.imagereward.scorers import load_imagereward

    net, converted = official
    saved = load_imagereward(converted)  # what the command wrote; the same network without CLIP normalisation:
    unnormalised = imagereward_model(IMAGEREWARD, saved.get_layer("tokenizer").vocabulary, normalise=False)
    unnormalised.set_weights(saved.get_weights())
    images = np.random.default_rng(0).normal(size=(2, 224, 224, 3)).astype("float32")  # CLIP-normalised NHWC
    prompts = PROMPTS[:2]
    tokens = net.blip.tokenizer(prompts, padding="max_length", truncation=True, max_length=35, return_tensors="pt")
    with torch.no_grad():
        reward = net.score_gard(tokens.input_ids, tokens.attention_mask, nchw(images))
        embeds = net.blip.visual_encoder(nchw(images))
        feature = net.blip.text_encoder(tokens.input_ids, attention_mask=tokens.attention_mask,
                                        encoder_hidden_states=embeds, return_dict=True).last_hidden_state[:, 0]
    out = unnormalised({"image": images, "prompt": np.array(prompts)})
    assert_close("ImageReward [CLS] feature", out["embedding"], feature.numpy())
    assert_close("ImageReward reward", out["reward"], reward.numpy()[:, 0])

