"""How the benchmark finds each method's adapter and calls it.

A benchmarkable method names its adapter module in its registry record (``Method.benchmark``, usually
``tfagiqa/methods/<method>/benchmark.py``). The module provides

* ``NEEDS_PROMPT: bool`` — whether it reads the prompt for some target;
* ``TRAINED: bool`` — whether it learns from the training side (zero-shot methods ignore it);
* ``skip_reason(target) -> str | None`` — why it cannot serve ``target`` (quality, alignment, overall), or None;
* ``fit_predict(train, test, label, *, profile, weights, seed, workdir) -> dict`` — called only for a ``label``
  that ``skip_reason`` accepts (:meth:`Adapter.fit_predict` refuses the others): train on ``train[label]`` (when
  it trains; choosing epochs without the test side) and score ``test``: ``{"predictions": float array
  [len(test)] in test's row order, higher = better; "weights": what it started from; "backbone": str; "notes":
  str}``, optionally ``"selection"`` (how the final model was chosen: ``last_epoch``, ``best_val_loss``, …;
  default ``zero_shot`` for methods that do not train, ``final_model`` for those that do).

``test`` keeps its label columns because some protocols log each epoch's test metrics; an adapter must not choose
anything by them. ``workdir`` is a folder of the run for this (method, dataset, target, split).
"""

from __future__ import annotations

import importlib
import pathlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import pandas as pd

from tfagiqa.errors import TfagiqaError
from tfagiqa.methods import Method, benchmarkable, get_method, list_methods

CONTRACT = ("NEEDS_PROMPT", "TRAINED", "skip_reason", "fit_predict")


@dataclass(frozen=True)
class Adapter:
    """One method's benchmark adapter, imported."""

    name: str
    module: ModuleType

    @property
    def needs_prompt(self) -> bool:
        return bool(self.module.NEEDS_PROMPT)

    @property
    def trained(self) -> bool:
        return bool(self.module.TRAINED)

    def skip_reason(self, target: str) -> str | None:
        """Why the method cannot serve ``target`` (None: it can)."""
        return self.module.skip_reason(target)

    def fit_predict(self, train: pd.DataFrame, test: pd.DataFrame, label: str, *, profile: str,
                    weights: str | None, seed: int, workdir: pathlib.Path) -> dict:
        """The adapter's answer for one split, checked: one finite prediction per test row (a TfagiqaError, saying
        why, for a target the method cannot serve)."""
        reason = self.skip_reason(label)
        if reason:
            raise TfagiqaError(f"{self.name}: {reason}")
        answer = dict(self.module.fit_predict(train, test, label, profile=profile, weights=weights, seed=seed,
                                              workdir=workdir))
        predictions = np.asarray(answer.get("predictions"), dtype=np.float64).reshape(-1)
        if predictions.shape != (len(test),):
            raise TfagiqaError(f"{self.name}: {predictions.size} predictions for {len(test)} test rows")
        if not np.isfinite(predictions).all():
            raise TfagiqaError(f"{self.name}: {int((~np.isfinite(predictions)).sum())} prediction(s) are not finite")
        answer["predictions"] = predictions
        answer.setdefault("selection", "final_model" if self.trained else "zero_shot")
        for key in ("weights", "backbone", "notes"):
            answer[key] = str(answer.get(key, ""))
        return answer


def available() -> list[str]:
    """Names of the registered methods that have an adapter, in registry order (nothing heavy imported)."""
    return [method.name for method in benchmarkable()]


def load(record: Method) -> Adapter:
    """Import a method's adapter and check that it provides the contract."""
    module = importlib.import_module(f"{record.package}.{record.benchmark}")
    lacking = [name for name in CONTRACT if not hasattr(module, name)]
    if lacking:
        raise TfagiqaError(f"{record.name}'s benchmark adapter {module.__name__} lacks {', '.join(lacking)}")
    return Adapter(record.name, module)


def chosen(names: Sequence[str] | None) -> list[Adapter]:
    """The adapters of ``names`` (None: every method with one), or an error naming what is unknown."""
    if names is None:
        return [load(get_method(name)) for name in available()]
    unknown = [n for n in names if n not in list_methods()]
    if unknown:
        raise TfagiqaError(f"unknown method(s) {', '.join(unknown)}; methods with a benchmark adapter: "
                           f"{', '.join(available())}")
    without = [n for n in names if not get_method(n).benchmark]
    if without:
        raise TfagiqaError(f"{', '.join(without)} ha{'s' if len(without) == 1 else 've'} no benchmark adapter; "
                           f"methods with one: {', '.join(available())}")
    return [load(get_method(name)) for name in dict.fromkeys(names)]


def parse_weights(specs: Iterable[str], methods: Sequence[str]) -> dict[str, str]:
    """``METHOD=SPEC`` options → {method: spec}; a malformed one, a repeated method or one not run is an error."""
    out: dict[str, str] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or not name or not value:
            raise TfagiqaError(f"--weights {spec!r}: write METHOD=SPEC, e.g. ipiqa=weights/clip_rn50")
        if name not in methods:
            raise TfagiqaError(f"--weights {spec!r}: {name!r} is not among the methods run ({', '.join(methods)})")
        if name in out:
            raise TfagiqaError(f"--weights gives {name} twice ({out[name]!r} and {value!r})")
        out[name] = value
    return out

