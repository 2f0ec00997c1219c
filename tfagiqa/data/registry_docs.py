"""Markdown written from the dataset registry: the per-dataset sections of datasets/README.md and the record
table of docs/datasets.md.

Each file keeps its hand-written text; only the block between :data:`BEGIN` and :data:`END` is generated, so the
two documents cannot disagree with the records (or with each other). ``tfagiqa datasets readme`` rewrites the
blocks, ``--check`` reports stale ones, and a test asserts that the committed files equal what the registry
generates.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tfagiqa.atomic import write_text
from tfagiqa.data import registry
from tfagiqa.data.registry import DatasetRecord, Label
from tfagiqa.errors import DataError

BEGIN = ("<!-- BEGIN generated from tfagiqa/data/registry.py by `tfagiqa datasets readme`: "
         "edit the records, not this block -->")
END = "<!-- END generated -->"
CHECKOUT = Path(__file__).resolve().parents[2]


def loader_call(record: DatasetRecord) -> str:
    """How a user reads the dataset in Python."""
    function = "load_dataset" if record.kind == registry.AIGC else "load_nriqa"
    return f'`tfagiqa.data.{function}("{record.name}")`'


def label_text(label: Label) -> str:
    """'`quality` ← mos_quality, [0, 5] (in the file: …); note'."""
    text = f"`{label.column}` ← {label.source}, {scale(label)}"
    if label.observed:
        text += f" (in the file: {label.observed})"
    if label.note:
        text += f"; {label.note}"
    return text + (" (when the file has it)" if label.optional else "")


def scale(label: Label) -> str:
    """The nominal scale, '[0, 5]'."""
    return f"[{label.low:g}, {label.high:g}]"


def standin_text(record: DatasetRecord) -> str:
    """'240 images by default (1–1,080)'."""
    standin = record.standin
    size = f", {standin.image_size} px" if standin.image_size else ""
    return f"{standin.default_n} images by default ({standin.min_n}–{standin.max_n:,}{size})"


def readme_section(record: DatasetRecord) -> str:
    """One dataset's section of datasets/README.md."""
    lines = [f"## {record.title} (`{record.name}`)", f"Source: {record.source}.", "```", record.layout, "```",
             "- Labels: " + "; ".join(label_text(label) for label in record.labels) + ".",
             f"- Groups: {record.group}.",
             f"- Read with {loader_call(record)}"
             + (f"; tensorflow-datasets builder `{record.tfds_name}`" if record.tfds_name else "")
             + f"; synthetic stand-in: {standin_text(record)}.",
             f"- Splits: {record.splits}",
             f"- Cite: {record.citation}. Licence: {record.licence}."]
    return "\n".join(lines + [""] + [f"{note}\n" for note in record.notes]).rstrip() + "\n"


def readme_block() -> str:
    """Every record's section, AI-generated-image datasets first, then the NR-IQA ones."""
    aigc = [readme_section(r) for r in registry.records(registry.AIGC)]
    nriqa = [readme_section(r).replace("## ", "### ", 1) for r in registry.records(registry.NRIQA)]
    return "\n".join([*aigc, "## NR-IQA datasets (SF-IQA's first pre-training stage)\n", *nriqa])


def docs_block() -> str:
    """docs/datasets.md's table of records and the splits each paper uses."""
    rows = ["| name | dataset | folder | label file(s) | labels (nominal scale) | group | read with | tfds | stand-in |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in registry.records():
        labels = ", ".join(f"`{x.column}` {scale(x)}" + ("?" if x.optional else "") for x in r.labels)
        files = " or ".join(f"`{f}`" for f in r.label_files)
        tfds_name = f"`{r.tfds_name}`" if r.tfds_name else "—"
        rows.append(f"| `{r.name}` | {r.title} | `{r.folder}/` | {files} | {labels} | {_cell(r.group)} | "
                    f"{loader_call(r)} | {tfds_name} | {standin_text(r)} |")
    splits = [f"- **{r.title}**: {r.splits}" for r in registry.records()]
    return "\n".join([*rows, "", "`?` = read when the label file has it.", "", "### Splits used by the papers", "",
                      *splits]) + "\n"


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell (a bare ``|`` would end the cell)."""
    return text.replace("|", "\\|")


TARGETS: dict[str, Callable[[], str]] = {"datasets/README.md": readme_block, "docs/datasets.md": docs_block}


def fill(text: str, block: str, where: Path) -> str:
    """``text`` with the part between the markers replaced by ``block`` (a DataError if the markers are missing)."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise DataError(f"{where}: expected one '{BEGIN}' line followed by one '{END}' line")
    head, rest = text.split(BEGIN, 1)
    return f"{head}{BEGIN}\n{block}{END}{rest.split(END, 1)[1]}"


def stale(root: Path = CHECKOUT) -> dict[Path, str]:
    """The generated files whose registry block is out of date, with their up-to-date text."""
    out = {}
    for relative, block in TARGETS.items():
        path = Path(root) / relative
        if not path.is_file():
            raise DataError(f"no {relative} under {root}: pass the checkout's folder (--root)")
        text = path.read_text(encoding="utf-8")
        wanted = fill(text, block(), path)
        if wanted != text:
            out[path] = wanted
    return out


def update(root: Path = CHECKOUT) -> list[Path]:
    """Rewrite the stale files (atomically); return them."""
    changed = stale(root)
    for path, text in changed.items():
        write_text(path, text)
    return list(changed)
