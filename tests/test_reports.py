"""Paper-versus-ours tables and figures: structure, hand-computed AVERAGE/VAR, sources never mixed, files written."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tfagiqa import reports, results
from tfagiqa.methods.dlsr import tables as dlsr_tables
from experiment_scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
PAPER_CSV = ROOT / "tfagiqa" / "methods" / "dlsr" / "paper.csv"
SYNTHETIC = {"perception_before": (0.50, 0.52, 0.55), "perception_after": (0.60, 0.64, 0.65),
             "alignment": (0.40, 0.44, 0.48), "stair_before": (0.30, 0.31, 0.35), "stair_after": (0.33, 0.36, 0.42)}
REAL_AFTER = (0.71, 0.73)


def row(experiment, fold, srcc, data="synthetic", weights="random", subset="all", alpha=""):
    fields = dict(paper="dlsr", experiment=experiment, dataset="agiqa3k", data=data, weights=weights,
                  split="kfold3_seed42", split_index=fold, seed=0, selection="best_val_loss",
                  profile="smoke" if data == "synthetic" else "paper")
    return {**results.provenance(**fields), "srcc": srcc, "plcc": srcc + 0.1, "subset": subset,
            "backbone": "tiny" if data == "synthetic" else "resnet152v2", "alpha": alpha}


@pytest.fixture(scope="module")
def synthetic():
    rows = [row(e, k, v, alpha=f"{k} 1 0 1 {0.5 * k}" if e in ("perception_after", "alignment") else "")
            for e, values in SYNTHETIC.items() for k, v in enumerate(values, start=1)]
    rows += [row("alignment", k, 0.2 + 0.1 * k, subset="t2i_group=bad") for k in (1, 2, 3)]
    rows.append(row("alignment", 1, 0.25, subset="prompt_length=1"))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def mixed(synthetic):
    real = [row("perception_after", k, v, data="real", weights="imagenet") for k, v in enumerate(REAL_AFTER, 1)]
    return pd.concat([synthetic, pd.DataFrame(real)], ignore_index=True)


@pytest.fixture(scope="module")
def paper():
    return reports.read_paper(PAPER_CSV)


def test_paper_csv_has_table_ii_exactly(paper):
    table2 = paper[paper["table"] == "II"]
    assert reports.paper_value(table2, "perception_after", "all", "1", "srcc") == 0.7332
    assert reports.paper_value(table2, "perception_after", "all", "VAR", "plcc") == 1.01e-6
    assert reports.paper_value(table2, "perception_before", "all", "AVERAGE", "plcc") == 0.7034
    assert reports.paper_value(table2, "perception_after", "all", "2", "plcc", as_printed=True) == "0.7636"
    assert len(table2) == 20


def test_paper_csv_layout_and_notes(paper):
    assert list(paper.columns) == ["paper", "table", "experiment", "subset", "fold", "metric", "value", "note"]
    counts = paper["table"].value_counts().to_dict()
    assert counts == {"I": 7, "II": 20, "III": 4, "IV": 120, "V": 7, "VI": 10, "VII": 120, "VIII": 20}
    assert set(paper["experiment"]) == set(SYNTHETIC)
    assert set(paper["fold"]) == {"", *dlsr_tables.PAPER_FOLDS}
    scored = paper[paper["metric"].isin(reports.METRICS)]
    assert set(scored["fold"]) == set(dlsr_tables.PAPER_FOLDS)
    copies = paper[(paper["table"] == "VII") & paper["subset"].str.match("prompt_length|style_group")]
    assert len(copies) == 80 and copies["note"].str.contains("copy of Table IV").all()
    before = paper[paper["experiment"] == "stair_before"]
    assert before["note"].str.contains("0.6640/0.7475").all()
    assert reports.paper_value(paper[paper["table"] == "I"], "perception_after", "all", "", "alpha",
                               as_printed=True) == "1.48 -0.34 0.81 -0.18 0.31"


def test_paper_averages_and_variances_match_their_folds(paper):
    scored = paper[paper["metric"].isin(reports.METRICS)]
    for (table, experiment, subset, metric), cells in scored.groupby(["table", "experiment", "subset", "metric"]):
        by_fold = dict(zip(cells["fold"], cells["value"].astype(float)))
        folds = [by_fold[k] for k in ("1", "2", "3")]
        assert by_fold["AVERAGE"] == pytest.approx(np.mean(folds), abs=6e-5), (table, experiment, subset, metric)
        assert by_fold["VAR"] == pytest.approx(np.var(folds, ddof=1), rel=0.02), (table, experiment, subset, metric)


def test_fold_table_rows_columns_and_summaries(synthetic, paper):
    table = dlsr_tables.fold_table(synthetic, paper[paper["table"] == "II"], ["perception_before", "perception_after"])
    assert list(table.index) == ["k=1", "k=2", "k=3", "AVERAGE", "VAR"]
    assert list(table.columns) == [f"{e} {who} {m}" for e in ("perception_before", "perception_after")
                                   for who in ("paper", "ours") for m in ("SRCC", "PLCC")]
    values = SYNTHETIC["perception_after"]
    assert table.loc["k=2", "perception_after ours SRCC"] == pytest.approx(0.64)
    assert table.loc["AVERAGE", "perception_after ours SRCC"] == pytest.approx(sum(values) / 3)
    mean = sum(values) / 3
    assert table.loc["VAR", "perception_after ours SRCC"] == pytest.approx(sum((v - mean) ** 2 for v in values) / 2)
    assert table.loc["VAR", "perception_after ours PLCC"] == pytest.approx(sum((v - mean) ** 2 for v in values) / 2)
    assert table.loc["k=1", "perception_after paper SRCC"] == 0.7332
    assert table.loc["VAR", "perception_after paper PLCC"] == 1.01e-6


def test_missing_experiment_and_single_fold(synthetic, paper):
    table = dlsr_tables.fold_table(synthetic[synthetic["split_index"] == 1], paper, ["alignment"])
    assert table.loc["k=1", "alignment ours SRCC"] == pytest.approx(0.40)
    assert table.loc["k=2", "alignment ours SRCC"] == reports.NOT_RUN
    assert table.loc["VAR", "alignment ours SRCC"] == dlsr_tables.ONE_FOLD
    empty = dlsr_tables.fold_table(pd.DataFrame(), paper[paper["table"] == "VIII"], ["stair_after"])
    assert (empty["stair_after ours SRCC"] == reports.NOT_RUN).all()
    assert empty.loc["AVERAGE", "stair_after paper PLCC"] == 0.7858


def test_synthetic_and_real_rows_are_never_mixed(mixed, paper):
    with pytest.raises(ValueError, match="mix 2 sources"):
        dlsr_tables.fold_table(mixed, paper, ["perception_after"])
    parts = reports.split_by_source(mixed)
    assert [source["data"] for source, _ in parts] == ["real", "synthetic"]
    for source, rows in parts:
        assert set(rows["data"]) == {source["data"]} and set(rows["weights"]) == {source["weights"]}
    real = dlsr_tables.fold_table(parts[0][1], paper, ["perception_after"])
    assert real.loc["AVERAGE", "perception_after ours SRCC"] == pytest.approx(np.mean(REAL_AFTER))
    assert real.loc["k=3", "perception_after ours SRCC"] == reports.NOT_RUN
    assert "NOT a reproduction" in reports.describe_source(parts[1][0])
    assert "NOT a reproduction" not in reports.describe_source(parts[0][0])


def test_subset_table(synthetic, paper):
    subsets = dlsr_tables.subsets_of("t2i_group", with_all=True)
    assert subsets == ["all", "t2i_group=bad", "t2i_group=medium", "t2i_group=good"]
    table = dlsr_tables.subset_table(synthetic, paper[paper["table"] == "VII"], "alignment", subsets)
    assert list(table.index) == list(dlsr_tables.ROWS)
    assert [c.rsplit(" ", 2)[0] for c in table.columns[::4]] == ["All", *subsets[1:]]
    assert table.shape == (5, 16)
    assert table.loc["AVERAGE", "t2i_group=bad ours SRCC"] == pytest.approx(0.4)
    assert table.loc["VAR", "t2i_group=bad ours SRCC"] == pytest.approx(0.01)
    assert table.loc["AVERAGE", "t2i_group=bad paper SRCC"] == 0.5357
    assert (table["t2i_group=good ours PLCC"] == reports.NOT_RUN).all()
    lengths = dlsr_tables.subset_table(synthetic, paper, "alignment", dlsr_tables.subsets_of("prompt_length"))
    assert lengths.loc["VAR", "prompt_length=1 ours SRCC"] == dlsr_tables.ONE_FOLD
    long = dlsr_tables.stack_blocks({"T2I": table, "prompt length": lengths})
    assert long.shape == (40, 4) and list(long.columns) == ["paper SRCC", "paper PLCC", "ours SRCC", "ours PLCC"]
    assert long.loc[("T2I", "t2i_group=bad", "AVERAGE"), "ours SRCC"] == pytest.approx(0.4)


def test_improvement_table(synthetic, paper):
    rows = paper[paper["table"].isin(["II", "III"])]
    table = dlsr_tables.improvement_table(synthetic, rows)
    assert list(table.index) == ["AVERAGE", "VAR"]
    before, after = np.array(SYNTHETIC["perception_before"]), np.array(SYNTHETIC["perception_after"])
    assert table.loc["AVERAGE", "ours SRCC %"] == pytest.approx(100 * (after.mean() / before.mean() - 1))
    var_b, var_a = before.var(ddof=1), after.var(ddof=1)
    assert table.loc["VAR", "ours SRCC %"] == pytest.approx(100 * (var_b - var_a) / var_b)
    assert table.loc["AVERAGE", "paper SRCC %"] == 6.83 and table.loc["VAR", "paper PLCC %"] == 94.71
    assert table.loc["AVERAGE", "paper recomputed PLCC %"] == pytest.approx(8.53, abs=0.005)
    assert table.loc["VAR", "paper recomputed SRCC %"] == pytest.approx(48.65, abs=0.005)


def test_mapping_table(synthetic, paper):
    table = dlsr_tables.mapping_table(synthetic, paper[paper["table"] == "I"], "perception_after")
    assert list(table.columns) == ["paper", "ours"]
    assert table.loc["learning_rate", "paper"] == "0.0015"
    assert table.loc["optimizer", "ours"] == dlsr_tables.NOT_RECORDED
    mean_row = "alpha (ours: mean of 3 fold(s))"
    assert table.loc[mean_row, "paper"] == "1.48 -0.34 0.81 -0.18 0.31"
    assert [float(a) for a in table.loc[mean_row, "ours"].split()] == pytest.approx([2, 1, 0, 1, 1])
    assert table.loc["alpha k=3", "ours"] == "3.0000 1.0000 0.0000 1.0000 1.5000"
    assert dlsr_tables.mapping_table(pd.DataFrame(), paper, "alignment").loc["loss", "ours"] == reports.NOT_RUN


def test_to_markdown(synthetic, paper):
    table = dlsr_tables.fold_table(synthetic, paper, ["perception_after"])
    text = reports.to_markdown(table, "Table II", "ours: synthetic data, weights=random")
    lines = text.splitlines()
    assert lines[0] == "### Table II" and lines[2] == "ours: synthetic data, weights=random"
    assert lines[4] == "| k_fold | " + " | ".join(table.columns) + " |"
    assert lines[5] == "|---|---|---|---|---|"
    assert lines[6] == "| k=1 | 0.7332 | 0.7644 | 0.6000 | 0.7000 |"
    assert lines[10].startswith("| VAR | 3.54e-05 | 1.01e-06 |")
    assert len(lines) == 11 and all(line.count("|") == 6 for line in lines[4:])
    assert reports.format_cell("a|b") == "a|b" and "a\\|b" in reports._md_row(["a|b"])


def test_make_tables_writes_every_file_per_source(mixed, tmp_path, capsys):
    results_path = tmp_path / "results.csv"
    results.append_rows(results_path, mixed)
    out = tmp_path / "tables"
    assert load_script("make_tables").main(["--results", str(results_path), "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    tags = ["real_imagenet_paper_resnet152v2", "synthetic_random_smoke_tiny"]
    assert names == {f"dlsr_table{n}.md" for n in range(1, 9)} | {
        f"dlsr_table{n}_{tag}.csv" for n in range(1, 9) for tag in tags}
    assert "wrote" in capsys.readouterr().out
    md = (out / "dlsr_table2.md").read_text()
    assert "ours: real data, weights=imagenet" in md and "ours: synthetic data, weights=random" in md
    real = pd.read_csv(out / f"dlsr_table2_{tags[0]}.csv", index_col=0)
    assert float(real.loc["AVERAGE", "perception_after ours SRCC"]) == pytest.approx(np.mean(REAL_AFTER))
    assert (real["perception_before ours SRCC"] == reports.NOT_RUN).all()
    synthetic = pd.read_csv(out / f"dlsr_table2_{tags[1]}.csv", index_col=0)
    expected = np.mean(SYNTHETIC["perception_after"])
    assert float(synthetic.loc["AVERAGE", "perception_after ours SRCC"]) == pytest.approx(expected)
    assert "copy of Table IV" in (out / "dlsr_table7.md").read_text()


def test_make_tables_without_results_shows_paper_and_not_run(tmp_path, capsys):
    out = tmp_path / "tables"
    assert load_script("make_tables").main(["--results", str(tmp_path / "absent.csv"), "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {f"dlsr_table{n}.{ext}" for n in range(1, 9) for ext in ("md", "csv")}
    assert "no results at" in capsys.readouterr().out
    md = (out / "dlsr_table8.md").read_text()
    assert "ours: not run" in md and "--task stairreward" in md and "0.7858" in md
    table4 = pd.read_csv(out / "dlsr_table4.csv", index_col=[0, 1, 2])
    assert len(table4) == 5 * 12 and (table4["ours SRCC"] == reports.NOT_RUN).all()


@pytest.mark.parametrize("script", ["make_tables", "make_figures"])
def test_bad_paths_are_one_line_errors(script, tmp_path, capsys):
    """An --out that is a file, an unreadable --paper-csv or one without the transcription's columns: exit 2, one
    line."""
    (tmp_path / "file").write_text("x")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "columns.csv").write_text("a,b\n1,2\n")
    main = load_script(script).main
    cases = [(["--out", str(tmp_path / "file")], "file is a file, not a folder"),
             (["--paper-csv", str(tmp_path / "empty.csv")], "empty.csv is not a readable paper transcription CSV"),
             (["--paper-csv", str(tmp_path / "columns.csv")], "lacks the column(s) ['table', 'experiment'")]
    for argv, message in cases:
        out = [] if "--out" in argv else ["--out", str(tmp_path / "out")]
        assert main([*argv, *out]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith(f"{script}: error: ") and message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("with_results", [True, False])
def test_make_figures_writes_every_png(synthetic, tmp_path, with_results):
    results_path = tmp_path / "results.csv"
    if with_results:
        results.append_rows(results_path, synthetic)
    out = tmp_path / "figures"
    assert load_script("make_figures").main(["--results", str(results_path), "--out", str(out)]) == 0
    expected = {"dlsr_fig1.png", "dlsr_fig2.png", *(f"dlsr_fig3{c}.png" for c in "abcdef")}
    assert {p.name for p in out.iterdir()} == expected
    for name in expected:
        with Image.open(out / name) as image:
            assert image.format == "PNG" and image.width >= 500 and image.height >= 400


def test_latest_keeps_every_result_and_collapses_reruns():
    """Rows that differ in target, selection, dataset or a setting are different results; equal keys are a rerun."""
    first = row("perception_after", 1, 0.5)
    cases = (("quality", "best_test_sum", 0.1), ("alignment", "best_test_sum", 0.2), ("quality", "last_epoch", 0.3))
    variants = [dict(first, target=t, selection=s, srcc=v) for t, s, v in cases]
    variants += [dict(first, target="quality", selection="best_test_sum", dataset="agiqa1k", srcc=0.4),
                 dict(first, target="quality", selection="best_test_sum", loss="rank", srcc=0.5),
                 dict(first, target="quality", selection="best_test_sum", srcc=0.6, seed=7)]  # rerun of the first
    kept = reports.latest(pd.DataFrame(variants))
    assert list(kept["srcc"]) == [0.2, 0.3, 0.4, 0.5, 0.6]


def test_ipiqa_tables_give_each_setting_a_row_and_list_the_rest(tmp_path):
    """Two heads of one experiment get a row each; a baseline's alignment (no paper cell) goes to other runs."""
    from tfagiqa.methods.ipiqa import tables as ipiqa_tables

    def ipiqa_row(experiment, target, head, srcc, split):
        fields = dict(paper="ipiqa", experiment=experiment, dataset="agiqa3k", data="synthetic", weights="random",
                      split="ratio802_seed42", split_index=split, seed=0, selection="best_test_sum", profile="smoke")
        return {**results.provenance(**fields), "target": target, "subset": "all", "backbone": "tiny", "head": head,
                "qa_token": "learned", "srcc": srcc, "plcc": srcc, "krcc": srcc}

    rows = pd.DataFrame([ipiqa_row("ipiqa", "quality", "mlp", 0.2, 1), ipiqa_row("ipiqa", "quality", "mlp", 0.4, 2),
                         ipiqa_row("ipiqa", "quality", "linear", 0.7, 1),
                         ipiqa_row("resnet50", "alignment", "linear", 0.9, 1)])
    ipiqa_tables.make_tables(rows, tmp_path)
    table1 = pd.read_csv(tmp_path / "ipiqa_table1.csv", index_col=0)
    assert float(table1.loc["ipiqa [head=mlp]", "AGIQA-3K quality SRCC ours"]) == pytest.approx(0.3)
    assert float(table1.loc["ipiqa [head=linear]", "AGIQA-3K quality SRCC ours"]) == pytest.approx(0.7)
    assert table1.loc["ipiqa [head=linear]", "AGIQA-3K quality splits"] == 1
    assert table1.loc["ipiqa [head=mlp]", "AGIQA-3K quality SRCC paper"] == table1.loc["ipiqa [head=linear]",
                                                                                        "AGIQA-3K quality SRCC paper"]
    other = pd.read_csv(tmp_path / "ipiqa_other_runs.csv")
    assert other[["experiment", "target", "srcc"]].values.tolist() == [["resnet50", "alignment", 0.9]]


