"""The papers' evaluation subsets: T2I model groups, prompt length and style groups (AGIQA-3K paper, DLSR §III-D)."""

from __future__ import annotations

import pandas as pd

from tfagiqa.data import schema

STYLE_GROUPS = {
    "abstract style": "Abstract&Sci-fi",
    "sci-fi style": "Abstract&Sci-fi",
    "anime style": "Anime&Realistic",
    "realistic style": "Anime&Realistic",
    "baroque style": "Baroque",
}
NO_STYLE = "None"
SUBSET_COLUMNS = {
    "t2i": schema.T2I_GROUP,
    "prompt_length": schema.PROMPT_LENGTH,
    "style": schema.STYLE_GROUP,
}
SUBSET_ORDER = {
    schema.T2I_GROUP: ["bad", "medium", "good"],
    schema.PROMPT_LENGTH: [0, 1, 2, 3],
    schema.STYLE_GROUP: ["Abstract&Sci-fi", "Anime&Realistic", "Baroque", NO_STYLE],
}


def t2i_group(generator: str) -> str | None:
    """bad / medium / good for the AGIQA-3K paper's generators, None for any other generator."""
    return schema.T2I_GROUPS.get(generator)


def style_group(style) -> str:
    """Map an AGIQA-3K style string (or NaN) to its style subset."""
    if not isinstance(style, str) or not style.strip():
        return NO_STYLE
    return STYLE_GROUPS.get(style.strip().lower(), NO_STYLE)


def prompt_length(adj1, adj2, style) -> int:
    """Number of non-empty optional fields, which equals the number of commas in an AGIQA-3K prompt."""
    return sum(isinstance(v, str) and bool(v.strip()) for v in (adj1, adj2, style))


def subset_mask(df: pd.DataFrame, column: str, value) -> pd.Series:
    """Rows of one subset (e.g. column='t2i_group', value='bad')."""
    return df[column] == value
