"""Shared fixtures: the real label files beside the checkout (../shared/data), skipped with a reason when absent;
small synthetic datasets of every layout; the hypothesis profiles.

Hypothesis profiles: ``default`` (few examples, for the 15-minute suite; derandomised, so that every run of the
suite, CI's included, draws the same examples) and ``thorough`` (many, freshly drawn each run, failures kept in
``.pytest_cache/hypothesis`` and replayed first), selected with ``pytest --hypothesis-profile=thorough``. Property tests scale their own example counts with :func:`examples`.
"""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
AGIQA_BENCHMARKS = ("agiqa1k", "agiqa3k", "aigciqa2023", "aigiqa20k")  # the four sets the papers evaluate on


def _synthetic_dirs() -> dict[str, str]:
    """Each AGIQA benchmark's folder name, as the dataset registry gives it (imported after the TF env settings)."""
    from tfagiqa.data import DIRNAMES

    return {name: DIRNAMES[name] for name in AGIQA_BENCHMARKS}


SYNTHETIC_DIRS = _synthetic_dirs()
SYNTHETIC_N = 24

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]}
settings.register_profile("default", max_examples=10, database=None, derandomize=True, **_COMMON)
settings.register_profile("thorough", max_examples=400,
                          database=DirectoryBasedExampleDatabase(ROOT / ".pytest_cache" / "hypothesis"), **_COMMON)
settings.load_profile("default")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder with the official AGIQA-1K/3K label files; skips the test when it is not beside the checkout."""
    if not (SHARED_DATA / "agiqa3k_data.csv").is_file():
        pytest.skip(f"real label files not found at {SHARED_DATA} (only present in the project's CI layout)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """A data root with a small synthetic stand-in of every layout (SYNTHETIC_DIRS), written once per session."""
    from tfagiqa.data.synthetic import write_synthetic

    root = tmp_path_factory.mktemp("synthetic_layouts")
    for layout, dirname in SYNTHETIC_DIRS.items():
        write_synthetic(layout, root / dirname, n=SYNTHETIC_N)
    return root


@pytest.fixture(scope="session")
def tiny_savedmodels(tmp_path_factory) -> dict[str, Path]:
    """Tiny exported SavedModels (random init, tests/test_export.py's structure), built once per session:
    ``perception`` (image → quality, resized view) and ``alignment`` (image + prompt → alignment, 4 fixed crops)."""
    from test_export import CROPS, tiny_scorer
    from tfagiqa.export import export_savedmodel

    root = tmp_path_factory.mktemp("tiny_savedmodels")
    return {"perception": export_savedmodel(tiny_scorer("perception"), root / "perception",
                                            {"name": "tiny-perception", "weights": "random"}),
            "alignment": export_savedmodel(tiny_scorer("alignment"), root / "alignment",
                                           {"name": "tiny-alignment", "weights": "random"}, CROPS)}
