"""AGIQA-1K reader: ``AIGC_MOS_Zscore.xlsx`` (Image, Prompt, MOS) + JPEG images; one MOS mixing quality and alignment."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from tfagiqa.data import labels, schema
from tfagiqa.errors import DataError

DIRNAME = "AGIQA-1K"
LABEL_FILE = "AIGC_MOS_Zscore.xlsx"
IMAGE_DIRS = ("images", "file", "AGIQA-1K")
COLUMNS = ["Image", "Prompt", "MOS"]
NAME_PATTERN = re.compile(r"(deepai|dreamStudio)_(\d+)_(\d+)_(\d+)_(\d+)\.jpg", re.IGNORECASE)
# The official xlsx lists this name twice (rows 1080 and 1081, different MOS); IP-IQA reads both rows.
KNOWN_DUPLICATES = frozenset({"dreamStudio_8_9_1_1.jpg"})
HINT = (
    "Get AIGC_MOS_Zscore.xlsx from github.com/lcysyzxdxc/AGIQA-1k-Database and the images from the link in its "
    f"README; put them as <data-root>/{DIRNAME}/{LABEL_FILE} and <data-root>/{DIRNAME}/images/*.jpg."
)


def object_group(name: str) -> str:
    """The (main, second) object pair of an AGIQA-1K file, with dreamStudio's indices remapped onto deepai's.

    IP-IQA's ``agiqa1k_split_fn``: for dreamStudio, main += 1 when main > 5 and second += 5; this gives 180 groups.
    """
    match = NAME_PATTERN.fullmatch(name)
    if match is None:
        raise DataError(f"AGIQA-1K image name {name!r} is not {{deepai|dreamStudio}}_M_S_P_T.jpg")
    generator, main, second = match.group(1).lower(), int(match.group(2)), int(match.group(3))
    if generator == "dreamstudio":
        main = main + 1 if main > 5 else main
        second += 5
    return f"{main}_{second}"


def read_agiqa1k(dataset_dir: str | Path, *, require_images: bool = True, on_error: str = "raise") -> pd.DataFrame:
    """Read AGIQA-1K into canonical columns; its single MOS is the ``overall`` label."""
    dataset_dir = Path(dataset_dir)
    source = labels.require_file(dataset_dir / LABEL_FILE, "AGIQA-1K", HINT)
    raw = labels.read_excel(source)
    labels.require_columns(raw, COLUMNS, source)
    labels.require_rows(raw, source)
    names, problems = labels.text_cells(raw["Image"], "image name")
    for i, name in enumerate(names):
        if name and NAME_PATTERN.fullmatch(name) is None:
            problems[i] = f"image name {name!r} is not {{deepai|dreamStudio}}_M_S_P_T.jpg"
    image_dir = labels.find_image_dir(dataset_dir, IMAGE_DIRS, "AGIQA-1K") if require_images else dataset_dir / IMAGE_DIRS[0]
    df = pd.DataFrame({
        schema.IMAGE: [str(image_dir / n) for n in names],
        schema.NAME: names,
        schema.PROMPT: raw["Prompt"].fillna("").astype(str),
        schema.GENERATOR: [schema.harmonise_generator(n.split("_")[0]) for n in names],
        schema.GROUP: [object_group(n) if i not in problems else "" for i, n in enumerate(names)],
        schema.OVERALL: labels.numbers(raw["MOS"]),
    })
    df = labels.finish(df, "agiqa1k", dataset_dir)
    return labels.validate(df, source, on_error, require_images, known_duplicates=KNOWN_DUPLICATES,
                           rows=raw.attrs["rows"], problems=problems, cells={schema.OVERALL: raw["MOS"]})
