"""``tfagiqa datasets synth | summary | check | to-tfrecord | readme``: write stand-ins, count a dataset, validate a
dataset folder, write TFRecord shards, regenerate the registry-made parts of the dataset documents.

The dataset choices come from the registry (:mod:`tfagiqa.data.registry`): ``synth`` takes every registered
layout, the others the AI-generated-image datasets (whose readers list bad rows and can skip them).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from tfagiqa.data import registry, schema
from tfagiqa.data.subsets import SUBSET_ORDER
from tfagiqa.errors import DataError

DATASETS = registry.names(registry.AIGC)
LAYOUTS = registry.names()
MIN_SHARD_MB = 0.01  # smaller shards would only multiply files (and a tiny value, e.g. 1e-300, their count)
SKIP_HELP = "drop rows with bad labels, names or missing images (listed on stderr) instead of stopping"


def register(sub) -> None:
    """Add the ``datasets`` command and its subcommands."""
    parser = sub.add_parser("datasets", help="write synthetic stand-ins, summarise or check a dataset folder")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    synth = actions.add_parser("synth", help="write a deterministic synthetic dataset in a benchmark's own layout")
    synth.add_argument("--layout", required=True, choices=LAYOUTS)
    synth.add_argument("--out", required=True, help="the dataset folder to create (e.g. datasets/synthetic/AGIQA-3K)")
    synth.add_argument("--n", type=int, default=None, help="approximate number of images (default: the layout's, a "
                                                           "few dozen to a few hundred)")
    synth.add_argument("--seed", type=int, default=0)
    synth.set_defaults(run=run_synth)

    shards = actions.add_parser("to-tfrecord", help="write a dataset as TFRecord shards (images, prompts, labels)")
    shards.add_argument("--dataset", required=True, choices=DATASETS)
    shards.add_argument("--data-root", required=True, help="the dataset folder, or a data root that holds it")
    shards.add_argument("--out", default=None, help="shard folder (default <dataset folder>/tfrecords, which the "
                                                     "pipeline then reads automatically)")
    shards.add_argument("--shard-size", type=float, default=100.0, metavar="MB", help="approximate shard size")
    shards.add_argument("--skip-bad", action="store_true", help=SKIP_HELP)
    shards.set_defaults(run=run_to_tfrecord)

    for name, func, text in (("summary", run_summary, "print a dataset's counts and label ranges"),
                             ("check", run_check, "validate a dataset folder (every label file, every image); "
                                                  "list every problem and exit 1 if there is any")):
        p = actions.add_parser(name, help=text)
        p.add_argument("--dataset", required=True, choices=DATASETS)
        p.add_argument("--data-root", required=True, help="the dataset folder, or a data root that holds it")
        if name == "summary":
            p.add_argument("--labels-only", action="store_true", help="read only the label file (no images needed)")
            p.add_argument("--json", action="store_true", help="print JSON instead of text")
            p.add_argument("--skip-bad", action="store_true", help=SKIP_HELP)
        p.set_defaults(run=func)

    readme = actions.add_parser("readme", help="rewrite the parts of datasets/README.md and docs/datasets.md that "
                                               "are generated from the dataset registry")
    readme.add_argument("--check", action="store_true", help="change nothing; list the files that are out of date "
                                                             "and exit 1 if there is any")
    readme.add_argument("--root", default=None, help="the checkout holding datasets/README.md and docs/ "
                                                     "(default: this package's checkout)")
    readme.set_defaults(run=run_readme)


def run_synth(args: argparse.Namespace) -> int:
    """Write the stand-in and say where, and that it is synthetic."""
    from tfagiqa.data.synthetic import write_synthetic

    folder = write_synthetic(args.layout, args.out, n=args.n, seed=args.seed)
    print(f"wrote SYNTHETIC {args.layout} stand-in (seed {args.seed}) to {folder}")
    return 0


def _read(args: argparse.Namespace, require_images: bool, on_error: str, all_splits: bool = True) -> pd.DataFrame:
    """The dataset at --data-root: every part of the folder (``all_splits``: the record's ``read_all``, e.g.
    AIGIQA-20K's unlabelled val and test splits) or what the reader reads by default (the labelled rows)."""
    from tfagiqa.data import locate_dataset

    record = registry.get(args.dataset)
    folder = locate_dataset(args.dataset, args.data_root)
    extra = record.read_all(folder) if all_splits and record.read_all else {}
    return record.reader(folder, require_images=require_images, on_error=on_error, **extra)


def _read_usable(args: argparse.Namespace, require_images: bool, all_splits: bool = True) -> pd.DataFrame:
    """Read with --skip-bad's choice; list the dropped rows on stderr; refuse a table with no usable row."""
    df = _read(args, require_images, "skip" if args.skip_bad else "raise", all_splits)
    for skipped in df.attrs.get("skipped", []):
        print(f"skipped {_where(skipped)}: {skipped['problem']}", file=sys.stderr)
    if len(df) == 0:
        raise DataError(f"{args.dataset} at {df.attrs['root']}: no usable rows (all {len(df.attrs['skipped'])} "
                        "were skipped); run `tfagiqa datasets check` to list the problems")
    return df


def _where(skipped: dict) -> str:
    """``<label file> row N (name)`` of a skipped row."""
    return f"{Path(skipped['source']).name} row {skipped['row']} ({skipped['name'] or '?'})"


def summarise(df: pd.DataFrame) -> dict:
    """Counts per generator and paper subset, and label ranges, as plain Python types."""
    out = {"dataset": df.attrs["dataset"], "data": df.attrs["data"], "folder": df.attrs["root"],
           "rows": len(df), "groups": int(df[schema.GROUP].nunique()),
           "per_generator": {k: int(v) for k, v in df[schema.GENERATOR].value_counts().sort_index().items()}}
    for column, order in SUBSET_ORDER.items():
        if column in df.columns and df[column].notna().any():
            counts = df[column].value_counts()
            out[f"per_{column}"] = {str(k): int(counts.get(k, 0)) for k in order}
    out["labels"] = {c: {"min": float(df[c].min()), "max": float(df[c].max()), "mean": float(df[c].mean())}
                     for c in schema.label_columns(df)}
    out["notes"] = df.attrs.get("notes", [])
    return out


def run_summary(args: argparse.Namespace) -> int:
    """Print the summary as text or JSON."""
    summary = summarise(_read_usable(args, require_images=not args.labels_only))
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{summary['dataset']} ({summary['data'].upper()} data) at {summary['folder']}")
    print(f"rows {summary['rows']}, groups {summary['groups']}")
    for key, counts in summary.items():
        if key.startswith("per_"):
            print(f"{key[4:]}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for label, r in summary["labels"].items():
        print(f"{label}: min {r['min']:.3f}, max {r['max']:.3f}, mean {r['mean']:.3f}")
    for note in summary["notes"]:
        print(f"note: {note}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Report every bad row and unreadable image; exit 1 when anything is wrong."""
    from tqdm import tqdm

    from tfagiqa.data.images import check_image

    df = _read(args, require_images=True, on_error="skip")
    problems = [f"{_where(s)}: {s['problem']}" for s in df.attrs["skipped"]]
    for name, path in tqdm(zip(df[schema.NAME], df[schema.IMAGE]), total=len(df), desc="decoding images", unit="img"):
        error = check_image(path)
        if error:
            problems.append(f"{name}: {error}")
    for note in df.attrs.get("notes", []):
        print(f"note: {note}")
    if problems:
        print(f"{args.dataset} at {df.attrs['root']}: {len(problems)} problem(s)")
        print("\n".join(f"  {p}" for p in problems))
        return 1
    print(f"{args.dataset} ({df.attrs['data']} data) at {df.attrs['root']}: clean, {len(df)} images")
    return 0


def run_to_tfrecord(args: argparse.Namespace) -> int:
    """Write every labelled row of the dataset (what its reader reads by default) as shards."""
    from tfagiqa.data.labels import TFRECORD_DIR
    from tfagiqa.data.tfrecord import write_tfrecords

    if not args.shard_size >= MIN_SHARD_MB:
        raise DataError(f"--shard-size must be a number of MB, at least {MIN_SHARD_MB}; got {args.shard_size}")
    df = _read_usable(args, require_images=True, all_splits=False)
    out = write_tfrecords(df, args.out or Path(df.attrs["root"]) / TFRECORD_DIR, args.shard_size)
    print(f"wrote {len(df)} {df.attrs['data']} {args.dataset} examples as TFRecord shards to {out}")
    return 0


def run_readme(args: argparse.Namespace) -> int:
    """Regenerate (or, with --check, compare) the registry-made blocks of the two dataset documents."""
    from tfagiqa.data import registry_docs

    root = Path(args.root) if args.root else registry_docs.CHECKOUT
    if args.check:
        stale = registry_docs.stale(root)
        for path in stale:
            print(f"out of date: {path} (run `tfagiqa datasets readme`)")
        if not stale:
            print(f"up to date: {', '.join(registry_docs.TARGETS)} under {root}")
        return 1 if stale else 0
    changed = registry_docs.update(root)
    print("\n".join(f"rewrote {path}" for path in changed) or f"already up to date under {root}")
    return 0
