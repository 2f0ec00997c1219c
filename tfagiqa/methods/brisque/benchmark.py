"""BRISQUE in the benchmark: the paper's recipe on the split. Features (LIVE's MATLAB convention) of every image at
its native resolution; svm-scale's [-1, 1] map fitted on the training side; an RBF ε-SVR trained on the training
labels (standardised); predictions in the label's own scale (higher = better).

Hyperparameters: ``smoke`` uses C = 8, γ = 0.05, ε = 0.1 (in units of the labels' standard deviation); ``paper``
chooses (C, γ) from :data:`GRID` by grouped 3-fold cross-validation on the training side (lowest mean squared
error, as LIBSVM's grid.py), as the paper chose them by cross-validation. The fitted regressor is saved in
``workdir`` (``brisque_svr.npz``, loadable with ``create_scorer("brisque", path)``).

``weights`` other than None use a fixed regressor instead (e.g. ``"imquality"``, LIVE's DMOS-trained model, with its
own feature convention): nothing is fitted, and its DMOS (lower = better) is negated.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd
import tensorflow as tf

from tfagiqa.data.native import map_image_files
from tfagiqa.errors import DataError
from tfagiqa.methods.brisque.model import PAPER_CONVENTION, BrisqueRegressor, feature_graph
from tfagiqa.methods.brisque.svr import FeatureRange, RbfSvr, fit_svr
from tfagiqa.methods.brisque.weights import resolve

NEEDS_PROMPT = False
TRAINED = True
TARGETS = ("quality", "overall")
SMOKE = {"c": 8.0, "gamma": 0.05}
GRID = {"c": (1.0, 8.0, 64.0, 512.0), "gamma": (0.01, 0.05, 0.2)}
EPSILON = 0.1
FOLDS = 3


def skip_reason(target: str) -> str | None:
    """BRISQUE reads pixels only: it scores perceptual quality (and the overall MOS), never text-image alignment."""
    if target in TARGETS:
        return None
    return f"BRISQUE reads pixels only and cannot see the prompt; it does not score {target!r}"


def fit_predict(train: pd.DataFrame, test: pd.DataFrame, label: str, *, profile: str, weights: str | None,
                seed: int, workdir: pathlib.Path) -> dict:
    """Train the SVR on ``train[label]`` (``weights`` None) and predict ``test``; see the module docstring."""
    if weights is not None:
        regressor = resolve(weights)
        scores = regressor.predict_features(features_of(test, regressor.convention))
        sign = 1.0 if regressor.higher_is_better else -1.0
        return {"predictions": sign * scores, "weights": regressor.source,
                "backbone": f"nss features ({regressor.convention})",
                "notes": f"fixed regressor, nothing fitted; prediction = {'' if sign > 0 else '-'}score; "
                         "native resolution"}
    targets = labels_of(train, label)
    features = features_of(pd.concat([train, test]), PAPER_CONVENTION)  # one traced graph for both sides
    x_train, x_test = features[:len(train)], features[len(train):]
    params = SMOKE if profile == "smoke" else select_hyperparameters(x_train, targets, groups_of(train), seed)
    regressor = train_regressor(x_train, targets, label, **params)
    path = regressor.save(pathlib.Path(workdir) / "brisque_svr.npz")
    return {"predictions": regressor.predict_features(x_test),
            "weights": "fitted on the split", "backbone": f"nss features ({PAPER_CONVENTION})",
            "notes": f"RBF ε-SVR C={params['c']:g} γ={params['gamma']:g} ε={EPSILON:g} (label SDs), "
                     f"{len(regressor.svr.coefficients)} support vectors; native resolution; saved {path}"}


def features_of(df: pd.DataFrame, convention: str) -> np.ndarray:
    """[len(df), 36] BRISQUE features of the images in ``df["image"]``, at native resolution."""
    features = feature_graph(convention)
    return map_image_files([str(p) for p in df["image"]], lambda images: features(tf.cast(images, tf.float64)))


def labels_of(df: pd.DataFrame, label: str) -> np.ndarray:
    """The training labels, refusing missing or non-finite values (an SVR cannot fit them)."""
    if label not in df.columns:
        raise DataError(f"BRISQUE: the training data has no {label!r} column")
    values = pd.to_numeric(df[label], errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise DataError(f"BRISQUE: {bad.sum()} training label(s) in {label!r} are missing or not finite, "
                        f"e.g. {df['image'].iloc[int(np.argmax(bad))]}")
    return values


def groups_of(df: pd.DataFrame) -> np.ndarray:
    """Cross-validation groups: the split's own group key when present (same prompt = same fold)."""
    return df["group"].astype(str).to_numpy() if "group" in df.columns else np.arange(len(df)).astype(str)


def train_regressor(features: np.ndarray, targets: np.ndarray, label: str, *, c: float, gamma: float):
    """svm-scale range of ``features``, then an ε-SVR on the standardised ``targets``, its output mapped back to
    the targets' scale (coefficients × SD, ρ × SD - mean)."""
    feature_range = FeatureRange.of(features)
    mean, sd = targets.mean(), targets.std()
    if not sd > 0:
        raise DataError(f"BRISQUE: every training label in {label!r} is the same; there is nothing to regress")
    svr = fit_svr(feature_range.scale(features), (targets - mean) / sd, c=c, gamma=gamma, epsilon=EPSILON)
    svr = RbfSvr(svr.support_vectors, svr.coefficients * sd, svr.rho * sd - mean, svr.gamma)
    return BrisqueRegressor(PAPER_CONVENTION, feature_range, svr, higher_is_better=True,
                            source="fitted on the split", label_scale=f"{label} MOS of the training split")


def select_hyperparameters(features: np.ndarray, targets: np.ndarray, groups: np.ndarray, seed: int) -> dict:
    """(C, γ) of :data:`GRID` with the lowest grouped 3-fold cross-validated squared error."""
    unique = np.unique(groups)
    fold_of_group = dict(zip(np.random.default_rng(seed).permutation(unique), np.arange(len(unique)) % FOLDS))
    folds = np.array([fold_of_group[g] for g in groups])
    errors = {}
    for c in GRID["c"]:
        for gamma in GRID["gamma"]:
            squared = []
            for fold in range(FOLDS):
                fit, held = folds != fold, folds == fold
                regressor = train_regressor(features[fit], targets[fit], "cv", c=c, gamma=gamma)
                squared.append(np.mean((regressor.predict_features(features[held]) - targets[held]) ** 2))
            errors[(c, gamma)] = float(np.mean(squared))
    c, gamma = min(errors, key=errors.get)
    return {"c": c, "gamma": gamma}
