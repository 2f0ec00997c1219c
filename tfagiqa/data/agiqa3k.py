"""AGIQA-3K reader: ``data.csv`` + JPEG images; quality and alignment MOS with their std."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from tfagiqa.data import labels, schema, subsets

DIRNAME = "AGIQA-3K"
LABEL_FILE = "data.csv"
IMAGE_DIRS = ("images", "AGIQA-3K", "image")
COLUMNS = ["name", "prompt", "adj1", "adj2", "style", "mos_quality", "std_quality", "mos_align", "std_align"]
NAME_PATTERN = re.compile(r"[A-Za-z0-9.\-]+_[A-Za-z0-9]+_\d+\.\w+")
HINT = (
    "Get data.csv from github.com/lcysyzxdxc/AGIQA-3k-Database and the images from the link in its README; "
    f"put them as <data-root>/{DIRNAME}/{LABEL_FILE} and <data-root>/{DIRNAME}/images/*.jpg."
)


def parse_name(name: str) -> tuple[str, str, int]:
    """``{model}_{variant}_{NNN}.jpg`` → (model, variant, prompt id)."""
    stem = Path(name).stem
    model, variant, pid = stem.rsplit("_", 2)
    return model, variant, int(pid)


def read_agiqa3k(dataset_dir: str | Path, *, require_images: bool = True, on_error: str = "raise") -> pd.DataFrame:
    """Read AGIQA-3K into canonical columns; the group is the prompt id (0–299), as IP-IQA splits it."""
    dataset_dir = Path(dataset_dir)
    source = labels.require_file(dataset_dir / LABEL_FILE, "AGIQA-3K", HINT)
    raw = labels.read_csv(source)
    labels.require_columns(raw, COLUMNS, source)
    labels.require_rows(raw, source)
    names, problems = labels.text_cells(raw["name"], "image name")
    for i, name in enumerate(names):
        if name and NAME_PATTERN.fullmatch(name) is None:
            problems[i] = f"name {name!r} is not model_variant_NNN.jpg"
    parts = [parse_name(n) if i not in problems else ("", "", -1) for i, n in enumerate(names)]
    image_dir = labels.find_image_dir(dataset_dir, IMAGE_DIRS, "AGIQA-3K") if require_images else dataset_dir / IMAGE_DIRS[0]
    df = pd.DataFrame({
        schema.IMAGE: [str(image_dir / n) for n in names],
        schema.NAME: names,
        schema.PROMPT: raw["prompt"].fillna("").astype(str),
        schema.GENERATOR: [schema.harmonise_generator(m) for m, _, _ in parts],
        "variant": [v for _, v, _ in parts],
        "prompt_id": [p for _, _, p in parts],
        schema.GROUP: [f"prompt{p:03d}" for _, _, p in parts],
        "adj1": raw["adj1"], "adj2": raw["adj2"], "style": raw["style"],
        schema.QUALITY: labels.numbers(raw["mos_quality"]),
        f"{schema.QUALITY}_std": labels.numbers(raw["std_quality"]),
        schema.ALIGNMENT: labels.numbers(raw["mos_align"]),
        f"{schema.ALIGNMENT}_std": labels.numbers(raw["std_align"]),
    })
    df[schema.T2I_GROUP] = df[schema.GENERATOR].map(subsets.t2i_group)
    df[schema.PROMPT_LENGTH] = [subsets.prompt_length(a, b, s) for a, b, s in zip(raw["adj1"], raw["adj2"], raw["style"])]
    df[schema.STYLE_GROUP] = raw["style"].map(subsets.style_group)
    df = labels.finish(df, "agiqa3k", dataset_dir)
    cells = {schema.QUALITY: raw["mos_quality"], schema.ALIGNMENT: raw["mos_align"],
             f"{schema.QUALITY}_std": raw["std_quality"], f"{schema.ALIGNMENT}_std": raw["std_align"]}
    return labels.validate(df, source, on_error, require_images, rows=raw.attrs["rows"], problems=problems,
                           cells=cells)
