"""Paper tables with our numbers beside the paper's, as markdown and CSV, for every method with paper tables.

    python experiments/make_tables.py --paper dlsr      # results/tables/dlsr_table1.md/.csv … dlsr_table8.md/.csv
    python experiments/make_tables.py --paper ipiqa     # ipiqa_table1.md/.csv …; likewise sfiqa, hypernet

Our numbers come from a results CSV written by the paper's run script; the paper's from the method's transcription
(tfagiqa/methods/<method>/paper.csv). Where a paper compares with methods the package implements but the paper's
run script does not run (IP-IQA Tables 1-2, SF-IQA Table 1), their cells come from the benchmark's rows made under
that paper's splits (``run_benchmark.py --splits ipiqa|sfiqa``), marked † and described in the caption. Each results source (data kind, weights, profile, backbone) gets its own
table, so synthetic and real numbers are never mixed. A table whose experiments were not run still shows the
paper's numbers, with "not run" for ours. Which tables a paper has is its method's ``tables`` module
(tfagiqa/methods/<method>/tables.py, named in the method's registry record): this script only dispatches.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

from tfagiqa import reports
from tfagiqa.errors import TfagiqaError
from tfagiqa.methods import for_paper, papers


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--paper", default="dlsr", choices=papers(), help="which paper's tables")
    p.add_argument("--results", default=None,
                   help="our results CSV or folder (default results/reproduced/<paper>/results.csv)")
    p.add_argument("--paper-csv", default=None, help="the paper's numbers (default: the transcription shipped with "
                   "the method, tfagiqa/methods/<method>/paper.csv)")
    p.add_argument("--benchmark", default="results/benchmark/results.csv",
                   help="the benchmark's results CSV (experiments/run_benchmark.py): its rows under a paper's splits fill "
                        "that paper's rows for the other methods the package implements (IP-IQA Tables 1-2, SF-IQA "
                        "Table 1); 'none' to leave them out")
    p.add_argument("--out", default="results/tables/", help="folder for the .md and .csv files")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    method = for_paper(args.paper)
    results_path = Path(args.results or f"results/reproduced/{args.paper}/results.csv")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        print(f"make_tables: error: --out {args.out} is a file, not a folder", file=sys.stderr)
        return 2
    if not results_path.exists():
        print(f"no results at {results_path}: tables show the paper's numbers and 'not run' for ours")
    try:
        ours = reports.load_results(results_path, args.paper)
        make = method.module(method.tables).make_tables
        benchmark = None if args.benchmark == "none" or not Path(args.benchmark).exists() else args.benchmark
        extra = {"benchmark": benchmark} if "benchmark" in inspect.signature(make).parameters else {}
        for path in make(ours, Path(args.out), args.paper_csv, **extra):
            print(f"wrote {path}")
    except (TfagiqaError, OSError) as exc:  # OSError: an --out that is a file, no permission, a full disk
        print(f"make_tables: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
