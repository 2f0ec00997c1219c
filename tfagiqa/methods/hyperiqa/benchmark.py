"""HyperIQA in the benchmark: the HyperIQA training protocol (``protocol.run_split``, what ``run_hypernet.py``
runs) on the benchmark's split.

* quality / overall: image-based HyperIQA as is (a hyper network generating the target network that reads the LDA
  vector), L1 loss on the MOS.
* alignment: the Hypernet paper's image-based hypernet for alignment (Table IV, ``--variant image``): the hyper
  network still reads the image; the target network reads the prompt's embedding (TF-IDF over the dataset's
  prompts, the run script's default embedder; no label is read to build it), trained on the alignment MOS.
* Schedule ``official`` (the reference code, whose hyper network stops training after epoch 1); the smoke profile is
  the width-reduced ResNet at 64 px crops (4 train / 4 fixed test crops per image, 5 epochs, base lr 1e-3).
* Epoch: the last one (``selection=last_epoch``); no test metric chooses it.

``weights``: None = ``auto`` (the torchvision ImageNet ResNet-50 file when found, paper profile only; the smoke
network is random); ``imagenet``, ``none`` or a path to ``resnet50-19c8e357.pth``.
"""

from __future__ import annotations

import pathlib

import pandas as pd

from tfagiqa.benchmark.frames import joined, result
from tfagiqa.data import default_data_root, schema
from tfagiqa.errors import TfagiqaError
from tfagiqa.methods.hyperiqa import model as hypernet
from tfagiqa.methods.hyperiqa import protocol
from tfagiqa.methods.hyperiqa.text_inputs import embed_texts

NEEDS_PROMPT = True
TRAINED = True
TARGETS = ("quality", "alignment", "overall")
SCHEDULE = "official"
TEXT_EMBEDDER = "tfidf"


def skip_reason(target: str) -> str | None:
    """HyperIQA for quality and the overall MOS; the paper's image-based hypernet for alignment."""
    return None if target in TARGETS else f"HyperIQA has no {target!r} setting in the benchmark"


def fit_predict(train: pd.DataFrame, test: pd.DataFrame, label: str, *, profile: str, weights: str | None,
                seed: int, workdir: pathlib.Path) -> dict:
    """Train the setting of ``label`` on ``train`` and score ``test`` (mean over its fixed crops, last epoch)."""
    if profile not in ("smoke", "paper"):
        raise TfagiqaError(f"unknown profile {profile!r}; use smoke or paper")
    chosen = protocol.PROFILES[profile]
    weights_path, weights_label = protocol.resolve_weights(weights or "auto", chosen, default_data_root())
    df, side = joined(train, test)
    if label == "alignment":
        experiment = hypernet.experiment("alignment", "image", str(df[schema.DATASET].iloc[0]))
        text = embed_texts(df, TEXT_EMBEDDER)
        config = protocol.network_config(chosen, outputs=experiment.outputs, hyper_input=experiment.hyper_input,
                                         target_input=experiment.target_input, text_dim=text.dim, text_key=text.key)
    else:
        experiment, text = hypernet.Experiment(label, (label,)), None
        config = protocol.network_config(chosen, outputs=experiment.outputs)
    setting = protocol.Setting(experiment, (label,), config)
    outcome = protocol.run_split(df, side, setting, chosen, SCHEDULE, seed, text, backbone_weights=weights_path)
    predictions = outcome.history[outcome.pick("last_epoch")]["test_scores"][:, 0]
    reading = ("image-based hypernet, target net on the prompt's TF-IDF embedding" if text is not None
               else "HyperIQA (LDA vector into the target net)")
    notes = f"{reading}; {protocol.describe(chosen)}; schedule {SCHEDULE}; L1 loss; last epoch"
    backbone = "resnet-w8-b1111-tiny" if chosen.tiny else "resnet50"
    return result(predictions, weights_label, backbone, notes, "last_epoch")
