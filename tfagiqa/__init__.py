"""tfagiqa: four AI-generated image quality assessment methods in Keras 3, under one protocol.

Importing the package registers every custom Keras class it defines (:mod:`tfagiqa.custom_objects`), so
``keras.saving.load_model`` reads every ``.keras`` file the package writes.
"""

__all__ = ["list_models", "create_scorer", "Scorer", "__version__"]

from tfagiqa.version import __version__  # noqa: E402
from tfagiqa.custom_objects import register_all as _register_all  # noqa: E402

_register_all()

from tfagiqa.catalogue import create_scorer, list_models  # noqa: E402
from tfagiqa.scorer import Scorer  # noqa: E402
