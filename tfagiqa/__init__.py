"""tfagiqa: four AI-generated image quality assessment methods in Keras 3, under one protocol.

``list_models``, ``create_scorer`` and ``Scorer`` are imported on first use, so ``import tfagiqa`` stays light.
"""

__version__ = "0.1.0"
__all__ = ["list_models", "create_scorer", "Scorer"]

_LAZY = {"list_models": "tfagiqa.catalogue", "create_scorer": "tfagiqa.catalogue", "Scorer": "tfagiqa.scorer"}


def __getattr__(name: str):
    """Import the public API lazily (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'tfagiqa' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)
