"""Dataset readers for the four AGIQA benchmarks, their synthetic stand-ins, splits and input pipelines.

``load_dataset(name)`` reads the real dataset when its label file is under the data root and otherwise
the deterministic synthetic stand-in written in the same layout (``<data-root>/synthetic/``), so the
same code runs everywhere; ``df.attrs["data"]`` says which ("real" or "synthetic").
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from tfagiqa.data.agiqa1k import read_agiqa1k
from tfagiqa.data.agiqa3k import read_agiqa3k
from tfagiqa.data.aigciqa2023 import read_aigciqa2023
from tfagiqa.data.aigiqa20k import read_aigiqa20k
from tfagiqa.errors import DataError

READERS = {
    "agiqa1k": read_agiqa1k,
    "agiqa3k": read_agiqa3k,
    "aigciqa2023": read_aigciqa2023,
    "aigiqa20k": read_aigiqa20k,
}
DIRNAMES = {"agiqa1k": "AGIQA-1K", "agiqa3k": "AGIQA-3K", "aigciqa2023": "AIGCIQA2023", "aigiqa20k": "AIGIQA-20K"}
LABEL_FILES = {
    "agiqa1k": "AIGC_MOS_Zscore.xlsx",
    "agiqa3k": "data.csv",
    "aigciqa2023": "DATA/MOS/mosz1.mat",
    "aigiqa20k": "info_train.xlsx",
}
SYNTHETIC_DIR = "synthetic"


def default_data_root() -> Path:
    """``$TFAGIQA_DATA_ROOT``, else the checkout's ``datasets/`` folder, else ``./datasets``."""
    if os.environ.get("TFAGIQA_DATA_ROOT"):
        return Path(os.environ["TFAGIQA_DATA_ROOT"])
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "setup.cfg").is_file():
        return checkout / "datasets"
    return Path("datasets").resolve()


def check_name(name: str) -> str:
    """Return ``name`` if it is a known dataset, else raise a DataError listing the known ones."""
    if name not in READERS:
        raise DataError(f"unknown dataset {name!r}; choose from {sorted(READERS)}")
    return name


def real_dir(name: str, data_root: str | Path | None = None) -> Path | None:
    """The real dataset's folder if its label file is present under the data root, else None."""
    folder = Path(data_root or default_data_root()) / DIRNAMES[check_name(name)]
    return folder if (folder / LABEL_FILES[name]).is_file() else None


def resolve_dataset_dir(name: str, data_root: str | Path | None = None, synthetic: str = "auto",
                        n: int | None = None, seed: int = 0) -> Path:
    """The folder to read: the real dataset, or (``synthetic="auto"`` when absent, or ``"always"``) the stand-in."""
    if synthetic not in ("auto", "always", "never"):
        raise ValueError(f"synthetic must be auto, always or never, got {synthetic!r}")
    data_root = Path(data_root or default_data_root())
    real = real_dir(name, data_root)
    if synthetic != "always" and real is not None:
        return real
    if synthetic == "never":
        raise DataError(
            f"{name}: no real dataset at {data_root / DIRNAMES[name]} (looked for {LABEL_FILES[name]}). "
            "See datasets/README.md for where to download it and how to lay it out."
        )
    from tfagiqa.data.synthetic import ensure_synthetic

    return ensure_synthetic(name, data_root / SYNTHETIC_DIR, n=n, seed=seed)


def locate_dataset(name: str, path: str | Path) -> Path:
    """A user-given folder: the dataset folder itself, or a data root holding it (real first, then synthetic)."""
    path = Path(path)
    for folder in (path, path / DIRNAMES[check_name(name)], path / SYNTHETIC_DIR / DIRNAMES[name]):
        if (folder / LABEL_FILES[name]).is_file():
            return folder
    raise DataError(
        f"{name}: no {LABEL_FILES[name]} in {path}, {path / DIRNAMES[name]} or {path / SYNTHETIC_DIR / DIRNAMES[name]}. "
        "See datasets/README.md for the expected layout."
    )


def load_dataset(name: str, data_root: str | Path | None = None, *, synthetic: str = "auto",
                 require_images: bool = True, on_error: str = "raise", **reader_kwargs) -> pd.DataFrame:
    """Read a benchmark into canonical columns (see ``tfagiqa.data.schema``); real when present, else synthetic."""
    folder = resolve_dataset_dir(name, data_root, synthetic)
    return READERS[name](folder, require_images=require_images, on_error=on_error, **reader_kwargs)


__all__ = ["READERS", "DIRNAMES", "default_data_root", "load_dataset", "locate_dataset", "real_dir", "resolve_dataset_dir",
           "read_agiqa1k", "read_agiqa3k", "read_aigciqa2023", "read_aigiqa20k"]
