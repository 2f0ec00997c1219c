"""The one experiment harness of the run scripts: what every paper's experiments share.

A run script states its paper's experiments; this module does the rest, the same way for every method:

* the command line every script takes (:func:`add_arguments`: data root, synthetic fallback, profile, weights,
  epochs, seed, output folder, distribution strategy);
* the run size (:class:`tfagiqa.profile.Profile`, one type for every method; ``auto`` = ``paper`` on real data, ``smoke`` on the
  synthetic stand-in);
* seeding, the distribution strategy, the output folder (only the chief of a cluster writes), backups for
  preemption (:meth:`Experiment.backup`);
* the banner that says SYNTHETIC, RANDOM and TINY where they apply;
* result rows with provenance appended to ``<out>/results.csv`` (:meth:`Experiment.record`), trained models
  saved atomically as presets in ``<out>/models/<name>/`` (:meth:`Experiment.save_model`), and the summary that
  compares this run's numbers with the earlier rows of the same file (:meth:`Experiment.summary`);
* clear errors instead of tracebacks (:func:`main`).
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd

from tfagiqa import distribute, results
from tfagiqa.data import default_data_root
from tfagiqa.data.pipeline import surface_data_errors
from tfagiqa.errors import TfagiqaError
from tfagiqa.metrics import fold_summary
from tfagiqa.profile import Profile

RUN_FIELDS = ("experiment", "dataset", "data", "weights", "backbone", "image_size", "profile", "split", "split_index",
              "selection", "target", "subset", "label")
SYNTHETIC = "SYNTHETIC stand-in data: these numbers test the code path; they are NOT the paper's numbers."


def count(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in ``minimum..maximum`` (argparse's one-line usage error otherwise)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value
    return parse


def add_arguments(parser: argparse.ArgumentParser, *, out: str, profiles: Sequence[str], weights: str,
                  repeats: bool = False) -> None:
    """The options every run script takes (``repeats``: also ``--repeats`` for scripts that run N splits)."""
    parser.add_argument("--data-root", default=None, help=f"folder holding the datasets (default {default_data_root()})")
    parser.add_argument("--synthetic", default="auto", choices=["auto", "always", "never"],
                        help="auto: real data when present, else the synthetic stand-in")
    parser.add_argument("--profile", default="auto", choices=["auto", *profiles],
                        help="auto: paper on real data, smoke on synthetic")
    parser.add_argument("--weights", default="auto", help=weights)
    parser.add_argument("--epochs", type=count(1), default=None, help="override the profile's epochs")
    if repeats:
        parser.add_argument("--repeats", type=count(1), default=None,
                            help="grouped splits to run (default: the profile's)")
    parser.add_argument("--seed", type=count(0, 2**32 - 1), default=0,
                        help="seed of initialisation and training (splits use seed 42)")
    parser.add_argument("--out", default=out, help="results.csv, models and exports go here")
    distribute.add_arguments(parser)


class Experiment:
    """One invocation of a run script: its strategy, output folder, profile, banner, rows and summary."""

    def __init__(self, args: argparse.Namespace, paper: str):
        self.args, self.paper = args, paper
        self.strategy = distribute.make_strategy(args.strategy, tpu=args.tpu)
        self.chief = distribute.is_chief(self.strategy)
        self.out = distribute.output_dir(args.out, self.strategy)
        self.data_root = Path(args.data_root or default_data_root())
        if self.out.exists() and not self.out.is_dir():  # a data root that is a file: load_dataset says so
            raise TfagiqaError(f"--out {self.out} is a file, not a folder; give a folder")
        self.out.mkdir(parents=True, exist_ok=True)  # a folder that cannot be made fails now, not after training
        self.results_path = self.out / "results.csv"
        self.earlier = results.read_results(self.results_path) if self.results_path.is_file() else None
        self.rows: list[dict] = []
        keras.utils.set_random_seed(args.seed)

    def profile(self, profiles: Mapping[str, Profile], data_kind: str, **changes: Any) -> Profile:
        """The profile asked for (``auto``: paper on real data, smoke on synthetic), with ``--epochs`` and
        ``--repeats`` applied and the given ``changes``."""
        name = self.args.profile if self.args.profile != "auto" else ("paper" if data_kind == "real" else "smoke")
        return profiles[name].but(epochs=self.args.epochs, repeats=getattr(self.args, "repeats", None), **changes)

    def banner(self, lines: Iterable[str], *, data_kind: str, warnings: Iterable[str] = ()) -> None:
        """The run's description in a box; SYNTHETIC and the given warnings (random weights, tiny networks) below."""
        lines = [*lines, *([SYNTHETIC] if data_kind == "synthetic" else []), *warnings]
        width = max(map(len, lines)) + 4
        print("=" * width, *(f"  {line}" for line in lines), "=" * width, sep="\n", flush=True)

    def backup(self, name: str) -> Path | None:
        """The backup folder of one training under a distribution strategy (None on the default strategy)."""
        return distribute.backup_dir(self.args.out, name, self.strategy)

    def record(self, rows: Iterable[Mapping[str, Any]], line: Callable[[dict], str] | None = None) -> list[dict]:
        """Add provenance (paper, seed, strategy and the package's version) to ``rows``, append them to
        ``results.csv`` (chief only) and print one ``line(row)`` each, followed by its data and weights."""
        made = [results.provenance(paper=self.paper, seed=self.args.seed, **distribute.describe(self.strategy),
                                   **row) for row in rows]
        if self.chief and made:
            results.append_rows(self.results_path, made)
        for row in made:
            if line is not None:
                print(f"{line(row)}  [{row['data']}, weights={row['weights']}]", flush=True)
        self.rows += made
        return made

    def save_model(self, model: keras.Model, name: str, *, role: str = "model",
                   architecture: Mapping[str, Any] | None = None, run: Mapping[str, Any] | None = None) -> Path:
        """``<out>/models/<name>/``: a preset (:mod:`tfagiqa.presets`) of kind ``<method>-<role>`` holding
        ``model.keras``, written atomically (chief only).

        Its ``source`` records this invocation (paper, seed, strategy, command line and every option, package
        version and git commit) and, from ``run`` (a result row or the like), the data kind, weights label,
        backbone, image size, profile, experiment, dataset, split and target; ``architecture`` is what a reader
        needs to rebuild a scorer around it (a DLSR head's backbone)."""
        from tfagiqa.methods import for_paper, papers
        from tfagiqa.presets import save_preset

        folder = self.out / "models" / re.sub(r"[^A-Za-z0-9_.=-]+", "-", name)
        if self.chief:
            method = for_paper(self.paper).name if self.paper in papers() else self.paper
            source = {"paper": self.paper, "seed": self.args.seed, **distribute.describe(self.strategy),
                      **{k: run[k] for k in RUN_FIELDS if run is not None and k in run},
                      "command": shlex.join(sys.argv), "arguments": vars(self.args)}
            save_preset(folder, kind=f"{method}-{role}", method=method, files={"model": model},
                        architecture=architecture, source=source)
        return folder

    def summary(self, by: Sequence[str], statistic: str = "mean", metrics: Sequence[str] = ("srcc", "plcc")) -> None:
        """This run's rows aggregated over splits per ``by`` group (``mean``, ``median``, or ``average_var``:
        DLSR's AVERAGE and sample VAR), then the change from the earlier rows of ``results.csv`` with the same keys."""
        if not self.chief or not self.rows:
            return
        table = pd.DataFrame(self.rows)
        name = {"mean": "mean", "median": "median", "average_var": "AVERAGE and sample VAR"}[statistic]
        print(f"\nSummary: {name} over the splits run")
        for key, rows in table.groupby(list(by), sort=False):
            cells = [_aggregate(rows[m].astype(float), statistic, m) for m in metrics]
            print(f"  {' '.join(f'{k:<18}' for k in np.atleast_1d(key))} n={len(rows):<3d}" + "  ".join(cells))
        if self.earlier is not None and len(self.earlier):
            delta = results.compare(table, self.earlier, metrics=[m for m in metrics if m in self.earlier.columns])
            if len(delta):
                print(f"\nAgainst the earlier rows of {self.results_path} ({len(delta)} matching):")
                print(delta.to_string(index=False))
        kinds = ", ".join(sorted(set(table["data"])))
        weights = ", ".join(sorted(set(table["weights"].astype(str))))
        print(f"\nresults: {self.results_path}  ({kinds} data, weights={weights})")


def _aggregate(values: pd.Series, statistic: str, metric: str) -> str:
    label = metric.upper()
    if statistic == "median":
        return f"{label} {np.median(values):.4f}"
    if statistic == "mean":
        return f"{label} {values.mean():.4f}"
    var = fold_summary(values)["var"] if len(values) > 1 else float("nan")
    return f"{label} {values.mean():.4f} (var {var:.2e})"


def main(script: str, run: Callable[[], None]) -> int:
    """Run ``run()``; a :class:`TfagiqaError` (bad data, missing weights, a wrong option) or an ``OSError`` of the
    system (no permission, a full disk) ends in one line on stderr and exit code 2 instead of a traceback."""
    try:
        with surface_data_errors():
            run()
    except (TfagiqaError, OSError) as exc:
        print(f"{script}: error: {exc}", file=sys.stderr)
        return 2
    return 0
