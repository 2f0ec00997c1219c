"""``tfagiqa benchmark``: every method of the package on the same datasets, grouped splits and metrics (the same
options as ``experiments/run_benchmark.py``; see docs/benchmark.md)."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    """Add the ``benchmark`` command."""
    from tfagiqa.benchmark.cli import __doc__ as doc, add_arguments

    p = sub.add_parser("benchmark", help="run methods on shared splits and write a leaderboard",
                       description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; a data error surfaces as one line (the CLI prints TfagiqaErrors)."""
    from tfagiqa.benchmark.cli import run as run_benchmark
    from tfagiqa.data.pipeline import surface_data_errors

    with surface_data_errors():
        run_benchmark(args)
    return 0
