"""``tfagiqa score --model DIR|NAME --images DIR|CSV [--prompts CSV] --out scores.csv``: one row per image.

Rows follow the input order (a folder's image files sorted by relative path; a CSV's rows as written). Scores
are written with 6 decimals; a file that cannot be read, or a prompt-conditioned model's image without a
prompt, gets empty scores and the reason in the ``error`` column. The exit code is 0 when every image was
scored, 1 when any was not. The same images give byte-identical output files on every run (fixed views, no
randomness, deterministic tf.data order).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from pathlib import Path

from tfagiqa.errors import TfagiqaError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
PATH_COLUMNS = ("path", "image", "name")
DECIMALS = 6
SHOWN_ERRORS = 20  # failures listed in the summary (all are in the output file)


def register(sub) -> None:
    """Add the ``score`` command."""
    p = sub.add_parser("score", help="score images with an exported SavedModel or a catalogue model",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True,
                   help="a SavedModel folder written by `tfagiqa export`, a scoring .keras file, or a catalogue name")
    p.add_argument("--weights", default=None,
                   help="weights for a catalogue name (default: random initialisation, with a warning)")
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
    paths, shown, prompts = list_images(Path(args.images))
    if args.prompts:
        prompts = match_prompts(read_table(Path(args.prompts)), shown, Path(args.images))
    scorer, label = load_scorer(args.model, args.weights)
    from tqdm import tqdm

    rows = []
    with tqdm(total=len(paths), desc="scoring", unit="img", disable=args.no_progress, file=sys.stderr) as bar:
        for i, scores, error in scorer.score_files(paths, prompts if scorer.needs_prompt else None, args.batch_size):
            row = {"path": shown[i]}
            if scorer.needs_prompt or args.prompts:
                row["prompt"] = prompts[i] if prompts is not None else None
            row.update({name: None if scores is None else scores[name] for name in scorer.outputs})
            row["error"] = error
            rows.append(row)
            bar.update(1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_json(rows) if args.format == "json" else to_csv(rows, scorer.outputs), encoding="utf-8")
    failed = [r for r in rows if r["error"]]
    print(f"scored {len(rows) - len(failed)} of {len(rows)} images with {label} → {out}")
    if failed:
        print(f"{len(failed)} image(s) could not be scored (see the error column):")
        for r in failed[:SHOWN_ERRORS]:
            print(f"  {r['path']}: {r['error']}")
        if len(failed) > SHOWN_ERRORS:
            print(f"  ... and {len(failed) - SHOWN_ERRORS} more")
    return 1 if failed else 0


def load_scorer(model: str, weights: str | None):
    """A Scorer from a SavedModel folder, a scoring .keras file or a catalogue name, and a one-line label."""
    from tfagiqa.scorer import Scorer

    path = Path(model)
    if weights is not None and (path.is_dir() or path.suffix == ".keras"):
        raise TfagiqaError("--weights applies to catalogue names; a SavedModel or .keras file carries its own weights")
    if path.is_dir():
        scorer = Scorer.load(path)
        meta = scorer.metadata
        print(describe_model(meta.get("name", path.name), meta, meta.get("weights", "unknown")))
        return scorer, str(path)
    if path.suffix == ".keras":
        if not path.is_file():
            raise TfagiqaError(f"{path} not found")
        import keras

        scorer = Scorer.from_keras(keras.saving.load_model(path), {"name": path.stem})
        return scorer, str(path)
    from tfagiqa.catalogue import create_scorer, get_entry

    entry = get_entry(model)
    weights = None if weights in (None, "none") else weights
    provenance = entry.weights_provenance(weights)
    meta = {**entry.metadata(), **provenance}
    print(describe_model(entry.name, meta, provenance["weights"]))
    return Scorer.from_keras(create_scorer(model, weights), meta), model


def describe_model(name: str, meta: dict, weights: str) -> str:
    """What the scores mean, and a loud note when the weights are random."""
    direction = "higher is better" if meta.get("higher_is_better", True) else "lower is better"
    scale = f"range [{meta['score_range'][0]}, {meta['score_range'][1]}], {direction}" if "score_range" in meta \
        else "score range not recorded"
    text = f"model {name}: outputs {', '.join(meta['outputs'])}; {scale}; weights={weights}"
    if weights == "random" or meta.get("backbone_weights") == "random":
        text += "\nRANDOM weights: these scores test the code path; they do not measure quality."
    if meta.get("data") == "synthetic":
        text += "\nSYNTHETIC training data: this model was trained on synthetic stand-in images."
    return text


def list_images(source: Path) -> tuple[list[str], list[str], list[str | None] | None]:
    """(paths to read, paths to show, prompts from the CSV or None) for a folder or a CSV."""
    if source.is_dir():
        files = sorted((p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                       key=lambda p: p.relative_to(source).as_posix())
        if not files:
            raise TfagiqaError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) under {source}")
        return [str(p) for p in files], [str(p) for p in files], None
    if source.suffix.lower() == ".csv" and source.is_file():
        table = read_table(source)
        column = _path_column(table, source)
        shown = [r[column] for r in table]
        paths = [str(p if Path(p).is_absolute() else source.parent / p) for p in shown]
        prompts = [r.get("prompt") or None for r in table] if "prompt" in table[0] else None
        return paths, shown, prompts
    raise TfagiqaError(f"--images must be a folder or a .csv file; {source} is neither")


def read_table(path: Path) -> list[dict]:
    """The rows of a CSV file as dicts (a TfagiqaError when missing or empty)."""
    if not path.is_file():
        raise TfagiqaError(f"{path} not found")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise TfagiqaError(f"{path} has no rows")
    return rows


def match_prompts(table: list[dict], shown: list[str], images: Path) -> list[str | None]:
    """The prompt of each image from a (path, prompt) table, matched by the path as listed, the path relative
    to the images folder, or the file name; None where the table has none."""
    if "prompt" not in table[0]:
        raise TfagiqaError("the --prompts CSV needs a prompt column")
    column = _path_column(table, Path("--prompts"))
    by_key = {r[column]: r["prompt"] for r in table if r["prompt"]}
    out = []
    for path in shown:
        keys = [path, Path(path).name]
        if images.is_dir():
            keys.insert(1, Path(path).relative_to(images).as_posix())
        out.append(next((by_key[k] for k in keys if k in by_key), None))
    return out


def _path_column(table: list[dict], source: Path) -> str:
    column = next((c for c in PATH_COLUMNS if c in table[0]), None)
    if column is None:
        raise TfagiqaError(f"{source} needs one of the columns {', '.join(PATH_COLUMNS)}")
    return column


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
