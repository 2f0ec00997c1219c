"""Hypernet-based AGI assessment (Huang) on HyperIQA: quality, authenticity, both, alignment variants, hybrid.

    python experiments/run_hypernet.py --dataset aigciqa2023                 # Table II: quality, authenticity, both
    python experiments/run_hypernet.py --dataset agiqa3k                     # §III-A: quality
    python experiments/run_hypernet.py --dataset agiqa3k --target alignment --variant image   # Table IV
    python experiments/run_hypernet.py --dataset agiqa3k --target alignment --variant imagereward \
        --target-text-embedder blip:DIR                                                      # Table IV imgreward
    python experiments/run_hypernet.py --dataset agiqa3k --target alignment --variant text \
        --hyper-text-embedder keras-hub:DIR --target-text-embedder blip:DIR                   # Table V
    python experiments/run_hypernet.py --dataset aigciqa2023 --target hybrid                  # Table VIII

Without the real dataset under the data root it runs on the synthetic stand-in in the same layout (smoke
profile: a width-reduced ResNet, small crops, few crops and epochs) and says so in a banner and in every row.
Rows are appended to ``<out>/results.csv`` (tables keep the latest row of a rerun); the final network of the
first split of each experiment goes to ``<out>/models/<dataset>_<experiment>_split1/`` (a hyperiqa-model preset).

Text inputs have one embedder each (``tfagiqa.methods.hyperiqa.text_inputs``): the target network's
(``--target-text-embedder``, the paper's ImageReward BLIP feature; ``--text-embedder`` is the same option) and the
text hypernet's hyper network's (``--hyper-text-embedder``, the paper's KPEval phrase encoder, here a keras-hub
stand-in). ``auto`` takes the paper's reading when its weights are under ``<data-root>/weights/``
(``imagereward/`` from ``tfagiqa convert imagereward``; ``keras-hub/all_minilm_l12_v2_en/``), else TF-IDF, which
the banner says loudly. Rows record them in ``text_embedder`` (``hyper:<h>+target:<t>`` for Table V).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfagiqa import experiment  # noqa: E402
from tfagiqa.data import load_dataset  # noqa: E402
from tfagiqa.errors import TfagiqaError  # noqa: E402
from tfagiqa.methods.hyperiqa import model as hypernet  # noqa: E402
from tfagiqa.methods.hyperiqa import protocol as protocol  # noqa: E402
from tfagiqa.methods.imagereward import protocol as imagereward_protocol  # noqa: E402
from tfagiqa.methods.hyperiqa.text_inputs import BLIP_HINT, embed_texts, embedder_label, resolve_embedder  # noqa: E402

TARGETS = ("quality", "authenticity", "alignment", "both", "hybrid")
VARIANTS = ("image", "text", "semantics", "imagereward")
DEFAULT_TARGETS = {"aigciqa2023": ("quality", "authenticity", "both"), "agiqa3k": ("quality",),
                   "agiqa1k": ("quality",), "aigiqa20k": ("quality",)}
IMAGEREWARD = "imagereward"
SELECTIONS = {"test": ("best_test_srcc", "last_epoch"), "val": ("best_val_srcc",)}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="aigciqa2023", choices=sorted(DEFAULT_TARGETS))
    p.add_argument("--target", default=None, choices=TARGETS,
                   help="what to predict (default: the paper's experiments on the dataset; Table II on AIGCIQA2023)")
    p.add_argument("--variant", default="image", choices=VARIANTS,
                   help="alignment model: image-based hypernet (Table IV), text-based (V), image semantics (App. A), "
                        "ImageReward fine-tuned (Table IV's imgreward; weights from --target-text-embedder blip:DIR)")
    p.add_argument("--schedule", default="official", choices=protocol.SCHEDULES,
                   help="official: the reference code incl. its bug (hyper network frozen after epoch 1); "
                        "fixed: both parameter groups trained all epochs")
    p.add_argument("--selection", default="both", choices=["test", "val", "both"],
                   help="test: best-test-SRCC epoch (official) and last epoch; val: a separate run with a 10%% "
                        "validation carve-out choosing the epoch; both: the two")
    p.add_argument("--loss", default="l1", choices=hypernet.LOSSES,
                   help="l1 (HyperIQA), rank (ImageReward), rank+score (ImageReward + bounded Appendix C)")
    p.add_argument("--target-text-embedder", "--text-embedder", dest="target_text_embedder", default="auto",
                   help="the target network's text input: auto | tfidf | keras-hub:PRESET_DIR | blip:DIR (the paper's "
                        "ImageReward BLIP feature; DIR from tfagiqa convert imagereward; auto: <data-root>/weights/"
                        "imagereward when there, else tfidf)")
    p.add_argument("--hyper-text-embedder", default="auto",
                   help="the text hypernet's hyper input (--variant text): auto | tfidf | keras-hub:PRESET_DIR (the "
                        "paper: KPEval's phrase encoder; auto: <data-root>/weights/keras-hub/all_minilm_l12_v2_en, "
                        "its stand-in, when there, else tfidf)")
    p.add_argument("--cache-dir", default=None, help="BLIP embedding cache (default <data-root>/cache/features)")
    p.add_argument("--no-save", action="store_true", help="do not save trained networks")
    experiment.add_arguments(p, out="results/reproduced/hypernet", profiles=sorted(protocol.PROFILES), repeats=True,
                             weights="ResNet-50 weights: auto | imagenet | none | PATH to torchvision's "
                                     "resnet50-19c8e357.pth")
    return p.parse_args(argv)


class Run:
    """The Hypernet paper's experiments on one dataset: data, profile, text table; each training adds result rows."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.run = experiment.Experiment(args, paper="hypernet")
        self.data = load_dataset(args.dataset, args.data_root, synthetic=args.synthetic)
        kind = self.data.attrs["data"]
        self.profile = self.run.profile(protocol.PROFILES, kind)
        self.imagereward_profile = self.run.profile(imagereward_protocol.PROFILES, kind)
        self.weights_path, self.weights = protocol.resolve_weights(args.weights, self.profile, self.run.data_root)
        targets = DEFAULT_TARGETS[args.dataset] if args.target is None else (args.target,)
        self.experiments = [self.experiment(t) for t in targets]
        self.target_choice = resolve_embedder(args.target_text_embedder, "target", self.run.data_root)
        self.imagereward = self.imagereward_source() if any(e.name == IMAGEREWARD for e in self.experiments) else None
        self.text, self.hyper_text, self.fallbacks = None, None, []
        cache = args.cache_dir or self.run.data_root / "cache" / "features"
        if any(e.target_input != "lda" for e in self.experiments):
            self.text = embed_texts(self.data, self.target_choice.spec, cache_dir=cache)
            self.fallbacks.append(self.target_choice.fallback)
        if any(e.hyper_input == "text" for e in self.experiments):
            hyper_choice = resolve_embedder(args.hyper_text_embedder, "hyper", self.run.data_root)
            self.hyper_text = embed_texts(self.data, hyper_choice.spec, cache_dir=cache)
            self.fallbacks.append(hyper_choice.fallback)
        self.embedder = embedder_label(self.hyper_text.label if self.hyper_text else "",
                                       self.text.label if self.text else "")
        self.banner()

    def experiment(self, target: str) -> hypernet.Experiment:
        """The paper's setting for a target; ``--variant imagereward`` is ImageReward itself, fine-tuned."""
        if self.args.variant == IMAGEREWARD and target == "alignment":
            return hypernet.Experiment(IMAGEREWARD, ("alignment",))
        if self.args.variant == IMAGEREWARD:
            raise TfagiqaError("--variant imagereward fine-tunes ImageReward for alignment: use --target alignment")
        return hypernet.experiment(target, self.args.variant, self.args.dataset)

    def imagereward_source(self) -> tuple[Path | None, str]:
        """(converted ImageReward folder or None = tiny random, label for the rows) for ``--variant imagereward``."""
        spec = self.target_choice.spec
        if spec.startswith("blip:"):
            return Path(spec.split(":", 1)[1]), spec
        if not self.profile.tiny:
            raise TfagiqaError(f"--variant imagereward needs the converted ImageReward: {BLIP_HINT}")
        return None, "imagereward-tiny-random"

    def banner(self) -> None:
        lines = [f"Hypernet AGIQA (HyperIQA) on {self.args.dataset} ({len(self.data)} images, "
                 f"{self.data.attrs['data'].upper()} data)",
                 protocol.describe(self.profile),
                 f"experiments: {', '.join(e.name for e in self.experiments)}; schedule {self.args.schedule}; "
                 f"loss {self.args.loss}; weights={self.weights}" + (f"; text embedder {self.embedder}" if self.embedder else "")]
        warnings = [f"TEXT INPUT: {line}" for line in self.fallbacks if line]
        if self.profile.tiny:
            warnings.append("SMOKE network: width-reduced ResNet and small target net, not HyperIQA's sizes.")
        if self.weights == "random":
            warnings.append("RANDOM backbone weights: not ImageNet features.")
        if self.imagereward:
            ir = self.imagereward_profile
            source = (f"the converted ImageReward {self.imagereward[0]}" if self.imagereward[0] else
                      "a TINY RANDOM ImageReward (vocabulary: the prompts' words), not the real one")
            lines.append(f"imagereward: fine-tuning {source}; {ir.epochs} epochs, {ir.batch_size} pairs a batch, "
                         f"lr {ir.learning_rate:g} (cosine), rank loss")
        self.run.banner(lines, data_kind=self.data.attrs["data"], warnings=warnings)

    def setting(self, exp: hypernet.Experiment) -> protocol.Setting:
        labels = tuple(protocol.label_for(self.data, o) for o in exp.outputs)
        text = {"text_dim": self.text.dim, "text_key": self.text.key} if exp.target_input != "lda" else {}
        if exp.hyper_input == "text":
            text.update(hyper_text_dim=self.hyper_text.dim, hyper_text_key=self.hyper_text.key)
        config = protocol.network_config(self.profile, outputs=exp.outputs, hyper_input=exp.hyper_input,
                                         target_input=exp.target_input, **text)
        return protocol.Setting(exp, labels, config)

    def row_embedder(self, config) -> str:
        """The ``text_embedder`` of a hypernet row: the embedders of the text inputs this network reads."""
        return embedder_label(self.hyper_text.label if config.needs_hyper_text else "",
                              self.text.label if config.needs_target_text else "")

    def execute(self) -> None:
        split_of = protocol.grouped_splits(self.data, self.profile.repeats)
        runs = [False, True] if self.args.selection == "both" else [self.args.selection == "val"]
        for exp in self.experiments:
            setting = self.setting(exp)
            for index, side in split_of.items():
                for validation in runs:
                    print(f"  {exp.name}: split {index}/{len(split_of)}"
                          f"{' (validation carve-out)' if validation else ''}", flush=True)
                    backup = self.run.backup(f"{self.args.dataset}_{exp.name}_split{index}"
                                             f"{'_val' if validation else ''}")
                    if exp.name == IMAGEREWARD:
                        outcome = imagereward_protocol.run_split(
                            self.data, side, setting.labels[0], self.imagereward_profile, self.args.seed + index,
                            self.imagereward[0], validation=validation, strategy=self.run.strategy, backup_dir=backup)
                        self.record(setting, index, outcome, SELECTIONS["val" if validation else "test"])
                        continue
                    outcome = protocol.run_split(
                        self.data, side, setting, self.profile, self.args.schedule, self.args.seed + index,
                        self.text, validation=validation, loss=self.args.loss,
                        backbone_weights=self.weights_path, strategy=self.run.strategy, backup_dir=backup,
                        hyper_text=self.hyper_text)
                    self.record(setting, index, outcome, SELECTIONS["val" if validation else "test"])
                    if index == 1 and not validation and not self.args.no_save:
                        self.save(outcome.model, setting)

    def save(self, model, setting: protocol.Setting) -> None:
        """The first split's final network as a ``hyperiqa-model`` preset recording its configuration and the run."""
        p = self.profile
        run = dict(experiment=setting.experiment.name, dataset=self.args.dataset, data=self.data.attrs["data"],
                   weights=self.weights, backbone="resnet50" if not p.tiny else "resnet-w8-b1111-tiny",
                   image_size=p.image_size, profile=p.name, split=protocol.split_name(p.repeats), split_index=1,
                   selection="last_epoch")
        self.run.save_model(model, f"{self.args.dataset}_{setting.experiment.name}_split1", run=run,
                            architecture={"config": asdict(setting.config), "labels": setting.labels,
                                          "text_embedder": self.row_embedder(setting.config)})

    def record(self, setting: protocol.Setting, index: int, outcome: protocol.RunResult, selections) -> None:
        rows = []
        p = self.profile
        for selection in selections:
            epoch = outcome.pick(selection)
            for output, label, m in zip(setting.experiment.outputs, setting.labels, outcome.test_metrics(epoch)):
                row = dict(experiment=setting.experiment.name, dataset=self.args.dataset, data=self.data.attrs["data"],
                           weights=self.weights, split=protocol.split_name(p.repeats), split_index=index,
                           selection=selection, profile=p.name, target=output, subset=f"{self.args.dataset}:{output}",
                           label=label, schedule=self.args.schedule, loss=self.args.loss,
                           variant=self.args.variant if output == "alignment" or setting.experiment.name == "hybrid" else "",
                           text_embedder=self.row_embedder(setting.config),
                           backbone="resnet50" if not p.tiny else "resnet-w8-b1111-tiny", crop=p.image_size,
                           train_crops=p.train_crops, test_crops=p.test_crops, epochs=p.epochs, epoch=epoch + 1,
                           lr=p.learning_rate, n_train=outcome.n_train, n_test=len(outcome.test), **m)
                if setting.experiment.name == IMAGEREWARD:
                    ir = self.imagereward_profile
                    row.update(schedule="cosine", loss="rank", text_embedder=self.imagereward[1],
                               crop=outcome.model.input["image"].shape[1], train_crops="", test_crops=1,
                               epochs=ir.epochs, lr=ir.learning_rate)
                rows.append(row)

        def line(row: dict) -> str:
            embedder = f" text embedder {row['text_embedder']}" if row["text_embedder"] else ""
            return (f"    {row['experiment']:<20} {row['target']:<13} {row['selection']:<15} epoch {row['epoch']:>2}  "
                    f"SRCC {row['srcc']:.4f}  PLCC {row['plcc']:.4f}{embedder}")

        self.run.record(rows, line)


def run(args: argparse.Namespace) -> None:
    hypernet_run = Run(args)
    hypernet_run.execute()
    hypernet_run.run.summary(["experiment", "target", "selection"], statistic="median")


def main(argv=None) -> int:
    args = parse_args(argv)
    return experiment.main("run_hypernet", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
