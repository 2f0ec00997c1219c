"""The model catalogue: every scorer the package can build, with what it needs and what its scores mean.

A scorer is a Keras model with dict inputs ``{"images": float32 [N, S, S, 3] in [0, 255]}`` (plus
``"prompt": string [N]`` when ``needs_prompt``) and dict outputs ``{output_name: float32 [N]}``. Each method's
``scorers`` module (named in its :mod:`tfagiqa.methods` record) lists its entries in ``ENTRIES``; builders never
download anything.

``create_scorer(name, weights=None, seed=0)`` builds one: ``weights=None`` is random initialisation without any
I/O; what else ``weights`` accepts is the entry's to say (``ModelEntry.weights_help``): for neural scorers, presets
of the entry's ``kinds`` and the inputs those kinds accepted before presets, resolved by
:func:`tfagiqa.presets.resolve` (``"auto"``: the kinds' default folders, else random with a warning). The random
initialisation is seeded (``keras.utils.set_random_seed(seed)`` before building, :data:`DEFAULT_SEED` unless told
otherwise), so the same name, weights and seed give the same model, and the same scores, in every process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from tfagiqa.errors import TfagiqaError

if TYPE_CHECKING:  # the catalogue itself stays importable without TensorFlow
    import keras


@dataclass(frozen=True)
class ModelEntry:
    """Metadata and builder of one scorer (``build(weights)`` → scoring Keras model; ``weights=None`` = random init)."""

    name: str
    paper: str
    needs_prompt: bool
    outputs: tuple[str, ...]
    input_size: int
    score_range: tuple[float, float]
    label_scale: str
    build: Callable[[str | None], keras.Model] = field(repr=False, compare=False)
    higher_is_better: bool = True
    description: str = ""
    weights_help: str = "None (random initialisation, no I/O)"
    provenance: Callable[[str | None], dict] | None = field(default=None, repr=False, compare=False)
    views: dict = field(default_factory=dict, compare=False)  # fixed test-time views (export.ViewPolicy fields)
    kinds: tuple[str, ...] = ()  # the preset kinds ``build`` accepts (tfagiqa.presets); () for non-Keras weights

    def metadata(self) -> dict:
        """JSON-ready metadata (everything but the builder)."""
        return {"name": self.name, "paper": self.paper, "needs_prompt": self.needs_prompt,
                "outputs": list(self.outputs), "input_size": self.input_size, "score_range": list(self.score_range),
                "higher_is_better": self.higher_is_better, "label_scale": self.label_scale,
                "description": self.description, "weights_help": self.weights_help,
                "views": dict(self.views) or {"crop": "resize"}}

    def weights_provenance(self, weights: str | None) -> dict:
        """Where the weights of ``build(weights)`` come from (recorded beside every export): the entry's own record,
        else the label :func:`tfagiqa.presets.resolve` gives them."""
        if self.provenance is not None:
            return self.provenance(weights)
        if self.kinds:
            from tfagiqa.presets import resolve

            return {"weights": resolve(weights, kind=self.kinds, what=self.name).label}
        return {"weights": "random" if weights is None else str(weights)}


DEFAULT_SEED = 0
_REGISTRY: dict[str, ModelEntry] = {}
_LOADED = False


def list_models() -> list[str]:
    """Names of every registered scorer."""
    _load_entries()
    return sorted(_REGISTRY)


def get_entry(name: str) -> ModelEntry:
    """The entry for ``name``, or an error listing the known names."""
    _load_entries()
    if name not in _REGISTRY:
        raise TfagiqaError(f"unknown model {name!r}; known models: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def create_scorer(name: str, weights: str | None = None, seed: int = DEFAULT_SEED) -> keras.Model:
    """Build the scorer ``name`` (``weights=None``: random initialisation, nothing read or downloaded).

    Python's, NumPy's, TensorFlow's and Keras' global random state is first seeded with ``seed``
    (``keras.utils.set_random_seed``), so every randomly initialised weight is the same on every call and in
    every process; the global state is left seeded afterwards.
    """
    entry = get_entry(name)
    if not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise TfagiqaError(f"the initialisation seed must be an integer in 0..{2**32 - 1}, got {seed!r}")
    import keras

    keras.utils.set_random_seed(seed)
    return entry.build(weights)


def provenance(entry: ModelEntry, weights: str | None, seed: int = DEFAULT_SEED) -> dict:
    """Where a built scorer's weights come from, with the seed of its random initialisation (``init_seed``)."""
    return {**entry.weights_provenance(weights), "init_seed": seed}


def _load_entries() -> None:
    """Collect every method's ``ENTRIES`` once (a name may be registered once)."""
    global _LOADED
    if _LOADED:
        return
    from tfagiqa.methods import methods

    for method in methods():
        for entry in method.module(method.scorers).ENTRIES if method.scorers else ():
            if entry.name in _REGISTRY and _REGISTRY[entry.name] is not entry:
                raise ValueError(f"model {entry.name!r} is registered twice")
            _REGISTRY[entry.name] = entry
    _LOADED = True
