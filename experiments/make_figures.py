"""Paper figures, the paper's numbers beside ours, for every method with paper figures.

    python experiments/make_figures.py --paper dlsr     # figures/dlsr_fig1.png, dlsr_fig2.png, dlsr_fig3a … 3f.png
    python experiments/make_figures.py --paper sfiqa    # figures/sfiqa_fig3_*.png, sfiqa_fig4_*.png (from the data)

Our numbers come from a results CSV written by the paper's run script (one bar series per data kind and weights,
named in the legend and the title); the paper's from the method's transcription (tfagiqa/methods/<method>/paper.csv).
Without results the charts show the paper's bars only, with "ours: not run" in the legend. Which figures a paper
has is its method's ``figures`` module (tfagiqa/methods/<method>/figures.py, named in the method's registry
record): this script only dispatches.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tfagiqa import reports
from tfagiqa.errors import TfagiqaError
from tfagiqa.methods import for_paper, methods


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--paper", default="dlsr", choices=[m.paper for m in methods() if m.paper and m.figures],
                   help="which paper's figures")
    p.add_argument("--results", default=None,
                   help="our results CSV or folder (default results/reproduced/<paper>/results.csv)")
    p.add_argument("--paper-csv", default=None, help="the paper's numbers (default: the transcription shipped with "
                   "the method)")
    p.add_argument("--out", default="figures/", help="folder for the PNG files")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    method = for_paper(args.paper)
    results_path = Path(args.results or f"results/reproduced/{args.paper}/results.csv")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        print(f"make_figures: error: --out {args.out} is a file, not a folder", file=sys.stderr)
        return 2
    if not results_path.exists():
        print(f"no results at {results_path}: figures show the paper's bars only")
    try:
        ours = reports.load_results(results_path, args.paper)
        for path in method.module(method.figures).make_figures(ours, Path(args.out), args.paper_csv):
            print(f"wrote {path}")
    except (TfagiqaError, OSError) as exc:  # OSError: an --out that is a file, no permission, a full disk
        print(f"make_figures: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
