"""AIGCIQA2023 reader: MOS/STD ``.mat`` files, the prompt sheet and ``Image/allimg/{i}.png`` (SPEC §2.3).

Image ``i`` is generator ``i // (4P)``, prompt ``(i % 4P) // 4`` and sample ``i % 4`` for P prompts
(P = 100 in the real dataset: 6 generators × 100 prompts × 4 images = 2,400).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa.data import labels, schema, subsets
from tfagiqa.errors import DataError

DIRNAME = "AIGCIQA2023"
GENERATORS = ("Controlnet", "DALLE", "Glide", "Lafite", "stable-diffusion", "Unidiffuser")
IMAGES_PER_PROMPT = 4
MOS_FILES = {schema.QUALITY: "mosz1.mat", schema.AUTHENTICITY: "mosz2.mat", schema.ALIGNMENT: "mosz3.mat"}
STD_FILES = {schema.QUALITY: "SD1.mat", schema.AUTHENTICITY: "SD2.mat", schema.ALIGNMENT: "SD3.mat"}
PROMPT_FILE = "AIGCIQA2023_Prompts.xlsx"
IMAGE_DIRS = ("Image/allimg",)
BAROQUE_PROMPT_ID = 51  # "... painting in pop art style": DLSR puts it into the Baroque style subset
HINT = (
    "Get AIGCIQA2023 (github.com/wangjiarui153/AIGCIQA2023, or the Hugging Face copy IntMeGroup/AIGCIQA2023) and "
    f"unpack it as <data-root>/{DIRNAME}/ with DATA/MOS/mosz1.mat..mosz3.mat, DATA/STD/SD1.mat..SD3.mat, "
    f"{PROMPT_FILE} and Image/allimg/0.png..2399.png."
)


def read_mat_column(path: Path, key: str) -> tuple[np.ndarray, pd.Series]:
    """One column of values from a MATLAB file: (float64 [N], the cells as read, named ``"<file> <key>"``).

    A missing file or key, an unreadable file or a matrix that is not one column or row is a DataError;
    a cell that is not a number (text, an empty cell of a cell array) is NaN, and ``labels.validate`` quotes it.
    """
    labels.require_file(path, "AIGCIQA2023", HINT)
    return labels.mat_column(path, key)


def read_aigciqa2023(dataset_dir: str | Path, *, require_images: bool = True, on_error: str = "raise") -> pd.DataFrame:
    """Read AIGCIQA2023: quality (mosz1), authenticity (mosz2), alignment = correspondence (mosz3), grouped by prompt."""
    dataset_dir = Path(dataset_dir)
    data = dataset_dir / "DATA"
    mos = {label: read_mat_column(data / "MOS" / f, "MOSz") for label, f in MOS_FILES.items()}
    std = {label: read_mat_column(data / "STD" / f, "SD") for label, f in STD_FILES.items()}
    n = len(mos[schema.QUALITY][0])
    lengths = {f: len(v) for f, v in zip([*MOS_FILES.values(), *STD_FILES.values()],
                                         [*(m for m, _ in mos.values()), *(v for v, _ in std.values())])}
    per_set = len(GENERATORS) * IMAGES_PER_PROMPT
    if len(set(lengths.values())) != 1 or n == 0 or n % per_set:
        raise DataError(
            f"{data}: the MOS/STD files must all have the same length, a positive multiple of {per_set}; "
            f"found {lengths}"
        )
    n_prompts = n // per_set
    prompt_file = labels.require_file(dataset_dir / PROMPT_FILE, "AIGCIQA2023", HINT)
    sheet = labels.read_excel(prompt_file, header=None)
    if sheet.shape[1] < 3 or len(sheet) != n_prompts:
        raise DataError(
            f"{prompt_file}: expected {n_prompts} rows of (category, class, prompt) without a header, "
            f"found {len(sheet)} rows × {sheet.shape[1]} columns"
        )
    index = np.arange(n)
    per_generator = n_prompts * IMAGES_PER_PROMPT
    prompt_id = (index % per_generator) // IMAGES_PER_PROMPT
    image_dir = labels.find_image_dir(dataset_dir, IMAGE_DIRS, "AIGCIQA2023") if require_images else dataset_dir / IMAGE_DIRS[0]
    generators = [schema.harmonise_generator(GENERATORS[g]) for g in index // per_generator]
    df = pd.DataFrame({
        schema.IMAGE: [str(image_dir / f"{i}.png") for i in index],
        schema.NAME: [f"{i}.png" for i in index],
        schema.PROMPT: sheet.iloc[prompt_id, 2].fillna("").astype(str).to_numpy(),
        schema.GENERATOR: generators,
        "prompt_id": prompt_id,
        "category": sheet.iloc[prompt_id, 0].astype(str).to_numpy(),
        schema.GROUP: [f"prompt{p:03d}" for p in prompt_id],
    })
    for label in MOS_FILES:
        df[label] = mos[label][0]
        df[f"{label}_std"] = std[label][0]
    df[schema.T2I_GROUP] = df[schema.GENERATOR].map(subsets.t2i_group)
    df[schema.STYLE_GROUP] = np.where(prompt_id == BAROQUE_PROMPT_ID, "Baroque", subsets.NO_STYLE)
    df = labels.finish(df, "aigciqa2023", dataset_dir)
    cells = {**{label: c for label, (_, c) in mos.items()}, **{f"{label}_std": c for label, (_, c) in std.items()}}
    return labels.validate(df, data / "MOS", on_error, require_images, first_row=0, cells=cells)
