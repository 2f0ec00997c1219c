"""Image2Prompt pre-training for IP-IQA: CLIP's image encoder learns to predict its prompt's text embedding.

    python experiments/pretrain_image2prompt.py --pairs /data/diffusiondb --weights weights/clip_rn50 --out runs/i2p
    python experiments/run_ipiqa.py --ablation 5 --weights weights/clip_rn50 --image2prompt runs/i2p/image_encoder.keras

``--pairs``: a CSV (image, prompt), a DiffusionDB folder (``metadata.parquet`` or ``part-*/part-*.json``) or images
with same-named ``.txt`` prompts. Without ``--pairs`` it writes and uses SYNTHETIC pairs (coloured shapes) and a
tiny random CLIP, a check of the code path only. Interrupted runs resume from ``<out>/backup`` when rerun.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfagiqa.backbones.clip_resnet import clip_image_encoder  # noqa: E402
from tfagiqa.backbones.clip_text import clip_text_encoder  # noqa: E402
from tfagiqa.data import schema  # noqa: E402
from tfagiqa.data.pipeline import surface_data_errors  # noqa: E402
from tfagiqa.errors import TfagiqaError  # noqa: E402
from tfagiqa.methods.ipiqa import image2prompt as i2p  # noqa: E402
from tfagiqa.methods.ipiqa import protocol as ipiqa_protocol  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", default=None, help="CSV / DiffusionDB folder / image+txt folder (default: synthetic)")
    p.add_argument("--weights", default="auto", help="auto | none | DIR written by `tfagiqa convert clip`")
    p.add_argument("--epochs", type=int, default=None, help="default 5 (2 on synthetic pairs)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=None, help="default 1e-5 (1e-3 for the tiny random encoders)")
    p.add_argument("--min-cosine", type=float, default=i2p.MIN_COSINE, help="keep pairs with CLIP cosine >= this")
    p.add_argument("--synthetic-pairs", type=int, default=48, help="how many synthetic pairs to write")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/reproduced/image2prompt", help="checkpoints and image_encoder.keras")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    try:
        with surface_data_errors():
            synthetic = args.pairs is None
            source = i2p.write_synthetic_pairs(out / "synthetic_pairs", args.synthetic_pairs, seed=args.seed) \
                if synthetic else Path(args.pairs)
            profile = ipiqa_protocol.PROFILES["smoke" if synthetic else "paper"]
            start = ipiqa_protocol.resolve_clip("none" if synthetic else args.weights, profile)
            pretrained = start.pretrained
            image_encoder = start.image_encoder or clip_image_encoder(start.vision)
            text_encoder = start.text_encoder or clip_text_encoder(start.text)
            text_encoder.trainable = False
            pairs = i2p.read_pairs(source)
            lines = [f"Image2Prompt pre-training on {len(pairs)} pairs from {source}",
                     f"image encoder {image_encoder.input_shape[1]} px, weights={start.label}, text encoder frozen"]
            if synthetic:
                lines.append("SYNTHETIC pairs and TINY random encoders: a code-path check, not Image2Prompt weights.")
            width = max(map(len, lines)) + 4
            print("=" * width, *(f"  {line}" for line in lines), "=" * width, sep="\n", flush=True)
            targets = i2p.text_embeddings(text_encoder, pairs[schema.PROMPT], start.tokenize)
            cosines = i2p.pair_cosines(image_encoder, pairs, targets)
            if pretrained:
                keep = i2p.filter_pairs(pairs, cosines, args.min_cosine).to_numpy()
                print(f"  kept {int(keep.sum())} of {len(pairs)} pairs with CLIP cosine >= {args.min_cosine}")
                if not keep.any():
                    raise TfagiqaError(f"no pair reaches CLIP cosine {args.min_cosine}; lower --min-cosine")
                pairs, targets, cosines = pairs[keep].reset_index(drop=True), targets[keep], cosines[keep]
            else:
                print("  cosine filter SKIPPED: random encoders give meaningless cosines (needs CLIP weights)")
            out.mkdir(parents=True, exist_ok=True)
            pairs.assign(cosine=cosines).to_csv(out / i2p.PAIRS_FILE, index=False)
            config = i2p.PretrainConfig(epochs=args.epochs or (2 if synthetic else 5), batch_size=args.batch_size,
                                        learning_rate=args.lr or (1e-3 if synthetic else 1e-5),
                                        min_cosine=args.min_cosine)
            before = float(1.0 - cosines.mean())
            i2p.pretrain(image_encoder, pairs, targets, config, out, seed=args.seed)
            after = i2p.mean_loss(image_encoder, pairs, targets)
            record = {"pairs": str(source), "n_pairs": len(pairs), "weights": start.label,
                      "data": "synthetic" if synthetic else "real", "loss_before": before, "loss_after": after,
                      **config.__dict__}
            (out / "image2prompt.json").write_text(json.dumps(record, indent=2))
            print(f"  cosine loss {before:.4f} → {after:.4f}; encoder: {out / i2p.ENCODER_FILE}")
    except TfagiqaError as exc:
        print(f"pretrain_image2prompt: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
