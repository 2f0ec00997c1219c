"""tfagiqa.results: provenance validation, atomic CSV appends, round trips and comparisons."""

import re
import subprocess

import pandas as pd
import pytest

from tfagiqa import __version__, results
from tfagiqa.errors import TfagiqaError
from tfagiqa.results import ResultsError

BASE = dict(
    paper="dlsr", experiment="table2", dataset="agiqa3k", data="synthetic", weights="random",
    split="kfold3_seed42", split_index=0, seed=42, selection="last", profile="smoke",
)


def make_row(**overrides):
    """A complete row with fixed version/commit/timestamp so files are reproducible."""
    fields = {**BASE, "package_version": "0.1.0", "git_commit": "unknown", "timestamp": "2024-01-01T00:00:00+00:00"}
    return results.provenance(**{**fields, **overrides})


def test_provenance_fills_version_commit_timestamp():
    row = results.provenance(**BASE, srcc=0.7, target="quality")
    assert row["package_version"] == __version__
    assert row["git_commit"] == "unknown" or re.fullmatch(r"[0-9a-f]{40}", row["git_commit"])
    assert pd.Timestamp(row["timestamp"]).tzinfo is not None
    assert list(row)[: len(results.PROVENANCE)] == list(results.PROVENANCE)
    assert list(row)[-2:] == ["srcc", "target"]


def test_git_commit_is_hex_or_unknown():
    commit = results.git_commit()
    assert commit == "unknown" or re.fullmatch(r"[0-9a-f]{40}", commit)


def test_git_commit_unknown_without_git(monkeypatch):
    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    results.git_commit.cache_clear()
    monkeypatch.setattr(subprocess, "run", no_git)
    try:
        assert results.git_commit() == "unknown"
    finally:
        results.git_commit.cache_clear()


@pytest.mark.parametrize("missing", ["paper", "data", "split_index", "selection"])
def test_missing_required_column_raises(missing):
    fields = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ResultsError, match=f"lacks required provenance column.*'{missing}'"):
        results.provenance(**fields)


@pytest.mark.parametrize(
    ("column", "value"), [("data", "Real"), ("data", "paper"), ("paper", "clip"), ("profile", "full")]
)
def test_unknown_choice_raises(column, value):
    with pytest.raises(ResultsError, match=f"{column}='{value}' is not one of"):
        results.provenance(**{**BASE, column: value})


def test_blank_value_counts_as_missing():
    with pytest.raises(ResultsError, match="'weights'"):
        results.provenance(**{**BASE, "weights": " "})


def test_append_rejects_invalid_rows(tmp_path):
    bad = dict(make_row(), data="mixed")
    with pytest.raises(ResultsError, match="row 1 .*data='mixed'"):
        results.append_rows(tmp_path / "r.csv", [make_row(), bad])
    assert not (tmp_path / "r.csv").exists()
    with pytest.raises(ResultsError, match="no rows"):
        results.append_rows(tmp_path / "r.csv", [])
    assert issubclass(ResultsError, TfagiqaError)


def test_round_trip_keeps_values_and_dtypes(tmp_path):
    rows = [
        make_row(split_index=i, srcc=0.1 * i + 1 / 3, plcc=float("nan") if i == 1 else 0.5, replicas=2,
                 plcc_logistic4_converged=i != 2, target="quality", strategy="None", git_commit="0" * 40)
        for i in range(3)
    ]
    path = tmp_path / "out" / "r.csv"
    written = results.append_rows(path, rows)
    read = results.read_results(path)
    expected = pd.DataFrame(rows)[list(written.columns)]
    pd.testing.assert_frame_equal(read, expected)
    assert read["git_commit"].iloc[0] == "0" * 40 and read["strategy"].iloc[0] == "None"
    assert list(read.columns[: len(results.PROVENANCE)]) == list(results.PROVENANCE)
    assert list(read.columns[len(results.PROVENANCE):]) == [
        "srcc", "plcc", "plcc_logistic4_converged", "replicas", "target", "strategy",
    ]


