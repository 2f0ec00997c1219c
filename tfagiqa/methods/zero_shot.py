"""Scoring a dataset split with a catalogue scorer, for the benchmark adapters of zero-shot methods (nothing is
fitted: the test rows are scored through the scorer's fixed views, as ``tfagiqa score`` would score them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tfagiqa.data import schema
from tfagiqa.errors import DataError


def score_frame(model, df: pd.DataFrame, output: str, views: dict | None = None, batch_size: int = 16) -> np.ndarray:
    """float32 [len(df)] scores ``output`` of ``model`` (a catalogue scorer) on ``df``'s images (+ prompts when the
    scorer reads them), in row order; an unreadable image is a DataError naming it."""
    from tfagiqa.scorer import Scorer

    scorer = Scorer.from_keras(model, {"views": views or {"crop": "resize"}})
    prompts = df[schema.PROMPT].astype(str).tolist() if scorer.needs_prompt else None
    scores = np.full(len(df), np.nan, dtype=np.float32)
    for row, values, error in scorer.score_files(df[schema.IMAGE].astype(str).tolist(), prompts, batch_size):
        if error:
            raise DataError(f"cannot score {df[schema.IMAGE].iloc[row]}: {error}")
        scores[row] = values[output]
    return scores