def test_dlsr_tables_refuse_two_results_for_one_fold(tmp_path, capsys):
    """Two training datasets for one experiment and fold cannot share a cell: a clear error, no table."""
    results_path = tmp_path / "results.csv"
    results.append_rows(results_path, [row("perception_after", 1, 0.5), dict(row("perception_after", 1, 0.6),
                                                                               dataset="agiqa3k+aigciqa2023")])
    assert load_script("make_tables").main(["--results", str(results_path), "--out", str(tmp_path / "t")]) == 2
    assert "perception_after (all) has several results per fold, differing in ['dataset']" in capsys.readouterr().err


def test_sfiqa_tables_per_fusion_label_with_checkpoint_rows(tmp_path):
    """A fusion block trained on the alignment label gets its own tables; --checkpoints K rows get a Table 2 row."""
    from tfagiqa.methods.sfiqa import tables as sfiqa_tables

    def sfiqa_row(experiment, target, subset, srcc):
        fields = dict(paper="sfiqa", experiment=experiment, dataset="agiqa3k", data="synthetic", weights="random",
                      split="ratio802_seed42", split_index=1, seed=0, selection="last_epoch", profile="smoke")
        return {**results.provenance(**fields), "target": target, "subset": subset, "backbone": "tiny",
                "srcc": srcc, "plcc": srcc, "main": srcc}

    rows = pd.DataFrame([sfiqa_row("fusion_code", "quality", "all", 0.1),
                         sfiqa_row("fusion_code", "alignment", "all", 0.2),
                         sfiqa_row("fusion_code", "alignment", "t2i_group=good", 0.3),
                         sfiqa_row("fusion_code_avg4", "quality", "all", 0.4)])
    names = {p.name for p in sfiqa_tables.make_tables(rows, tmp_path)}
    assert {"sfiqa_table2_agiqa3k.csv", "sfiqa_table2_agiqa3k_alignment.csv"} <= names
    assert not any(name.startswith("sfiqa_other_runs") for name in names)
    quality = pd.read_csv(tmp_path / "sfiqa_table2_agiqa3k.csv", index_col=0)
    alignment = pd.read_csv(tmp_path / "sfiqa_table2_agiqa3k_alignment.csv", index_col=0)
    full = sfiqa_tables.LABELS["fusion_code"]
    assert float(quality.loc[full, "SRCC ours"]) == pytest.approx(0.1) and "Good SRCC ours" not in quality
    assert float(quality.loc[f"{full}, mean of 4 checkpoints", "SRCC ours"]) == pytest.approx(0.4)
    assert float(alignment.loc[full, "SRCC ours"]) == pytest.approx(0.2)
    assert float(alignment.loc[full, "Good SRCC ours"]) == pytest.approx(0.3)


