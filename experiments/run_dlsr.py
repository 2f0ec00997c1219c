"""DLSR-IQA (Qi, 2023) end to end: features → perception / alignment / StairReward heads → per-fold SRCC/PLCC.

    python experiments/run_dlsr.py --fold 1                      # the main job: perception, fold 1
    python experiments/run_dlsr.py --fold all --task all         # every table and figure's numbers

Without the real AGIQA-3K / AIGCIQA2023 under the data root it runs on the synthetic stand-ins in the same
layouts and says so in a banner and in every result row. Results go to ``<out>/results.csv``; trained heads
to ``<out>/models/*.keras``; scoring SavedModels (image [+ prompt] → score) to ``<out>/savedmodels/``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tfagiqa import distribute, results  # noqa: E402
from tfagiqa.catalogue import get_entry  # noqa: E402
from tfagiqa.data import default_data_root, schema  # noqa: E402
from tfagiqa.data.cache import FeatureCache  # noqa: E402
from tfagiqa.data.pipeline import surface_data_errors  # noqa: E402
from tfagiqa.errors import TfagiqaError  # noqa: E402
from tfagiqa.export import export_savedmodel, scoring_model  # noqa: E402
from tfagiqa.metrics import fold_summary  # noqa: E402
from tfagiqa.methods.dlsr import model as dlsr  # noqa: E402
from tfagiqa.methods.dlsr import protocol as protocol  # noqa: E402

TASKS = ("perception", "alignment", "stairreward", "subsets")
# experiment name → (model kind, head configuration, label); the names are the table rows they fill
SETTINGS = {
    "perception_before": ("perception", dlsr.PERCEPTION_BASELINE, schema.QUALITY),  # Table II, before
    "perception_after": ("perception", dlsr.PERCEPTION, schema.QUALITY),  # Tables I–II, after
    "alignment": ("alignment", dlsr.ALIGNMENT, schema.ALIGNMENT),  # Tables V–VI
    "stair_before": ("alignment", dlsr.ALIGNMENT, schema.ALIGNMENT),  # Table VIII, AGIQA-3K only
    "stair_after": ("stair_reward", dlsr.ALIGNMENT, schema.ALIGNMENT),  # Table VIII
}
EXPORTED = ("perception_after", "alignment")
DATASETS = {"both": ("agiqa3k", "aigciqa2023"), "agiqa3k": ("agiqa3k",), "aigciqa2023": ("aigciqa2023",)}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fold", default="1", choices=["1", "2", "3", "all"], help="which of the 3 grouped folds")
    p.add_argument("--task", default="perception", choices=[*TASKS, "all"])
    p.add_argument("--dataset", default="both", choices=sorted(DATASETS),
                   help="training data: AGIQA-3K + AIGCIQA2023 (the paper), or one of them")
    p.add_argument("--data-root", default=None, help=f"folder holding the datasets (default {default_data_root()})")
    p.add_argument("--synthetic", default="auto", choices=["auto", "always", "never"],
                   help="auto: real data when present, else the synthetic stand-in")
    p.add_argument("--weights", default="auto", help="backbone weights: auto | imagenet | none | PATH to a .h5 file")
    p.add_argument("--backbone", default=None, choices=sorted(protocol.BACKBONES),
                   help="feature extractor (default: the profile's; 'tiny' is a small random CNN for quick checks)")
    p.add_argument("--profile", default="auto", choices=["auto", "smoke", "paper", "test"],
                   help="auto: paper on real data, smoke on synthetic")
    p.add_argument("--epochs", type=int, default=None, help="override the profile's epoch budget")
    p.add_argument("--range", dest="range_kind", default="nominal", choices=["nominal", "empirical"],
                   help="MOS ranges for the AIGCIQA2023 → AGIQA-3K mapping (eq. 1)")
    p.add_argument("--activation", default=None, choices=["sigmoid", "tanh", "relu"], help="alternative activation")
    p.add_argument("--optimizer", default=None, choices=sorted(dlsr.OPTIMIZERS), help="alternative optimiser")
    p.add_argument("--loss", default=None, choices=sorted(dlsr.LOSSES), help="alternative loss")
    p.add_argument("--lr", type=float, default=None, help="alternative learning rate")
    p.add_argument("--out", default="results/reproduced/dlsr", help="results, models and SavedModels go here")
    p.add_argument("--cache-dir", default=None, help="feature cache (default <data-root>/cache/features)")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation and training (splits use seed 42)")
    p.add_argument("--no-export", action="store_true", help="skip the SavedModel export")
    distribute.add_arguments(p)
    return p.parse_args(argv)


class Run:
    """One invocation: shared data, features and provenance; each experiment adds result rows as it finishes."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.out = Path(args.out)
        self.strategy = distribute.make_strategy(args.strategy, tpu=args.tpu)
        self.chief = distribute.is_chief(self.strategy)
        self.data = protocol.dlsr_data(args.data_root, args.synthetic, args.range_kind, DATASETS[args.dataset])
        kind = self.data.attrs["data"]
        profile_name = args.profile if args.profile != "auto" else ("paper" if kind == "real" else "smoke")
        profile = protocol.PROFILES[profile_name]
        self.profile = protocol.Profile(
            profile.name, profile.image_size, profile.aug_views, args.epochs or profile.epochs, profile.patience,
            profile.batch_size, args.backbone or profile.backbone)
        keras.utils.set_random_seed(args.seed)
        backbone = protocol.BACKBONES[self.profile.backbone](args.weights, self.profile.image_size)
        root = Path(args.data_root or default_data_root())
        self.bank = protocol.FeatureBank(self.data, backbone, self.profile.backbone,
                                         FeatureCache(args.cache_dir or root / "cache" / "features"),
                                         self.profile.image_size, init_seed=args.seed)
        self.results_path = self.out / "results.csv"
        self.previous = self._rotate_previous()
        self.banner()

    def banner(self) -> None:
        kind = self.data.attrs["data"]
        lines = [f"DLSR-IQA on {self.data.attrs['dataset']} ({len(self.data)} images, {kind.upper()} data)",
                 f"backbone {self.profile.backbone}, weights={self.bank.backbone.label}, profile {self.profile.name}, "
                 f"image size {self.profile.image_size}, {self.profile.aug_views} augmented views, "
                 f"strategy {self.args.strategy} ({self.strategy.num_replicas_in_sync} replica(s))"]
        if kind == "synthetic":
            lines.append("SYNTHETIC stand-in data: these numbers test the code path; they are NOT the paper's numbers.")
        if not self.bank.backbone.pretrained:
            lines.append("RANDOM backbone weights: features are not ImageNet features.")
        width = max(map(len, lines)) + 4
        print("=" * width, *(f"  {line}" for line in lines), "=" * width, sep="\n", flush=True)

    def _rotate_previous(self):
        """Keep the last run's results as results.previous.csv so this run can be compared against it."""
        if not self.chief or not self.results_path.is_file():
            return None
        previous = self.results_path.with_name("results.previous.csv")
        self.results_path.replace(previous)
        return results.read_results(previous)

    def record(self, experiment: str, fold: int, target: str, subset: str, outcome: protocol.FoldResult,
               dataset: str) -> None:
        """Append one result row and print the fold's SRCC/PLCC with its provenance."""
        row = results.provenance(
            paper="dlsr", experiment=experiment, dataset=dataset, data=self.data.attrs["data"],
            weights=self.bank.backbone.label, split=f"kfold{protocol.N_FOLDS}_seed{protocol.SPLIT_SEED}",
            split_index=fold, seed=self.args.seed, selection="best_val_loss", profile=self.profile.name)
        row.update(target=target, subset=subset, backbone=self.profile.backbone, image_size=self.profile.image_size,
                   n_train=outcome.n_train, n_test=outcome.n_test, alpha=outcome.alpha(),
                   **distribute.describe(self.strategy), **outcome.metrics)
        if self.chief:
            results.append_rows(self.results_path, [row])
        m = outcome.metrics
        print(f"  fold {fold} {experiment:<18} {subset:<26} SRCC {m['srcc']:.4f}  PLCC {m['plcc']:.4f}  "
              f"[{self.data.attrs['data']}, weights={self.bank.backbone.label}]", flush=True)

    def config(self, base: dlsr.HeadConfig) -> dlsr.HeadConfig:
        a = self.args
        return dlsr.variant(base, activation=a.activation, optimizer=a.optimizer, loss=a.loss, learning_rate=a.lr)

    def experiment(self, name: str, df, fold_ids, subset: str = "all") -> None:
        """Train and test one setting on the requested folds of ``df`` (rows of ``self.data``)."""
        kind, base, target = SETTINGS[name]
        df = protocol.with_target(df, target)
        side_of = protocol.folds(df)
        for fold in fold_ids:
            tag = name if subset == "all" else f"{name}_{subset}"
            backup = distribute.backup_dir(self.out, f"{tag}_fold{fold}", self.strategy)
            outcome = protocol.run_fold(df, side_of[fold], kind, self.config(base), self.bank, self.profile,
                                        self.args.seed + fold, desc=f"{name} fold {fold}", strategy=self.strategy,
                                        backup_dir=backup)
            self.record(name, fold, target, subset, outcome, "+".join(df[schema.DATASET].unique()))
            if self.chief:
                self.save(tag, fold, outcome.model, target)

    def save(self, name: str, fold: int, head: keras.Model, target: str) -> None:
        """Save the head as .keras; export backbone + head as a scoring SavedModel for the main settings."""
        models = self.out / "models"
        models.mkdir(parents=True, exist_ok=True)
        head.save(models / f"{re.sub(r'[^A-Za-z0-9_.=-]+', '-', name)}_fold{fold}.keras")
        if name in EXPORTED and not self.args.no_export:
            scorer = scoring_model(self.bank.backbone.model, head, target)
            entry = get_entry("dlsr-perception" if target == schema.QUALITY else "dlsr-alignment")
            export_savedmodel(scorer, self.out / "savedmodels" / f"{name}_fold{fold}", {
                **entry.metadata(), "experiment": name, "fold": fold, "data": self.data.attrs["data"],
                "weights": self.bank.backbone.label, "backbone": self.profile.backbone,
                "image_size": self.profile.image_size})

    def subsets(self, fold_ids) -> None:
        """Tables IV and VII: one model per subset, 3 grouped folds inside each subset."""
        for name in ("perception_after", "alignment"):
            for (column, value), part in protocol.subset_frames(self.data).items():
                self.experiment(name, part, fold_ids, subset=f"{column}={value}")

    def summary(self) -> None:
        if not self.chief:
            return
        table = results.read_results(self.results_path)
        print("\nSummary (AVERAGE and sample VAR over the folds run):")
        for (experiment, subset), rows in table.groupby(["experiment", "subset"], sort=False):
            line = f"  {experiment:<18} {subset:<26}"
            for metric in ("srcc", "plcc"):
                s = fold_summary(rows[metric]) if len(rows) > 1 else {"average": rows[metric].iloc[0], "var": np.nan}
                line += f" {metric.upper()} {s['average']:.4f} (var {s['var']:.2e})"
            print(line)
        if self.previous is not None and len(self.previous):
            delta = results.compare(table, self.previous)
            if len(delta):
                print(f"\nAgainst the previous run (results.previous.csv), {len(delta)} matching rows:")
                print(delta.to_string(index=False))
        print(f"\nresults: {self.results_path}  ({self.data.attrs['data']} data, weights={self.bank.backbone.label})")


def main(argv=None) -> int:
    args = parse_args(argv)
    tasks = TASKS if args.task == "all" else (args.task,)
    fold_ids = [1, 2, 3] if args.fold == "all" else [int(args.fold)]
    try:
        with surface_data_errors():
            run = Run(args)
            if "perception" in tasks:
                run.experiment("perception_before", run.data, fold_ids)
                run.experiment("perception_after", run.data, fold_ids)
            if "alignment" in tasks:
                run.experiment("alignment", run.data, fold_ids)
            if "stairreward" in tasks:
                only3k = run.data[run.data[schema.DATASET] == "agiqa3k"].reset_index(drop=True)
                if only3k.empty:
                    raise TfagiqaError("StairReward needs AGIQA-3K (its morpheme fields); use --dataset both or agiqa3k")
                run.experiment("stair_before", only3k, fold_ids)
                run.experiment("stair_after", only3k, fold_ids)
            if "subsets" in tasks:
                run.subsets(fold_ids)
            run.summary()
    except TfagiqaError as exc:
        print(f"run_dlsr: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
