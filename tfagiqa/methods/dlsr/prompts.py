"""Prompt features as DLSR uses them: the Keras Tokenizer's modern equivalent, and StairReward's Split()."""

from __future__ import annotations

import re

import keras
import pandas as pd

NONE_MORPHEME = "none"
PREPOSITIONS = ("in", "on", "at", "with", "of", "under", "over", "by", "from", "near", "behind", "above", "below",
                "inside", "into", "through", "beside", "between", "without", "for", "to")
SPLIT_PATTERN = re.compile(r"\s*[,.;:!?]\s*|\s+(?=(?:" + "|".join(PREPOSITIONS) + r")\b)", re.IGNORECASE)


def prompt_vectorizer(prompts, max_tokens: int = 5000, sequence_length: int = 32) -> keras.layers.TextVectorization:
    """A TextVectorization layer (word vocabulary → integer ids, padded) adapted on the training prompts.

    It replaces the paper's ``keras.preprocessing.text.Tokenizer`` and lives inside the model, so a saved model
    takes raw prompt strings.
    """
    layer = keras.layers.TextVectorization(
        max_tokens=max_tokens, output_sequence_length=sequence_length, name="prompt_tokens"
    )
    layer.adapt(list(prompts))
    return layer


def split_prompt(prompt: str, k: int = 3) -> list[str]:
    """StairReward's Split(): cut at punctuation and before prepositions; keep K pieces, padded with ``none``."""
    pieces = [p.strip() for p in SPLIT_PATTERN.split(prompt) if p and p.strip()]
    return (pieces[:k] + [NONE_MORPHEME] * k)[:k]


def morphemes(df: pd.DataFrame, k: int = 3) -> list[list[str]]:
    """Per row, the K morphemes p1..pK: AGIQA-3K's adj1, adj2, style fields (``none`` when empty, as DLSR does),
    otherwise Split() of the prompt."""
    if {"adj1", "adj2", "style"} <= set(df.columns) and k == 3:
        fields = df[["adj1", "adj2", "style"]].astype(object)
        return [[v.strip() if isinstance(v, str) and v.strip() else NONE_MORPHEME for v in row] for row in fields.itertuples(index=False)]
    return [split_prompt(p, k) for p in df["prompt"]]