def tiny_row(paper, experiment, dataset, target, selection, subset="all", srcc=0.5):
    """One hand-made result row of ``paper`` (synthetic data, random weights, smoke profile, tiny backbone)."""
    fields = dict(paper=paper, experiment=experiment, dataset=dataset, data="synthetic", weights="random",
                  split="ratio802_seed42", split_index=1, seed=0, selection=selection, profile="smoke")
    return {**results.provenance(**fields), "target": target, "subset": subset, "backbone": "tiny",
            "srcc": srcc, "plcc": srcc, "krcc": srcc, "main": srcc}


SOURCE = "synthetic_random_smoke_tiny"
HYPERNET_TABLES = ("I", "III-A", "II", "III", "IV", "V", "VI", "VII", "VIII")
# paper → (its tiny results, the files make_tables writes from them, the files it writes with no results)
TINY_TABLES = {
    "dlsr": ([row("perception_after", 1, 0.5)], {f"dlsr_table{n}.{e}" for n in range(1, 9) for e in ("md", "csv")},
             {f"dlsr_table{n}.{e}" for n in range(1, 9) for e in ("md", "csv")}),
    "ipiqa": ([tiny_row("ipiqa", "ipiqa", "agiqa3k", "quality", "best_test_sum")],
              {f"ipiqa_table{n}{s}.{e}" for n in (1, 2, 3) for s in ("", "_val", "_last") for e in ("md", "csv")},
              {f"ipiqa_table{n}{s}.{e}" for n in (1, 2, 3) for s in ("", "_val", "_last") for e in ("md", "csv")}),
    "sfiqa": ([tiny_row("sfiqa", "fusion_code", "agiqa3k", "quality", "last_epoch")],
              {f"sfiqa_table{t}.{e}" for t in ("1", "2_agiqa3k", "3_agiqa3k", "4_agiqa3k") for e in ("md", "csv")},
              {f"sfiqa_table{t}.{e}" for t in ("1", "2_aigiqa20k", "3_aigiqa20k", "4_aigiqa20k")
               for e in ("md", "csv")}),
    "hypernet": ([tiny_row("hypernet", "quality", "aigciqa2023", "quality", "best_test_srcc",
                           subset="aigciqa2023:quality")],
                 {f"hypernet_table{t}_{SOURCE}.csv" for t in HYPERNET_TABLES} | {f"hypernet_tables_{SOURCE}.md"},
                 {f"hypernet_table{t}_not-run.csv" for t in HYPERNET_TABLES} | {"hypernet_tables_not-run.md"}),
}


