"""DLSR-IQA in the benchmark: DLSR's own fold protocol (``protocol.run_fold``, what ``run_dlsr.py`` runs) on the
benchmark's split.

* quality / overall: the perception head (Table I's tuned head, "perception_after"); alignment: the alignment head,
  which also reads the prompt's tokens and the T2I model (Table V).
* Features: the frozen backbone of the profile (ResNet152V2; smoke 128 px with 2 augmented views, paper 224 px with
  4) through the feature cache (``<data-root>/cache/features``, shared with ``run_dlsr.py``) and kept in memory for
  the run, so every split and target reuses them. A random backbone is initialised with :data:`BACKBONE_SEED`
  whatever the split's seed, so that, like ImageNet weights, it is one fixed feature extractor.
* Labels are mapped onto AGIQA-3K's scale by eq. 1 (nominal ranges), as DLSR trains its heads; predictions are
  mapped back onto the dataset's own scale (a linear map: SRCC and PLCC are unchanged).
* Epoch: DLSR's early stopping on a validation carve-out of 10 % of the training groups (inside the train side),
  best validation loss restored (``selection=best_val_loss``).

``weights``: None = ``auto`` (ImageNet from Keras' cache when present, else random, said loudly); ``imagenet``,
``none`` or a path to the ``.h5`` file, as ``run_dlsr.py --weights``.
"""

from __future__ import annotations

import pathlib

import keras
import numpy as np
import pandas as pd

from tfagiqa.benchmark.frames import joined, result
from tfagiqa.data import default_data_root, schema, splits
from tfagiqa.data.cache import FeatureCache
from tfagiqa.data.rescale import NOMINAL_RANGES, rescale
from tfagiqa.errors import TfagiqaError
from tfagiqa.methods.dlsr import model as dlsr
from tfagiqa.methods.dlsr import protocol
from tfagiqa.training import predict

NEEDS_PROMPT = True
TRAINED = True
HEADS = {"quality": ("perception", dlsr.PERCEPTION), "overall": ("perception", dlsr.PERCEPTION),
         "alignment": ("alignment", dlsr.ALIGNMENT)}
BACKBONE_SEED = 0
SCALE = NOMINAL_RANGES["agiqa3k"]
_BANKS: dict[tuple, protocol.FeatureBank] = {}


def skip_reason(target: str) -> str | None:
    """The perception head serves quality and the overall MOS, the alignment head alignment."""
    if target in HEADS:
        return None
    return f"DLSR-IQA has a perception and an alignment head; none predicts {target!r}"


def feature_bank(df: pd.DataFrame, profile, weights: str | None) -> protocol.FeatureBank:
    """The bank of ``df``'s images (all views the profile uses), built once per image set, profile and weights."""
    images = tuple(sorted(df[schema.IMAGE]))
    key = (images, profile.name, profile.backbone, profile.image_size, profile.aug_views, weights)
    if key not in _BANKS:
        keras.utils.set_random_seed(BACKBONE_SEED)
        backbone = protocol.BACKBONES[profile.backbone](weights or "auto", profile.image_size)
        data = df.sort_values(schema.IMAGE, kind="mergesort").reset_index(drop=True)
        cache = FeatureCache(default_data_root() / "cache" / "features")
        _BANKS[key] = protocol.FeatureBank(data, backbone, profile.backbone, cache, profile.image_size,
                                           init_seed=BACKBONE_SEED)
    return _BANKS[key]


def fit_predict(train: pd.DataFrame, test: pd.DataFrame, label: str, *, profile: str, weights: str | None,
                seed: int, workdir: pathlib.Path) -> dict:
    """Train DLSR's head for ``label`` on ``train`` (early stopping inside it) and score ``test``."""
    if profile not in ("smoke", "paper"):
        raise TfagiqaError(f"unknown profile {profile!r}; use smoke or paper")
    settings = protocol.PROFILES[profile]
    kind, config = HEADS[label]
    df, side = joined(train, test)
    own_scale = NOMINAL_RANGES[str(df[schema.DATASET].iloc[0])]
    df[protocol.TARGET] = rescale(df[label], own_scale, SCALE)
    bank = feature_bank(df, settings, weights)
    outcome = protocol.run_fold(df, side, kind, config, bank, settings, seed, desc=f"dlsr {kind}")
    scores = predict(outcome.model, protocol.model_inputs(df[side == splits.TEST], bank, kind))
    views = protocol.training_views(settings)
    notes = (f"{kind} head on frozen {settings.backbone} features ({settings.image_size} px, {len(views)} views per "
             f"training image), labels on AGIQA-3K's scale by eq. 1; early stopping on 10 % of the training groups")
    return result(rescale(np.asarray(scores), SCALE, own_scale), bank.backbone.label, settings.backbone, notes,
                  "best_val_loss")
