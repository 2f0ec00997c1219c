"""``tfagiqa score --model DIR|NAME --images DIR|CSV [--prompts CSV] --out scores.csv``: one row per image.

Every input gets a row, in input order: each entry of a folder whose name ends in an image suffix (sorted by
relative path; a file, but also a folder named ``x.jpg``, a broken symbolic link, an unreadable file), or each
row of a CSV. One that cannot be scored (unreadable, not an image, a prompt-conditioned model's image without
a prompt, an empty path cell) gets empty scores and the reason in the ``error`` column; a sub-folder that
cannot be listed gets such a row too. The summary counts every row; the exit code is 0 when every image was
scored, 1 when any was not.

CSV files (``--images``, ``--prompts``) are UTF-8, with or without a byte-order mark; UTF-16 with a
byte-order mark and cp1252 / Latin-1 are read too (the latter with a warning). A row with more or fewer
fields than the header (an unquoted comma in a prompt) is refused, naming the row.

Scores are written with 6 decimals, through a temporary file renamed into place (never half a file). The
same command gives a byte-identical output file on every run: fixed views, deterministic tf.data order, and
for a catalogue name without weights a random initialisation seeded with ``--seed`` (default 0; printed with
the model description).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tfagiqa.catalogue import DEFAULT_SEED
from tfagiqa.errors import TfagiqaError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
PATH_COLUMNS = ("path", "image", "name")
DECIMALS = 6
SHOWN_ERRORS = 20  # failures listed in the summary (all are in the output file)


@dataclass
class Entry:
    """One input: the path to read, the path as shown in the output, its prompt, and a reason known up front
    why it cannot be scored (an empty path cell, an unlistable folder)."""

    path: str
    shown: str
    prompt: str | None = None
    error: str | None = None


def register(sub) -> None:
    """Add the ``score`` command."""
    p = sub.add_parser("score", help="score images with an exported SavedModel or a catalogue model",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True,
                   help="a SavedModel folder written by `tfagiqa export`, a scoring .keras file (or a preset folder "
                        "holding one), or a catalogue name")
    p.add_argument("--weights", default=None,
                   help="weights for a catalogue name (default: random initialisation, with a warning)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help=f"seed of a catalogue model's random initialisation (default {DEFAULT_SEED})")
    p.add_argument("--images", required=True,
                   help=f"a folder (its {', '.join(IMAGE_SUFFIXES)} files, recursively) or a CSV with a path column")
    p.add_argument("--prompts", default=None,
                   help="CSV with columns path (or image/name) and prompt, for prompt-conditioned models")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--out", required=True, help="output file (CSV, or JSON with --format json)")
    p.add_argument("--format", default="csv", choices=["csv", "json"])
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Score every listed image, write the table, print a summary; 1 if any image could not be scored."""
    if args.batch_size < 1:
        raise TfagiqaError("--batch-size must be at least 1")
    out = _output_path(Path(args.out))
    entries = list_images(Path(args.images))
    if args.prompts:
        match_prompts(read_table(Path(args.prompts), "--prompts"), entries, Path(args.images))
    scorer, label = load_scorer(args.model, args.weights, args.seed)
    rows = score_entries(scorer, entries, args.batch_size, args.no_progress, with_prompt=bool(args.prompts))
    from tfagiqa.atomic import write_text

    write_text(out, to_json(rows) if args.format == "json" else to_csv(rows, scorer.outputs))
    failed = [r for r in rows if r["error"]]
    print(f"scored {len(rows) - len(failed)} of {len(rows)} images with {label} → {out}")
    if failed:
        print(f"{len(failed)} image(s) could not be scored (see the error column):")
        for r in failed[:SHOWN_ERRORS]:
            print(f"  {r['path']}: {r['error']}")
        if len(failed) > SHOWN_ERRORS:
            print(f"  ... and {len(failed) - SHOWN_ERRORS} more")
    return 1 if failed else 0


