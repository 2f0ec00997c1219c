"""Scoring throughput (images/s) at batch sizes 1, 8 and 32: the exported SavedModel against Keras ``predict``.

    python benchmarks/score_throughput.py                       # dlsr-perception (ResNet152V2, 224 px)
    python benchmarks/score_throughput.py --model tiny --image-size 64   # seconds, for a quick check

Random weights (speed does not depend on them). Three paths, measured in this one run on the same images:
``serving_default`` (JPEG bytes → in-graph decode, resize, model), ``score_images`` (uint8 [N, H, W, 3] →
in-graph resize, model) and Keras ``model.predict`` on already resized float32 [N, S, S, 3] (the model alone).
Each cell is the median over ``--repeats`` timed calls after one warm-up call.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402

from tfagiqa.export import export_savedmodel, scoring_model  # noqa: E402


def build(name: str, image_size: int):
    """A scoring model: a catalogue entry with random weights, or the tiny CNN + DLSR perception head."""
    if name == "tiny":
        from tfagiqa.backbones.tiny import tiny_cnn_features
        from tfagiqa.methods.dlsr import model as dlsr

        backbone = tiny_cnn_features(image_size).model
        return scoring_model(backbone, dlsr.perception_model(feature_dim=backbone.output_shape[-1]), "quality")
    from tfagiqa.catalogue import create_scorer

    return create_scorer(name, None)


def images_per_second(call, batch: int, repeats: int) -> float:
    """Median images/s of ``call()`` on one batch, after a warm-up call."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="dlsr-perception", help="catalogue name, or 'tiny'")
    p.add_argument("--image-size", type=int, default=64, help="input size of the tiny model")
    p.add_argument("--source-size", type=int, default=384, help="side of the source images (resized in the graph)")
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)

    model = build(args.model, args.image_size)
    if "prompt" in model.input:
        raise SystemExit("score_throughput.py measures image-only models; pass a model without a prompt input")
    size = model.input["images"].shape[1]
    rng = np.random.default_rng(0)
    source = rng.integers(0, 256, (max(args.batches), args.source_size, args.source_size, 3), dtype=np.uint8)
    jpegs = []
    for image in source:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=90)
        jpegs.append(buffer.getvalue())
    prepared = tf.image.resize(tf.cast(source, tf.float32), (size, size), antialias=True).numpy()

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        export_savedmodel(model, os.path.join(tmp, "model"), {"name": args.model, "weights": "random"})
        print(f"exported {args.model} ({size}×{size} input) in {time.perf_counter() - start:.1f} s; "
              f"device: {tf.config.list_logical_devices()[-1].device_type}; random weights")
        signatures = tf.saved_model.load(os.path.join(tmp, "model")).signatures
        print(f"{'batch':>5}  {'serving_default (JPEG)':>23}  {'score_images (uint8)':>21}  {'Keras predict':>14}  "
              f"{'SavedModel/Keras':>16}")
        for batch in args.batches:
            data = tf.constant(jpegs[:batch])
            pixels = tf.constant(source[:batch])
            served = images_per_second(lambda: signatures["serving_default"](image_bytes=data), batch, args.repeats)
            direct = images_per_second(lambda: signatures["score_images"](images=pixels), batch, args.repeats)
            keras_rate = images_per_second(
                lambda: model.predict({"images": prepared[:batch]}, batch_size=batch, verbose=0), batch, args.repeats)
            print(f"{batch:>5}  {served:>19.1f} i/s  {direct:>17.1f} i/s  {keras_rate:>10.1f} i/s  "
                  f"{direct / keras_rate:>15.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
