"""``tfagiqa convert ipiqa`` against the OFFICIAL ``IPIQA`` class, imported from a checkout at test time (on demand).

    pip install ftfy regex omegaconf                # what the imported official files need besides torch
    git clone https://github.com/Coobiw/IP-IQA /path/IP-IQA   # commit b486be57d52845af744d66b69023ce4087e5908e
    TFAGIQA_OFFICIAL_IPIQA=/path/IP-IQA pytest tests/test_official_ipiqa.py -rs -s   # -s prints the differences

Skipped, saying why, without the checkout (CI has none); tests/test_convert_ipiqa.py checks the same mapping in CI
against a tiny re-implementation. Nothing upstream is copied into the project.

The official module is built as its config builds it (``ipiqa/projects/agiqa{1k,3k}/ipiqa.yaml``: 512 px, MLP head
with dropout 0.5, ``freeze_text``, ``qa_token``; 1K's single output also with a Linear head) on a CLIP "RN50.pt"
made here without a download: the official ``clip/model.py`` ``CLIP`` with RN50's vision tower (its sizes are
hard-coded in ``IPIQA``: 2048 channels, 1024-d embeddings) and a one-layer, 64-wide text tower, random weights,
rounded to half precision and saved as a TorchScript archive as the released RN50.pt is, and loaded through the
official ``clip.load``. The parameters
the official run trains (``requires_grad``) and the batch-norm statistics are then drawn at random, the model is
scored on images and prompts in eval mode (the official forward tokenizes with ``clip.tokenize``), and the
checkpoint is written as the official trainer writes it (only the parameters that require gradients, under
``"model"``). Converted with ``--clip`` = that RN50.pt, the catalogue scorer must give the same scores to 1e-4.

Imports: only ``ipiqa/models/{ipiqa,utils,base_model}.py``, ``ipiqa/common/registry.py`` and ``clip/`` are run
(``ipiqa/__init__.py``, which imports every dataset, processor and task, is bypassed by registering the packages
as empty ones, ``ipiqa.models`` holding the ``BaseModel`` its registry checks against). ``clip/clip.py`` imports ``torchvision.transforms`` and ``pkg_resources.packaging``, neither used
here: where they do not import, a stand-in is put in their place for the duration of the import
(:func:`test_official_parity.torchvision_or_stand_in`; ``pkg_resources`` left setuptools in version 81), and
``clip.load``'s preprocessing (``_transform``, torchvision's, unused by ``IPIQA``) is not built. The official
``encode_text`` moves the token ids to CUDA; ``Tensor.cuda`` is the identity while it runs on a CPU.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import types
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the official IP-IQA parity check needs PyTorch (pip install torch)")
nn = torch.nn

from test_official_parity import assert_close, checkout, torchvision_or_stand_in  # noqa: E402

IPIQA_ENV = "TFAGIQA_OFFICIAL_IPIQA"
RESOLUTION = 512
GAIN = 1.2  # randomise_trained_'s matrix gain: scores of a few units that differ between the inputs
PROMPTS = ["a photo of an astronaut riding a horse on the moon, realistic style",
           "an alien driving an aircraft over a city at night, cyberpunk, highly detailed, 8k",
           "Baroque portrait of a cat wearing a crown", "a"]
CONFIGS = {"agiqa3k": dict(output_dim=2, use_mlp_head=True), "agiqa1k": dict(output_dim=1, use_mlp_head=True),
           "agiqa1k-linear": dict(output_dim=1, use_mlp_head=False)}


@contextlib.contextmanager
def pkg_resources_or_stand_in():
    """``pkg_resources`` when it imports; else a module holding only ``packaging`` (all ``clip/clip.py`` takes)."""
    try:
        importlib.import_module("pkg_resources")
    except ImportError:
        import packaging.version

        sys.modules["pkg_resources"] = types.SimpleNamespace(packaging=packaging)
        try:
            yield
        finally:
            del sys.modules["pkg_resources"]
    else:
        yield


@pytest.fixture(scope="module")
def root() -> Path:
    return checkout(IPIQA_ENV, "ipiqa/models/ipiqa.py", "Coobiw/IP-IQA")


@pytest.fixture(scope="module")
def official(root):
    """(the official ``ipiqa.models.ipiqa`` module, the checkout's ``clip.model``); sys.modules restored after."""
    for name in ("ftfy", "regex", "omegaconf"):
        pytest.importorskip(name, reason=f"the official IP-IQA code imports {name} (pip install {name})")
    ours = ("clip", "ipiqa")
    saved = {k: sys.modules.pop(k) for k in list(sys.modules) if k.split(".")[0] in ours}
    sys.path.insert(0, str(root))
    for package in ("ipiqa", "ipiqa.models", "ipiqa.common"):
        module = types.ModuleType(package)
        module.__path__ = [str(root.joinpath(*package.split(".")))]
        sys.modules[package] = module
    try:
        with torchvision_or_stand_in(), pkg_resources_or_stand_in():
            # the registry's decorator checks the class against ipiqa.models.BaseModel (the package's __init__ export)
            sys.modules["ipiqa.models"].BaseModel = importlib.import_module("ipiqa.models.base_model").BaseModel
            yield importlib.import_module("ipiqa.models.ipiqa"), importlib.import_module("clip.model")
    finally:
        sys.path.remove(str(root))
        for name in [k for k in sys.modules if k.split(".")[0] in ours]:
            del sys.modules[name]
        sys.modules.update(saved)


def randomise_trained_(model: nn.Module, seed: int) -> None:
    """The parameters the official run trains (``requires_grad``) and every batch-norm statistic drawn at random:
    matrices N(0, GAIN²/fan_in), BN scales 1 + N(0, 0.1²), other vectors N(0, 0.1²); the frozen ones stay CLIP's."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not p.requires_grad:
                continue
            noise = torch.randn(p.shape, generator=generator)
            if p.dim() >= 2:
                p.copy_(noise * GAIN / float(np.prod(p.shape[1:])) ** 0.5)
            else:
                p.copy_(0.1 * noise + (1.0 if name.endswith(".weight") and "bn" in name else 0.0))
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=generator) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=generator) + 0.5)
    model.eval()


def base_clip(clip_model, path: Path) -> Path:
    """A random CLIP with RN50's vision tower and a one-layer text tower, its values rounded to half precision and
    saved as a TorchScript archive, as the released RN50.pt (which ``clip.load(jit=False)`` rebuilds from)."""
    torch.manual_seed(0)
    clip = clip_model.CLIP(embed_dim=1024, image_resolution=224, vision_layers=(3, 4, 6, 3), vision_width=64,
                           vision_patch_size=None, context_length=77, vocab_size=49408, transformer_width=64,
                           transformer_heads=1, transformer_layers=1).eval()
    with torch.no_grad():
        for name, p in clip.named_parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape) / float(np.prod(p.shape[1:])) ** 0.5)
            elif name.endswith(".weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape))
            p.copy_(p.half().float())
        example = (torch.zeros(1, 3, 224, 224), torch.zeros(1, 77, dtype=torch.long))
        torch.jit.trace(clip, example, check_trace=False).save(str(path))
    return path


@pytest.mark.parametrize("setting", sorted(CONFIGS))
def test_converted_official_ipiqa_matches(tmp_path, root, official, setting, monkeypatch):
    import tensorflow as tf

    from tfagiqa import cli
    from tfagiqa.catalogue import get_entry

    ipiqa_module, clip_model = official
    rn50 = base_clip(clip_model, tmp_path / "RN50.pt")
    monkeypatch.setattr(sys.modules["clip.clip"], "_transform", lambda n_px: None)  # torchvision preprocessing
    model = ipiqa_module.IPIQA(base_ckpt=str(rn50), input_resolution=RESOLUTION, dropout_rate=0.5, freeze_text=True,
                               head_scale=10.0, qa_token=True, **CONFIGS[setting])
    randomise_trained_(model, seed=1)
    images = np.random.default_rng(0).uniform(0, 255, (len(PROMPTS), RESOLUTION, RESOLUTION, 3)).astype("float32")
    mean, std = torch.tensor((0.48145466, 0.4578275, 0.40821073)), torch.tensor((0.26862954, 0.26130258, 0.27577711))
    monkeypatch.setattr(torch.Tensor, "cuda", lambda self, *args, **kwargs: self)
    with torch.no_grad():
        expected = model(((torch.from_numpy(images) / 255 - mean) / std).permute(0, 3, 1, 2), PROMPTS).numpy()
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    frozen = {name for name, _ in model.named_parameters()} - trainable
    state = {k: v for k, v in model.state_dict().items() if k not in frozen}
    assert any(k.startswith("txt_model.") for k in frozen) and "wte.weight" in state  # freeze_text + qa_token
    checkpoint = tmp_path / "checkpoint_best.pth"
    torch.save({"model": state, "config": {"model": {"arch": "ipiqa", **CONFIGS[setting]}}, "epoch": 0}, checkpoint)

    out = tmp_path / "converted"
    assert cli.main(["convert", "ipiqa", "--torch", str(checkpoint), "--clip", str(rn50), "--bpe",
                     str(root / "clip" / "bpe_simple_vocab_16e6.txt.gz"), "--out", str(out)]) == 0
    dataset = setting.split("-")[0]
    entry = get_entry(f"ipiqa-{dataset}")
    scorer = entry.build(str(out / f"ipiqa_{dataset}_scorer.keras"))
    scores = scorer({"images": tf.constant(images), "prompt": tf.constant(PROMPTS)})
    assert np.ptp(expected[:, 0]) > 1e-3  # informative: the scores differ between the inputs
    for i, output in enumerate(entry.outputs):
        assert_close(f"IP-IQA {setting} {output}", np.asarray(scores[output]), expected[:, i])
