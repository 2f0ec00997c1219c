"""DLSR-IQA (Qi, 2023) end to end: features → perception / alignment / StairReward heads → per-fold SRCC/PLCC.

    python experiments/run_dlsr.py --fold 1                      # the main job: perception, fold 1
    python experiments/run_dlsr.py --fold all --task all         # every table and figure's numbers

Without the real AGIQA-3K / AIGCIQA2023 under the data root it runs on the synthetic stand-ins in the same
layouts and says so in a banner and in every result row. Results are appended to ``<out>/results.csv``; trained
heads go to ``<out>/models/<experiment>_fold<k>/`` (dlsr-head presets recording their backbone); scoring
SavedModels (image [+ prompt] → score) to ``<out>/savedmodels/``.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfagiqa import experiment  # noqa: E402
from tfagiqa.catalogue import get_entry  # noqa: E402
from tfagiqa.data import schema  # noqa: E402
from tfagiqa.data.cache import FeatureCache  # noqa: E402
from tfagiqa.errors import TfagiqaError  # noqa: E402
from tfagiqa.export import export_savedmodel, scoring_model  # noqa: E402
from tfagiqa.methods.dlsr import model as dlsr  # noqa: E402
from tfagiqa.methods.dlsr import protocol  # noqa: E402

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
    p.add_argument("--backbone", default=None, choices=sorted(protocol.BACKBONES),
                   help="feature extractor (default: the profile's; 'tiny' is a small random CNN for quick checks)")
    p.add_argument("--range", dest="range_kind", default="nominal", choices=["nominal", "empirical"],
                   help="MOS ranges for the AIGCIQA2023 → AGIQA-3K mapping (eq. 1)")
    p.add_argument("--activation", default=None, choices=["sigmoid", "tanh", "relu"], help="alternative activation")
    p.add_argument("--optimizer", default=None, choices=sorted(dlsr.OPTIMIZERS), help="alternative optimiser")
    p.add_argument("--loss", default=None, choices=sorted(dlsr.LOSSES), help="alternative loss")
    p.add_argument("--lr", type=float, default=None, help="alternative learning rate")
    p.add_argument("--cache-dir", default=None, help="feature cache (default <data-root>/cache/features)")
    p.add_argument("--no-export", action="store_true", help="skip the SavedModel export")
    experiment.add_arguments(p, out="results/reproduced/dlsr", profiles=sorted(protocol.PROFILES),
                             weights="backbone weights: auto | imagenet | none | PATH to a .h5 file")
    return p.parse_args(argv)


class Run:
    """DLSR's experiments on shared data and features; each fold adds a result row as it finishes."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.run = experiment.Experiment(args, paper="dlsr")
        self.data = protocol.dlsr_data(args.data_root, args.synthetic, args.range_kind, DATASETS[args.dataset])
        self.profile = self.run.profile(protocol.PROFILES, self.data.attrs["data"], backbone=args.backbone)
        backbone = protocol.BACKBONES[self.profile.backbone](args.weights, self.profile.image_size)
        self.bank = protocol.FeatureBank(self.data, backbone, self.profile.backbone,
                                         FeatureCache(args.cache_dir or self.run.data_root / "cache" / "features"),
                                         self.profile.image_size, init_seed=args.seed)
        p = self.profile
        self.run.banner([f"DLSR-IQA on {self.data.attrs['dataset']} ({len(self.data)} images, "
                         f"{self.data.attrs['data'].upper()} data)",
                         f"backbone {p.backbone}, weights={backbone.label}, profile {p.name}, image size {p.image_size}, "
                         f"{p.aug_views} augmented views, strategy {args.strategy} "
                         f"({self.run.strategy.num_replicas_in_sync} replica(s))"],
                        data_kind=self.data.attrs["data"],
                        warnings=[] if backbone.pretrained else ["RANDOM backbone weights: features are not ImageNet features."])

    def experiment(self, name: str, df, fold_ids, subset: str = "all") -> None:
        """Train and test one setting on the requested folds of ``df`` (rows of ``self.data``)."""
        kind, base, target = SETTINGS[name]
        a = self.args
        config = dlsr.variant(base, activation=a.activation, optimizer=a.optimizer, loss=a.loss, learning_rate=a.lr)
        df = protocol.with_target(df, target)
        side_of = protocol.folds(df)
        for fold in fold_ids:
            tag = name if subset == "all" else f"{name}_{subset}"
            outcome = protocol.run_fold(df, side_of[fold], kind, config, self.bank, self.profile, a.seed + fold,
                                        desc=f"{name} fold {fold}", strategy=self.run.strategy,
                                        backup_dir=self.run.backup(f"{tag}_fold{fold}"))
            [row] = self.run.record([dict(
                experiment=name, dataset="+".join(df[schema.DATASET].unique()), data=self.data.attrs["data"],
                weights=self.bank.backbone.label, split=f"kfold{protocol.N_FOLDS}_seed{protocol.SPLIT_SEED}",
                split_index=fold, selection="best_val_loss", profile=self.profile.name, target=target, subset=subset,
                backbone=self.profile.backbone, image_size=self.profile.image_size, n_train=outcome.n_train,
                n_test=outcome.n_test, alpha=outcome.alpha(), **outcome.metrics)],
                lambda r: f"  fold {fold} {name:<18} {subset:<26} SRCC {r['srcc']:.4f}  PLCC {r['plcc']:.4f}")
            self.save(tag, fold, outcome.model, target, kind, row)

    def save(self, name: str, fold: int, head, target: str, kind: str, row: dict) -> None:
        """Save the head as a dlsr-head preset recording its backbone; export backbone + head as a scoring
        SavedModel for the main settings."""
        self.run.save_model(head, f"{name}_fold{fold}", role="head", run=row, architecture={
            "head": kind, "backbone": self.profile.backbone, "backbone_weights": self.bank.backbone.label,
            "image_size": self.profile.image_size})
        if name in EXPORTED and not self.args.no_export and self.run.chief:
            scorer = scoring_model(self.bank.backbone.model, head, target)
            entry = get_entry("dlsr-perception" if target == schema.QUALITY else "dlsr-alignment")
            export_savedmodel(scorer, self.run.out / "savedmodels" / f"{name}_fold{fold}", {
                **entry.metadata(), "experiment": name, "fold": fold, "data": self.data.attrs["data"],
                "weights": self.bank.backbone.label, "backbone": self.profile.backbone,
                "image_size": self.profile.image_size})

    def subsets(self, fold_ids) -> None:
        """Tables IV and VII: one model per subset, 3 grouped folds inside each subset."""
        for name in ("perception_after", "alignment"):
            for (column, value), part in protocol.subset_frames(self.data).items():
                self.experiment(name, part, fold_ids, subset=f"{column}={value}")


def run(args: argparse.Namespace) -> None:
    tasks = TASKS if args.task == "all" else (args.task,)
    fold_ids = [1, 2, 3] if args.fold == "all" else [int(args.fold)]
    dlsr_run = Run(args)
    if "perception" in tasks:
        dlsr_run.experiment("perception_before", dlsr_run.data, fold_ids)
        dlsr_run.experiment("perception_after", dlsr_run.data, fold_ids)
    if "alignment" in tasks:
        dlsr_run.experiment("alignment", dlsr_run.data, fold_ids)
    if "stairreward" in tasks:
        only3k = dlsr_run.data[dlsr_run.data[schema.DATASET] == "agiqa3k"].reset_index(drop=True)
        if only3k.empty:
            raise TfagiqaError("StairReward needs AGIQA-3K (its morpheme fields); use --dataset both or agiqa3k")
        dlsr_run.experiment("stair_before", only3k, fold_ids)
        dlsr_run.experiment("stair_after", only3k, fold_ids)
    if "subsets" in tasks:
        dlsr_run.subsets(fold_ids)
    dlsr_run.run.summary(["experiment", "subset"], statistic="average_var")


def main(argv=None) -> int:
    args = parse_args(argv)
    return experiment.main("run_dlsr", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
