"""The benchmark's command line, shared by ``experiments/run_benchmark.py`` and ``tfagiqa benchmark``: options,
then the run (harness, datasets, splits, every cell), the summary against earlier rows, the leaderboard and figure.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from tfagiqa import distribute
from tfagiqa.data import DIRNAMES, default_data_root
from tfagiqa.errors import TfagiqaError

DEFAULT_DATASETS = ("agiqa3k", "aigciqa2023")
DEFAULT_REPEATS = {"smoke": 2, "paper": 10}
TARGET_CHOICES = ("quality", "alignment", "overall", "all")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Every option of the benchmark."""
    from tfagiqa.benchmark.splits import PROTOCOLS

    p.add_argument("--methods", nargs="+", default=None, metavar="METHOD",
                   help="methods to run (default: every registered method with a benchmark adapter)")
    p.add_argument("--datasets", nargs="+", default=list(DEFAULT_DATASETS), metavar="DATASET",
                   help=f"of {', '.join(DIRNAMES)} (default: {' '.join(DEFAULT_DATASETS)})")
    p.add_argument("--target", default="all", choices=TARGET_CHOICES,
                   help="the MOS to predict; all = every one a dataset has (quality, alignment, overall)")
    p.add_argument("--repeats", type=int, default=None,
                   help=f"grouped 80/20 splits (default: smoke {DEFAULT_REPEATS['smoke']}, paper {DEFAULT_REPEATS['paper']})")
    p.add_argument("--splits", default="benchmark", choices=PROTOCOLS,
                   help="benchmark: grouped 80/20, seed 42; ipiqa: IP-IQA's splits (AGIQA-1K/3K); sfiqa: SF-IQA's "
                        "(AIGIQA-20K's stratified split, AGIQA-3K's grouped)")
    p.add_argument("--profile", default="auto", choices=["auto", "smoke", "paper"],
                   help="auto: paper when every dataset is real, else smoke (tiny networks, minutes on a CPU)")
    p.add_argument("--weights", action="append", default=[], metavar="METHOD=SPEC",
                   help="starting weights of one method, as that method's adapter reads them (repeatable)")
    p.add_argument("--data-root", default=None, help=f"folder holding the datasets (default {default_data_root()})")
    p.add_argument("--synthetic", default="auto", choices=["auto", "always", "never"],
                   help="auto: real data when present, else the synthetic stand-in")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation and training (split k uses seed + k)")
    p.add_argument("--out", default="results/benchmark",
                   help="results.csv, splits/, work/ and the leaderboard go here")
    p.add_argument("--figures", default="figures", help="folder of the figure (benchmark_<profile>_<datasets>.png)")
    distribute.add_arguments(p)


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The benchmark's argument parser."""
    p = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    return p


def run(args: argparse.Namespace) -> list[Path]:
    """Run the benchmark the options describe; returns the leaderboard and figure paths."""
    from tfagiqa.benchmark import adapters, runner
    from tfagiqa.data import check_name, load_dataset
    from tfagiqa.experiment import Experiment

    chosen = adapters.chosen(args.methods)
    weights = adapters.parse_weights(args.weights, [a.name for a in chosen])
    names = [check_name(name) for name in dict.fromkeys(args.datasets)]
    experiment = Experiment(args, paper="benchmark")
    data = {name: load_dataset(name, experiment.data_root, synthetic=args.synthetic) for name in names}
    kinds = sorted({df.attrs["data"] for df in data.values()})
    profile = args.profile if args.profile != "auto" else ("paper" if kinds == ["real"] else "smoke")
    repeats = args.repeats if args.repeats is not None else DEFAULT_REPEATS[profile]
    targets = runner.TARGETS if args.target == "all" else (args.target,)
    plan = runner.Plan(tuple(chosen), data, targets, args.splits, repeats, profile, weights, args.seed)
    experiment.banner(
        [f"Benchmark: {', '.join(a.name for a in chosen)}",
         "on " + ", ".join(f"{n} ({len(df)} images, {df.attrs['data'].upper()})" for n, df in data.items()),
         f"targets {', '.join(targets)}; {args.splits} splits × {repeats}; profile {profile}; seed {args.seed}",
         "weights: " + (", ".join(f"{m}={w}" for m, w in weights.items()) or "each method's default") +
         " (every row records what was used)"],
        data_kind="synthetic" if "synthetic" in kinds else "real",
        warnings=["TINY random networks (smoke profile) where no weights are found."] if profile == "smoke" else [])
    with experiment.strategy.scope():  # the protocols build their models under the current strategy
        skipped = runner.run(plan, experiment)
    if not experiment.rows:
        raise TfagiqaError("nothing was run: every method and target was skipped (see the lines above)")
    metrics = ("srcc", "plcc", *(("srcc_truth",) if "srcc_truth" in experiment.rows[0] else ()))
    experiment.summary(["experiment", "dataset", "target"], metrics=metrics)
    return publish(experiment, plan, skipped, Path(args.figures), args)


def publish(experiment, plan, skipped: list[str], figures: Path, args: argparse.Namespace) -> list[Path]:
    """The leaderboard (Markdown + CSV) and the figure of this run's rows."""
    import pandas as pd

    from tfagiqa.benchmark import figure, leaderboard

    if not experiment.chief:
        return []
    board = leaderboard.table(pd.DataFrame(experiment.rows))
    kinds = "+".join(sorted(set(board["data"])))
    stem = f"benchmark_{plan.profile}_{'+'.join(plan.datasets)}_{kinds}"
    marks = [*(["SYNTHETIC data"] if "synthetic" in kinds else []),
             *(["weights=random"] if board["weights"].str.contains("random").any() else [])]
    title = f"Benchmark ({plan.profile} profile, {plan.protocol} splits × {plan.repeats})" + (
        f" — {', '.join(marks)}" if marks else "")
    first = experiment.rows[0]
    context = [f"command: `{' '.join(shlex.quote(a) for a in [Path(sys.argv[0]).name, *sys.argv[1:]])}`",
               f"run at {first['timestamp']} (git {first['git_commit'][:12]}, tfagiqa {first['package_version']}); "
               f"rows in `{experiment.results_path}`, splits in `{experiment.out / 'splits'}`",
               f"profile {plan.profile}; {plan.protocol} splits × {plan.repeats}; seed {plan.seed} (split k: seed + k)"]
    paths = leaderboard.write(board, leaderboard.markdown(board, title, context, skipped), experiment.out / stem)
    paths.append(figure.plot(board, figures / f"{stem}.png", title))
    print(f"\n{leaderboard.times(board)}\nleaderboard: " + ", ".join(str(p) for p in paths), flush=True)
    return paths


def main(argv: list[str] | None = None, prog: str = "run_benchmark") -> int:
    """Parse, run, and end in one error line (exit 2) on bad input."""
    from tfagiqa import experiment

    args = parser(prog).parse_args(argv)
    return experiment.main(prog, lambda: run(args))
