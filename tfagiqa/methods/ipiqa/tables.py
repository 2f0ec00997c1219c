"""IP-IQA's Tables 1–3 with our numbers beside the paper's (markdown + CSV, one set per results source).

Ours = the mean over the grouped splits run of ``experiments/run_ipiqa.py`` rows, under one epoch-selection
rule: ``best_test_sum`` (as the paper's code; ``zero_shot`` for CLIPScore) in ``ipiqa_tableN*.md``, the clean
``best_val_sum`` in ``ipiqa_tableN*_val.md`` and ``last_epoch`` in ``ipiqa_tableN*_last.md``. A source is one data
kind / weights / profile / backbone (:func:`tfagiqa.reports.split_by_source`), so synthetic and real numbers never
share a table. An experiment run with several heads or [QA] tokens gets a row per setting ("ipiqa [head=linear]");
rows no paper table has a cell for (e.g. a baseline's alignment) go to ``ipiqa_other_runs*.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa import reports
from tfagiqa.atomic import write_text
from tfagiqa.methods import list_methods
from tfagiqa.methods.ipiqa import METHOD

METRICS = ("srcc", "plcc", "krcc")
DATASET_NAMES = {"agiqa1k:overall": "AGIQA-1K", "agiqa3k:quality": "AGIQA-3K quality",
                 "agiqa3k:alignment": "AGIQA-3K alignment"}
TABLES = {
    1: ("Table 1: perception (AGIQA-1K MOS, AGIQA-3K quality)", ("agiqa1k:overall", "agiqa3k:quality")),
    2: ("Table 2: alignment (AGIQA-3K)", ("agiqa3k:alignment",)),
    3: ("Table 3: ablation (Image2Prompt / integral prompt / [QA] token)",
        ("agiqa1k:overall", "agiqa3k:quality", "agiqa3k:alignment")),  # the paper has no alignment column: ours only
}
SELECTIONS = {"": "best_test_sum", "_val": "best_val_sum", "_last": "last_epoch"}
SELECTION_TITLES = {"": "", "_val": " — validation-selected", "_last": " — last epoch"}
RUN_HINT = "python experiments/run_ipiqa.py --dataset {dataset}"
RUNNABLE = {"ipiqa", "resnet50", "resnet50-imagenet", "clipscore", *(f"ablation{k}" for k in range(1, 6))}
NOT_HERE = "n/a (not in this package)"
SETTINGS = ("head", "qa_token")
# IP-IQA's splits as the benchmark names them (tfagiqa.methods.ipiqa.protocol.repeat_splits, seed 42) and the
# paper's names of the methods the benchmark runs under another name
BENCHMARK_SPLITS = {"agiqa1k": "bernoulli80_seed42", "agiqa3k": "ratio802_seed42"}
BENCHMARK_NAMES = {"hypernet": "hyperiqa"}
BENCHMARK_MARK = " †"


def _cell(ours: pd.DataFrame, experiment: str, subset: str, selection: str, setting: dict) -> pd.DataFrame:
    """Our rows of one cell: an experiment (in one setting) on one dataset:target under one selection rule."""
    dataset, target = subset.split(":")
    rule = "zero_shot" if experiment == "clipscore" else selection
    return reports.matching(ours, experiment=experiment, dataset=dataset, target=target, selection=rule, **setting)


def _method_rows(ours: pd.DataFrame, experiments: list[str]) -> list[tuple[str, str, dict]]:
    """(row label, experiment, setting filter): one row per experiment, or one per setting it was run with."""
    rows = []
    for experiment in experiments:
        for label, setting in reports.settings_of(ours, experiment, SETTINGS):
            rows.append((f"{experiment} [{label}]" if label else experiment, experiment, setting))
    return rows


def _missing(experiment: str) -> str:
    """What an empty "ours" cell says: not run (by run_ipiqa.py or the benchmark), or not in this package."""
    if experiment in RUNNABLE:
        return reports.NOT_RUN
    if BENCHMARK_NAMES.get(experiment, experiment) in list_methods():
        return reports.BENCHMARK_NOT_RUN.format(splits="ipiqa")
    return NOT_HERE


def table(ours: pd.DataFrame, paper: pd.DataFrame, number: int, selection: str,
          shown: set | None = None, benchmark: reports.BenchmarkCells | None = None, data: str = "",
          used: list | None = None) -> pd.DataFrame:
    """Rows = the table's methods in the paper's order; columns = ``<dataset> <METRIC> paper|ours`` and split counts.

    A method ``run_ipiqa.py`` does not run is filled from ``benchmark``'s rows of ``data`` kind under IP-IQA's
    splits (its row label marked †; those rows are appended to ``used``). The index of every result row of
    ``ours`` that fills a cell is added to ``shown`` (when given).
    """
    shown = set() if shown is None else shown
    _, subsets = TABLES[number]
    rows = paper[paper["table"] == str(number)]
    methods = _method_rows(ours, list(dict.fromkeys(rows["experiment"])))
    from_benchmark = [e not in RUNNABLE and benchmark is not None and benchmark.method(e) is not None
                      for _, e, _ in methods]
    columns: dict[str, list] = {}
    for subset in subsets:
        dataset, target = subset.split(":")
        cells = [benchmark.cell(e, dataset, target, data) if outside else _cell(ours, e, subset, selection, setting)
                 for (_, e, setting), outside in zip(methods, from_benchmark)]
        for cell, outside in zip(cells, from_benchmark):
            if not outside:
                shown.update(cell.index)
            elif used is not None:
                used.append(cell)
        for metric in METRICS:
            columns[f"{DATASET_NAMES[subset]} {metric.upper()} paper"] = [
                reports.paper_value(rows, e, subset, "", metric) for _, e, _ in methods]
            columns[f"{DATASET_NAMES[subset]} {metric.upper()} ours"] = [
                float(c[metric].astype(float).mean()) if len(c) else float("nan") for c in cells]
        columns[f"{DATASET_NAMES[subset]} splits"] = [len(c) for c in cells]
    labels = [label + BENCHMARK_MARK * outside for (label, _, _), outside in zip(methods, from_benchmark)]
    frame = pd.DataFrame(columns, index=pd.Index(labels, name="method"))
    ours_columns = [c for c in frame.columns if c.endswith(" ours")]
    missing = [_missing(e) for _, e, _ in methods]
    for column in ours_columns:
        frame[column] = [value if pd.notna(value) else label for value, label in zip(frame[column], missing)]
    return frame


def make_tables(results: pd.DataFrame, out_dir, paper_csv=None, benchmark=None) -> list[Path]:
    """Write ipiqa_table{1,2,3}[_<source>][_val|_last].{md,csv} and, for rows no table shows,
    ipiqa_other_runs[_<source>].{md,csv}; ``paper_csv`` None = the method's paper.csv; ``benchmark`` the benchmark's
    results CSV (None: no benchmark rows), whose rows under IP-IQA's splits fill the other methods' cells. Returns
    the paths written."""
    out_dir = Path(out_dir)
    paper = reports.read_paper(paper_csv or METHOD.paper_csv)
    bench = reports.read_benchmark(benchmark, BENCHMARK_SPLITS, BENCHMARK_NAMES)
    ours_all = results[results["paper"] == "ipiqa"] if "paper" in results.columns else results.iloc[0:0]
    parts = reports.split_by_source(reports.latest(ours_all)) if len(ours_all) else []
    sources = parts or [(None, ours_all)]
    written = []
    for source, ours in sources:
        suffix = "" if len(sources) == 1 or source is None else "_" + reports.source_tag(source)
        shown: set = set()
        for number, (title, _) in TABLES.items():
            for tag, selection in SELECTIONS.items():
                used: list[pd.DataFrame] = []
                frame = table(ours, paper, number, selection, shown, bench, bench.data_kind(source), used)
                own = frame[~frame.index.str.endswith(BENCHMARK_MARK)]
                splits = sorted({int(n) for c in own.columns if c.endswith("splits") for n in own[c]} - {0})
                line = (f"{reports.describe_source(source)}; paper: mean of 10 grouped 80/20 splits, best test epoch; "
                        f"ours (run_ipiqa.py rows): selection {selection} (zero_shot for CLIPScore), mean over "
                        f"{', '.join(map(str, splits)) or 'no'} split(s). Not run: `{RUN_HINT.format(dataset='agiqa3k')}`"
                        f" with --ablation N / --baseline NAME. {reports.NOT_REBUILT}")
                note = bench.note(pd.concat(used)) if used else ""
                stem = f"ipiqa_table{number}{suffix}{tag}"
                written += _write(out_dir, stem, frame, f"IP-IQA {title}{SELECTION_TITLES[tag]}",
                                  f"{line} {note}".strip())
        rest = reports.other_runs(ours, pd.Index(sorted(shown)))
        if len(rest):
            line = f"{reports.describe_source(source)}; result rows without a cell in Tables 1–3, one per split."
            written += _write(out_dir, f"ipiqa_other_runs{suffix}", rest.set_index("experiment"),
                              "IP-IQA: our runs the paper's tables do not report", line)
    return written


def _write(out_dir: Path, stem: str, frame: pd.DataFrame, title: str, line: str) -> list[Path]:
    """``<stem>.md`` and ``<stem>.csv`` of one table (NaN written as empty cells)."""
    md = write_text(out_dir / f"{stem}.md", reports.to_markdown(frame, title, line, scientific_rows=()))
    csv = write_text(out_dir / f"{stem}.csv", frame.replace({np.nan: None}).to_csv())
    return [md, csv]
