"""``Scorer``: score image files, arrays or batches with an exported SavedModel (or an in-memory Keras scorer).

    scorer = Scorer.load("savedmodels/perception_after_fold1")
    scorer("photo.jpg")                       # {"quality": array([3.21], dtype=float32)}
    scorer(["a.png", "b.jpg"], prompts=["a cat", "a dog"])
    scorer(uint8_batch)                       # [N, H, W, 3] uint8, or float in [0, 1]; [H, W, 3] is one image

Files are decoded with Pillow (:func:`tfagiqa.data.images.load_image`: every mode becomes RGB), then turned into
the model's fixed test-time views by the same TensorFlow code the SavedModel runs in its graph
(:func:`tfagiqa.export.image_views`), and scored through its ``score_views`` signature. Results are always
arrays [N], N = 1 for a single image; the same input gives the same scores on every call and every run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfagiqa.data.images import load_image, to_rgb
from tfagiqa.errors import DataError, TfagiqaError
from tfagiqa.export import ViewPolicy, describe, image_views, view_scorer


class Scorer:
    """Images (+ prompts) → dict of named float32 scores [N], through fixed views and a ``score_views`` function."""

    def __init__(self, score_views, metadata: dict):
        missing = [k for k in ("outputs", "needs_prompt", "input_size") if k not in metadata]
        if missing:
            raise TfagiqaError(f"scorer metadata lacks {missing}; re-export the model with this version of tfagiqa")
        self._score_views = score_views
        self.metadata = metadata
        self.outputs: list[str] = list(metadata["outputs"])
        self.needs_prompt: bool = bool(metadata["needs_prompt"])
        self.input_size: int = int(metadata["input_size"])
        self.policy = ViewPolicy.from_dict(metadata.get("views"))

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "Scorer":
        """A SavedModel written by :func:`tfagiqa.export.export_savedmodel` (its ``tfagiqa.json`` beside it)."""
        directory = Path(directory)
        meta_file = directory / "tfagiqa.json"
        if not (directory / "saved_model.pb").is_file() or not meta_file.is_file():
            raise TfagiqaError(f"{directory} is not a tfagiqa SavedModel (saved_model.pb and tfagiqa.json expected); "
                               "write one with `tfagiqa export`")
        try:
            metadata = json.loads(meta_file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TfagiqaError(f"{meta_file} is not valid JSON ({exc}); re-export the model with `tfagiqa export`") \
                from exc
        if not isinstance(metadata, dict):
            raise TfagiqaError(f"{meta_file} does not hold a JSON object; re-export the model with `tfagiqa export`")
        import tensorflow_text  # noqa: F401  registers the ops of keras-hub's in-graph tokenizers (WordPiece, BPE)

        try:
            loaded = tf.saved_model.load(str(directory))
        except Exception as exc:  # TF raises OSError, protobuf DecodeError, ValueError... for a damaged SavedModel
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TfagiqaError(f"cannot load SavedModel {directory} ({reason}); re-export it with `tfagiqa export`") \
                from exc
        if "score_views" not in loaded.signatures:
            raise TfagiqaError(f"{directory} has no score_views signature; re-export it with this version of tfagiqa")
        signature = loaded.signatures["score_views"]

        def score_views(views, prompt=None):
            kwargs = {"views": views} if prompt is None else {"views": views, "prompt": prompt}
            return signature(**kwargs)

        scorer = cls(score_views, metadata)
        scorer._loaded = loaded  # keep the restored objects alive with the signature
        return scorer

    @classmethod
    def from_keras(cls, model, metadata: dict | None = None) -> "Scorer":
        """A catalogue scorer (Keras model) used in memory; ``metadata`` may carry the ``views`` policy. Anything
        else than a scoring model is a TfagiqaError (``describe``)."""
        metadata = {**(metadata or {}), **describe(model)}
        return cls(tf.function(view_scorer(model), reduce_retracing=True), metadata)

    def __call__(self, images, prompts: str | Sequence[str] | None = None, batch_size: int = 32) -> dict[str, np.ndarray]:
        """Scores of a path, an array, a PIL image, or a sequence / batch of them; a DataError for unreadable files,
        a TfagiqaError naming the element for anything else that is not an image."""
        _check_batch_size(batch_size)
        pixels = as_images(images)
        prompts = self._prompts(prompts, len(pixels))
        out: dict[str, list[np.ndarray]] = {name: [] for name in self.outputs}
        for start in range(0, len(pixels), batch_size):
            views = tf.stack([self.views(p) for p in pixels[start:start + batch_size]])
            chunk = None if prompts is None else tf.constant(prompts[start:start + batch_size], tf.string)
            for name, value in self.score_views(views, chunk).items():
                out[name].append(value)
        return {name: np.concatenate(values) for name, values in out.items()}

    def views(self, image: np.ndarray) -> tf.Tensor:
        """float32 [V, S, S, 3] fixed views of one H×W×3 image with values in [0, 255]."""
        return image_views(tf.constant(image), self.input_size, self.policy)

    def score_views(self, views: tf.Tensor, prompts: tf.Tensor | None = None) -> dict[str, np.ndarray]:
        """The model on prepared views [N, V, S, S, 3] → {name: float32 [N]}."""
        if self.needs_prompt and prompts is None:
            raise TfagiqaError(f"this model needs a prompt per image (outputs {self.outputs})")
        scores = self._score_views(views, prompts if self.needs_prompt else None)
        return {name: np.asarray(scores[name], dtype=np.float32) for name in self.outputs}

    def score_files(self, paths: Sequence[str | bytes | os.PathLike], prompts: Sequence[str | None] | None = None,
                    batch_size: int = 32) -> Iterator[tuple[int, dict[str, float] | None, str | None]]:
        """``(row, scores, error)`` for every file in order, batched through tf.data; an unreadable file (or a
        missing prompt) gives ``scores=None`` and the reason instead of stopping the others. File names that are
        not valid UTF-8 are read as they are on disk."""
        _check_batch_size(batch_size)
        if not len(paths):
            return
        prompts = list(prompts) if prompts is not None else [None] * len(paths)
        if len(prompts) != len(paths):
            raise TfagiqaError(f"{len(prompts)} prompts for {len(paths)} files")
        given = [p is not None for p in prompts]
        encoded = [b"" if p is None else _utf8(p, i) for i, p in enumerate(prompts)]
        ds = tf.data.Dataset.from_tensor_slices({"path": tf.constant([os.fsencode(p) for p in paths], tf.string),
                                                 "prompt": tf.constant(encoded, tf.string), "given": given})
        size, policy = self.input_size, self.policy

        def read(row):
            image, error = tf.numpy_function(_safe_load, [row["path"]], [tf.uint8, tf.string], stateful=False)
            image.set_shape([None, None, 3])
            return {**row, "views": image_views(image, size, policy), "error": error}

        ds = ds.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(batch_size)
        row = 0
        for batch in ds.prefetch(2):
            errors = [e.decode("utf-8", "replace") for e in batch["error"].numpy()]
            if self.needs_prompt:
                errors = [e or ("" if g else "no prompt for this image") for e, g in zip(errors, batch["given"].numpy())]
            scores = self.score_views(batch["views"], batch["prompt"]) if not all(errors) else {}
            for i, error in enumerate(errors):
                yield row, (None if error else {k: float(v[i]) for k, v in scores.items()}), error or None
                row += 1

    def _prompts(self, prompts, count: int) -> list[bytes] | None:
        """The prompts as UTF-8 bytes, one per image (a single string is used for every image)."""
        if not self.needs_prompt:
            return None
        if prompts is None:
            raise TfagiqaError(f"this model needs a prompt per image (outputs {self.outputs}); pass prompts=")
        if isinstance(prompts, (str, bytes)):
            prompts = [prompts] * count
        elif not isinstance(prompts, Sequence) and not isinstance(prompts, np.ndarray):
            raise TfagiqaError(f"prompts must be a string or a sequence of strings, not {type(prompts).__name__}")
        prompts = [_utf8(p, i) for i, p in enumerate(prompts)]
        if len(prompts) != count:
            raise TfagiqaError(f"{len(prompts)} prompts for {count} images")
        return prompts


def as_images(images) -> list[np.ndarray]:
    """float32 H×W×3 arrays in [0, 255] from paths, PIL images, uint8 or [0, 1] float arrays, or batches of them."""
    if isinstance(images, (str, os.PathLike)) or _is_pil(images):
        return [_one(images)]
    if hasattr(images, "shape") and hasattr(images, "dtype") or isinstance(images, np.ndarray):
        array = np.asarray(images)
        if array.ndim == 4:
            if len(array) == 0:
                raise TfagiqaError("no images given (the batch is empty)")
            return [_pixels(a, f"image {i}: ") for i, a in enumerate(array)]
        return [_pixels(array)]
    if isinstance(images, (list, tuple)):
        if not images:
            raise TfagiqaError("no images given")
        return [_one(item, f"image {i}: ") for i, item in enumerate(images)]
    raise TfagiqaError(f"cannot score a {type(images).__name__}: give paths, arrays or PIL images")


def _one(item, where: str = "") -> np.ndarray:
    if isinstance(item, (str, os.PathLike)):
        return load_image(item).astype(np.float32)
    if _is_pil(item):
        try:
            return to_rgb(item).astype(np.float32)
        except Exception as exc:  # a PIL image in a mode without an RGB meaning (e.g. 32-bit float)
            raise TfagiqaError(f"{where}cannot convert the PIL image (mode {item.mode}) to RGB: {exc}") from exc
    try:
        array = np.asarray(item)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise TfagiqaError(f"{where}not an image array: {exc}") from exc
    return _pixels(array, where)


def _is_pil(item) -> bool:
    return type(item).__module__.startswith("PIL.")


def _pixels(array: np.ndarray, where: str = "") -> np.ndarray:
    """One image array → float32 H×W×3 in [0, 255] (grayscale replicated; floats must lie in [0, 1])."""
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3):
        raise TfagiqaError(f"{where}an image array must be H×W, H×W×1 or H×W×3 (or a batch of them); "
                           f"got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise TfagiqaError(f"{where}an image array must have at least one pixel; got shape {array.shape}")
    if array.dtype == np.uint8:
        array = array.astype(np.float32)
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all() or array.min() < 0.0 or array.max() > 1.0:
            raise TfagiqaError(f"{where}float image arrays must hold finite values in [0, 1] (use uint8 for 0..255)")
        array = array.astype(np.float32) * 255.0
    else:
        raise TfagiqaError(f"{where}image arrays must be uint8 or float in [0, 1], not {array.dtype}")
    return np.repeat(array, 3, axis=-1) if array.shape[-1] == 1 else array


def _utf8(prompt, index: int) -> bytes:
    """A prompt as UTF-8 bytes; a TfagiqaError naming the prompt when it is not text."""
    if isinstance(prompt, bytes):
        return prompt
    if not isinstance(prompt, str):
        raise TfagiqaError(f"prompt {index} is a {type(prompt).__name__}, not a string")
    try:
        return prompt.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise TfagiqaError(f"prompt {index} is not valid Unicode text ({exc.reason} at character {exc.start})") from exc


def _check_batch_size(batch_size: int) -> None:
    if not isinstance(batch_size, int) or batch_size < 1:
        raise TfagiqaError(f"batch_size must be a positive integer, got {batch_size!r}")


def _safe_load(path: bytes) -> tuple[np.ndarray, bytes]:
    """(uint8 RGB pixels, b"") or (a 1×1 placeholder, the error message): never raises, so a batch survives.
    The message keeps a file name's undecodable bytes as they are (the caller decodes with replacement)."""
    try:
        return load_image(os.fsdecode(path)), b""
    except DataError as exc:
        return np.full((1, 1, 3), 255, np.uint8), str(exc).encode("utf-8", "surrogateescape")