def score_entries(scorer, entries: list[Entry], batch_size: int, no_progress: bool, with_prompt: bool) -> list[dict]:
    """One output row per entry, in order: scores, or the reason it could not be scored."""
    from tqdm import tqdm

    rows = [{"path": e.shown, **({"prompt": e.prompt} if scorer.needs_prompt or with_prompt else {}),
             **{name: None for name in scorer.outputs}, "error": e.error} for e in entries]
    todo = [i for i, e in enumerate(entries) if e.error is None]
    prompts = [entries[i].prompt for i in todo] if scorer.needs_prompt else None
    with tqdm(total=len(entries), desc="scoring", unit="img", disable=no_progress, file=sys.stderr) as bar:
        bar.update(len(entries) - len(todo))
        for k, scores, error in scorer.score_files([entries[i].path for i in todo], prompts, batch_size):
            rows[todo[k]].update(scores or {}, error=error)
            bar.update(1)
    return rows


def load_scorer(model: str, weights: str | None, seed: int = DEFAULT_SEED):
    """A Scorer from a SavedModel folder, a scoring .keras file (or a preset holding one) or a catalogue name, and a
    one-line label."""
    from tfagiqa.presets import is_preset
    from tfagiqa.scorer import Scorer

    path = Path(model)
    if weights is not None and (path.is_dir() or path.suffix == ".keras"):
        raise TfagiqaError("--weights applies to catalogue names; a SavedModel, preset or .keras file carries its own "
                           "weights")
    if path.suffix == ".keras" or is_preset(path):
        from tfagiqa.export import load_scoring_model

        return Scorer.from_keras(load_scoring_model(path), {"name": path.stem}), str(path)
    if path.is_dir():
        scorer = Scorer.load(path)
        meta = scorer.metadata
        print(describe_model(meta.get("name", path.name), meta, meta.get("weights", "unknown")))
        return scorer, str(path)
    from tfagiqa.catalogue import create_scorer, get_entry, provenance

    entry = get_entry(model)
    weights = None if weights in (None, "none") else weights
    meta = {**entry.metadata(), **provenance(entry, weights, seed)}
    print(describe_model(entry.name, meta, meta["weights"]))
    return Scorer.from_keras(create_scorer(model, weights, seed), meta), model


def describe_model(name: str, meta: dict, weights: str) -> str:
    """What the scores mean, where the weights come from (and the initialisation seed), a loud note when random."""
    direction = "higher is better" if meta.get("higher_is_better", True) else "lower is better"
    scale = f"range [{meta['score_range'][0]}, {meta['score_range'][1]}], {direction}" if "score_range" in meta \
        else "score range not recorded"
    seed = f" (initialisation seed {meta['init_seed']})" if "init_seed" in meta else ""
    text = f"model {name}: outputs {', '.join(meta['outputs'])}; {scale}; weights={weights}{seed}"
    if weights == "random" or meta.get("backbone_weights") == "random":
        text += "\nRANDOM weights: these scores test the code path; they do not measure quality."
    if meta.get("data") == "synthetic":
        text += "\nSYNTHETIC training data: this model was trained on synthetic stand-in images."
    return text


def list_images(source: Path) -> list[Entry]:
    """The entries of a folder (see the module docstring) or of a CSV with a path column."""
    if source.is_dir():
        return _folder_entries(source)
    if source.suffix.lower() == ".csv" and source.is_file():
        return _csv_entries(source)
    raise TfagiqaError(f"--images must be a folder or a .csv file; {source} is neither")


def _folder_entries(source: Path) -> list[Entry]:
    """Every entry named like an image under ``source`` (whatever it is), and every sub-folder that cannot be
    listed, sorted by relative path."""
    found: dict[str, Entry] = {}

    def unlistable(error: OSError) -> None:
        folder = Path(error.filename)
        found[_relative(folder, source)] = Entry(str(folder), _display(str(folder)),
                                                 error=f"cannot list this folder ({error.strerror}): its images "
                                                       "are not scored")

    for folder, subfolders, files in os.walk(source, onerror=unlistable):
        for name in [*subfolders, *files]:
            if Path(name).suffix.lower() in IMAGE_SUFFIXES:
                path = Path(folder, name)
                found[_relative(path, source)] = Entry(str(path), _display(str(path)))
    if not found:
        raise TfagiqaError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) under {source}")
    return [found[key] for key in sorted(found)]


