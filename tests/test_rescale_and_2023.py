"""DLSR eq. 1 label rescaling, and AIGCIQA2023's image-index rule on its synthetic stand-in."""

import numpy as np
import pandas as pd
import pytest

from tfagiqa.data import read_aigciqa2023
from tfagiqa.data.rescale import label_range, rescale, rescale_to
from tfagiqa.data.synthetic import write_synthetic


def test_eq1_by_hand():
    # [c, d] = [0, 100] onto [a, b] = [0, 5]: 50 → 2.5; [20, 80] onto [1, 4]: 50 → 2.5, 20 → 1, 80 → 4
    np.testing.assert_allclose(rescale([0, 50, 100], (0, 100), (0, 5)), [0, 2.5, 5])
    np.testing.assert_allclose(rescale([20, 50, 80], (20, 80), (1, 4)), [1, 2.5, 4])
    with pytest.raises(ValueError):
        rescale([1], (3, 3), (0, 1))


def test_nominal_and_empirical_ranges():
    source = pd.DataFrame({"quality": [30.0, 40.0, 70.0]})
    source.attrs["dataset"] = "aigciqa2023"
    target = pd.DataFrame({"quality": [0.5, 4.5]})
    target.attrs["dataset"] = "agiqa3k"
    assert label_range(source, "quality") == (0.0, 100.0)
    np.testing.assert_allclose(rescale_to(source, "quality", target), [1.5, 2.0, 3.5])
    np.testing.assert_allclose(rescale_to(source, "quality", target, kind="empirical"), [0.5, 1.5, 4.5])


def test_aigciqa2023_index_rule(tmp_path):
    df = read_aigciqa2023(write_synthetic("aigciqa2023", tmp_path / "AIGCIQA2023", n=48))
    n_prompts = len(df) // 24
    order = ["controlnet", "dalle2", "glide", "lafite", "stable-diffusion", "unidiffuser"]
    for i in (0, 5, 4 * n_prompts, len(df) - 1):
        row = df.iloc[i]
        assert row["name"] == f"{i}.png"
        assert row["generator"] == order[i // (4 * n_prompts)]
        assert row["prompt_id"] == (i % (4 * n_prompts)) // 4
    assert (df.groupby("group")["prompt"].nunique() == 1).all() and df["group"].nunique() == n_prompts
    assert set(df["t2i_group"].dropna()) == {"bad", "medium"}
    assert {"quality", "authenticity", "alignment", "quality_std"} <= set(df.columns)
