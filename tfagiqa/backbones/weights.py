"""Resolve a ``weights`` argument (auto / imagenet / none / local path) to what a builder loads and what results record."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras

from tfagiqa.errors import WeightsError

CHOICES = ("auto", "imagenet", "none")


@dataclass(frozen=True)
class ResolvedWeights:
    """The model built and the label every result row records: ``imagenet``, ``random`` or the file's path."""

    model: keras.Model
    label: str

    @property
    def pretrained(self) -> bool:
        return self.label != "random"


def build_with_weights(build: Callable[[str | None], keras.Model], weights: str | None, name: str,
                       download_hint: str) -> ResolvedWeights:
    """Call ``build(keras_weights_arg)`` according to ``weights``.

    ``imagenet`` lets Keras use its cache (~/.keras/models) or download, and fails with a clear message offline;
    ``auto`` falls back to random initialisation with a loud warning; a path loads a local weights file;
    ``none`` is random initialisation without any I/O. ``build`` receives None, "imagenet" or a file path.
    """
    spec = "none" if weights is None else str(weights)
    if spec == "none":
        return ResolvedWeights(build(None), "random")
    if spec in ("imagenet", "auto"):
        try:
            return ResolvedWeights(build("imagenet"), "imagenet")
        except Exception as exc:  # keras raises a bare Exception for a failed download
            if spec == "imagenet":
                raise WeightsError(f"{name}: ImageNet weights unavailable ({exc}). {download_hint}") from exc
            warnings.warn(
                f"\n{'!' * 78}\n{name}: ImageNet weights unavailable ({type(exc).__name__}); using RANDOM "
                f"initialisation. Results are recorded with weights=random.\n{download_hint}\n{'!' * 78}",
                RuntimeWarning, stacklevel=2,
            )
            return ResolvedWeights(build(None), "random")
    path = Path(spec)
    if not path.is_file():
        raise WeightsError(f"{name}: weights must be auto, imagenet, none or an existing file; {spec!r} is none of them")
    try:
        model = build(str(path))
    except Exception as exc:
        raise WeightsError(f"{name}: cannot load weights from {path}: {exc}") from exc
    return ResolvedWeights(model, str(path))


def installed_package_file(module: str, relative: str, install_hint: str) -> Path:
    """A data file inside an installed package, found without importing the package (its imports may not work).

    Raises a WeightsError naming ``install_hint`` when the package or the file is absent.
    """
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(f"the Python package {module!r} is not installed; {install_hint}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / relative
        if path.is_file():
            return path
    raise WeightsError(f"{module} is installed but has no {relative}; reinstall it: {install_hint}")
