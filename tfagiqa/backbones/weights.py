"""Build a Keras-applications backbone with the weights a ``weights`` argument names (auto / imagenet / none / a
``.h5`` file), through :func:`tfagiqa.presets.resolve`, and say what the result rows record."""

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
                       download_hint: str, kind: str = "keras-applications") -> ResolvedWeights:
    """Call ``build(keras_weights_arg)`` with what ``weights`` resolves to for presets of ``kind``.

    ``imagenet`` lets Keras read its cache (``$KERAS_HOME/models``, default ~/.keras/models) or download there,
    and fails with a WeightsError naming the file and the folder; ``auto`` falls back to random initialisation
    with a loud warning; a ``.h5`` path loads that file; ``none`` is random initialisation without any I/O.
    ``build`` receives None, "imagenet" or a file path.
    """
    from tfagiqa.presets import resolve

    resolved = resolve(weights, kind=kind, what=name)
    if resolved.random:
        return ResolvedWeights(build(None), "random")
    if resolved.imagenet is not None:
        try:
            return ResolvedWeights(build("imagenet"), "imagenet")
        except Exception as exc:  # keras raises a bare Exception for a failed download
            where = (f"{resolved.imagenet.name} is not in {resolved.imagenet.parent}" if resolved.imagenet.suffix
                     else f"they are not in {resolved.imagenet}")
            if not resolved.fallback:
                raise WeightsError(f"{name}: ImageNet weights unavailable: {where} and Keras could not download them "
                                   f"({exc}). {download_hint}") from exc
            warnings.warn(
                f"\n{'!' * 78}\n{name}: ImageNet weights unavailable ({where}; {type(exc).__name__}); using RANDOM "
                f"initialisation. Results are recorded with weights=random.\n{download_hint}\n{'!' * 78}",
                RuntimeWarning, stacklevel=2,
            )
            return ResolvedWeights(build(None), "random")
    file = resolved.preset.path("weights")
    try:
        model = build(str(file))
    except Exception as exc:
        raise WeightsError(f"{name}: cannot load weights from {file}: {exc}") from exc
    return ResolvedWeights(model, resolved.label)


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