def test_every_paper_with_tables_has_a_tiny_case():
    from tfagiqa.methods import papers

    assert sorted(TINY_TABLES) == sorted(papers())


@pytest.mark.parametrize("with_results", [True, False], ids=["tiny-results", "no-results"])
@pytest.mark.parametrize("paper", sorted(TINY_TABLES))
def test_make_tables_for_every_paper(paper, with_results, tmp_path, capsys):
    """make_tables.py --paper P dispatches through the registry: exit 0, the paper's files, each one printed."""
    rows, expected, expected_empty = TINY_TABLES[paper]
    results_path = tmp_path / "results.csv"
    if with_results:
        results.append_rows(results_path, pd.DataFrame(rows))
    out = tmp_path / "tables"
    assert load_script("make_tables").main(["--paper", paper, "--results", str(results_path), "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert names == (expected if with_results else expected_empty)
    printed = capsys.readouterr().out
    assert all(f"wrote {out / name}" in printed for name in names)
    assert ("no results at" in printed) != with_results


@pytest.mark.parametrize("with_results", [True, False], ids=["tiny-results", "no-results"])
def test_make_figures_for_sfiqa_draws_the_split(synthetic_root, tmp_path, monkeypatch, with_results):
    """make_figures.py --paper sfiqa: Fig. 3–4 from the AIGIQA-20K data under $TFAGIQA_DATA_ROOT (not the results),
    its split saved there."""
    import shutil

    root = tmp_path / "data"
    shutil.copytree(synthetic_root / "AIGIQA-20K", root / "AIGIQA-20K")
    monkeypatch.setenv("TFAGIQA_DATA_ROOT", str(root))
    results_path = tmp_path / "results.csv"
    if with_results:
        results.append_rows(results_path, pd.DataFrame(TINY_TABLES["sfiqa"][0]))
    out = tmp_path / "figures"
    assert load_script("make_figures").main(["--paper", "sfiqa", "--results", str(results_path),
                                             "--out", str(out)]) == 0
    expected = {"sfiqa_fig3_mos_distribution.png", "sfiqa_fig4_generator_distribution.png"}
    assert {p.name for p in out.iterdir()} == expected
    assert (root / "splits" / "aigiqa20k_sfiqa_split.csv").is_file()
    for name in expected:
        with Image.open(out / name) as image:
            assert image.format == "PNG"


def test_make_figures_offers_the_papers_with_figures():
    """--paper accepts exactly the registry's papers whose method has a figures module."""
    from tfagiqa.methods import methods

    script = load_script("make_figures")
    for method in (m for m in methods() if m.paper):
        if method.figures:
            assert script.parse_args(["--paper", method.paper]).paper == method.paper
        else:
            with pytest.raises(SystemExit):
                script.parse_args(["--paper", method.paper])
    assert {"dlsr", "sfiqa"} <= {m.paper for m in methods() if m.figures}


def _benchmark_csv(path, rows):
    """A benchmark results file holding ``rows`` (method, dataset, target, split, index, data, srcc)."""
    records = [dict(paper="benchmark", experiment=m, dataset=d, data=kind, weights="random", split=split,
                    split_index=i, seed=42 + i, selection="final_model", profile="smoke", package_version="0",
                    git_commit="x", timestamp="t", target=t, subset="all", backbone="tiny", srcc=v, plcc=v / 2,
                    krcc=v / 3) for m, d, t, split, i, kind, v in rows]
    pd.DataFrame(records).to_csv(path, index=False)
    return path


def test_benchmark_rows_fill_the_paper_tables_rows_of_methods_the_package_implements(tmp_path):
    """IP-IQA Table 1 and SF-IQA Table 1: the package's methods are filled from the benchmark's rows made under the
    paper's splits and on the table's data kind only, marked † and named in the caption."""
    from tfagiqa.methods.ipiqa.tables import make_tables as ipiqa_tables
    from tfagiqa.methods.sfiqa.tables import make_tables as sfiqa_tables

    bench = _benchmark_csv(tmp_path / "bench.csv", [
        ("dbcnn", "agiqa3k", "quality", "ratio802_seed42", 1, "synthetic", 0.5),
        ("dbcnn", "agiqa3k", "quality", "ratio802_seed42", 2, "synthetic", 0.7),
        ("dbcnn", "agiqa1k", "overall", "ratio802_seed42", 1, "synthetic", 0.3),    # not IP-IQA's AGIQA-1K splits
        ("clipscore", "agiqa3k", "alignment", "ratio802_seed42", 1, "synthetic", 0.2),
    ])
    empty = pd.DataFrame(columns=["paper"])
    ipiqa_tables(empty, tmp_path / "ip", benchmark=bench)
    table1 = pd.read_csv(tmp_path / "ip" / "ipiqa_table1.csv", index_col="method")
    assert float(table1.loc["dbcnn †", "AGIQA-3K quality SRCC ours"]) == pytest.approx(0.6)
    assert float(table1.loc["dbcnn †", "AGIQA-3K quality PLCC ours"]) == pytest.approx(0.3)
    assert table1.loc["dbcnn †", "AGIQA-3K quality splits"] == 2
    assert table1.loc["dbcnn †", "AGIQA-1K SRCC ours"] == "not run (run_benchmark.py --splits ipiqa)"
    assert table1.loc["ceiq", "AGIQA-3K quality SRCC ours"] == "n/a (not in this package)"
    caption = (tmp_path / "ip" / "ipiqa_table1.md").read_text()
    assert "† from the package's benchmark" in caption and "dbcnn (synthetic data, weights=random" in caption
    assert "MATLAB feature sets" in caption
    assert "ours (run_ipiqa.py rows): selection best_test_sum (zero_shot for CLIPScore), mean over no split(s)" in \
        caption   # the † rows' splits are counted in their own note, not as IP-IQA's

    sfiqa_tables(empty, tmp_path / "sf", benchmark=bench)
    sf1 = pd.read_csv(tmp_path / "sf" / "sfiqa_table1.csv", index_col="method")
    assert float(sf1.loc["dbcnn †", "All SRCC ours"]) == pytest.approx(0.6)
    assert float(sf1.loc["clip †", "All SRCC ours"]) == pytest.approx(0.2)   # SF-IQA's "CLIP" row is CLIPScore on mos_align
    assert sf1.loc["clip †", "Bad SRCC ours"] == "n/a (the benchmark scores All only)"
    assert sf1.loc["hps", "All SRCC ours"] == "not run (run_benchmark.py --splits sfiqa)"

    # real rows never share a table with synthetic ones: a table of real rows takes the benchmark's real rows only
    real = pd.concat([pd.read_csv(bench), pd.read_csv(bench).iloc[:1].assign(data="real", srcc=0.9)])
    real.to_csv(bench, index=False)
    ours = pd.read_csv(bench).iloc[:1].assign(paper="ipiqa", experiment="ipiqa", selection="best_test_sum", data="real")
    ipiqa_tables(ours, tmp_path / "real", benchmark=bench)
    real_table = pd.read_csv(tmp_path / "real" / "ipiqa_table1.csv", index_col="method")
    assert float(real_table.loc["dbcnn †", "AGIQA-3K quality SRCC ours"]) == pytest.approx(0.9)
    assert real_table.loc["dbcnn †", "AGIQA-3K quality splits"] == 1
    assert "mean over 1 split(s)" in (tmp_path / "real" / "ipiqa_table1.md").read_text()

    ipiqa_tables(empty, tmp_path / "none")   # without benchmark rows nothing is filled
    plain = pd.read_csv(tmp_path / "none" / "ipiqa_table1.csv", index_col="method")
    assert "dbcnn" in plain.index and plain.loc["dbcnn", "AGIQA-3K quality SRCC ours"].startswith("not run")
