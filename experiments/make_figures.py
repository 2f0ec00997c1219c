"""Paper figures as grouped bar charts, the paper's bars beside ours.

    python experiments/make_figures.py --paper dlsr     # figures/dlsr_fig1.png, dlsr_fig2.png, dlsr_fig3a … 3f.png

Our numbers come from a results CSV written by the paper's run script (one bar series per data kind and weights,
named in the legend and the title); the paper's from the method's transcription (tfagiqa/methods/<method>/paper.csv). Without results the charts show
the paper's bars only, with "ours: not run" in the legend.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from tfagiqa import figures, reports
from tfagiqa.methods import for_paper


COPIED = "\npaper bars: Table VII's copy of Table IV (a report error, not a target)"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--paper", default="dlsr", choices=sorted(PAPERS), help="which paper's figures")
    p.add_argument("--results", default=None,
                   help="our results CSV or folder (default results/reproduced/<paper>/results.csv)")
    p.add_argument("--paper-csv", default=None, help="the paper's numbers (default: the transcription shipped with the method)")
    p.add_argument("--out", default="figures/", help="folder for the PNG files")
    return p.parse_args(argv)


def _sources_line(sources: list) -> str:
    """Title line naming where our bars come from."""
    return "; ".join(reports.describe_source(source) for source, _ in sources)


FIG_BEFORE_AFTER = (
    ("dlsr_fig1.png", "Fig. 1: perception before vs after fine-tuning", "II", "perception_before", "perception_after"),
    ("dlsr_fig2.png", "Fig. 2: alignment before vs after StairReward", "VIII", "stair_before", "stair_after"),
)
# Fig. 3 panels a–f: (subset column, its name, whether "All" leads) × (experiment, its table, its name)
FIG3_SUBSETS = (("t2i_group", "T2I", True), ("prompt_length", "prompt length", False), ("style_group", "style", False))
FIG3_MODELS = (("perception_after", "IV", "Perception"), ("alignment", "VII", "Alignment"))


def dlsr_figures(ours: pd.DataFrame, paper: pd.DataFrame, out: Path) -> list[Path]:
    """Fig. 1 (perception tuning), Fig. 2 (StairReward) and Fig. 3a–f (subsets), one PNG each."""
    sources = reports.split_by_source(ours) or [(None, ours)]
    line = _sources_line(sources)
    written = []
    for name, title, roman, before, after in FIG_BEFORE_AFTER:
        full = f"{title} (averages)\npaper: DLSR Table {roman}; {line}"
        written.append(figures.before_after(out / name, full, paper[paper["table"] == roman], sources, before, after))
    panels = [(s, m) for s in FIG3_SUBSETS for m in FIG3_MODELS]
    for letter, ((column, name, with_all), (experiment, roman, label)) in zip("abcdef", panels):
        copied = COPIED if roman == "VII" and column != "t2i_group" else ""
        title = f"Fig. 3{letter}: {label} on {name} subsets (averages)\npaper: DLSR Table {roman}; {line}{copied}"
        written.append(figures.subset_bars(out / f"dlsr_fig3{letter}.png", title, paper[paper["table"] == roman],
                                           sources, experiment, reports.subsets_of(column, with_all)))
    return written


def sfiqa_figures(ours: pd.DataFrame, paper: pd.DataFrame, out: Path) -> list[Path]:
    """SF-IQA Fig. 3-4: MOS and generator distributions of the AIGIQA-20K split (from the data, not results)."""
    from tfagiqa.methods.sfiqa.tables import split_figures

    return split_figures(out)


PAPERS = {"dlsr": dlsr_figures, "sfiqa": sfiqa_figures}


def main(argv=None) -> int:
    args = parse_args(argv)
    results_path = Path(args.results or f"results/reproduced/{args.paper}/results.csv")
    paper = reports.read_paper(args.paper_csv or for_paper(args.paper).paper_csv)
    if not results_path.exists():
        print(f"no results at {results_path}: figures show the paper's bars only")
    ours = reports.load_results(results_path, args.paper)
    for path in PAPERS[args.paper](ours, paper, Path(args.out)):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
