"""Map MOS between datasets' scales with DLSR's eq. 1: s' = (b − a)(s − c)/(d − c) + a."""

from __future__ import annotations

import numpy as np
import pandas as pd

# Scales as the datasets' papers state them.
NOMINAL_RANGES = {"agiqa1k": (0.0, 5.0), "agiqa3k": (0.0, 5.0), "aigciqa2023": (0.0, 100.0), "aigiqa20k": (0.0, 5.0)}


def rescale(values, source_range: tuple[float, float], target_range: tuple[float, float]) -> np.ndarray:
    """Linear map of ``values`` from [c, d] onto [a, b] (DLSR eq. 1)."""
    (c, d), (a, b) = source_range, target_range
    if d == c:
        raise ValueError(f"empty source range [{c}, {d}]")
    return (b - a) * (np.asarray(values, dtype=float) - c) / (d - c) + a


def label_range(df: pd.DataFrame, label: str, kind: str = "nominal") -> tuple[float, float]:
    """The scale of a dataset's label: the paper's nominal one, or the empirical min/max of the column."""
    if kind == "nominal":
        return NOMINAL_RANGES[df.attrs["dataset"]]
    if kind == "empirical":
        return float(df[label].min()), float(df[label].max())
    raise ValueError(f"range kind must be 'nominal' or 'empirical', got {kind!r}")


def rescale_to(df: pd.DataFrame, label: str, reference: pd.DataFrame, reference_label: str | None = None,
               kind: str = "nominal") -> np.ndarray:
    """``df[label]`` expressed on the scale of ``reference[reference_label]`` (e.g. AIGCIQA2023 → AGIQA-3K)."""
    return rescale(df[label], label_range(df, label, kind), label_range(reference, reference_label or label, kind))
