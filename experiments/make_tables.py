"""Paper tables with our numbers beside the paper's, as markdown and CSV.

    python experiments/make_tables.py --paper dlsr      # results/tables/dlsr_table1.md/.csv … dlsr_table8.md/.csv

Our numbers come from a results CSV written by the paper's run script; the paper's from the method's transcription (tfagiqa/methods/<method>/paper.csv).
Each results source (data kind, weights, profile, backbone) gets its own table, so synthetic and real numbers are
never mixed. With one source the CSV is dlsr_tableN.csv; with several, dlsr_tableN_<source>.csv per source. A table
whose experiments were not run still shows the paper's numbers, with "not run" and the command that produces them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from tfagiqa import reports
from tfagiqa.errors import TfagiqaError
from tfagiqa.methods import for_paper

RUN = "python experiments/run_dlsr.py --fold all --task {}"


class Table(NamedTuple):
    """One paper table: which experiments fill ours, the run_dlsr tasks producing them, how its blocks are built,
    which other transcribed tables it reads and which rows print in e-notation."""

    number: int
    roman: str
    title: str
    experiments: tuple[str, ...]
    tasks: tuple[str, ...]
    build: Callable[[pd.DataFrame, pd.DataFrame], dict[str, pd.DataFrame]]
    reads: tuple[str, ...] = ()
    scientific_rows: tuple[str, ...] = ("VAR",)

    def paper_rows(self, paper: pd.DataFrame) -> pd.DataFrame:
        """The transcribed rows this table shows or recomputes from."""
        return paper[paper["table"].isin((self.roman, *self.reads))]


def _subset_blocks(experiment: str) -> Callable[[pd.DataFrame, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Builder of Tables IV/VII: T2I, prompt-length and style blocks of one experiment."""
    def build(ours: pd.DataFrame, paper: pd.DataFrame) -> dict[str, pd.DataFrame]:
        return {
            "T2I groups": reports.subset_table(ours, paper, experiment, reports.subsets_of("t2i_group", with_all=True)),
            "prompt length": reports.subset_table(ours, paper, experiment, reports.subsets_of("prompt_length")),
            "style": reports.subset_table(ours, paper, experiment, reports.subsets_of("style_group")),
        }
    return build


DLSR_TABLES = (
    Table(1, "I", "Perception model architecture and parameters", ("perception_after",), ("perception",),
          lambda o, p: {"": reports.mapping_table(o, p, "perception_after")}),
    Table(2, "II", "Perception performance before and after improving", ("perception_before", "perception_after"),
          ("perception",), lambda o, p: {"": reports.fold_table(o, p, ("perception_before", "perception_after"))}),
    Table(3, "III", "Improvement percentage (perception)", ("perception_before", "perception_after"),
          ("perception",), lambda o, p: {"": reports.improvement_table(o, p)}, reads=("II",), scientific_rows=()),
    Table(4, "IV", "Performance on different subsets for perception", ("perception_after",),
          ("perception", "subsets"), _subset_blocks("perception_after")),
    Table(5, "V", "Alignment model architecture and parameters", ("alignment",), ("alignment",),
          lambda o, p: {"": reports.mapping_table(o, p, "alignment")}),
    Table(6, "VI", "Performance of alignment assessment", ("alignment",), ("alignment",),
          lambda o, p: {"": reports.fold_table(o, p, ("alignment",))}),
    Table(7, "VII", "Performance on different subsets for alignment", ("alignment",),
          ("alignment", "subsets"), _subset_blocks("alignment")),
    Table(8, "VIII", "Applying StairReward for improving", ("stair_before", "stair_after"), ("stairreward",),
          lambda o, p: {"": reports.fold_table(o, p, ("stair_before", "stair_after"))}),
)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--paper", default="dlsr", choices=sorted(PAPERS), help="which paper's tables")
    p.add_argument("--results", default=None,
                   help="our results CSV or folder (default results/reproduced/<paper>/results.csv)")
    p.add_argument("--paper-csv", default=None, help="the paper's numbers (default: the transcription shipped with the method, tfagiqa/methods/<method>/paper.csv)")
    p.add_argument("--out", default="results/tables/", help="folder for the .md and .csv files")
    return p.parse_args(argv)


