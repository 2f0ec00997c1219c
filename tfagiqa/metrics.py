"""Scores of predictions against MOS (SRCC, PLCC raw and logistic-mapped, KRCC, RMSE), as in SPEC §1.1."""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, stats

from tfagiqa.errors import DataError

MIN_SAMPLES = 3
MAXFEV = 20_000  # curve_fit's default (200·(n+1)) gives up too early on flat or badly scaled predictions


class MetricInputError(DataError, ValueError):
    """Predictions or MOS that cannot be scored: wrong shape, too few samples, or non-finite values."""


class MetricWarning(UserWarning):
    """A score is undefined (constant input) or a logistic fit fell back to the raw prediction."""


class LogisticFit(NamedTuple):
    """Result of fit_logistic; `params` is None when the fit failed and `mapped` is the raw prediction."""

    mapped: np.ndarray
    params: np.ndarray | None

    @property
    def converged(self) -> bool:
        """True when `mapped` comes from a fitted curve, False when it is the raw prediction."""
        return self.params is not None


def logistic5(x: ArrayLike, b1: float, b2: float, b3: float, b4: float, b5: float) -> np.ndarray:
    """5-parameter logistic of the AGIQA-3K benchmark: b1·(0.5 − 1/(1+exp(b2·(x−b3)))) + b4·x + b5."""
    x = np.asarray(x, dtype=np.float64)
    return b1 * (0.5 - 1.0 / (1.0 + np.exp(b2 * (x - b3)))) + b4 * x + b5


