"""Images/s of the image-folder pipeline vs the TFRecord pipeline, and both vs the model's consumption rate.

    python benchmarks/input_pipeline.py [--dataset agiqa3k] [--image-size 224] [--backbone resnet152v2|tiny]

Uses the dataset under the data root (the synthetic stand-in when absent), writes its shards to a temporary
folder, and measures everything in this one run on this machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfagiqa.data import load_dataset  # noqa: E402
from tfagiqa.data.pipeline import make_dataset  # noqa: E402
from tfagiqa.data.tfrecord import make_tfrecord_dataset, write_tfrecords  # noqa: E402
from tfagiqa.methods.dlsr.protocol import BACKBONES  # noqa: E402


def images_per_second(dataset, n_images: int, passes: int = 2) -> float:
    """Best rate over ``passes`` full iterations (the first also warms up tf.data and the decoders)."""
    best = 0.0
    for _ in range(passes):
        start = time.perf_counter()
        for _batch in dataset:
            pass
        best = max(best, n_images / (time.perf_counter() - start))
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="agiqa3k")
    p.add_argument("--data-root", default=None)
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--backbone", default="resnet152v2", choices=sorted(BACKBONES))
    args = p.parse_args()
    df = load_dataset(args.dataset, args.data_root)
    df.attrs.pop("tfrecords", None)
    options = {"image_size": args.image_size, "batch_size": args.batch_size}
    folder = images_per_second(make_dataset(df, **options), len(df))
    with tempfile.TemporaryDirectory() as tmp:
        shards = write_tfrecords(df, f"{tmp}/shards", shard_size_mb=16)
        records = images_per_second(make_tfrecord_dataset(shards, **options), len(df))
    keras.utils.set_random_seed(0)
    model = BACKBONES[args.backbone]("none", args.image_size).model
    batch = next(iter(make_dataset(df.head(args.batch_size), **options)))
    forward = tf.function(lambda images: model(images, training=False))
    forward(batch)
    start, steps = time.perf_counter(), 3
    for _ in range(steps):
        forward(batch).numpy()
    consumption = steps * args.batch_size / (time.perf_counter() - start)
    print(f"{df.attrs['data']} {args.dataset}: {len(df)} images, {args.image_size} px, batch {args.batch_size}")
    print(f"image-folder pipeline: {folder:9.1f} img/s")
    print(f"TFRecord pipeline:     {records:9.1f} img/s   ({records / folder:.2f}x the folder pipeline)")
    print(f"{args.backbone} forward: {consumption:9.1f} img/s   (folder {folder / consumption:.2f}x, "
          f"TFRecord {records / consumption:.2f}x the model's consumption)")


if __name__ == "__main__":
    main()
