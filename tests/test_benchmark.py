"""The benchmark end to end in a tiny configuration: NIQE (zero-shot, pixels only), BRISQUE (trained) and CLIPScore
(zero-shot, reads the prompt) on a 40-image AGIQA-3K stand-in, two grouped splits."""

import contextlib
import io
import re

import numpy as np
import pandas as pd
import pytest

from tfagiqa.benchmark import adapters, cli, truth
from tfagiqa.data import DIRNAMES, load_dataset
from tfagiqa.data.standins import raters
from tfagiqa.data.synthetic import TRUTH_FILE, write_synthetic
from tfagiqa.errors import TfagiqaError

METHODS = ("niqe", "brisque", "clipscore")


def benchmark(argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("benchmark")
    write_synthetic("agiqa3k", root / "data" / "AGIQA-3K", n=40)
    argv = ["--methods", *METHODS, "--datasets", "agiqa3k", "--repeats", "2", "--profile", "smoke",
            "--data-root", str(root / "data"), "--out", str(root / "out"), "--figures", str(root / "figures")]
    code, out, err = benchmark(argv)
    assert code == 0, err
    return root, argv, out


def test_skipped_targets_say_why(run):
    _, _, out = run
    assert "skipped: niqe on agiqa3k alignment: NIQE reads pixels only" in out
    assert "skipped: brisque on agiqa3k alignment: BRISQUE reads pixels only" in out
    assert "skipped: agiqa3k has no overall MOS" in out


def test_every_method_saw_the_same_test_images_of_each_split(run):
    root, _, _ = run
    saved = pd.read_csv(root / "out" / "splits" / "agiqa3k_benchmark.csv")
    rows = pd.read_csv(root / "out" / "results.csv")
    assert sorted(set(zip(rows["experiment"], rows["target"]))) == [
        ("brisque", "quality"), ("clipscore", "alignment"), ("clipscore", "quality"), ("niqe", "quality")]
    for index, column in enumerate(["ratio802_seed42_split_01", "ratio802_seed42_split_02"], start=1):
        expected = sorted(saved.loc[saved[column] == "test", "name"])
        assert expected and len(expected) < len(saved)
        for method, target in zip(rows["experiment"], rows["target"]):
            seen = pd.read_csv(root / "out" / "work" / method / "agiqa3k" / target / f"split_{index:02d}" /
                               "predictions.csv")
            assert sorted(seen["name"]) == expected
        assert (rows.loc[rows["split_index"] == index, "n_test"] == len(expected)).all()


def test_leaderboard_holds_the_means_and_stds_of_the_rows(run):
    root, _, out = run
    rows = pd.read_csv(root / "out" / "results.csv")
    board = pd.read_csv(root / "out" / "benchmark_smoke_agiqa3k_synthetic.csv")
    assert len(board) == 4 and (board["n_splits"] == 2).all()
    for _, entry in board.iterrows():
        cell = rows[(rows["experiment"] == entry["experiment"]) & (rows["target"] == entry["target"])]
        for metric in ("srcc", "plcc", "srcc_truth"):
            np.testing.assert_allclose(entry[f"{metric}_mean"], cell[metric].mean(), rtol=1e-9)
            np.testing.assert_allclose(entry[f"{metric}_std"], cell[metric].std(ddof=1), rtol=1e-9)
        np.testing.assert_allclose(entry["wall_s"], cell["wall_s"].mean(), rtol=1e-9)
    assert (rows["data"] == "synthetic").all() and (rows["paper"] == "benchmark").all()
    assert set(rows.loc[rows["experiment"] == "clipscore", "weights"]) == {"random"}
    markdown = (root / "out" / "benchmark_smoke_agiqa3k_synthetic.md").read_text()
    assert "SYNTHETIC" in markdown and "weights=random" in markdown
    assert "Time per method (all its cells, wall / CPU): niqe" in markdown and "Time per method" in out
    brisque = board[board["experiment"] == "brisque"].iloc[0]
    assert f"{brisque['srcc_mean']:+.3f} ± {brisque['srcc_std']:.3f}" in markdown
    assert (root / "figures" / "benchmark_smoke_agiqa3k_synthetic.png").stat().st_size > 10_000


def test_a_rerun_reuses_the_splits_and_compares_with_the_earlier_rows(run):
    root, argv, _ = run
    split_file = root / "out" / "splits" / "agiqa3k_benchmark.csv"
    before = split_file.read_bytes(), split_file.stat().st_mtime_ns
    again = [*argv]
    again[again.index("--methods") + 1:again.index("--datasets")] = ["niqe"]
    code, out, _ = benchmark(again)
    assert code == 0
    assert "Against the earlier rows" in out and "srcc_delta" in out
    assert (split_file.read_bytes(), split_file.stat().st_mtime_ns) == before


@pytest.mark.parametrize("extra, message", [
    (["--methods", "nosuch"], "unknown method(s) nosuch"),
    (["--methods", "baselines"], "baselines has no benchmark adapter"),
    (["--datasets", "agiqa9k"], "unknown dataset 'agiqa9k'"),
    (["--methods", "niqe", "--weights", "dlsr=none"], "'dlsr' is not among the methods run"),
    (["--methods", "niqe", "--weights", "niqe"], "write METHOD=SPEC"),
])
def test_bad_input_is_one_error_line(tmp_path, extra, message):
    code, out, err = benchmark(["--out", str(tmp_path / "out"), "--data-root", str(tmp_path / "none"), *extra])
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "results.csv").exists()


def test_every_registered_adapter_keeps_the_contract(tmp_path):
    loaded = adapters.chosen(None)
    assert {"dlsr", "ipiqa", "sfiqa", "hyperiqa", "imagereward", "clipscore", "resnet50", "pickscore"} <= {
        a.name for a in loaded}
    for adapter in loaded:
        assert isinstance(adapter.needs_prompt, bool) and isinstance(adapter.trained, bool)
        served = [t for t in ("quality", "alignment", "overall") if adapter.skip_reason(t) is None]
        assert served, adapter.name
        reason = adapter.skip_reason("authenticity")
        assert isinstance(reason, str), adapter.name
        with pytest.raises(TfagiqaError, match=re.escape(f"{adapter.name}: {reason}")):  # refused before any work
            adapter.fit_predict(pd.DataFrame(), pd.DataFrame(), "authenticity", profile="smoke", weights=None,
                                seed=0, workdir=tmp_path)
    with pytest.raises(TfagiqaError, match="twice"):
        adapters.parse_weights(["niqe=a", "niqe=b"], ["niqe"])


def test_the_latent_truth_of_an_overall_mos_is_the_stand_ins_own_mix(tmp_path):
    write_synthetic("agiqa1k", tmp_path / DIRNAMES["agiqa1k"], n=12)
    df = load_dataset("agiqa1k", tmp_path).sample(frac=1.0, random_state=0)
    assert df.attrs["data"] == "synthetic"
    table = pd.read_csv(tmp_path / DIRNAMES["agiqa1k"] / TRUTH_FILE)
    expected = dict(zip(table["name"], raters.overall(table)))
    np.testing.assert_allclose(truth.latent(df, "overall"), [expected[n] for n in df["name"]])
    real = df.copy()
    real.attrs["data"] = "real"
    assert truth.latent(real, "overall") is None
