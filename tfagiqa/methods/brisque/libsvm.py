"""Readers for LIBSVM's text files: a model written by ``svm-train`` (ε-SVR or ν-SVR with an RBF kernel) and a
feature range written by ``svm-scale -s``; BRISQUE's releases ship one of each (``allmodel``, ``allrange``)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from tfagiqa.errors import WeightsError
from tfagiqa.methods.brisque.svr import FeatureRange, RbfSvr

REGRESSION_TYPES = ("epsilon_svr", "nu_svr")


def read_model(path: str | Path, n_features: int | None = None) -> RbfSvr:
    """The RBF regressor in a LIBSVM model file (header lines, then ``SV`` and one ``coef i:v …`` line per vector).

    Feature indices are 1-based and sparse (an absent index is 0); ``n_features`` fixes the width (default: the
    largest index present).
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise WeightsError(f"cannot read the LIBSVM model {path}: {exc}") from exc
    if "SV" not in [line.strip() for line in lines]:
        raise WeightsError(f"{path} is not a LIBSVM model file (no 'SV' line)")
    start = [line.strip() for line in lines].index("SV")
    header = dict(_header_entry(line, path) for line in lines[:start] if line.strip())
    if header.get("svm_type") not in REGRESSION_TYPES:
        raise WeightsError(f"{path}: svm_type {header.get('svm_type')!r} is not a regression "
                           "(need epsilon_svr or nu_svr)")
    if header.get("kernel_type") != "rbf":
        raise WeightsError(f"{path}: kernel_type {header.get('kernel_type')!r} is not supported (only rbf)")
    rows = [_support_vector(line, path) for line in lines[start + 1:] if line.strip()]
    if not rows:
        raise WeightsError(f"{path}: the model has no support vectors")
    width = n_features or max((max(values) for _, values in rows if values), default=0)
    vectors = np.zeros((len(rows), width))
    for r, (_, values) in enumerate(rows):
        for index, value in values.items():
            if index > width:
                raise WeightsError(f"{path}: feature index {index} beyond the {width} features expected")
            vectors[r, index - 1] = value
    total = header.get("total_sv")
    if total is not None and int(total) != len(rows):
        raise WeightsError(f"{path}: header says {total} support vectors, the file holds {len(rows)}")
    try:
        return RbfSvr(vectors, np.array([coef for coef, _ in rows]), float(header["rho"]), float(header["gamma"]))
    except (KeyError, ValueError) as exc:
        raise WeightsError(f"{path}: missing or malformed header value {exc}") from exc


def read_range(path: str | Path, n_features: int | None = None) -> FeatureRange:
    """The scaling in an ``svm-scale -s`` file: ``x``, then ``lower upper``, then ``index min max`` per feature."""
    path = Path(path)
    try:
        lines = [line.split() for line in path.read_text(encoding="ascii").splitlines() if line.strip()]
        if not lines or lines[0] != ["x"]:
            raise ValueError("the first line must be 'x' (feature scaling; target scaling 'y' is not supported)")
        lower, upper = (float(v) for v in lines[1])
        entries = {int(i): (float(lo), float(hi)) for i, lo, hi in lines[2:]}
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise WeightsError(f"cannot read the svm-scale range file {path}: {exc}") from exc
    width = n_features or max(entries)
    minimum, maximum = np.zeros(width), np.zeros(width)  # a feature svm-scale did not list is left out (scaled to 0)
    for index, (lo, hi) in entries.items():
        minimum[index - 1], maximum[index - 1] = lo, hi
    return FeatureRange(minimum, maximum, lower, upper)


def read_minmax_pickle(path: str | Path) -> FeatureRange:
    """The range as the image-quality package stores it: a pickled dict {"min_": [...], "max_": [...]} → [-1, 1]."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            values = pickle.load(handle)
        return FeatureRange(np.asarray(values["min_"], np.float64), np.asarray(values["max_"], np.float64))
    except Exception as exc:
        raise WeightsError(f"cannot read the feature range {path}: {exc}") from exc


def _header_entry(line: str, path: Path) -> tuple[str, str]:
    key, _, value = line.strip().partition(" ")
    if not value:
        raise WeightsError(f"{path}: malformed header line {line!r}")
    return key, value.strip()


def _support_vector(line: str, path: Path) -> tuple[float, dict[int, float]]:
    """``coef index:value …`` → (coef, {index: value})."""
    try:
        coef, *pairs = line.split()
        values = {}
        for pair in pairs:
            index, value = pair.split(":")
            values[int(index)] = float(value)
        return float(coef), values
    except ValueError as exc:
        raise WeightsError(f"{path}: malformed support vector line {line[:60]!r}…") from exc
