"""Wall time of DLSR's 3-fold perception training with the feature cache vs recomputing features for every fold.

    python benchmarks/dlsr_cache.py [--backbone resnet152v2|tiny] [--image-size 128]

Runs on the synthetic stand-in (or the real data when present) with random backbone weights; prints both
times and their ratio, measured in this one run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from tfagiqa.data import schema  # noqa: E402
from tfagiqa.data.cache import FeatureCache  # noqa: E402
from tfagiqa.methods.dlsr import model as dlsr  # noqa: E402
from tfagiqa.methods.dlsr import protocol as protocol  # noqa: E402


def three_folds(data, backbone, args, cache_root_for_fold) -> float:
    """Seconds to train the perception head on the 3 folds, with one feature bank per cache root."""
    profile = protocol.PROFILES["smoke"].but(image_size=args.image_size, aug_views=args.aug_views, epochs=args.epochs,
                                             patience=args.epochs, backbone=args.backbone)
    start = time.perf_counter()
    banks = {}
    for fold, side in protocol.folds(data).items():
        root = cache_root_for_fold(fold)
        if root not in banks:
            banks[root] = protocol.FeatureBank(data, backbone, args.backbone, FeatureCache(root), args.image_size)
        protocol.run_fold(data, side, "perception", dlsr.PERCEPTION, banks[root], profile, seed=fold,
                          desc=f"fold {fold}")
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backbone", default="resnet152v2", choices=sorted(protocol.BACKBONES))
    p.add_argument("--image-size", type=int, default=128)
    p.add_argument("--aug-views", type=int, default=2)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--data-root", default=None)
    args = p.parse_args()
    data = protocol.with_target(protocol.dlsr_data(args.data_root), schema.QUALITY)
    keras.utils.set_random_seed(0)
    backbone = protocol.BACKBONES[args.backbone]("none", args.image_size)
    with tempfile.TemporaryDirectory() as tmp:
        cached = three_folds(data, backbone, args, lambda fold: f"{tmp}/shared")
        recomputed = three_folds(data, backbone, args, lambda fold: f"{tmp}/fold{fold}")
    print(f"{data.attrs['data']} data, {len(data)} images, backbone {args.backbone} (random weights), "
          f"image size {args.image_size}, {args.aug_views} augmented views, {args.epochs} epochs")
    print(f"3 folds with the feature cache:         {cached:8.1f} s")
    print(f"3 folds recomputing features per fold:  {recomputed:8.1f} s")
    print(f"ratio recompute / cache:                {recomputed / cached:8.2f}x")


if __name__ == "__main__":
    main()
