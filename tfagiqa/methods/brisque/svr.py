"""BRISQUE's regressor: an ε-support vector regression with an RBF kernel (LIBSVM's ε-SVR), in numpy.

:func:`fit_svr` solves LIBSVM's dual problem with the same sequential minimal optimisation (maximal-violating
pair with second-order working-set selection, Fan, Chen & Lin 2005; no shrinking) and the same stopping rule,
so a model trained here is the model ``svm-train -s 3 -t 2`` would write, up to the solver tolerance.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from tfagiqa.errors import DataError

TAU = 1e-12  # LIBSVM's floor for a non-positive second derivative


@dataclass(frozen=True)
class RbfSvr:
    """f(x) = Σ_i coefficient_i · exp(-γ‖x - sv_i‖²) - ρ (LIBSVM's decision function for ε-SVR)."""

    support_vectors: np.ndarray  # [S, F]
    coefficients: np.ndarray     # [S]: α_i - α*_i
    rho: float
    gamma: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        """[N, F] → [N]."""
        x = np.asarray(x, np.float64)
        return rbf_kernel(x, self.support_vectors, self.gamma) @ self.coefficients - self.rho


@dataclass(frozen=True)
class FeatureRange:
    """svm-scale's linear map of each feature from [minimum, maximum] to [lower, upper] (0 where min = max)."""

    minimum: np.ndarray
    maximum: np.ndarray
    lower: float = -1.0
    upper: float = 1.0

    @classmethod
    def of(cls, x: np.ndarray, lower: float = -1.0, upper: float = 1.0) -> "FeatureRange":
        """The range of the training features ``x`` [N, F] (what ``svm-scale -s`` saves)."""
        x = np.asarray(x, np.float64)
        return cls(x.min(axis=0), x.max(axis=0), lower, upper)

    def scale(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        span = self.maximum - self.minimum
        scaled = self.lower + (self.upper - self.lower) * (x - self.minimum) / np.where(span > 0, span, 1.0)
        return np.where(span > 0, scaled, 0.0)


def rbf_kernel(a: np.ndarray, b: np.ndarray, gamma: float) -> np.ndarray:
    """exp(-γ‖a_i - b_j‖²) for [N, F] and [M, F] → [N, M]."""
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.exp(-gamma * np.maximum(squared, 0.0))


def fit_svr(x: np.ndarray, y: np.ndarray, *, c: float, gamma: float, epsilon: float = 0.1, tol: float = 1e-3,
            max_iter: int | None = None) -> RbfSvr:
    """Train an ε-SVR with RBF kernel on features ``x`` [N, F] and targets ``y`` [N] (LIBSVM ``-s 3 -t 2``).

    The dual over a = [α; α*] ∈ [0, c]^2N: minimise ½ aᵀQa + pᵀa subject to Σα = Σα*, with
    Q = [[K, -K], [-K, K]] and p = [ε - y; ε + y]; stops when the maximal KKT violation falls below ``tol``.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if x.ndim != 2 or y.shape != (len(x),):
        raise DataError(f"fit_svr needs x [N, F] and y [N]; got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise DataError("fit_svr: features and targets must be finite (a NaN feature or label cannot be fitted)")
    n = len(y)
    kernel = rbf_kernel(x, x, gamma)
    sign = np.r_[np.ones(n), -np.ones(n)]
    row = np.r_[np.arange(n), np.arange(n)]
    diag = np.diag(kernel)[row]
    alpha = np.zeros(2 * n)
    grad = np.r_[epsilon - y, epsilon + y]
    max_iter = max_iter or max(10_000_000, 100 * n)
    for _ in range(max_iter):
        up = np.where(sign > 0, alpha < c, alpha > 0)
        low = np.where(sign > 0, alpha > 0, alpha < c)
        score = -sign * grad
        i = int(np.argmax(np.where(up, score, -np.inf)))
        g_max = score[i]
        if g_max - np.min(np.where(low, score, np.inf)) < tol:
            break
        k_i = kernel[row[i]][row]
        gain = g_max - score
        quad = diag[i] + diag - 2.0 * k_i
        candidates = low & (gain > 0)
        j = int(np.argmin(np.where(candidates, -gain * gain / np.where(quad > 0, quad, TAU), np.inf)))
        k_j = kernel[row[j]][row]
        old_i, old_j = alpha[i], alpha[j]
        alpha[i], alpha[j] = _pair_update(alpha[i], alpha[j], sign[i], sign[j], grad[i], grad[j],
                                          diag[i] + diag[j] - 2.0 * k_i[j], c)
        grad += sign * (sign[i] * k_i * (alpha[i] - old_i) + sign[j] * k_j * (alpha[j] - old_j))
    else:
        warnings.warn(f"fit_svr: reached {max_iter} iterations before the tolerance {tol}", RuntimeWarning,
                      stacklevel=2)
    coefficients = alpha[:n] - alpha[n:]
    keep = coefficients != 0
    return RbfSvr(x[keep], coefficients[keep], _rho(alpha, grad, sign, c), float(gamma))


def _pair_update(a_i: float, a_j: float, s_i: float, s_j: float, g_i: float, g_j: float, quad: float,
                 c: float) -> tuple[float, float]:
    """Optimise the dual along the pair (i, j) and clip to the box, keeping Σ sign·a fixed (LIBSVM's update)."""
    quad = quad if quad > 0 else TAU
    if s_i != s_j:
        delta = (-g_i - g_j) / quad
        diff = a_i - a_j
        a_i, a_j = a_i + delta, a_j + delta
        if diff > 0 and a_j < 0:
            a_i, a_j = diff, 0.0
        elif diff <= 0 and a_i < 0:
            a_i, a_j = 0.0, -diff
        if diff > 0 and a_i > c:
            a_i, a_j = c, c - diff
        elif diff <= 0 and a_j > c:
            a_i, a_j = c + diff, c
        return a_i, a_j
    delta = (g_i - g_j) / quad
    total = a_i + a_j
    a_i, a_j = a_i - delta, a_j + delta
    if total > c and a_i > c:
        a_i, a_j = c, total - c
    elif total <= c and a_j < 0:
        a_i, a_j = total, 0.0
    if total > c and a_j > c:
        a_i, a_j = total - c, c
    elif total <= c and a_i < 0:
        a_i, a_j = 0.0, total
    return a_i, a_j


def _rho(alpha: np.ndarray, grad: np.ndarray, sign: np.ndarray, c: float) -> float:
    """The offset: the mean of sign·gradient over free variables, else the middle of its feasible interval."""
    value = sign * grad
    at_upper, at_lower = alpha >= c, alpha <= 0
    free = ~(at_upper | at_lower)
    if free.any():
        return float(value[free].mean())
    bounds_ub = (at_upper & (sign < 0)) | (at_lower & (sign > 0))
    bounds_lb = (at_upper & (sign > 0)) | (at_lower & (sign < 0))
    ub = value[bounds_ub].min() if bounds_ub.any() else np.inf
    lb = value[bounds_lb].max() if bounds_lb.any() else -np.inf
    return float((ub + lb) / 2)
