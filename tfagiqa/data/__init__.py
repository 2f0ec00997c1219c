"""Datasets: finding, reading and imitating every registered dataset, splits and input pipelines.

Each dataset is one record of :mod:`tfagiqa.data.registry` (folder, label files, reader, stand-in, labels,
groups). ``load_dataset(name)`` reads an AI-generated-image dataset when its label file is under the data root
and otherwise the deterministic synthetic stand-in written in the same layout (``<data-root>/synthetic/``), so
the same code runs everywhere; ``df.attrs["data"]`` says which ("real" or "synthetic"). ``load_nriqa(name)``
does the same for the NR-IQA datasets.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from tfagiqa.data import registry
from tfagiqa.data.agiqa1k import read_agiqa1k
from tfagiqa.data.agiqa3k import read_agiqa3k
from tfagiqa.data.aigciqa2023 import read_aigciqa2023
from tfagiqa.data.aigiqa20k import read_aigiqa20k
from tfagiqa.errors import DataError

# Views of the registry's AI-generated-image records, by name (the readers that take require_images= and on_error=).
READERS = {r.name: r.reader for r in registry.records(registry.AIGC)}
DIRNAMES = {r.name: r.folder for r in registry.records(registry.AIGC)}
LABEL_FILES = {r.name: r.label_files[0] for r in registry.records(registry.AIGC)}
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
    """Return ``name`` if it is a registered dataset, else raise a DataError listing the registered ones."""
    return registry.get(name).name


def real_dir(name: str, data_root: str | Path | None = None) -> Path | None:
    """The real dataset's folder if one of its label files is present under the data root, else None."""
    folder = Path(data_root or default_data_root()) / registry.get(name).folder
    return folder if registry.get(name).label_file_in(folder) else None


def resolve_dataset_dir(name: str, data_root: str | Path | None = None, synthetic: str = "auto",
                        n: int | None = None, seed: int = 0) -> Path:
    """The folder to read: the real dataset, or (``synthetic="auto"`` when absent, or ``"always"``) the stand-in."""
    if synthetic not in ("auto", "always", "never"):
        raise DataError(f"synthetic must be auto, always or never, got {synthetic!r}")
    record = registry.get(name)
    data_root = Path(data_root or default_data_root())
    if data_root.exists() and not data_root.is_dir():
        raise DataError(f"the data root {data_root} is a file; give the folder that holds the datasets")
    real = real_dir(name, data_root)
    if synthetic != "always" and real is not None:
        return real
    if synthetic == "never":
        raise DataError(
            f"{name}: no real dataset at {data_root / record.folder} (looked for {' or '.join(record.label_files)}). "
            "See datasets/README.md for where to download it and how to lay it out."
        )
    from tfagiqa.data.synthetic import ensure_synthetic

    return ensure_synthetic(name, data_root / SYNTHETIC_DIR, n=n, seed=seed)


def locate_dataset(name: str, path: str | Path) -> Path:
    """A user-given folder: the dataset folder itself, or a data root holding it (real first, then synthetic)."""
    record = registry.get(name)
    path = Path(path)
    candidates = (path, path / record.folder, path / SYNTHETIC_DIR / record.folder)
    for folder in candidates:
        if record.label_file_in(folder):
            return folder
    raise DataError(
        f"{name}: no {' or '.join(record.label_files)} in {', '.join(map(str, candidates[:2]))} or {candidates[2]}. "
        "See datasets/README.md for the expected layout."
    )


def load_dataset(name: str, data_root: str | Path | None = None, *, synthetic: str = "auto",
                 require_images: bool = True, on_error: str = "raise", **reader_kwargs) -> pd.DataFrame:
    """Read an AI-generated-image dataset into canonical columns (``tfagiqa.data.schema``); real when present,
    else synthetic."""
    if registry.get(name).kind != registry.AIGC:
        raise DataError(f"{name} is an NR-IQA dataset: read it with tfagiqa.data.load_nriqa({name!r})")
    folder = resolve_dataset_dir(name, data_root, synthetic)
    return READERS[name](folder, require_images=require_images, on_error=on_error, **reader_kwargs)


def load_nriqa(name: str, data_root: str | Path | None = None, synthetic: str = "auto", n: int | None = None,
               seed: int = 0) -> pd.DataFrame:
    """One NR-IQA dataset (``registry.names(registry.NRIQA)``): the real one under ``<data_root>/<folder>`` when
    its label file is there, else the synthetic stand-in of ``n`` images (48 by default), written on first use to
    ``<data_root>/synthetic/<folder>``."""
    record = registry.get(name)
    if record.kind != registry.NRIQA:
        raise DataError(f"{name} is not an NR-IQA dataset: read it with tfagiqa.data.load_dataset({name!r})")
    return record.reader(resolve_dataset_dir(name, data_root, synthetic, n=n, seed=seed))


__all__ = ["READERS", "DIRNAMES", "LABEL_FILES", "default_data_root", "load_dataset", "load_nriqa", "locate_dataset",
           "real_dir", "registry", "resolve_dataset_dir", "read_agiqa1k", "read_agiqa3k", "read_aigciqa2023",
           "read_aigiqa20k"]
