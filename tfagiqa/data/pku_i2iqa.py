"""PKU-I2IQA reader: 1,600 image-to-image generations (Midjourney, Stable Diffusion v1.5) from 200 image prompts.

SF-IQA pre-trains its quality branch on it (SPEC §2.5). Two releases hold it, and both are read:

* **PKU-I2IQA** (github.com/jiquan123/I2IQA; download links in its README)::

      <folder>/I2IQA_annotation.xlsx
      <folder>/Generated_image/All/<Generated_image>
      <folder>/Image_prompt/<Image_prompt>

* **PKU-AIGIQA-4K** (github.com/jiquan123/AIGIQA4K), whose ``I2I`` subset it is::

      <folder>/annotation.xlsx                             (I2I rows, then text-to-image rows)
      <folder>/All/<Generated_image>                       (every image; also read: I2I/Generated_image/All/)
      <folder>/I2I/Image_prompt/<Image_prompt>             (0.jpg .. 199.jpg)

  Only the image-to-image rows are read: those with an ``Image_prompt`` (the text-to-image rows leave it empty;
  the authors' loaders take the first 1,600 rows). How many rows were left out is noted in ``df.attrs["notes"]``.

What is established, and from where:

* file and folder names: the authors' PKU-I2IQA loader (``get_I2IQA_dataloaders``, compiled in
  jiquan123/AIGIQA4K ``PKU-AIGIQA-4K/TIER-4K/dataloader/__pycache__/I2IQA.cpython-310.pyc``: ``I2IQA_annotation.xlsx``,
  ``Generated_image/All``, ``Image_prompt``) and the PKU-AIGIQA-4K loaders and README (``annotation.xlsx``, ``All``,
  ``I2I/Image_prompt``, ``I2I/Generated_image/{All,MJ,SD}``);
* columns, read by name from the first sheet (``pd.read_excel``'s default): ``Generated_image``, ``Image_prompt`` (a
  file name in the image-prompt folder), ``Text_prompt``, and the scores ``MOS_q`` (quality), ``MOS_a``
  (authenticity), ``MOS_c`` (correspondence); a third-party loader reads the same file by position as
  (Image_prompt, Text_prompt, Generated_image, MOS_q, MOS_a, MOS_c), another a CSV export by these names;
* generated file names start with ``MJ_`` or ``SD_`` (the generator; a third-party script splits on ``_``);
* scores on a 0–5 scale: MOS_q spans [0.699, 4.618], mean 3.13, in a third-party dump of the 1,600 rows
  (kguniverse/I2IQA_scripts ``real_scores.json``, 800 per generator).

Not established (no public copy of the label file): the sheet's name (the first sheet is read); whether every row
has a ``Text_prompt`` (the authors' loaders tokenise it for every row, so it is expected; an empty cell is read as
``""``); the rest of the file-name pattern after ``MJ_``/``SD_``; the row order (the authors' loaders take rows in
blocks of four, every fourth row to test). Other layouts (a CSV export, renamed columns) are refused.

Canonical columns: ``quality`` = MOS_q (the only label SF-IQA uses), ``authenticity`` = MOS_a and ``alignment`` =
MOS_c when the file has them; ``group`` = the image prompt (``image_prompt_<stem>``: all generations of one
prompt image stay on one side of a split); ``prompt`` = Text_prompt, or ``""`` where the file gives none (the
column is absent or the cell empty: the image prompt is then the only condition on record); ``image_prompt`` =
the prompt image's path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tfagiqa.data import labels, schema
from tfagiqa.data.images import path_problem
from tfagiqa.errors import DataError

DIRNAME = "PKU-I2IQA"
REQUIRED = ["Generated_image", "Image_prompt", "MOS_q"]
TEXT_PROMPT = "Text_prompt"
IMAGE_PROMPT = "image_prompt"  # the column with the prompt image's path
OPTIONAL_LABELS = {"MOS_a": schema.AUTHENTICITY, "MOS_c": schema.ALIGNMENT}
GENERATORS = {"mj": "midjourney", "sd": "stable-diffusion"}  # file-name prefix → harmonised generator
HINT = (
    "Get PKU-I2IQA from the links in github.com/jiquan123/I2IQA's README and unpack it as "
    f"<data-root>/{DIRNAME}/I2IQA_annotation.xlsx with Generated_image/All/ and Image_prompt/ beside it; or put "
    f"the PKU-AIGIQA-4K release (github.com/jiquan123/AIGIQA4K) there: annotation.xlsx, All/, I2I/Image_prompt/."
)


@dataclass(frozen=True)
class Release:
    """One of the two releases' folder layouts."""

    title: str
    label_file: str
    image_dirs: tuple[str, ...]
    prompt_dirs: tuple[str, ...]
    mixed: bool  # holds text-to-image rows too (left out)


RELEASES = (
    Release("PKU-I2IQA", "I2IQA_annotation.xlsx", ("Generated_image/All",), ("Image_prompt",), mixed=False),
    Release("PKU-AIGIQA-4K", "annotation.xlsx", ("All", "I2I/Generated_image/All"), ("I2I/Image_prompt",), mixed=True),
)
LABEL_FILES = tuple(release.label_file for release in RELEASES)


