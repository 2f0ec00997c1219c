"""SF-IQA in the benchmark: SF-IQA's branch trainings (``protocol.train_quality`` / ``train_similarity`` /
``fusion_rows``, what ``run_sfiqa.py`` runs) on the benchmark's split.

* quality: the quality branch (SwinV2 multi-level features on SAMA views); alignment: the similarity branch
  (PickScore-style CLIP, S = exp(t)·cos, fine-tuned to regress the MOS); overall: both branches trained on the
  overall MOS and the official code's fusion MLP (2→10→10→1) on their training predictions.
* Stage (i), the NR-IQA pre-training of the quality branch on KonIQ-10k / LIVE Challenge / LIVE / KADID-10K, is not
  run: the benchmark trains every method on the split alone.
* Epoch: the last one (``selection=last_epoch``, as the paper: it has no validation set).

``weights``: None = ``auto`` (random, as ``run_sfiqa.py``: the tiny smoke networks are always random); ``none``;
a folder with ``swinv2.weights.h5`` (``tfagiqa convert swinv2``) and/or ``PickScore_v1/``.
"""

from __future__ import annotations

import pathlib

import pandas as pd
import tensorflow as tf

from tfagiqa.benchmark.frames import result
from tfagiqa.distribute import global_batch_size
from tfagiqa.errors import TfagiqaError
from tfagiqa.methods.sfiqa import protocol

NEEDS_PROMPT = True
TRAINED = True
BRANCHES = {"quality": "quality branch", "alignment": "similarity branch", "overall": "quality + similarity + fusion"}


def skip_reason(target: str) -> str | None:
    """Quality from the quality branch, alignment from the similarity branch, overall from their fusion."""
    return None if target in BRANCHES else f"SF-IQA has quality, similarity and fused scores; none predicts {target!r}"


def fit_predict(train: pd.DataFrame, test: pd.DataFrame, label: str, *, profile: str, weights: str | None,
                seed: int, workdir: pathlib.Path) -> dict:
    """Train the branch(es) for ``label`` on ``train`` and score ``test`` with the last epoch's models."""
    if profile not in protocol.PROFILES:
        raise TfagiqaError(f"unknown profile {profile!r}; use one of {sorted(protocol.PROFILES)}")
    base = protocol.PROFILES[profile]
    chosen = base.but(batch_size=global_batch_size(base.batch_size, tf.distribute.get_strategy()))
    branches = protocol.resolve_branches(chosen, weights or "auto")
    train, test = train.reset_index(drop=True), test.reset_index(drop=True)
    if label == "quality":
        predictions = protocol.predict_quality(protocol.train_quality(train, label, branches, chosen, seed), test,
                                               branches)
    elif label == "alignment":
        predictions = protocol.predict_similarity(protocol.train_similarity(train, label, branches, chosen, seed),
                                                  test, branches)
    else:
        q_model = protocol.train_quality(train, label, branches, chosen, seed)
        s_model = protocol.train_similarity(train, label, branches, chosen, seed)
        predictions = protocol.fusion_rows(q_model, s_model, train, test, label, branches, chosen,
                                           seed).predictions["fusion_code"]
    config = branches.config
    backbone = "swinv2-tiny-test+clip-tiny" if chosen.tiny else "swinv2_tiny_window16_256+pickscore-vit-h-14"
    notes = (f"{BRANCHES[label]} (SwinV2 embed {config.swin.embed_dim} at {config.swin.image_size} px, CLIP "
             f"{config.clip.vision_hidden} at {config.clip.image_size} px), {chosen.epochs} epochs, quality lr "
             f"{chosen.learning_rate:g}, similarity lr {chosen.lr_similarity:g}; no NR-IQA pre-training; last epoch")
    return result(predictions, branches.label, backbone, notes, "last_epoch")