def _csv_entries(source: Path) -> list[Entry]:
    """One entry per row of a listing CSV; paths relative to the CSV's folder; an empty path cell is an error row."""
    table = read_table(source, "--images")
    column = _path_column(table, source)
    prompts = table["prompt"] if "prompt" in table.columns else None
    entries = []
    for i, cell in enumerate(table[column]):
        line = table.attrs["rows"][i]
        prompt = _cell(prompts.iat[i]) if prompts is not None else None
        shown = _cell(cell)
        if not shown:
            entries.append(Entry("", "", prompt, f"row {line} of {source.name} has no {column}"))
            continue
        path = Path(shown) if Path(shown).is_absolute() else source.parent / shown
        entries.append(Entry(str(path), shown, prompt))
    return entries


def read_table(path: Path, option: str):
    """The rows of a user's CSV file (see the module docstring for encodings); a TfagiqaError when missing,
    a folder, malformed or without rows."""
    from tfagiqa.data.labels import read_csv, require_rows

    if path.is_dir():
        raise TfagiqaError(f"{option} {path} is a folder; give a CSV file")
    if not path.is_file():
        raise TfagiqaError(f"{option} {path} not found")
    table = read_csv(path)
    require_rows(table, path)
    return table


def match_prompts(table, entries: list[Entry], images: Path) -> None:
    """Set each entry's prompt from a (path, prompt) table, matched by the path as listed, the path relative to
    the images folder, or the file name; an entry the table does not name keeps no prompt. Two rows that give
    one path different prompts are refused."""
    if "prompt" not in table.columns:
        raise TfagiqaError(f"the --prompts CSV needs a prompt column; it has {list(table.columns)}")
    column = _path_column(table, Path("--prompts"))
    by_key: dict[str, tuple[str, int]] = {}
    for key, prompt, line in zip(table[column], table["prompt"], table.attrs["rows"]):
        key, prompt = _cell(key), _cell(prompt)
        if not key or not prompt:
            continue
        if key in by_key and by_key[key][0] != prompt:
            raise TfagiqaError(f"--prompts: rows {by_key[key][1]} and {line} give {key!r} different prompts")
        by_key[key] = (prompt, line)
    for entry in entries:
        keys = [entry.shown, Path(entry.path).name]
        if images.is_dir() and entry.path:
            keys.insert(1, _relative(Path(entry.path), images))
        entry.prompt = next((by_key[k][0] for k in keys if k in by_key), None)


def _output_path(out: Path) -> Path:
    """--out, checked before any work: not a folder, its folder creatable."""
    if out.is_dir():
        raise TfagiqaError(f"--out {out} is a folder; give a file name such as {out / 'scores.csv'}")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def _path_column(table, source: Path) -> str:
    column = next((c for c in PATH_COLUMNS if c in table.columns), None)
    if column is None:
        raise TfagiqaError(f"{source} needs one of the columns {', '.join(PATH_COLUMNS)}; it has {list(table.columns)}")
    return column


def _cell(value) -> str:
    """A CSV cell as a stripped string ('' for an empty one)."""
    return value.strip() if isinstance(value, str) else ""


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()


def _display(path: str) -> str:
    """A path as text that can be written to a UTF-8 file: undecodable bytes of a file name become U+FFFD."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _fixed(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{DECIMALS}f}"


def to_csv(rows: list[dict], outputs: list[str]) -> str:
    """The score table with fixed formatting (6 decimals, empty cells for missing values)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fixed(v) if k in outputs else ("" if v is None else v) for k, v in row.items()})
    return buffer.getvalue()


def to_json(rows: list[dict]) -> str:
    """The same rows as a JSON list, scores rounded to 6 decimals (null when missing)."""
    def clean(value):
        if isinstance(value, float):
            return None if math.isnan(value) else round(value, DECIMALS)
        return value

    return json.dumps([{k: clean(v) for k, v in row.items()} for row in rows], indent=2, ensure_ascii=False) + "\n"
