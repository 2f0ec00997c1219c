"""The train and test frames a benchmark adapter gets, turned into what the methods' protocols take (one frame of
both sides and a train/test Series, ``tfagiqa.data.splits``' form), and an adapter's answer.

The protocols of the run scripts split one dataset frame by a side Series; the benchmark hands adapters the two
sides instead, so that every method provably sees the same test rows. :func:`joined` rebuilds the protocols' input
without changing a row: the training rows, then the test rows in their order, so that what a protocol computes
for ``df[side == "test"]`` is in ``test``'s row order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tfagiqa.data import schema, splits
from tfagiqa.errors import DataError


def joined(train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """(train rows then test rows in one frame, its train/test Series); an image on both sides is an error."""
    overlap = set(train[schema.IMAGE]) & set(test[schema.IMAGE])
    if overlap:
        raise DataError(f"{len(overlap)} image(s) are on both sides of the split, e.g. {sorted(overlap)[0]}")
    df = pd.concat([train, test], ignore_index=True)
    df.attrs.update(train.attrs)
    side = pd.Series([splits.TRAIN] * len(train) + [splits.TEST] * len(test), index=df.index)
    return df, side


def result(predictions, weights: str, backbone: str, notes: str, selection: str) -> dict:
    """An adapter's answer (the contract is in :mod:`tfagiqa.benchmark.adapters`)."""
    return {"predictions": np.asarray(predictions, dtype=np.float64).reshape(-1), "weights": weights,
            "backbone": backbone, "notes": notes, "selection": selection}
