"""The Hypernet paper's Tables I–VIII (and §III-A's numbers) with our medians beside the paper's values.

Ours: the median over the grouped splits (HyperIQA's aggregate) of the rows ``run_hypernet.py`` writes,
for the official epoch choice (best test SRCC) and, in separate columns, the validation-selected runs and the last
epoch. One set of tables per source (data kind, weights, profile, backbone), so synthetic and real never mix.
Tables III–VIII (text inputs) appear once per text embedder the rows used (tfidf, keras-hub:…, blip:…: the paper's
is BLIP), so the medians never mix embedders; an experiment run with several schedules or losses gets a row per
setting. Rows no paper table has a cell for (e.g. HyperIQA on AGIQA-1K) go to a last "other runs" table.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa import reports
from tfagiqa.atomic import write_text
from tfagiqa.methods.hyperiqa import METHOD

TITLES = {
    "I": "Table I: best results from the dataset papers (quality, authenticity)",
    "III-A": "§III-A: HyperIQA on AGIQA-3K quality",
    "II": "Table II: AIGCIQA2023 quality and authenticity (T_qua, T_auth, T_both)",
    "III": "Table III: best alignment from the dataset papers",
    "IV": "Table IV: image-based hypernet for text alignment",
    "V": "Table V: text-based hypernet for text alignment",
    "VI": "Table VI (Appendix A): hypernet with image semantics input",
    "VII": "Table VII (Appendix B): hybrid hypernet on AGIQA-3K",
    "VIII": "Table VIII (Appendix B): hybrid hypernet on AIGCIQA2023",
}
TEXT_TABLES = ("III", "IV", "V", "VI", "VII", "VIII")
SELECTIONS = {"best_test_srcc": "ours", "best_val_srcc": "ours val-selected", "last_epoch": "ours last epoch"}
SETTINGS = ("schedule", "loss")


def median_of(ours: pd.DataFrame, experiment: str, subset: str, selection: str, metric: str,
              setting: dict | None = None, shown: set | None = None) -> float | str:
    """Median over splits of one cell, or "not run"; the rows used are added to ``shown`` (when given)."""
    rows = reports.matching(ours, experiment=experiment, subset=subset, selection=selection, **(setting or {}))
    if shown is not None:
        shown.update(rows.index)
    return float(np.median(rows[metric].astype(float))) if len(rows) else reports.NOT_RUN


def table_frame(paper: pd.DataFrame, ours: pd.DataFrame, table: str, shown: set | None = None) -> pd.DataFrame:
    """One paper table: a row per (experiment, subset) it reports (per setting run), paper and our SRCC/PLCC."""
    rows = paper[paper["table"] == table]
    cells = {}
    for experiment, subset in dict.fromkeys(zip(rows["experiment"], rows["subset"])):
        for label, setting in reports.settings_of(ours, experiment, SETTINGS):
            line = {}
            for metric in reports.METRICS:
                line[f"paper {metric.upper()}"] = reports.paper_value(rows, experiment, subset, "", metric)
                for selection, who in SELECTIONS.items():
                    line[f"{who} {metric.upper()}"] = (
                        median_of(ours, experiment, subset, selection, metric, setting, shown)
                        if experiment != "best_from_papers" else "n/a (other method)")
            cells[f"{experiment} {subset}" + (f" [{label}]" if label else "")] = line
    frame = pd.DataFrame.from_dict(cells, orient="index")
    frame.index.name = "experiment dataset:target"
    return frame


def make_tables(results: pd.DataFrame, out_dir, paper_csv=None) -> list[Path]:
    """Write every table as markdown and CSV, one set per source of our rows (``paper_csv`` None = the method's
    paper.csv); returns the files written."""
    paper = reports.read_paper(paper_csv or METHOD.paper_csv)
    ours = reports.latest(results[results["paper"] == "hypernet"]) if len(results) else results
    parts = reports.split_by_source(ours) or [(None, ours)]
    out_dir = Path(out_dir)
    written = []
    for source, rows in parts:
        tag = reports.source_tag(source) if source else "not-run"
        sections, shown = [], set()
        line = (reports.describe_source(source) + "; median over splits; official selection = epoch with the "
                "best test SRCC, val-selected = separate runs choosing the epoch on a 10% validation carve-out, "
                "last epoch = the official runs' final epoch")
        for table, title in TITLES.items():
            for embedder, subset in by_text_embedder(rows, table):
                frame = table_frame(paper, subset, table, shown)
                suffix = f"_text-{re.sub(r'[^A-Za-z0-9.-]+', '-', embedder)}" if embedder else ""
                csv = out_dir / f"hypernet_table{table}_{tag}{suffix}.csv"
                write_text(csv, frame.to_csv())
                written.append(csv)
                caption = f"{line}; text embedder {embedder}" if embedder else line
                sections.append(reports.to_markdown(frame, title, caption))
        rest = reports.other_runs(rows, pd.Index(sorted(shown))) if len(rows) else pd.DataFrame()
        if len(rest):
            frame = rest.set_index("experiment")
            written.append(write_text(out_dir / f"hypernet_other_runs_{tag}.csv", frame.to_csv()))
            sections.append(reports.to_markdown(frame, "Our runs the paper's tables do not report",
                                                f"{reports.describe_source(source)}; one row per split and selection"))
        written.append(write_text(out_dir / f"hypernet_tables_{tag}.md", "\n".join(sections)))
    return written


def by_text_embedder(rows: pd.DataFrame, table: str) -> list[tuple[str, pd.DataFrame]]:
    """(embedder, rows) for each text embedder a text table's rows used (one ("", rows) when none did)."""
    embedders = rows.get("text_embedder", pd.Series(dtype=str)).fillna("").astype(str)
    used = sorted(set(embedders) - {""})
    if table not in TEXT_TABLES or not used:
        return [("", rows)]
    return [(e, rows[embedders == e]) for e in used]
