"""Running the benchmark: every chosen method on every dataset, target and split, one result row each.

Each (method, dataset, target, split) is one call of the method's adapter on the split's train and test rows;
its predictions are scored against the test side's MOS (``tfagiqa.metrics.evaluate``) and, on a synthetic
stand-in, against the latent truth (``srcc_truth``). The row goes to ``results.csv`` through the experiment
harness as soon as it is made; the predictions go to the cell's work folder (``predictions.csv``). A target a
dataset has no MOS for, or a method cannot serve, is skipped with one line saying why; so is a method whose
weights cannot be found (the others still run).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa import metrics
from tfagiqa.atomic import atomic_path
from tfagiqa.benchmark import splits, truth
from tfagiqa.benchmark.adapters import Adapter
from tfagiqa.data import schema
from tfagiqa.data.splits import TEST, TRAIN
from tfagiqa.errors import WeightsError
from tfagiqa.experiment import Experiment

TARGETS = ("quality", "alignment", "overall")
SCORES = ("srcc", "plcc", "krcc", "rmse", "plcc_logistic4", "plcc_logistic5")


@dataclass(frozen=True)
class Plan:
    """What one benchmark run does."""

    adapters: tuple[Adapter, ...]
    datasets: dict[str, pd.DataFrame]  # name → the reader's frame (attrs: data kind, root)
    targets: tuple[str, ...]
    protocol: str
    repeats: int
    profile: str
    weights: dict[str, str]
    seed: int


def run(plan: Plan, experiment: Experiment, log: Callable[[str], None] = print) -> list[str]:
    """Run every cell of ``plan``, recording a row each; returns the skip lines (also printed)."""
    skipped: list[str] = []

    def skip(line: str) -> None:
        skipped.append(line)
        log(f"  skipped: {line}")

    for dataset, df in plan.datasets.items():
        sides = splits.sides(df, dataset, plan.protocol, plan.repeats, experiment.out / "splits")
        for target in plan.targets:
            if target not in df.columns:
                skip(f"{dataset} has no {target} MOS (its labels: {', '.join(schema.label_columns(df))})")
                continue
            latent = truth.latent(df, target)
            for adapter in plan.adapters:
                reason = adapter.skip_reason(target)
                if reason:
                    skip(f"{adapter.name} on {dataset} {target}: {reason}")
                    continue
                try:
                    for name, side in sides.items():
                        row = cell(plan, experiment.out, adapter, df, dataset, target, name, side, latent)
                        experiment.record([row], line)
                except WeightsError as exc:
                    skip(f"{adapter.name} on {dataset} {target}: {exc}")
    return skipped


def cell(plan: Plan, out: Path, adapter: Adapter, df: pd.DataFrame, dataset: str, target: str, name: str,
         side: pd.Series, latent: np.ndarray | None) -> dict:
    """One adapter call on one split: the result row (the harness adds provenance); predictions saved."""
    family, index = splits.tag(name)
    train = df[(side == TRAIN).to_numpy()].reset_index(drop=True)
    test_mask = (side == TEST).to_numpy()
    test = df[test_mask].reset_index(drop=True)
    workdir = out / "work" / adapter.name / dataset / target / f"split_{index:02d}"
    workdir.mkdir(parents=True, exist_ok=True)
    wall, cpu = time.perf_counter(), time.process_time()
    answer = adapter.fit_predict(train, test, target, profile=plan.profile, weights=plan.weights.get(adapter.name),
                                 seed=plan.seed + index, workdir=workdir)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    predictions = answer["predictions"]
    scores = score(predictions, test[target].to_numpy(dtype=np.float64))
    if latent is not None:
        scores["srcc_truth"] = score(predictions, latent[test_mask])["srcc"]
    save_predictions(workdir / "predictions.csv", test, target, predictions, None if latent is None else latent[test_mask])
    return dict(experiment=adapter.name, dataset=dataset, data=df.attrs["data"], weights=answer["weights"],
                split=family, split_index=index, selection=answer["selection"], profile=plan.profile, target=target,
                subset="all", backbone=answer["backbone"], trained=adapter.trained, reads_prompt=adapter.needs_prompt,
                n_train=len(train), n_test=len(test), wall_s=round(wall, 2), cpu_s=round(cpu, 2), **scores,
                notes=answer["notes"])


def score(predictions: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """The benchmark's metrics of ``predictions`` against ``reference`` (NaN for a constant prediction)."""
    with warnings.catch_warnings():  # a constant prediction or a failed logistic fit leaves its NaN / raw value
        warnings.simplefilter("ignore", metrics.MetricWarning)
        evaluated = metrics.evaluate(predictions, reference)
    return {name: float(evaluated[name]) for name in SCORES}


def save_predictions(path: Path, test: pd.DataFrame, target: str, predictions: np.ndarray,
                     latent: np.ndarray | None) -> Path:
    """The cell's predictions beside its test rows' names and MOS (and latent truth), written atomically."""
    table = pd.DataFrame({schema.NAME: test[schema.NAME], target: test[target], "prediction": predictions})
    if latent is not None:
        table["latent_truth"] = latent
    with atomic_path(path) as temporary:
        table.to_csv(temporary, index=False)
    return path


def line(row: dict) -> str:
    """The printed line of one row (the harness appends its data and weights)."""
    truth_part = f"  truth {row['srcc_truth']:+.4f}" if "srcc_truth" in row else ""
    return (f"  {row['experiment']:<12} {row['dataset']:<12} {row['target']:<10} split {row['split_index']:2d}  "
            f"SRCC {row['srcc']:+.4f}  PLCC {row['plcc']:+.4f}{truth_part}  {row['wall_s']:7.1f} s")
