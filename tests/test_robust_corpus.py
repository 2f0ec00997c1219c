"""The corpus of broken dataset folders (tests/robustness_corpus.py) through every entry point: ``tfagiqa datasets
check`` and ``summary`` (in-process), and the Python readers. Each case has one expected outcome; nothing ends in
a traceback, and every message names the file and the row or cell."""

from __future__ import annotations

import re
import warnings

import pytest

from robustness_corpus import CASES, Case, copy_layout
from tfagiqa.cli import main
from tfagiqa.data import READERS
from tfagiqa.data.aigiqa20k import present_splits
from tfagiqa.errors import DataError, DataWarning

@pytest.fixture(scope="module")
def clean_rows(synthetic_root) -> dict[str, int]:
    """How many rows each unbroken synthetic layout has (all AIGIQA-20K splits together)."""
    from conftest import SYNTHETIC_DIRS

    return {layout: len(READERS[layout](synthetic_root / dirname, **(
        {"splits": present_splits(synthetic_root / dirname)} if layout == "aigiqa20k" else {})))
        for layout, dirname in SYNTHETIC_DIRS.items()}


def holds(message: str, text: str) -> bool:
    """``text`` is in ``message``; "<file> row N (...)" may also be said as "<file>: ..." and "row N (...)"."""
    split = re.fullmatch(r"(\S+\.\w+) (row \d+.*)", text)
    return text in message or (split is not None and split[1] in message and split[2] in message)


@pytest.fixture
def broken(synthetic_root, tmp_path, request) -> tuple[Case, object]:
    case = request.param
    folder = copy_layout(synthetic_root, case.layout, tmp_path)
    case.mutate(folder)
    return case, folder


def read(case: Case, folder, on_error: str):
    extra = {"splits": present_splits(folder)} if case.layout == "aigiqa20k" else {}
    return READERS[case.layout](folder, on_error=on_error, **extra)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


@pytest.mark.parametrize("broken", CASES, ids=[c.id for c in CASES], indirect=True)
def test_datasets_check(broken, capsys):
    case, folder = broken
    code, out, err = run(capsys, "datasets", "check", "--dataset", case.layout, "--data-root", str(folder))
    if case.outcome == "clean":
        assert code == 0 and "clean" in out, out + err
    elif case.outcome in ("problems", "image"):
        assert code == 1 and f"{case.bad_rows} problem(s)" in out, out + err
    else:
        assert code == 2 and err.startswith("tfagiqa: error: ") and out == "", out + err
    for text in case.expect:
        assert text in out + err, f"{text!r} not in:\n{out}{err}"
    if case.warn:
        assert f"tfagiqa: warning: {folder}" in err and case.warn in err


@pytest.mark.parametrize("broken", CASES, ids=[c.id for c in CASES], indirect=True)
def test_datasets_summary(broken, clean_rows, capsys):
    case, folder = broken
    argv = ["datasets", "summary", "--dataset", case.layout, "--data-root", str(folder), "--json"]
    code, out, err = run(capsys, *argv)
    if case.outcome in ("clean", "image"):
        assert code == 0 and '"rows"' in out, out + err
        return
    assert code == 2 and out == "" and err.startswith("tfagiqa: error: "), out + err
    for text in case.expect:
        assert holds(err, text), f"{text!r} not in:\n{err}"
    if case.outcome == "problems":
        assert "--skip-bad" in err  # the way out it suggests exists
        code, out, err = run(capsys, *argv, "--skip-bad")
        assert err.count("skipped ") == case.bad_rows and case.expect[-1] in err, err
        left = clean_rows[case.layout] - case.bad_rows
        if left:
            assert code == 0 and f'"rows": {left},' in out, out + err
        else:
            assert code == 2 and "no usable rows" in err, out + err


@pytest.mark.parametrize("broken", CASES, ids=[c.id for c in CASES], indirect=True)
def test_python_readers(broken, clean_rows):
    case, folder = broken
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if case.outcome in ("clean", "image"):
            df = read(case, folder, "raise")
            assert df.attrs["skipped"] == []
        elif case.outcome == "problems":
            with pytest.raises(DataError) as info:
                read(case, folder, "raise")
            assert all(holds(str(info.value), text) for text in case.expect), str(info.value)
            kept = read(case, folder, "skip")
            assert len(kept.attrs["skipped"]) == case.bad_rows  # dropped rows are listed, never lost
            assert len(kept) + case.bad_rows == clean_rows[case.layout]
        else:
            with pytest.raises(DataError) as info:
                read(case, folder, "skip")
            assert all(holds(str(info.value), text) for text in case.expect), str(info.value)
    data_warnings = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert bool(data_warnings) == bool(case.warn) and all(case.warn in w for w in data_warnings)
