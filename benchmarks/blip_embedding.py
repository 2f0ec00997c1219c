"""Time of the Hypernet paper's BLIP text embedder: computing ImageReward's [CLS] features vs reading them back.

    python benchmarks/blip_embedding.py [--images 32] [--model DIR]   # DIR from tfagiqa convert imagereward

Without ``--model`` the official-size ImageReward (ViT-L/16 + BERT-base, random weights, placeholder vocabulary) is
saved to a temporary folder first. Runs on the synthetic AGIQA-3K stand-in (or the real data when present), prints
both times, images per second and their ratio, measured in this one run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfagiqa.data import load_dataset  # noqa: E402
from tfagiqa.methods.hyperiqa.text_inputs import embed_texts  # noqa: E402


def timed(df, spec: str, cache: Path) -> float:
    """Seconds for one ``embed_texts`` call."""
    start = time.perf_counter()
    embed_texts(df, spec, cache_dir=cache)
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=32)
    p.add_argument("--model", default=None, help="a converted ImageReward folder (default: official size, random)")
    p.add_argument("--data-root", default=None)
    args = p.parse_args()
    df = load_dataset("agiqa3k", args.data_root).iloc[:args.images]
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            from tfagiqa.methods.imagereward import model as imagereward
            from tfagiqa.methods.imagereward.scorers import placeholder_vocabulary

            vocabulary = placeholder_vocabulary(imagereward.IMAGEREWARD.text.vocab_size)
            imagereward.imagereward_model(imagereward.IMAGEREWARD, vocabulary).save(Path(tmp) / "model.keras")
            model = tmp
        computed = timed(df, f"blip:{model}", Path(tmp) / "cache")
        cached = timed(df, f"blip:{model}", Path(tmp) / "cache")
    print(f"{df.attrs['data']} data, {len(df)} images, ImageReward {'random, official size' if args.model is None else model}")
    print(f"computing BLIP features:  {computed:8.2f} s  ({len(df) / computed:7.1f} images/s)")
    print(f"from the feature cache:   {cached:8.2f} s  ({len(df) / cached:7.1f} images/s)")
    print(f"ratio compute / cache:    {computed / cached:8.1f}x")


if __name__ == "__main__":
    main()
