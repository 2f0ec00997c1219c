"""Simulated raters: latent quality in [0, 1] → MOS (and its std) on a dataset's published scale.

:func:`rate` is a panel of raters with their own bias, gain and noise whose 1–5 scores are z-scored per rater,
averaged and mapped onto the dataset's :class:`Scale` (the AGIQA benchmarks publish z-score-based MOS).
:func:`noisy_scores` is the plainer model of the NR-IQA stand-ins: latent plus noise, standardised onto a scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Scale:
    """Where a dataset's MOS lives: centre and spread of the published scores, and the clip range."""

    center: float
    spread: float
    low: float
    high: float


def rate(latent: np.ndarray, scale: Scale, rng: np.random.Generator, raters: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """MOS and std from raters with their own bias, gain and noise, z-scored per rater and mapped onto ``scale``."""
    bias = rng.normal(0.0, 0.4, (raters, 1))
    gain = rng.uniform(0.8, 1.2, (raters, 1))
    noise = rng.uniform(0.4, 0.9, (raters, 1))
    raw = np.clip(1.0 + 4.0 * gain * latent[None, :] + bias + noise * rng.normal(size=(raters, latent.size)), 1.0, 5.0)
    spread = raw.std(axis=1, keepdims=True)
    z = (raw - raw.mean(axis=1, keepdims=True)) / np.where(spread > 0, spread, 1.0)
    mos_z, std_z = z.mean(axis=0), z.std(axis=0, ddof=1)
    k = scale.spread / (mos_z.std() or 1.0)
    mos = np.clip(scale.center + k * (mos_z - mos_z.mean()), scale.low, scale.high)
    return mos, k * std_z


def overall(truth: pd.DataFrame) -> np.ndarray:
    """The latent behind a single MOS that mixes perception and alignment (AGIQA-1K, AIGIQA-20K)."""
    return 0.6 * truth["quality"].to_numpy() + 0.4 * truth["alignment"].to_numpy()


def noisy_scores(latent: np.ndarray, scale: Scale, seed: int, lower_is_better: bool = False) -> np.ndarray:
    """Scores of the NR-IQA stand-ins: ``latent`` plus N(0, 0.08) noise (stream ``[seed, 99]``), standardised to
    ``scale.center ± scale.spread`` and clipped to its range; flipped about the centre for a DMOS (lower is better)."""
    noise = np.random.default_rng([seed, 99]).normal(0, 0.08, latent.size)
    z = (latent + noise - latent.mean()) / (latent.std() or 1.0)
    sign = -1.0 if lower_is_better else 1.0
    return np.clip(scale.center + sign * scale.spread * z, scale.low, scale.high)