def logistic4(x: ArrayLike, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    """4-parameter VQEG logistic: (b1−b2)/(1+exp(−(x−b3)/b4)) + b2."""
    x = np.asarray(x, dtype=np.float64)
    return (b1 - b2) / (1.0 + np.exp(-(x - b3) / b4)) + b2


def _initial_params(pred: np.ndarray, mos: np.ndarray, n_params: int) -> list[float]:
    """Starting point of the fit, as in pyiqa's fit_curve (SPEC §1.1)."""
    if n_params == 4:
        return [float(np.max(mos)), float(np.min(mos)), float(np.mean(pred)), float(np.std(pred)) / 4.0]
    return [10.0, 0.0, float(np.mean(mos)), 0.1, 0.1]


def _as_vector(values: ArrayLike, name: str) -> np.ndarray:
    """A finite float64 vector from a list, array, (n, 1) column or tensor; errors name what is wrong."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MetricInputError(f"{name} must be numeric: {exc}") from exc
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise MetricInputError(f"{name} must be a vector or an (n, 1) column, got shape {arr.shape}")
    n_nan, n_inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
    if n_nan or n_inf:
        raise MetricInputError(
            f"{name} has {n_nan} NaN and {n_inf} infinite value(s) out of {arr.size}; scores need finite values"
        )
    return arr


def _check(pred: ArrayLike, mos: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validated (pred, mos) vectors of equal length with at least MIN_SAMPLES entries."""
    p, m = _as_vector(pred, "pred"), _as_vector(mos, "mos")
    if p.size != m.size:
        raise MetricInputError(f"pred has {p.size} values but mos has {m.size}; they must pair one to one")
    if p.size < MIN_SAMPLES:
        raise MetricInputError(f"need at least {MIN_SAMPLES} samples to score, got {p.size}")
    return p, m


def _undefined(p: np.ndarray, m: np.ndarray) -> bool:
    """True (with a warning) when pred or mos is constant, which leaves every correlation undefined."""
    constant = [f"{name} (all {a[0]:g})" for name, a in (("pred", p), ("mos", m)) if np.ptp(a) == 0]
    if constant:
        warnings.warn(
            f"{' and '.join(constant)} constant: correlations are undefined and returned as NaN",
            MetricWarning,
            stacklevel=3,
        )
    return bool(constant)


def _srcc(p: np.ndarray, m: np.ndarray) -> float:
    return float(stats.spearmanr(p, m).statistic)


def _plcc(p: np.ndarray, m: np.ndarray) -> float:
    return float(stats.pearsonr(p, m).statistic)


def _krcc(p: np.ndarray, m: np.ndarray) -> float:
    return float(stats.kendalltau(p, m).statistic)


def _fallback(p: np.ndarray, n_params: int, reason: str) -> LogisticFit:
    """Raw prediction in place of a failed fit, announced by a warning."""
    warnings.warn(
        f"{n_params}-parameter logistic fit failed ({reason}); plcc_logistic{n_params} uses the raw prediction",
        MetricWarning,
        stacklevel=4,
    )
    return LogisticFit(p.copy(), None)


def _check_n_params(n_params: int) -> None:
    """Reject a logistic size other than the two of SPEC §1.1."""
    if n_params not in (4, 5):
        raise MetricInputError(f"n_params must be 4 or 5, got {n_params!r}")


def _fit(p: np.ndarray, m: np.ndarray, n_params: int) -> LogisticFit:
    """Least-squares fit of a logistic from pred to mos on validated vectors; never raises on non-convergence.

    A fit needs at least as many samples as parameters (fewer leave the least-squares problem underdetermined and
    scipy's ``curve_fit`` refuses them): with 3 samples neither fit is made, with 4 only the 4-parameter one. A fit
    not made is a fallback like a failed one (raw prediction, ``converged`` False), so small subsets still score.
    """
    _check_n_params(n_params)
    if np.ptp(p) == 0:
        return _fallback(p, n_params, "pred is constant")
    if p.size < n_params:
        return _fallback(p, n_params, f"{p.size} samples cannot determine {n_params} parameters")
    func = logistic4 if n_params == 4 else logistic5
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", optimize.OptimizeWarning)
        try:
            params, _ = optimize.curve_fit(func, p, m, p0=_initial_params(p, m, n_params), maxfev=MAXFEV)
        except (RuntimeError, ValueError) as exc:
            return _fallback(p, n_params, str(exc))
        mapped = func(p, *params)
    if not np.all(np.isfinite(mapped)) or np.ptp(mapped) == 0:
        return _fallback(p, n_params, "the fitted curve is constant or not finite")
    return LogisticFit(mapped, params)


def srcc(pred: ArrayLike, mos: ArrayLike) -> float:
    """Spearman rank correlation (scipy.stats.spearmanr); NaN with a warning for constant input."""
    p, m = _check(pred, mos)
    return float("nan") if _undefined(p, m) else _srcc(p, m)


def plcc(pred: ArrayLike, mos: ArrayLike) -> float:
    """Pearson correlation on the raw prediction (what the IP-IQA and HyperIQA code report)."""
    p, m = _check(pred, mos)
    return float("nan") if _undefined(p, m) else _plcc(p, m)


def krcc(pred: ArrayLike, mos: ArrayLike) -> float:
    """Kendall rank correlation, tau-b (scipy default), which corrects for ties."""
    p, m = _check(pred, mos)
    return float("nan") if _undefined(p, m) else _krcc(p, m)


def rmse(pred: ArrayLike, mos: ArrayLike) -> float:
    """Root mean squared error on the raw scale (IP-IQA's AGIQA-1K extra)."""
    p, m = _check(pred, mos)
    return float(np.sqrt(np.mean((p - m) ** 2)))


def main_score(pred: ArrayLike, mos: ArrayLike) -> float:
    """(SRCC + PLCC) / 2 on the raw prediction: SF-IQA's "Main Score", the NTIRE 2024 ranking score."""
    p, m = _check(pred, mos)
    return float("nan") if _undefined(p, m) else (_srcc(p, m) + _plcc(p, m)) / 2.0


def fit_logistic(pred: ArrayLike, mos: ArrayLike, n_params: int = 4) -> LogisticFit:
    """Map pred onto the MOS scale with a 4- or 5-parameter logistic; on failure, warn and return pred unchanged."""
    p, m = _check(pred, mos)
    return _fit(p, m, n_params)


def plcc_logistic(pred: ArrayLike, mos: ArrayLike, n_params: int = 4) -> float:
    """Pearson correlation after the logistic mapping (raw PLCC, with a warning, if the fit fails)."""
    _check_n_params(n_params)
    p, m = _check(pred, mos)
    if _undefined(p, m):
        return float("nan")
    return _plcc(_fit(p, m, n_params).mapped, m)


def evaluate(pred: ArrayLike, mos: ArrayLike) -> dict[str, float | bool]:
    """Every score of SPEC §1.1: `plcc` is raw, `plcc_logistic{4,5}` mapped, `*_converged` says if each fit worked.

    Any sample of MIN_SAMPLES or more scores (SF-IQA scores small T2I subsets): a logistic fit with fewer samples
    than parameters is not made, and its PLCC is the raw one with ``*_converged`` False.
    """
    p, m = _check(pred, mos)
    scores: dict[str, float | bool] = dict.fromkeys(
        ("srcc", "plcc", "plcc_logistic4", "plcc_logistic5", "krcc"), float("nan")
    )
    scores["rmse"] = float(np.sqrt(np.mean((p - m) ** 2)))
    scores["main"] = float("nan")
    scores["plcc_logistic4_converged"] = scores["plcc_logistic5_converged"] = False
    if _undefined(p, m):
        return scores
    scores["srcc"], scores["plcc"], scores["krcc"] = _srcc(p, m), _plcc(p, m), _krcc(p, m)
    scores["main"] = (scores["srcc"] + scores["plcc"]) / 2.0
    for n in (4, 5):
        fit = _fit(p, m, n)
        scores[f"plcc_logistic{n}"] = _plcc(fit.mapped, m)
        scores[f"plcc_logistic{n}_converged"] = fit.converged
    return scores


def fold_summary(values: ArrayLike) -> dict[str, float]:
    """Mean and sample variance (ddof=1) over folds or repeats, as DLSR's AVERAGE and VAR rows."""
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        raise MetricInputError("fold_summary needs at least one value")
    var = float(np.var(arr, ddof=1)) if arr.size > 1 else float("nan")
    return {"average": float(np.mean(arr)), "var": var}