def _status(ours: pd.DataFrame, table: Table) -> str:
    """Which of the table's experiments we have folds for, and the command(s) that produce them."""
    parts = []
    for experiment in table.experiments:
        folds = reports.folds_run(ours, experiment)
        parts.append(f"{experiment} folds {', '.join(map(str, folds))}" if folds else f"{experiment} not run")
    commands = " and ".join(f"`{RUN.format(t)}`" for t in table.tasks)
    return f"Ours run: {'; '.join(parts)} (produced by {commands})."


def _section(table: Table, source: dict | None, ours: pd.DataFrame, paper: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """The markdown of one table for one source, and its CSV frame."""
    blocks = table.build(ours, table.paper_rows(paper))
    line = (f"{reports.describe_source(source)}. {_status(ours, table)} "
            f"Paper: DLSR report Table {table.roman}, transcribed in tfagiqa/methods/dlsr/paper.csv.")
    text = "\n".join(reports.to_markdown(frame, f"{table.title}{' — ' + name if name else ''}", line,
                                         table.scientific_rows)
                     for name, frame in blocks.items())
    frame = next(iter(blocks.values())) if len(blocks) == 1 else reports.stack_blocks(blocks)
    return text, frame


def _notes(paper: pd.DataFrame, table: Table) -> str:
    """The report's own notes and inconsistencies for one table, as a markdown list."""
    notes = reports.paper_notes(paper[paper["table"] == table.roman])
    return "".join(f"- {note}\n" for note in notes)


def write_table(table: Table, sources: list, paper: pd.DataFrame, out: Path) -> list[Path]:
    """dlsr_tableN.md (one section per source) and its CSV file(s); returns the paths written."""
    sections, written = [], []
    for source, ours in sources:
        text, frame = _section(table, source, ours, paper)
        sections.append(text)
        suffix = "" if len(sources) == 1 else "_" + reports.source_tag(source)
        written.append(reports.write_text(out / f"dlsr_table{table.number}{suffix}.csv", frame.to_csv()))
    notes = _notes(paper, table)
    body = f"# DLSR-IQA Table {table.roman}: {table.title}\n\n" + "\n".join(sections)
    body += f"\nNotes on the paper's numbers:\n\n{notes}" if notes else ""
    return [reports.write_text(out / f"dlsr_table{table.number}.md", body), *written]


def dlsr_tables(ours: pd.DataFrame, paper_csv: Path, out: Path) -> list[Path]:
    """Every DLSR table, one section per results source (a single 'not run' section when there are no results)."""
    paper = reports.read_paper(paper_csv)
    sources = reports.split_by_source(ours) or [(None, ours)]
    return [path for table in DLSR_TABLES for path in write_table(table, sources, paper, out)]


def _method_tables(module: str) -> Callable[[pd.DataFrame, Path, Path], list[Path]]:
    """A paper whose tables live in ``tfagiqa.<module>.make_tables(results, out_dir, paper_csv)``."""
    def tables(ours: pd.DataFrame, paper_csv: Path, out: Path) -> list[Path]:
        return importlib.import_module(f"tfagiqa.{module}").make_tables(ours, out, paper_csv)

    return tables


PAPERS = {"dlsr": dlsr_tables, "ipiqa": _method_tables("reports_ipiqa"), "hypernet": _method_tables("reports_hypernet"),
          "sfiqa": _method_tables("reports_sfiqa")}


def main(argv=None) -> int:
    args = parse_args(argv)
    results_path = Path(args.results or f"results/reproduced/{args.paper}/results.csv")
    paper_csv = Path(args.paper_csv or for_paper(args.paper).paper_csv)
    if not results_path.exists():
        print(f"no results at {results_path}: tables show the paper's numbers and 'not run' for ours")
    try:
        ours = reports.load_results(results_path, args.paper)
        for path in PAPERS[args.paper](ours, paper_csv, Path(args.out)):
            print(f"wrote {path}")
    except TfagiqaError as exc:
        print(f"make_tables: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
