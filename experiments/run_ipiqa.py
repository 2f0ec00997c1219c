"""IP-IQA (Qu, Li, Gao; ICME 2024) end to end: CLIP RN50 + [QA] prompt → fine-tune on grouped splits → Tables 1–3.

    python experiments/run_ipiqa.py --dataset agiqa3k                       # IP-IQA, quality and alignment
    python experiments/run_ipiqa.py --dataset agiqa1k --ablation 1          # Table 3 row 1 (image only)
    python experiments/run_ipiqa.py --dataset agiqa3k --baseline clipscore  # Table 2's CLIPScore

Starts from CLIP weights converted with ``tfagiqa convert clip`` (``--weights DIR``) and, for the Image2Prompt
rows, an image encoder from ``experiments/pretrain_image2prompt.py`` (``--image2prompt FILE``). Without the real
dataset it runs on the synthetic stand-in; without weights on random encoders (in the smoke profile tiny ones,
not RN50); banner and every result row say so. Results go to ``<out>/results.csv``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from tfagiqa import experiment  # noqa: E402
from tfagiqa.backbones import clip_vit  # noqa: E402
from tfagiqa.data import load_dataset  # noqa: E402
from tfagiqa.errors import TfagiqaError  # noqa: E402
from tfagiqa.methods.baselines import models as ipiqa_baselines
from tfagiqa.methods.ipiqa import model as ipiqa  # noqa: E402
from tfagiqa.methods.ipiqa import protocol as protocol  # noqa: E402
from tfagiqa.presets import load_preset  # noqa: E402

BASELINES = ("resnet50", "resnet50-imagenet", "clipscore")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="agiqa3k", choices=sorted(protocol.LABELS))
    p.add_argument("--ablation", type=int, default=None, choices=sorted(ipiqa.ABLATIONS),
                   help="a Table 3 row: 1 image only, 2 +Image2Prompt, 3 prompt+[QA], 4 I2P+prompt, 5 all")
    p.add_argument("--baseline", default=None, choices=BASELINES, help="run a Table 1/2 baseline instead")
    p.add_argument("--head", default="mlp", choices=ipiqa.HEADS, help="mlp (the code) or linear (the paper)")
    p.add_argument("--qa-token", default="learned", choices=ipiqa.QA_TOKENS,
                   help="learned: a new [QA] token, text encoder frozen (paper); code: the official code's behaviour")
    p.add_argument("--backbone", default="rn50", choices=protocol.BACKBONES,
                   help="rn50: CLIP's ModifiedResNet (the paper); vit: keras-hub's CLIP ViT (visual pool random)")
    p.add_argument("--image2prompt", default=None, help="image encoder .keras from pretrain_image2prompt.py")
    p.add_argument("--selection", default="both", choices=["test", "val", "both"],
                   help="test: best test epoch as the code (+ last epoch); val: the validation-selected run")
    experiment.add_arguments(p, out="results/reproduced/ipiqa", profiles=sorted(protocol.PROFILES), repeats=True,
                             weights="auto | none | DIR written by `tfagiqa convert clip` | keras-hub:PRESET_OR_DIR "
                                     "(--backbone vit) (resnet50-imagenet: imagenet | auto | .h5)")
    return p.parse_args(argv)


def experiment_name(args) -> str:
    """The table row a run fills: a baseline, a Table 3 row, or IP-IQA itself."""
    if args.baseline:
        return args.baseline
    return f"ablation{args.ablation}" if args.ablation else "ipiqa"


class Run:
    """One invocation: data, splits, the starting weights, and a result row per split, output and selection."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.run = experiment.Experiment(args, paper="ipiqa")
        self.data = load_dataset(args.dataset, args.data_root, synthetic=args.synthetic)
        self.kind = self.data.attrs["data"]
        self.profile = self.run.profile(protocol.PROFILES, self.kind)
        self.labels = protocol.LABELS[args.dataset]
        self.experiment = experiment_name(args)
        self.start = protocol.resolve_clip("none" if args.baseline in ("resnet50", "resnet50-imagenet")
                                           else args.weights, self.profile, backbone=args.backbone)
        self.config, self.i2p = self._model_config()
        self.lookup = protocol.prompt_lookup(self.data["prompt"], self.start.tokenize)
        self.weights_label = self._weights_label()
        self.banner()

    def _model_config(self):
        args = self.args
        config = ipiqa.IPIQAConfig(outputs=self.labels, image_size=self.profile.image_size, vision=self.start.vision,
                                   text=self.start.text, head=args.head, qa_token=args.qa_token)
        wants_i2p = bool(args.image2prompt)
        if args.ablation:
            config = config.for_ablation(args.ablation)
            wants_i2p = ipiqa.ABLATIONS[args.ablation].image2prompt
            if wants_i2p and not args.image2prompt:
                raise TfagiqaError(f"Table 3 row {args.ablation} starts from Image2Prompt weights: run "
                                   "experiments/pretrain_image2prompt.py and pass --image2prompt FILE "
                                   "(no Image2Prompt weights are published)")
            if not wants_i2p and args.image2prompt:
                raise TfagiqaError(f"Table 3 row {args.ablation} has no Image2Prompt; drop --image2prompt")
        i2p = None
        if wants_i2p and not args.baseline:
            i2p = load_preset(args.image2prompt, kind="image2prompt").load("model")
        return config, i2p

    def _weights_label(self) -> str:
        if self.args.baseline == "resnet50":
            return "random"
        if self.args.baseline == "resnet50-imagenet":
            return self.args.weights  # replaced by the resolved label (imagenet / random / a path) at build time
        label = self.start.label
        return f"{label}+i2p:{self.args.image2prompt}" if self.i2p is not None else label

    def banner(self) -> None:
        a, c = self.args, self.config
        lines = [f"IP-IQA {self.experiment} on {a.dataset} ({len(self.data)} images, {self.kind.upper()} data), "
                 f"outputs {', '.join(self.labels)}",
                 f"profile {self.profile.name}: {self.profile.image_size} px, {self.profile.epochs} epochs, batch "
                 f"{self.profile.batch_size}, lr {self.profile.learning_rate:g} (head ×{self.profile.head_multiplier:g}),"
                 f" {self.profile.repeats} grouped split(s)",
                 f"backbone {self.encoder_tag()}, "
                 + (f"baseline {a.baseline}, " if a.baseline else
                    f"head {c.head}, [QA] {c.qa_token if c.use_qa else 'off'}, "
                    f"prompt {'on' if c.use_prompt else 'off'}, ")
                 + f"weights={self.weights_label}"]
        warnings = []
        if not self.start.pretrained and not a.baseline:
            full = "CLIP ViT-B/16" if isinstance(self.start.vision, clip_vit.CLIPViTConfig) else "CLIP RN50"
            warnings.append("RANDOM encoders" + (f" with TINY widths/depths (smoke), not {full}" if self.profile.tiny
                                                 else "") + ": no CLIP weights.")
        self.run.banner(lines, data_kind=self.kind, warnings=warnings)

    def encoder_tag(self) -> str:
        if self.args.baseline in ("resnet50", "resnet50-imagenet"):
            return "resnet50_tiny" if self.profile.tiny and self.args.baseline == "resnet50" else "resnet50"
        v = self.start.vision
        if isinstance(v, clip_vit.CLIPViTConfig):
            return clip_vit.vit_tag(v)
        if (tuple(v.layers), v.width) == ((3, 4, 6, 3), 64):
            return "clip_rn50"
        return f"clip_rn_w{v.width}_l{''.join(map(str, v.layers))}"

    def build(self) -> keras.Model:
        """A fresh model with the starting weights (called once per split, as the official code re-loads CLIP)."""
        if self.args.baseline in ("resnet50", "resnet50-imagenet"):
            weights = None if self.args.baseline == "resnet50" else self.args.weights
            resolved = ipiqa_baselines.resnet50_regressor(len(self.labels), self.profile.image_size, weights,
                                                          tiny=self.profile.tiny)
            self.weights_label = resolved.label
            return resolved.model
        model = ipiqa.build_ipiqa(self.config)
        ipiqa.load_clip(model, self.i2p or self.start.image_encoder, self.start.text_encoder)
        return model

    def record(self, split_name: str, index: int, selection: str, epoch: int, scores: dict, n_train: int,
               n_test: int) -> None:
        tag, _, _ = split_name.rpartition("_split_")
        baseline = bool(self.args.baseline)
        rows = [dict(experiment=self.experiment, dataset=self.args.dataset, data=self.kind, weights=self.weights_label,
                     split=tag, split_index=index, selection=selection, profile=self.profile.name, target=target,
                     subset="all", backbone=self.encoder_tag(), head="linear" if baseline else self.config.head,
                     qa_token="off" if baseline or not self.config.use_qa else self.config.qa_token,
                     prompt=self.args.baseline == "clipscore" or (not baseline and self.config.use_prompt),
                     image_size=self.profile.image_size, epoch=epoch, epochs=self.profile.epochs, n_train=n_train,
                     n_test=n_test, **m) for target, m in scores.items()]
        self.run.record(rows, lambda r: f"  split {index:2d} {selection:<13} {r['target']:<10} epoch {epoch:3d}  "
                                        f"SRCC {r['srcc']:.4f}  PLCC {r['plcc']:.4f}  KRCC {r['krcc']:.4f}")

    def execute(self) -> None:
        uses_prompt = self.args.baseline == "clipscore" or (not self.args.baseline and self.config.use_prompt)
        lookup = self.lookup if uses_prompt else None
        for index, (name, side) in enumerate(protocol.repeat_splits(self.data, self.args.dataset,
                                                                    self.profile.repeats).items(), start=1):
            if self.args.baseline == "clipscore":
                self.clipscore(name, index, side)
                continue
            seed = self.args.seed + index
            if self.args.selection in ("test", "both"):
                outcome = protocol.train_repeat(self.build, self.data, side, self.labels, self.profile, lookup, seed,
                                                with_validation=False, desc=f"split {index}", strategy=self.run.strategy,
                                                backup_dir=self.backup(f"split{index}"))
                for selection in ("best_test_sum", "last_epoch"):
                    self.record(name, index, selection, *outcome.pick(selection), outcome.n_train, outcome.n_test)
                if index == 1:
                    self.save_last(outcome.model, name)
            if self.args.selection in ("val", "both"):
                outcome = protocol.train_repeat(self.build, self.data, side, self.labels, self.profile, lookup, seed,
                                                with_validation=True, desc=f"split {index} (val-selected)",
                                                strategy=self.run.strategy, backup_dir=self.backup(f"split{index}_val"))
                self.record(name, index, "best_val_sum", *outcome.pick("best_val_sum"), outcome.n_train, outcome.n_test)

    def backup(self, name: str):
        """The backup folder of one training under a distribution strategy (None on the default strategy)."""
        return self.run.backup(f"{self.experiment}_{self.args.dataset}_{name}")

    def clipscore(self, name: str, index: int, side) -> None:
        """Zero-shot CLIPScore on the split's test side (random encoders without --weights: a code-path check)."""
        from tfagiqa.backbones import clip_vit
        from tfagiqa.backbones.clip_resnet import clip_image_encoder
        from tfagiqa.backbones.clip_text import clip_text_encoder

        vision = self.start.vision
        image_encoder = self.start.image_encoder or (
            clip_vit.random_image_encoder(vision) if isinstance(vision, clip_vit.CLIPViTConfig)
            else clip_image_encoder(vision))
        text_encoder = self.start.text_encoder or clip_text_encoder(self.start.text)
        model = ipiqa_baselines.clipscore_model(image_encoder, text_encoder)
        profile = self.profile.but(image_size=image_encoder.input_shape[1])
        scores, n_test = protocol.score_test_split(model, self.data, side, self.labels, profile, self.lookup)
        self.record(name, index, "zero_shot", 0, scores, 0, n_test)

    def save_last(self, model: keras.Model, split: str) -> Path:
        """The first split's model after its last epoch as a preset, and (IP-IQA only) a scorer taking prompt
        strings, tokenized in the graph with the run's tokenizer: ``<experiment>_<dataset>_scorer/``, which the
        catalogue's ``ipiqa-*`` entries load."""
        stem = f"{self.experiment}_{self.args.dataset}"
        run = dict(experiment=self.experiment, dataset=self.args.dataset, data=self.kind, weights=self.weights_label,
                   backbone=self.encoder_tag(), image_size=self.profile.image_size, profile=self.profile.name,
                   split=split.rpartition("_split_")[0], split_index=1, selection="last_epoch")
        architecture = {"outputs": self.labels, "image_size": self.profile.image_size}
        path = self.run.save_model(model, stem, role="baseline" if self.args.baseline else "model", run=run,
                                   architecture=architecture)
        if not self.args.baseline and self.config.use_prompt:
            self.run.save_model(ipiqa.scoring_model(model, self.labels, self.start.tokenizer), f"{stem}_scorer",
                                role="scorer", run=run, architecture=architecture)
        return path


def run(args: argparse.Namespace) -> None:
    ipiqa_run = Run(args)
    ipiqa_run.execute()
    ipiqa_run.run.summary(["experiment", "selection", "target"], metrics=("srcc", "plcc", "krcc"))


def main(argv=None) -> int:
    args = parse_args(argv)
    return experiment.main("run_ipiqa", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
