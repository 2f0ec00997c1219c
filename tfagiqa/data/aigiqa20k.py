"""AIGIQA-20K (NTIRE 2024 AIGCQA-30K-Image) reader: ``info_{train,val,test}.xlsx`` + PNG images."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tfagiqa.data import labels, schema
from tfagiqa.errors import DataError

DIRNAME = "AIGIQA-20K"
SPLITS = ("train", "val", "test")
HINT = (
    "Get AIGIQA-20K (NTIRE 2024 AIGC quality track, ModelScope lcysyzxdxc/AIGCQA-30K-Image) and unpack it as "
    f"<data-root>/{DIRNAME}/info_train.xlsx, info_val.xlsx, info_test.xlsx with the images in "
    f"<data-root>/{DIRNAME}/train/, val/ and test/."
)


def generator_of(name: str) -> str:
    """``{Generator}_{NNNN}.png`` → harmonised generator (SD1.5 is the shared stable-diffusion)."""
    raw = Path(name).stem.rsplit("_", 1)[0]
    return "stable-diffusion" if raw.lower() == "sd1.5" else schema.harmonise_generator(raw)


def read_split(dataset_dir: Path, split: str, require_images: bool, on_error: str) -> pd.DataFrame:
    """One official split; only train carries the MOS (the ``overall`` label)."""
    source = labels.require_file(dataset_dir / f"info_{split}.xlsx", "AIGIQA-20K", HINT)
    raw = labels.read_excel(source)
    columns = ["name", "prompt", "mos"] if split == "train" else ["name", "prompt"]
    labels.require_columns(raw, columns, source)
    labels.require_rows(raw, source)
    image_dir = dataset_dir / split
    if require_images:
        image_dir = labels.find_image_dir(dataset_dir, (split,), "AIGIQA-20K")
    names, problems = labels.text_cells(raw["name"], "image name")
    df = pd.DataFrame({
        schema.IMAGE: [str(image_dir / n) for n in names],
        schema.NAME: names,
        schema.PROMPT: raw["prompt"].fillna("").astype(str),
        schema.GENERATOR: [generator_of(n) for n in names],
        "official_split": split,
    })
    cells = {}
    if split == "train":
        df[schema.OVERALL] = labels.numbers(raw["mos"])
        cells[schema.OVERALL] = raw["mos"]
    df = labels.finish(df, "aigiqa20k", dataset_dir)
    return labels.validate(df, source, on_error, require_images, rows=raw.attrs["rows"], problems=problems,
                           cells=cells)


def present_splits(dataset_dir: str | Path) -> tuple[str, ...]:
    """train, plus val and test where their label files exist: what a full check of the folder reads."""
    return ("train", *(s for s in SPLITS[1:] if (Path(dataset_dir) / f"info_{s}.xlsx").exists()))


def read_aigiqa20k(
    dataset_dir: str | Path, *, splits: tuple[str, ...] = ("train",), require_images: bool = True, on_error: str = "raise"
) -> pd.DataFrame:
    """Read the requested official splits (default: the 14,000 labelled train images); groups are prompts."""
    dataset_dir = Path(dataset_dir)
    unknown = set(splits) - set(SPLITS)
    if unknown:
        raise DataError(f"unknown AIGIQA-20K split(s) {sorted(unknown)}; choose from {SPLITS}")
    parts = [read_split(dataset_dir, s, require_images, on_error) for s in splits]
    df = pd.concat(parts, ignore_index=True)
    df.attrs.update(parts[0].attrs)
    df.attrs["skipped"] = [s for p in parts for s in p.attrs["skipped"]]
    df.attrs["notes"] = [n for p in parts for n in p.attrs["notes"]]
    codes = {p: i for i, p in enumerate(pd.unique(df[schema.PROMPT]))}
    df[schema.GROUP] = [f"prompt{codes[p]:05d}" for p in df[schema.PROMPT]]
    return df