def test_append_keeps_old_rows_and_adds_columns(tmp_path):
    path = tmp_path / "r.csv"
    results.append_rows(path, make_row(srcc=0.7, target="quality"))
    results.append_rows(path, make_row(split_index=1, krcc=0.5, srcc=0.8, target="align", subset="bad"))
    table = results.read_results(path)
    assert len(table) == 2
    assert list(table["srcc"]) == [0.7, 0.8]
    assert list(table["target"]) == ["quality", "align"]
    assert list(table.columns[-4:]) == ["srcc", "target", "krcc", "subset"]  # old order kept, new appended
    assert pd.isna(table["krcc"].iloc[0]) and table["krcc"].iloc[1] == 0.5
    assert pd.isna(table["subset"].iloc[0]) and table["subset"].iloc[1] == "bad"


def test_interrupted_write_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "r.csv"
    results.append_rows(path, make_row(srcc=0.7))
    before = path.read_bytes()

    def broken_to_csv(self, buf, *args, **kwargs):
        buf.write("paper,exp\npartial")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken_to_csv)
    with pytest.raises(OSError, match="disk full"):
        results.append_rows(path, make_row(split_index=1, srcc=0.8))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]


def test_append_refuses_a_foreign_csv(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ResultsError, match="not a results file"):
        results.append_rows(path, make_row())
    assert path.read_text() == "a,b\n1,2\n"


def test_read_results_folder_and_missing(tmp_path):
    results.append_rows(tmp_path / "a.csv", make_row(srcc=0.1))
    results.append_rows(tmp_path / "b.csv", make_row(paper="ipiqa", srcc=0.2))
    (tmp_path / "notes.txt").write_text("ignored")
    table = results.read_results(tmp_path)
    assert list(table["paper"]) == ["dlsr", "ipiqa"]
    assert results.read_results(tmp_path / "b.csv")["srcc"].tolist() == [0.2]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert results.read_results(empty).empty
    with pytest.raises(ResultsError, match="no results file or folder"):
        results.read_results(tmp_path / "nope.csv")


def test_compare_gives_deltas_for_matching_rows():
    old = pd.DataFrame([
        make_row(split_index=0, srcc=0.70, plcc=0.72, target="quality"),
        make_row(split_index=1, srcc=0.60, plcc=0.62, target="quality"),
        make_row(split_index=0, srcc=0.50, plcc=0.52, target="align"),
        make_row(split_index=0, srcc=0.90, plcc=0.90, target="quality", data="real"),
    ])
    new = pd.DataFrame([
        make_row(split_index=0, srcc=0.75, plcc=0.70, target="quality", timestamp="2024-02-01T00:00:00+00:00"),
        make_row(split_index=0, srcc=0.40, plcc=0.55, target="align"),
        make_row(split_index=2, srcc=0.10, plcc=0.10, target="quality"),
    ])
    delta = results.compare(new, old)
    assert len(delta) == 2  # split 2 has no old row; the real row never matches a synthetic one
    assert (delta["data"] == "synthetic").all()
    q = delta[delta["target"] == "quality"].iloc[0]
    assert q["srcc_delta"] == pytest.approx(0.05) and q["plcc_delta"] == pytest.approx(-0.02)
    assert q["srcc_old"] == 0.70 and q["srcc_new"] == 0.75
    a = delta[delta["target"] == "align"].iloc[0]
    assert a["srcc_delta"] == pytest.approx(-0.10) and a["plcc_delta"] == pytest.approx(0.03)


def test_compare_uses_last_duplicate_and_checks_arguments():
    old = pd.DataFrame([make_row(srcc=0.5, plcc=0.5), make_row(srcc=0.6, plcc=0.6)])
    new = pd.DataFrame([make_row(srcc=0.7, plcc=0.7)])
    delta = results.compare(new, old, metrics=("srcc",))
    assert len(delta) == 1 and delta["srcc_delta"].iloc[0] == pytest.approx(0.1)
    assert list(delta.columns[-3:]) == ["srcc_new", "srcc_old", "srcc_delta"]
    with pytest.raises(ResultsError, match="must include 'data'"):
        results.compare(new, old, keys=("paper", "dataset"))
    with pytest.raises(ResultsError, match=r"keys \['target'\]"):
        results.compare(new, old, keys=("data", "target"))
    with pytest.raises(ResultsError, match=r"metric column\(s\) \['krcc'\]"):
        results.compare(new, old, metrics=("srcc", "krcc"))
