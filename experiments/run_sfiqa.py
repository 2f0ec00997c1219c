"""SF-IQA (Yu et al., CVPRW 2024) end to end: the quality branch's two pre-training stages (i: NR-IQA, ii: AIGC),
the quality and similarity branches, score fusion.

    python experiments/run_sfiqa.py --dataset agiqa3k                      # Table 1 rows + the fusion block
    python experiments/run_sfiqa.py --dataset aigiqa20k --ablation all     # Tables 2-4 on the custom split
    python experiments/run_sfiqa.py --dataset aigiqa20k --no-aigc-pretrain # stage (i) only before the fine-tuning

Stage (ii) leaves the target dataset out when it is one of its four (AGIQA-3K): its test images are never
pre-trained on. The banner says which stages run, on which datasets, real or synthetic; result rows say it in
``pretrain`` (``nriqa+aigc``, ``nriqa``, ``aigc`` or ``none``) and stage models are saved as
``<out>/models/<dataset>_quality_{nriqa,aigc}_pretrained/`` (sfiqa-quality presets).

Without the real datasets under the data root it runs on the synthetic stand-ins in the same layouts, and
``--profile smoke`` (the default then) uses a tiny SwinV2 and a tiny CLIP: the banner and every result row say so.
Results go to ``<out>/results.csv``, trained models to ``<out>/models/<name>/`` (presets recording the run).
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tfagiqa import distribute, experiment  # noqa: E402
from tfagiqa.data import schema  # noqa: E402
from tfagiqa.errors import TfagiqaError  # noqa: E402
from tfagiqa.methods.sfiqa import protocol as protocol  # noqa: E402
from tfagiqa.profile import Profile  # noqa: E402

TARGETS = ("quality", "similarity", "overall")
ABLATIONS = ("isfe", "similarity")
STAGES = {"nriqa": "stage (i) NR-IQA", "aigc": "stage (ii) AIGC"}  # the pre-training stages, in the order they run


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="agiqa3k", choices=["agiqa3k", "aigiqa20k"])
    p.add_argument("--target", default="all", choices=[*TARGETS, "all"],
                   help="quality / similarity: Table 1's SF-IQA(quality|similarity) rows (on AIGIQA-20K: the branch "
                        "alone); overall: both branches + score fusion (Table 2); all: every one (AIGIQA-20K: overall)")
    p.add_argument("--ablation", default="none", choices=["none", *ABLATIONS, "all"],
                   help="isfe: Table 3's detached image semantic features; similarity: Table 4's cross-attention")
    p.add_argument("--fusion-label", default="quality", choices=["quality", "alignment"],
                   help="AGIQA-3K label both branches learn for the fusion block (AIGIQA-20K has one MOS)")
    p.add_argument("--no-pretrain", action="store_true",
                   help="skip both pre-training stages: the quality branch starts from the SwinV2 weights")
    p.add_argument("--no-nriqa-pretrain", action="store_true",
                   help="skip stage (i), the NR-IQA pre-training (stage (ii) starts from the SwinV2 weights)")
    p.add_argument("--no-aigc-pretrain", action="store_true",
                   help="skip stage (ii), the AIGC pre-training (the fine-tuning starts from stage (i))")
    p.add_argument("--checkpoints", type=experiment.count(1), default=1,
                   help="train this many (Q, S, fusion) triples with different seeds and also report their average "
                        "(the official inference averages 4 checkpoints)")
    p.add_argument("--split", default="1", help="which grouped split (1-based) or 'all' (AIGIQA-20K has one)")
    experiment.add_arguments(p, out="results/reproduced/sfiqa", profiles=sorted(protocol.PROFILES),
                             weights="auto | none | FOLDER with swinv2.weights.h5 (tfagiqa convert swinv2) and/or "
                                     "PickScore_v1/")
    return p.parse_args(argv)


def targets_of(args: argparse.Namespace) -> tuple[str, ...]:
    """The --target experiments to run (``all`` on AIGIQA-20K is ``overall``: its branches alone are Table 2's
    Q-only and S-only rows already)."""
    if args.target == "all":
        return TARGETS if args.dataset == "agiqa3k" else ("overall",)
    return (args.target,)


def ablations_of(args: argparse.Namespace) -> tuple[str, ...]:
    """The --ablation experiments to run."""
    return ABLATIONS if args.ablation == "all" else (() if args.ablation == "none" else (args.ablation,))


def pretrain_stages(args: argparse.Namespace, profile: Profile) -> tuple[str, ...]:
    """The pre-training stages this run runs, in order: none when it trains no quality branch (the similarity
    branch and Table 3's detached model never start from them) or with --no-pretrain; else each stage that its
    --no-…-pretrain flag leaves on and the profile gives epochs."""
    trains_quality = {"quality", "overall"} & set(targets_of(args)) or "similarity" in ablations_of(args)
    if args.no_pretrain or not trains_quality:
        return ()
    wanted = {"nriqa": not args.no_nriqa_pretrain and profile.pretrain_epochs > 0,
              "aigc": not args.no_aigc_pretrain and profile.aigc_epochs > 0}
    return tuple(stage for stage in STAGES if wanted[stage])


class Run:
    """One invocation: data, split, encoders, pre-training data and provenance shared by every experiment."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.run = experiment.Experiment(args, paper="sfiqa")
        self.root = self.run.data_root
        self.df = protocol.load(args.dataset, self.root, args.synthetic)
        kind = self.df.attrs["data"]
        profile = self.run.profile(protocol.PROFILES, kind)
        self.profile = profile.but(batch_size=distribute.global_batch_size(profile.batch_size, self.run.strategy))
        with self.run.strategy.scope():
            self.branches = protocol.resolve_branches(profile, args.weights)
        self.backbone = "swinv2-tiny-test+clip-tiny" if profile.tiny else "swinv2_tiny_window16_256+pickscore-vit-h-14"
        self.stage_data = self.load_stage_data(pretrain_stages(args, self.profile))
        self.pretrain_label = "+".join(self.stage_data) or "none"
        kinds = {kind, *(frame.attrs["data"] for frame in self.stage_data.values())}
        self.kind = "synthetic" if "synthetic" in kinds else "real"  # any synthetic input makes the rows synthetic
        cfg = self.branches.config
        warnings = []
        if self.profile.tiny:
            warnings.append("TINY SwinV2 and TINY CLIP (smoke profile): not the paper's architecture sizes.")
        if self.branches.label == "random":
            warnings.append("RANDOM initial weights: no ImageNet SwinV2, no PickScore.")
        self.run.banner([f"SF-IQA on {args.dataset} ({len(self.df)} labelled images, {kind.upper()} data)",
                         f"profile {self.profile.name}: SwinV2 embed {cfg.swin.embed_dim} depths {cfg.swin.depths} at "
                         f"{cfg.swin.image_size} px, CLIP {cfg.clip.vision_hidden}/{cfg.clip.text_hidden} at "
                         f"{cfg.clip.image_size} px, {self.profile.epochs} epochs, weights={self.branches.label}",
                         *self.stage_lines()],
                        data_kind=self.kind, warnings=warnings)

    def load_stage_data(self, stages: tuple[str, ...]) -> dict:
        """Stage name → the pooled frame it trains on, for the stages that run (in order)."""
        loaders = {"nriqa": lambda: protocol.nr_frames(self.root, self.args.synthetic, self.profile, self.args.seed),
                   "aigc": lambda: protocol.aigc_frames(self.root, self.args.synthetic, self.profile, self.args.seed,
                                                        target=self.args.dataset)}
        return {stage: loaders[stage]() for stage in stages}

    def stage_lines(self) -> list[str]:
        """The banner's pre-training lines: per stage its recipe and its datasets (real/synthetic, images used)."""
        if not self.stage_data:
            why = "--no-pretrain" if self.args.no_pretrain else "no stage on, or no quality branch in this run"
            return [f"pre-training: none ({why})"]
        p = self.profile
        recipe = {"nriqa": (p.pretrain_epochs, p.lr_pretrain), "aigc": (p.aigc_epochs, p.lr_aigc)}
        lines = []
        for stage, frame in self.stage_data.items():
            counts = frame[schema.DATASET].value_counts()
            used = ", ".join(f"{name} ({kind}, {counts.get(name, 0)} images)"
                             for name, kind in frame.attrs["sources"].items())
            left_out = (f"; {self.args.dataset} left out (the target: no test image is pre-trained on)"
                        if stage == "aigc" and self.args.dataset in protocol.AIGC_PRETRAIN else "")
            epochs, lr = recipe[stage]
            lines.append(f"pre-training {STAGES[stage]}, {epochs} epoch(s) at lr {lr:g}: {used}{left_out}")
        return lines

    def record(self, table: str, experiment: str, target: str, split: str, index: int, scores: dict,
               n_train: int, n_test: int) -> None:
        """One row per subset, with provenance (``pretrain``: the stages the quality branch started from)."""
        rows = [dict(experiment=experiment, dataset=self.args.dataset, data=self.kind, weights=self.branches.label,
                     split=split, split_index=index, selection="last_epoch", profile=self.profile.name, table=table,
                     target=target, subset=subset, backbone=self.backbone, pretrain=self.pretrain_label,
                     image_size=self.branches.config.swin.image_size, n_train=n_train, n_test=n_test,
                     **{k: v for k, v in m.items() if not k.endswith("_converged")}) for subset, m in scores.items()]
        self.run.record(rows, lambda r: f"  split {index} {experiment:<18} {r['subset']:<18} SRCC {r['srcc']:.4f}  "
                                        f"PLCC {r['plcc']:.4f}  main {r['main']:.4f}  [{self.backbone}]")

    def backup(self, name: str):
        """The backup folder of one training under a distribution strategy (None on the default strategy)."""
        return self.run.backup(f"{self.args.dataset}_{name}")

    def save(self, model: keras.Model, name: str, role: str, target: str, index: int | None = None,
             architecture: dict | None = None) -> None:
        """``<out>/models/<dataset>_<name>/``: an ``sfiqa-<role>`` preset recording this run and its split."""
        run = dict(dataset=self.args.dataset, data=self.kind, weights=self.branches.label, backbone=self.backbone,
                   image_size=self.branches.config.swin.image_size, profile=self.profile.name, target=target,
                   selection="last_epoch", **({"split_index": index} if index is not None else {}))
        self.run.save_model(model, f"{self.args.dataset}_{name}", role=role, run=run, architecture=architecture)

    def run_split(self, split: str, index: int, side, targets, ablations, pretrained) -> None:
        df, p, b, seed = self.df, self.profile, self.branches, self.args.seed + index
        train, test = df[side == "train"].reset_index(drop=True), df[side == "test"].reset_index(drop=True)
        tag = f"split{index}"
        three_k = self.args.dataset == "agiqa3k"
        fusion_label = self.args.fusion_label if three_k else schema.OVERALL
        q_models, s_models = {}, {}

        def quality(label):
            if label not in q_models:
                q_models[label] = protocol.train_quality(train, label, b, p, seed, start=pretrained,
                                                         backup_dir=self.backup(f"quality_{label}_{tag}"))
                self.save(q_models[label], f"quality_{label}_{tag}", "quality", label, index)
            return q_models[label]

        def similarity(label):
            if label not in s_models:
                s_models[label] = protocol.train_similarity(train, label, b, p, seed,
                                                            backup_dir=self.backup(f"similarity_{label}_{tag}"))
                self.save(s_models[label], f"similarity_{label}_{tag}", "similarity", label, index)
            return s_models[label]

        common = dict(split=split, index=index, n_train=len(train), n_test=len(test))
        if "quality" in targets:
            label = schema.QUALITY if three_k else schema.OVERALL
            pred = protocol.predict_quality(quality(label), test, b)
            self.record("1" if three_k else "2", "sfiqa_quality" if three_k else "q_only", label,
                        scores=protocol.scored(pred, test, label), **common)
        if "similarity" in targets:
            label = schema.ALIGNMENT if three_k else schema.OVERALL
            pred = protocol.predict_similarity(similarity(label), test, b)
            self.record("1" if three_k else "2", "sfiqa_similarity" if three_k else "s_only", label,
                        scores=protocol.scored(pred, test, label), **common)
        if "overall" in targets:
            self.fusion_block(train, test, fusion_label, quality(fusion_label), similarity(fusion_label), tag, seed,
                              common, pretrained)
        if "isfe" in ablations:
            model = protocol.train_detached(train, fusion_label, b, p, seed, backup_dir=self.backup(f"detached_{tag}"))
            self.save(model, f"detached_isfe_{tag}", "detached", fusion_label, index)
            self.record("3", "detached_isfe", fusion_label,
                        scores=protocol.scored(protocol.predict_detached(model, test, b), test, fusion_label), **common)
        if "similarity" in ablations:
            model = protocol.train_similarity(train, fusion_label, b, p, seed, head="cross_attention",
                                              backup_dir=self.backup(f"cross_attention_{tag}"))
            q_test = protocol.predict_quality(quality(fusion_label), test, b)
            q_train = protocol.predict_quality(quality(fusion_label), train, b)
            s_train, s_test = protocol.predict_similarity(model, train, b), protocol.predict_similarity(model, test, b)
            fusion = protocol.train_fusion("code", q_train, s_train, train[fusion_label].to_numpy(), p, seed)
            pred = np.asarray(fusion.predict(np.stack([q_test, s_test], 1).astype("float32"), verbose=0)).reshape(-1)
            self.record("4", "cross_attention", fusion_label, scores=protocol.scored(pred, test, fusion_label), **common)

    def fusion_block(self, train, test, label, q_model, s_model, tag, seed, common, pretrained) -> None:
        """Table 2's rows from one pair of trained branches; with --checkpoints K, K pairs and their average."""
        p, b = self.profile, self.branches
        outcome = protocol.fusion_rows(q_model, s_model, train, test, label, b, p, seed)
        ds = self.args.dataset
        for kind, model in outcome.fusion_models.items():  # each names the branches it fuses (its siblings)
            self.save(model, f"fusion_{kind}_{label}_{tag}", "fusion", label, common["index"], architecture={
                "fusion": kind, "quality": f"{ds}_quality_{label}_{tag}",
                "similarity": f"{ds}_similarity_{label}_{tag}"})
        for row in protocol.TABLE2_ROWS:
            self.record("2", row, label, scores=protocol.scored(outcome.predictions[row], test, label), **common)
        if self.args.checkpoints > 1:
            preds = [outcome.predictions["fusion_code"]]
            for k in range(1, self.args.checkpoints):
                q_k = protocol.train_quality(train, label, b, p, seed + 1000 * k, start=pretrained,
                                             backup_dir=self.backup(f"quality_{label}_{tag}_run{k}"))
                s_k = protocol.train_similarity(train, label, b, p, seed + 1000 * k,
                                                backup_dir=self.backup(f"similarity_{label}_{tag}_run{k}"))
                preds.append(protocol.fusion_rows(q_k, s_k, train, test, label, b, p, seed + 1000 * k)
                             .predictions["fusion_code"])
            self.record("2", f"fusion_code_avg{self.args.checkpoints}", label,
                        scores=protocol.scored(np.mean(preds, axis=0), test, label), **common)

    def pretrain(self) -> keras.Model | None:
        """The stages that run, in order, each from the previous one's weights and saved to ``<out>/models/``; the
        last one's model, where every quality-branch fine-tuning starts (None when no stage runs)."""
        model = None
        if "nriqa" in self.stage_data:
            model = protocol.pretrain_quality(self.stage_data["nriqa"], self.branches, self.profile, self.args.seed,
                                              backup_dir=self.backup("nriqa_pretrain"))
            self.save(model, "quality_nriqa_pretrained", "quality", "quality01")
        if "aigc" in self.stage_data:
            model = protocol.pretrain_aigc(self.stage_data["aigc"], self.branches, self.profile, self.args.seed,
                                           start=model, backup_dir=self.backup("aigc_pretrain"))
            self.save(model, "quality_aigc_pretrained", "quality", "quality01")
        return model


def run(args: argparse.Namespace) -> None:
    targets, ablations = targets_of(args), ablations_of(args)
    sfiqa_run = Run(args)
    with sfiqa_run.run.strategy.scope():  # every model and optimiser below is built under the strategy
        sides = protocol.split_sides(sfiqa_run.df, args.dataset, sfiqa_run.profile, sfiqa_run.root / "splits")
        names = list(sides)
        if args.split == "all":
            chosen = range(1, len(names) + 1)
        elif args.split.isdigit() and 1 <= int(args.split) <= len(names):
            chosen = [int(args.split)]
        else:
            raise TfagiqaError(f"--split must be 1..{len(names)} or all, got {args.split!r}")
        pretrained = sfiqa_run.pretrain()
        for index in chosen:
            name = names[index - 1]
            sfiqa_run.run_split(name.rsplit("_split_", 1)[0], index, sides[name], targets, ablations, pretrained)
    sfiqa_run.run.summary(["experiment", "target", "subset"], metrics=("srcc", "plcc", "main"))


def main(argv=None) -> int:
    args = parse_args(argv)
    return experiment.main("run_sfiqa", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
