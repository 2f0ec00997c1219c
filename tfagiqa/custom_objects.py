"""Registration of every Keras-serialisable class of the package, so that ``keras.saving.load_model`` reads every
``.keras`` file the package writes after a bare ``import tfagiqa``.

Keras finds a custom class only once the module defining it has run its ``register_keras_serializable`` decorator.
``import tfagiqa`` calls :func:`register_all`, which imports every module of the shared layers, the backbones and
each registered method (a new method's layers are found without being listed anywhere).
"""

from __future__ import annotations

import importlib
import pkgutil

SHARED_PACKAGES = ("tfagiqa.layers", "tfagiqa.backbones")


def modules() -> list[str]:
    """The names of every module that may define a serialisable class."""
    from tfagiqa.methods import REGISTRY

    names = []
    for package in (*SHARED_PACKAGES, *REGISTRY.values()):
        names.append(package)
        path = importlib.import_module(package).__path__
        names += [f"{package}.{info.name}" for info in pkgutil.iter_modules(path)]
    return names


def register_all() -> None:
    """Import every module of :func:`modules` (each registers its classes with Keras as it is defined)."""
    for name in modules():
        importlib.import_module(name)
