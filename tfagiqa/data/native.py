"""Apply a TensorFlow function to image files at their native resolution (no resize), batching files of equal size.

Hand-crafted measures (BRISQUE, NIQE) are defined on the image as it is; resizing first would change the very
statistics they read. Files are decoded with Pillow (:func:`tfagiqa.data.images.load_image`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf
from PIL import Image

from tfagiqa.data.images import load_image
from tfagiqa.errors import DataError


def map_image_files(paths: Sequence[str], fn: Callable[[tf.Tensor], tf.Tensor], batch_size: int = 8) -> np.ndarray:
    """``fn`` (float32 [B, H, W, 3] in [0, 255] → [B, ...]) on every file, stacked in the order of ``paths``.

    Files of the same size share batches; ``fn`` is traced once, for any batch shape (so it must not branch on
    Python values of tensors). A file that cannot be read raises a DataError naming it.
    """
    traced = tf.function(fn, input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)], autograph=False)
    by_size: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, path in enumerate(paths):
        by_size[image_size(path)].append(i)
    results: dict[int, np.ndarray] = {}
    for indices in by_size.values():
        for start in range(0, len(indices), batch_size):
            chunk = indices[start:start + batch_size]
            batch = tf.constant(np.stack([load_image(paths[i]) for i in chunk]).astype(np.float32))
            for i, value in zip(chunk, traced(batch).numpy()):
                results[i] = value
    return np.stack([results[i] for i in range(len(paths))])


def image_size(path: str) -> tuple[int, int]:
    """(width, height) from the file's header (nothing decoded); a DataError naming an unreadable file."""
    try:
        with Image.open(path) as image:
            return image.size
    except Exception as exc:
        raise DataError(f"cannot read image {path}: {str(exc) or type(exc).__name__}") from exc
