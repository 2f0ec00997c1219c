"""Shared fixtures: the real label files beside the checkout (../shared/data), skipped with a reason when absent."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder with the official AGIQA-1K/3K label files; skips the test when it is not beside the checkout."""
    if not (SHARED_DATA / "agiqa3k_data.csv").is_file():
        pytest.skip(f"real label files not found at {SHARED_DATA} (only present in the project's CI layout)")
    return SHARED_DATA
