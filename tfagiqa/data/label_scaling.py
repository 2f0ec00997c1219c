"""Standardising one label column by the training split's mean and std (models fit z-scores; predictions are
mapped back to the label's own scale), with a DataError for a missing column or a NaN label."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tfagiqa.data import schema
from tfagiqa.errors import DataError


@dataclass(frozen=True)
class LabelScaler:
    """z = (label − mean) / std with the training split's moments (std 1 when every label is equal)."""

    label: str
    mean: float
    std: float

    @classmethod
    def fit(cls, train: pd.DataFrame, label: str) -> "LabelScaler":
        if label not in train.columns:
            raise DataError(f"the training split has no {label!r} column")
        values = train[label].to_numpy(dtype=np.float64)
        missing = np.isnan(values)
        if missing.any():
            names = train.loc[missing, schema.NAME].astype(str).head(3).tolist() if schema.NAME in train else []
            raise DataError(f"{int(missing.sum())} training image(s) have no {label!r} label (NaN), e.g. {names}")
        return cls(label, float(values.mean()), float(values.std() or 1.0))

    def transform(self, df: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``df`` whose label column holds z-scores."""
        return df.assign(**{self.label: (df[self.label] - self.mean) / self.std})

    def inverse(self, z) -> np.ndarray:
        """Predicted z-scores → the label's scale, as float64."""
        return np.asarray(z, dtype=np.float64) * self.std + self.mean
