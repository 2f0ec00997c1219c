"""On-disk cache of frozen-backbone features, so that k folds × N repeats train only the heads.

An entry is identified by the caller's key (dataset, backbone, weights id...) plus the pipeline settings that
change the pixels (image size, crop, resize_to, augmentation view and options), hashed as sorted JSON with
SHA-256. It is stored in ``root`` as ``<hash>.npy`` (features, rows in image order) and ``<hash>.json``
(the key, the feature shape and dtype, the image paths in row order). The sidecar is written last and
removed first, so it marks a complete entry; both files are written to a temporary file and moved into place
with ``os.replace`` (:mod:`tfagiqa.atomic`), so an interrupted run leaves either the previous entry or none, never half a file.

Rows are matched to the DataFrame by image path: when every image of ``df`` is in the entry, the rows are
returned in ``df``'s order (a fold of a cached dataset costs nothing); otherwise all of ``df`` is computed
again and replaces the entry. Computing only the missing rows is deliberately not done: augmented views draw
their random transforms in stream order, so a partial computation would not reproduce a full one.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import tensorflow as tf
from tqdm.auto import tqdm

from tfagiqa.atomic import atomic_path
from tfagiqa.data import schema
from tfagiqa.data.pipeline import Size, augmentation, make_dataset, size_pair, surface_data_errors

DEFAULT_AUGMENT = {"flip": True}


def key_hash(key: Mapping[str, Any]) -> str:
    """Stable file stem of a JSON-serialisable key: SHA-256 (first 32 hex digits) of its sorted, compact JSON."""
    return hashlib.sha256(_canonical(key).encode("utf-8")).hexdigest()[:32]


class FeatureCache:
    """Features of a frozen backbone per (key, pipeline view), computed once and reused from ``root``."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def get_or_compute(
        self,
        key: Mapping[str, Any],
        df: pd.DataFrame,
        compute_fn: Callable[[tf.Tensor], Any],
        *,
        view: int = 0,
        image_size: Size = 224,
        crop: str = "resize",
        resize_to: Size | None = None,
        augment: Mapping[str, Any] | None = None,
        preprocess: Callable[[tf.Tensor], tf.Tensor] | None = None,
        batch_size: int = 32,
        with_prompt: bool = False,
        progress: bool = True,
    ) -> np.ndarray:
        """Features ``[len(df), ...]`` of ``df``'s images in row order, from the cache or from ``compute_fn``.

        ``compute_fn(images)`` maps a float32 batch ``[B, H, W, 3]`` (after ``preprocess``) to ``[B, ...]``.
        ``key`` names what the pipeline settings do not: dataset, backbone, weights id (and so its preprocess).
        View 0 is the plain images; view ``v > 0`` applies ``augmentation(**augment, seed=v)``
        (``augment`` defaults to ``{"flip": True}``) and seeds random crops with ``v``, so every view is
        reproducible. With ``with_prompt`` the features depend on each row's prompt too: ``compute_fn`` gets
        ``{"image": images, "prompt": prompts}`` (an image-aware text embedding, e.g. BLIP's).
        """
        augment = dict(DEFAULT_AUGMENT if augment is None else augment) if view else None
        full_key = {
            **key,
            "pipeline": {
                "image_size": list(size_pair(image_size)),
                "crop": crop,
                "resize_to": resize_to if resize_to is None or isinstance(resize_to, int) else list(resize_to),
                "view": view,
                "augment": augment,
                **({"with_prompt": True} if with_prompt else {}),
            },
        }
        images = df[schema.IMAGE].astype(str).tolist()
        cached = self.load(full_key, images)
        if cached is not None:
            return cached
        dataset = make_dataset(
            df,
            image_size=image_size,
            crop=crop,
            resize_to=resize_to,
            augment=augmentation(**augment, seed=view) if view else None,
            batch_size=batch_size,
            seed=view,
            preprocess=preprocess,
            with_prompt=with_prompt,
        )
        features = _compute(dataset, compute_fn, len(df), progress)
        self.store(full_key, images, features)
        return features

    def paths(self, key: Mapping[str, Any]) -> tuple[Path, Path]:
        """(features .npy, sidecar .json) of the entry for a full key."""
        stem = self.root / key_hash(key)
        return stem.with_suffix(".npy"), stem.with_suffix(".json")

    def load(self, key: Mapping[str, Any], images: list[str]) -> np.ndarray | None:
        """Cached rows for ``images`` (in that order), or None when the entry is absent, unreadable or lacks one."""
        array_path, meta_path = self.paths(key)
        if not meta_path.is_file():
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            features = np.load(array_path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            warnings.warn(f"ignoring unreadable feature cache entry {meta_path}: {exc}", stacklevel=2)
            return None
        if meta.get("key") != json.loads(_canonical(key)) or list(features.shape) != meta.get("shape"):
            return None
        if meta["images"] == images:
            return features
        row = {image: i for i, image in enumerate(meta["images"])}
        if not all(image in row for image in images):
            return None
        return features[[row[image] for image in images]]

    def store(self, key: Mapping[str, Any], images: list[str], features: np.ndarray) -> None:
        """Write an entry atomically: drop the old sidecar, then move the new .npy and .json into place."""
        if len(features) != len(images):
            raise ValueError(f"{len(features)} feature rows for {len(images)} images")
        array_path, meta_path = self.paths(key)
        self.root.mkdir(parents=True, exist_ok=True)
        meta_path.unlink(missing_ok=True)
        meta = {
            "key": json.loads(_canonical(key)),
            "shape": list(features.shape),
            "dtype": str(features.dtype),
            "images": images,
        }
        _atomic_write(array_path, lambda f: np.save(f, features, allow_pickle=False))
        _atomic_write(meta_path, lambda f: f.write(json.dumps(meta, indent=1).encode("utf-8")))


def _canonical(key: Mapping[str, Any]) -> str:
    """Sorted, compact JSON of a key (a TypeError names the key when a value is not JSON-serialisable)."""
    try:
        return json.dumps(key, sort_keys=True, separators=(",", ":"))
    except TypeError as exc:
        raise TypeError(f"feature cache key must be JSON-serialisable: {exc}; key={key!r}") from exc


def _compute(dataset: tf.data.Dataset, compute_fn: Callable, total: int, progress: bool) -> np.ndarray:
    """Run ``compute_fn`` batch by batch with a progress bar and stack the results (DataError for a bad image)."""
    parts = []
    with surface_data_errors(), tqdm(total=total, unit="img", desc="features", disable=not progress) as bar:
        for inputs in dataset:
            features = np.asarray(compute_fn(inputs))
            count = (inputs["image"] if isinstance(inputs, dict) else inputs).shape[0]
            if features.shape[0] != count:
                raise ValueError(f"compute_fn returned shape {features.shape} for a batch of {count}")
            parts.append(features)
            bar.update(len(features))
    return np.concatenate(parts)


def _atomic_write(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Write through a temporary file beside ``path`` (tfagiqa.atomic): a kill leaves the old file or none."""
    with atomic_path(path) as temporary, temporary.open("wb") as f:
        write(f)
