"""IP-IQA's Tables 1–3 with our numbers beside the paper's (markdown + CSV, one set per results source).

Ours = the mean over the grouped splits run of ``experiments/run_ipiqa.py`` rows, under one epoch-selection
rule: ``best_test_sum`` (as the paper's code; ``zero_shot`` for CLIPScore) in ``ipiqa_tableN*.md``, and the clean
``best_val_sum`` in ``ipiqa_tableN*_val.md``. A source is one data kind / weights / profile / backbone
(:func:`tfagiqa.reports.split_by_source`), so synthetic and real numbers never share a table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa import reports

PAPER_CSV = Path(__file__).with_name("paper.csv")
METRICS = ("srcc", "plcc", "krcc")
DATASET_NAMES = {"agiqa1k:overall": "AGIQA-1K", "agiqa3k:quality": "AGIQA-3K quality",
                 "agiqa3k:alignment": "AGIQA-3K alignment"}
TABLES = {
    1: ("Table 1: perception (AGIQA-1K MOS, AGIQA-3K quality)", ("agiqa1k:overall", "agiqa3k:quality")),
    2: ("Table 2: alignment (AGIQA-3K)", ("agiqa3k:alignment",)),
    3: ("Table 3: ablation (Image2Prompt / integral prompt / [QA] token)", ("agiqa1k:overall", "agiqa3k:quality")),
}
SELECTIONS = {"": "best_test_sum", "_val": "best_val_sum"}
RUN_HINT = "python experiments/run_ipiqa.py --dataset {dataset}"
RUNNABLE = {"ipiqa", "resnet50", "resnet50-imagenet", "clipscore", *(f"ablation{k}" for k in range(1, 6))}
NOT_HERE = "n/a (not in this package)"
ROW_KEYS = (*reports.SOURCE_KEYS, "experiment", "dataset", "target", "selection", "split_index")


def _latest(ours: pd.DataFrame) -> pd.DataFrame:
    """Reruns collapsed: the last row per source, experiment, dataset, target, selection and split."""
    keys = pd.DataFrame({k: ours[k].fillna("").astype(str) if k in ours.columns else "" for k in ROW_KEYS},
                        index=ours.index)
    return ours[~keys.duplicated(keep="last")]


def _ours(ours: pd.DataFrame, experiment: str, subset: str, selection: str, metric: str) -> tuple[float, int]:
    """Mean over splits of one cell, and how many splits it averages (NaN, 0 when not run)."""
    dataset, target = subset.split(":")
    rule = "zero_shot" if experiment == "clipscore" else selection
    if ours.empty:
        return float("nan"), 0
    rows = ours[(ours["experiment"] == experiment) & (ours["dataset"] == dataset) & (ours["target"] == target)
                & (ours["selection"] == rule)]
    if rows.empty:
        return float("nan"), 0
    return float(rows[metric].astype(float).mean()), len(rows)


def table(ours: pd.DataFrame, paper: pd.DataFrame, number: int, selection: str) -> pd.DataFrame:
    """Rows = the table's methods in the paper's order; columns = ``<dataset> <METRIC> paper|ours`` and split counts."""
    _, subsets = TABLES[number]
    rows = paper[paper["table"] == str(number)]
    experiments = list(dict.fromkeys(rows["experiment"]))
    columns: dict[str, list] = {}
    for subset in subsets:
        for metric in METRICS:
            columns[f"{DATASET_NAMES[subset]} {metric.upper()} paper"] = [
                reports.paper_value(rows, e, subset, "", metric) for e in experiments]
            columns[f"{DATASET_NAMES[subset]} {metric.upper()} ours"] = [
                _ours(ours, e, subset, selection, metric)[0] for e in experiments]
        columns[f"{DATASET_NAMES[subset]} splits"] = [_ours(ours, e, subset, selection, "srcc")[1] for e in experiments]
    frame = pd.DataFrame(columns, index=pd.Index(experiments, name="method"))
    ours_columns = [c for c in frame.columns if c.endswith(" ours")]
    missing = [reports.NOT_RUN if e in RUNNABLE else NOT_HERE for e in experiments]
    for column in ours_columns:
        frame[column] = [value if pd.notna(value) else label for value, label in zip(frame[column], missing)]
    return frame


def make_tables(results: pd.DataFrame, out_dir, paper_csv=PAPER_CSV) -> list[Path]:
    """Write ipiqa_table{1,2,3}[_<source>][_val].{md,csv}; returns the paths written."""
    out_dir = Path(out_dir)
    paper = reports.read_paper(paper_csv)
    ours_all = results[results["paper"] == "ipiqa"] if "paper" in results.columns else results.iloc[0:0]
    parts = reports.split_by_source(_latest(ours_all)) if len(ours_all) else []
    sources = parts or [(None, ours_all)]
    written = []
    for source, ours in sources:
        suffix = "" if len(sources) == 1 or source is None else "_" + reports.source_tag(source)
        for number, (title, _) in TABLES.items():
            for tag, selection in SELECTIONS.items():
                frame = table(ours, paper, number, selection)
                splits = sorted({int(n) for c in frame.columns if c.endswith("splits") for n in frame[c]} - {0})
                line = (f"{reports.describe_source(source)}; paper: mean of 10 grouped 80/20 splits, best test epoch; "
                        f"ours: selection {selection} (zero_shot for CLIPScore), mean over "
                        f"{', '.join(map(str, splits)) or 'no'} split(s). Not run: `{RUN_HINT.format(dataset='agiqa3k')}`"
                        " with --ablation N / --baseline NAME.")
                stem = f"ipiqa_table{number}{suffix}{tag}"
                written.append(reports.write_text(out_dir / f"{stem}.md", reports.to_markdown(
                    frame, f"IP-IQA {title}{' — validation-selected' if tag else ''}", line, scientific_rows=())))
                csv_path = out_dir / f"{stem}.csv"
                frame.replace({np.nan: None}).to_csv(csv_path)
                written.append(csv_path)
    return written
