"""SF-IQA's Tables 1–4 with our numbers beside the paper's (its Fig. 3–4 are in ``figures.py``). Markdown + CSV,
one set per results source (data kind / weights / profile / backbone) and per pre-training setting (the rows'
``pretrain`` stages), so synthetic and real numbers, or runs with and without a pre-training stage, never share a
table; every file is written atomically.

Ours = the mean over the splits run of ``experiments/run_sfiqa.py`` rows. Table 1 is AGIQA-3K (all + T2I groups);
Tables 2–4 are the paper's AIGIQA-20K ablations, filled from each dataset and label we ran the fusion block on (the
caption names it: on AGIQA-3K the rows are ours only in kind, not comparable with the paper's AIGIQA-20K numbers;
there they also get our T2I-group columns, which the paper does not have). Table 2 adds a row per averaged
checkpoint count run (``--checkpoints K``). Rows no table has a cell for go to ``sfiqa_other_runs*.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa import reports
from tfagiqa.atomic import write_text
from tfagiqa.methods import list_methods
from tfagiqa.methods.sfiqa import METHOD

SUBSETS = {"all": "All", "t2i_group=bad": "Bad", "t2i_group=medium": "Medium", "t2i_group=good": "Good"}
OURS_TABLE1 = {"sfiqa_quality": "quality", "sfiqa_similarity": "alignment"}
ABLATION_TABLES = {
    2: ("Table 2: branches and score fusion", ("fusion_code", "q_only", "s_only", "mean"), ("fusion_paper",)),
    3: ("Table 3: image semantic feature extraction (independent = full model)", ("detached_isfe", "fusion_code"), ()),
    4: ("Table 4: similarity score (inner product = full model)", ("fusion_code", "cross_attention"), ()),
}
LABELS = {"fusion_code": "Q + S + fusion (code MLP 2→10→10→1)", "fusion_paper": "Q + S + fusion (paper MLP, 1 hidden)",
          "q_only": "Q only", "s_only": "S only", "mean": "Q + S mean", "detached_isfe": "detached ISFE",
          "cross_attention": "cross attention"}
RUN_HINT = "python experiments/run_sfiqa.py --dataset {dataset}"
DEFAULT_LABEL = {"agiqa3k": "quality", "aigiqa20k": "overall"}  # run_sfiqa.py's fusion label without --fusion-label
# SF-IQA's AGIQA-3K split as the benchmark names it (grouped 80/20 by prompt, seed 42) and the paper's names of
# the methods the benchmark runs under another name
BENCHMARK_SPLITS = {"agiqa3k": "ratio802_seed42"}
BENCHMARK_NAMES = {"hypernet": "hyperiqa", "clip": "clipscore"}
BENCHMARK_MARK = " †"


def _rows(ours: pd.DataFrame, experiment: str, dataset: str, subset: str, target: str | None = None) -> pd.DataFrame:
    """Our rows of one cell (every split run); ``target`` None = any label."""
    where = {} if target is None else {"target": target}
    return reports.matching(ours, experiment=experiment, dataset=dataset, subset=subset, **where)


def _mean(rows: pd.DataFrame, metric: str) -> float:
    """Mean over splits of one metric (NaN when not run)."""
    return float(rows[metric].astype(float).mean()) if len(rows) else float("nan")


def table1(ours: pd.DataFrame, paper: pd.DataFrame, shown: set | None = None,
           benchmark: reports.BenchmarkCells | None = None, data: str = "", used: list | None = None) -> pd.DataFrame:
    """Rows = Table 1's methods; columns ``<subset> <METRIC> paper|ours`` (AGIQA-3K).

    SF-IQA's own rows come from ``ours``; a method the package runs in its benchmark is filled from ``benchmark``'s
    rows of ``data`` kind under SF-IQA's AGIQA-3K split (row label marked †, All only: the benchmark does not score
    the T2I groups; those rows are appended to ``used``).
    """
    shown = set() if shown is None else shown
    rows = paper[paper["table"] == "1"]
    methods = list(dict.fromkeys(rows["experiment"]))
    labels = {m: rows[rows["experiment"] == m]["subset"].iloc[0].split(":")[1] for m in methods}
    outside = {m for m in methods if m not in OURS_TABLE1 and benchmark is not None and benchmark.method(m)}
    columns: dict[str, list] = {}
    for subset, title in SUBSETS.items():
        cells = {m: _rows(ours, m, "agiqa3k", subset) for m in methods if m in OURS_TABLE1}
        for cell in cells.values():
            shown.update(cell.index)
        if subset == "all":
            cells.update({m: benchmark.cell(m, "agiqa3k", labels[m], data) for m in outside})
            if used is not None:
                used += [cells[m] for m in outside]
        for metric in ("srcc", "plcc"):
            paper_cells, our_cells = [], []
            for method in methods:
                paper_cells.append(reports.paper_value(rows, method, f"agiqa3k:{labels[method]}:{subset}", "", metric))
                value = _mean(cells[method], metric) if method in cells else float("nan")
                our_cells.append(value if not np.isnan(value) else _missing(method, subset, method in outside))
            columns[f"{title} {metric.upper()} paper"] = paper_cells
            columns[f"{title} {metric.upper()} ours"] = our_cells
    return pd.DataFrame(columns, index=pd.Index([m + BENCHMARK_MARK * (m in outside) for m in methods],
                                                name="method"))


def _missing(method: str, subset: str, from_benchmark: bool) -> str:
    """What an empty "ours" cell of Table 1 says."""
    if method in OURS_TABLE1:
        return reports.NOT_RUN
    if from_benchmark and subset != "all":
        return "n/a (the benchmark scores All only)"
    if BENCHMARK_NAMES.get(method, method) in list_methods():
        return reports.BENCHMARK_NOT_RUN.format(splits="sfiqa")
    return "n/a (not in this package)"


def _settings(ours: pd.DataFrame, number: int, dataset: str) -> list[str]:
    """A table's experiments: the paper's settings, our extra fusion variants, and (Table 2) each averaged
    checkpoint count we ran."""
    _, settings, extra = ABLATION_TABLES[number]
    rows = reports.matching(ours, dataset=dataset)
    averaged = sorted({e for e in rows["experiment"].astype(str) if e.startswith("fusion_code_avg")}
                      if number == 2 and len(rows) else set())
    return [*settings, *extra, *averaged]


def _label(setting: str) -> str:
    """The row heading of a setting (``fusion_code_avgK``: the fusion of K checkpoints' predictions, averaged)."""
    if setting.startswith("fusion_code_avg"):
        return f"{LABELS['fusion_code']}, mean of {setting.removeprefix('fusion_code_avg')} checkpoints"
    return LABELS[setting]


def ablation_table(ours: pd.DataFrame, paper: pd.DataFrame, number: int, dataset: str, target: str | None = None,
                   shown: set | None = None) -> pd.DataFrame:
    """Rows = the table's settings (+ our extra fusion variants); columns PLCC / SRCC / Main, paper and ours, then
    our PLCC / SRCC / Main on each T2I group the rows have (AGIQA-3K); ``target`` picks the label trained on."""
    shown = set() if shown is None else shown
    settings = _settings(ours, number, dataset)
    rows = paper[paper["table"] == str(number)]
    groups = [g for g in SUBSETS if g != "all" and any(len(_rows(ours, s, dataset, g, target)) for s in settings)]
    columns: dict[str, list] = {}
    for subset in ("all", *groups):
        cells = [_rows(ours, s, dataset, subset, target) for s in settings]
        for used in cells:
            shown.update(used.index)
        head = "" if subset == "all" else f"{SUBSETS[subset]} "
        for metric in ("plcc", "srcc", "main"):
            if subset == "all":
                columns[f"{metric.upper()} paper"] = [reports.paper_value(rows, s, "aigiqa20k:overall:all", "", metric)
                                                      for s in settings]
            values = [_mean(c, metric) for c in cells]
            columns[f"{head}{metric.upper()} ours"] = [v if not np.isnan(v) else reports.NOT_RUN for v in values]
        if subset == "all":
            columns["splits"] = [len(c) for c in cells]
    return pd.DataFrame(columns, index=pd.Index([_label(s) for s in settings], name="setting"))


def _ablation_targets(ours: pd.DataFrame, dataset: str) -> list[str]:
    """The labels the ablation rows of a dataset were trained on, the run script's default first."""
    experiments = {s for number in ABLATION_TABLES for s in _settings(ours, number, dataset)}
    rows = reports.matching(ours, dataset=dataset)
    targets = set(rows.loc[rows["experiment"].isin(experiments), "target"].astype(str)) if len(rows) else set()
    default = DEFAULT_LABEL.get(dataset, "")
    return [default, *sorted(targets - {default})]


def make_tables(results: pd.DataFrame, out_dir, paper_csv=None, benchmark=None) -> list[Path]:
    """Write sfiqa_table1 and sfiqa_table{2,3,4}_<dataset>[_<label>] [_<source>] [_pretrain-<stages>].{md,csv}
    (the label when it is not the run script's default; the source and the stages when the rows hold several), and
    sfiqa_other_runs[…] for rows no table shows; ``paper_csv`` None = the method's paper.csv; ``benchmark`` the
    benchmark's results CSV (None: none), whose rows under SF-IQA's split fill Table 1's other methods. Returns the
    paths written."""
    out_dir = Path(out_dir)
    paper = reports.read_paper(paper_csv or METHOD.paper_csv)
    bench = reports.read_benchmark(benchmark, BENCHMARK_SPLITS, BENCHMARK_NAMES)
    ours_all = results[results["paper"] == "sfiqa"] if "paper" in results.columns else results.iloc[0:0]
    parts = _parts(reports.latest(ours_all)) if len(ours_all) else []
    sources = parts or [(None, "", ours_all)]
    several_sources = len({str(source) for source, _, _ in sources}) > 1
    several_pretrain = len({pretrain for _, pretrain, _ in sources}) > 1
    written: list[Path] = []
    for source, pretrain, ours in sources:
        suffix = ("_" + reports.source_tag(source) if several_sources else "") + \
                 (f"_pretrain-{_tag(pretrain)}" if several_pretrain else "")
        shown: set = set()
        used: list[pd.DataFrame] = []
        frame = table1(ours, paper, shown, bench, bench.data_kind(source), used)
        described = _describe(source, pretrain)
        line = (f"{described}; paper: AGIQA-3K 80/20 split grouped by prompt; ours: mean over "
                f"the grouped splits run, last epoch. Not run: `{RUN_HINT.format(dataset='agiqa3k')}`. "
                f"{reports.NOT_REBUILT} {bench.note(pd.concat(used)) if used else ''}").strip()
        written += _write(out_dir, f"sfiqa_table1{suffix}", frame,
                          "SF-IQA Table 1: AGIQA-3K quality (mos_quality) and similarity (mos_align)", line)
        datasets = sorted(set(ours["dataset"])) if len(ours) else ["aigiqa20k"]
        for dataset in datasets:
            for target in _ablation_targets(ours, dataset):
                label = "" if target == DEFAULT_LABEL.get(dataset, "") else f"_{target}"
                for number, (title, _, _) in ABLATION_TABLES.items():
                    frame = ablation_table(ours, paper, number, dataset, target, shown)
                    where = ("the custom 11,200/2,800 AIGIQA-20K split" if dataset == "aigiqa20k" else
                             f"{dataset} (NOT the paper's dataset: compare the rows with each other only)")
                    line = (f"{described}; paper: AIGIQA-20K custom split; ours: {where}, "
                            f"label {target}. Not run: `{RUN_HINT.format(dataset=dataset)} --target overall "
                            "--ablation all`.")
                    written += _write(out_dir, f"sfiqa_table{number}_{dataset}{label}{suffix}", frame,
                                      f"SF-IQA {title}", line)
        rest = reports.other_runs(ours, pd.Index(sorted(shown))) if len(ours) else pd.DataFrame()
        if len(rest):
            written += _write(out_dir, f"sfiqa_other_runs{suffix}", rest.set_index("experiment"),
                              "SF-IQA: our runs the paper's tables do not report",
                              f"{described}; one row per split and subset")
    return written


def _parts(ours: pd.DataFrame) -> list[tuple[dict, str, pd.DataFrame]]:
    """(source, pre-training stages, rows) per results source and ``pretrain`` value ("" where rows lack it)."""
    parts = []
    for source, rows in reports.split_by_source(ours):
        stages = reports.text_column(rows, "pretrain")
        parts += [(source, pretrain, rows[stages == pretrain]) for pretrain in sorted(set(stages))]
    return parts


def _tag(pretrain: str) -> str:
    """A file-name-safe pre-training label (``nriqa+aigc`` → ``nriqa-aigc``; unrecorded → ``unrecorded``)."""
    return pretrain.replace("+", "-") or "unrecorded"


def _describe(source: dict | None, pretrain: str) -> str:
    """Caption text for our numbers: their source and the quality branch's pre-training stages."""
    if source is None:
        return reports.describe_source(source)
    return f"{reports.describe_source(source)}, pre-training {pretrain or 'not recorded'}"


def _write(out_dir: Path, stem: str, frame: pd.DataFrame, title: str, line: str) -> list[Path]:
    """``<stem>.md`` and ``<stem>.csv`` of one table (NaN written as empty cells)."""
    md = write_text(out_dir / f"{stem}.md", reports.to_markdown(frame, title, line, scientific_rows=()))
    csv = write_text(out_dir / f"{stem}.csv", frame.replace({np.nan: None}).to_csv())
    return [md, csv]