def release_of(dataset_dir: Path) -> Release:
    """The release whose label file is in ``dataset_dir``; a DataError naming both layouts when neither is."""
    for release in RELEASES:
        if (dataset_dir / release.label_file).is_file():
            return release
    found = "it does not exist"
    if dataset_dir.is_dir():
        found = f"it has {sorted(p.name for p in dataset_dir.iterdir())[:12]}"
    raise DataError(
        f"PKU-I2IQA: {dataset_dir} holds neither I2IQA_annotation.xlsx (the PKU-I2IQA release) nor annotation.xlsx "
        f"(PKU-AIGIQA-4K, whose I2I subset is PKU-I2IQA); {found}. Only these two layouts are read (a CSV export "
        f"or renamed files are not).\n{HINT}\nSee datasets/README.md for the folder layout."
    )


def generator_of(name: str) -> str | None:
    """``MJ_…`` → midjourney, ``SD_…`` → stable-diffusion (v1.5, as AGIQA-3K's sd1.5); None for anything else."""
    return GENERATORS.get(name.split("_", 1)[0].lower()) if "_" in name else None


def read_pku_i2iqa(dataset_dir: str | Path, *, require_images: bool = True, on_error: str = "raise") -> pd.DataFrame:
    """Read PKU-I2IQA (either release) into canonical columns; see the module docstring for the columns."""
    dataset_dir = Path(dataset_dir)
    release = release_of(dataset_dir)
    source = dataset_dir / release.label_file
    raw = labels.read_excel(source)
    labels.require_columns(raw, REQUIRED, source)
    raw, notes = _image_to_image_rows(raw, release) if release.mixed else (raw, [])
    labels.require_rows(raw, source)
    names, problems = labels.text_cells(raw["Generated_image"], "generated image name")
    prompt_names, prompt_problems = labels.text_cells(raw["Image_prompt"], "image prompt")
    for i, problem in prompt_problems.items():
        problems.setdefault(i, problem)
    for i, name in enumerate(names):
        if name and generator_of(name) is None:
            problems.setdefault(i, f"generated image name {name!r} does not start with MJ_ or SD_")
    image_dir, prompt_dir = _folders(dataset_dir, release, require_images)
    prompts = raw[TEXT_PROMPT].fillna("").astype(str) if TEXT_PROMPT in raw.columns else ""
    df = pd.DataFrame({
        schema.IMAGE: [str(image_dir / n) for n in names],
        schema.NAME: names,
        schema.PROMPT: prompts,
        schema.GENERATOR: [generator_of(n) or "" for n in names],
        schema.GROUP: [f"image_prompt_{Path(p).stem}" if p else "" for p in prompt_names],
        IMAGE_PROMPT: [str(prompt_dir / p) if p else "" for p in prompt_names],
        schema.QUALITY: labels.numbers(raw["MOS_q"]),
    })
    cells = {schema.QUALITY: raw["MOS_q"]}
    for column, label in OPTIONAL_LABELS.items():
        if column in raw.columns:
            df[label] = labels.numbers(raw[column])
            cells[label] = raw[column]
    if require_images:
        for i, path in enumerate(df[IMAGE_PROMPT]):
            if path and i not in problems and (problem := path_problem(path)):
                problems[i] = f"image prompt {path}: {problem}"
    df = labels.finish(df, "pku_i2iqa", dataset_dir)
    df = labels.validate(df, source, on_error, require_images, rows=raw.attrs["rows"], problems=problems,
                         cells=cells, allow_empty_prompt=True)
    df.attrs["notes"] = notes + df.attrs["notes"]
    df.attrs["release"] = release.title
    return df


def _image_to_image_rows(raw: pd.DataFrame, release: Release) -> tuple[pd.DataFrame, list[str]]:
    """The rows with an image prompt (PKU-AIGIQA-4K's I2I subset), their file row numbers kept, and a note
    saying how many text-to-image rows were left out."""
    is_i2i = [bool(cell) for cell in labels.text_cells(raw["Image_prompt"], "image prompt")[0]]
    out = raw[is_i2i].reset_index(drop=True)
    out.attrs.update(raw.attrs, rows=[r for r, keep in zip(raw.attrs["rows"], is_i2i) if keep])
    left_out = len(raw) - len(out)
    return out, [f"{release.label_file}: {left_out} text-to-image row(s) (no Image_prompt) left out; PKU-I2IQA is "
                 "the image-to-image subset"] if left_out else []


def _folders(dataset_dir: Path, release: Release, require_images: bool) -> tuple[Path, Path]:
    """The generated-image and image-prompt folders (the first candidate of each when images are not required)."""
    if not require_images:
        return dataset_dir / release.image_dirs[0], dataset_dir / release.prompt_dirs[0]
    return (labels.find_image_dir(dataset_dir, release.image_dirs, "PKU-I2IQA"),
            labels.find_image_dir(dataset_dir, release.prompt_dirs, "PKU-I2IQA (image prompts)"))
