"""Scoring models (backbone + head) and their SavedModel export, with decoding and preprocessing inside the graph.

A SavedModel written by :func:`export_savedmodel` loads with plain ``tf.saved_model.load`` in a process that
never imports tfagiqa (TF Serving compatible). Its signatures all return the dict of named float32 [N] scores:

* ``serving_default``: ``image_bytes`` tf.string [N] (encoded JPEG / PNG / BMP / GIF / WebP) [+ ``prompt`` [N]];
* ``score_images``: ``images`` uint8 [N, H, W, 3] [+ ``prompt``];
* ``score_views``: ``views`` float32 [N, V, S, S, 3] in [0, 255], the already prepared views of each image
  (what :class:`tfagiqa.Scorer` and ``tfagiqa score`` feed after decoding files with Pillow).

Test-time views are fixed, never random (:class:`ViewPolicy`): the whole image resized to S×S (bilinear,
antialiased, aspect not kept: how the training features were made), or ``n_crops`` crops of S×S at the fixed
positions of :func:`tfagiqa.data.pipeline.fixed_crop_offsets`, optionally after resizing the shorter side to
``resize_to``. A model with several views scores their mean.

In-graph decoding (``serving_default``) turns every image into RGB: grayscale is replicated, transparency
(RGBA, grey + alpha, palette PNG with a transparent index) is composited onto white, CMYK JPEGs are converted
by TensorFlow's libjpeg decoder, 16-bit PNGs are reduced to 8 bits by TensorFlow's PNG decoder, GIFs give their
first frame. Pixels can differ from the Pillow decoding of :mod:`tfagiqa.data.images` by a few grey levels
(different JPEG IDCT, 16-bit rounding, alpha rounding). An element that cannot be decoded (empty, not a known
image format, visibly truncated: a JPEG without its end-of-image marker, a PNG without its IEND chunk, a GIF
without its trailer; or rejected by the decoder: a corrupt body behind a valid header) gets NaN scores and
``decoded`` = 0; the other elements of the batch are scored as usual (:func:`decode_views`). Formats TensorFlow
cannot decode in a graph (TIFF, for one) are treated the same way; ``tfagiqa score`` and
:class:`tfagiqa.Scorer` decode them with Pillow and score them through ``score_views``. Prompts may be any bytes
(invalid UTF-8 is replaced, see :func:`view_scorer`); an empty batch gives empty outputs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import tensorflow as tf

from tfagiqa.atomic import atomic_path
from tfagiqa.data.pipeline import fixed_crop_offsets
from tfagiqa.errors import TfagiqaError

FORMAT_VERSION = 1
SIGNATURES = ("serving_default", "score_images", "score_views")
TAIL_BYTES = 1024  # a JPEG's end-of-image marker is looked for in this many final bytes


@dataclass(frozen=True)
class ViewPolicy:
    """Fixed test-time views: ``crop="resize"`` (one view) or ``"fixed_crops"`` (``n_crops`` grid crops)."""

    crop: str = "resize"
    n_crops: int = 1
    resize_to: int | None = None

    def __post_init__(self):
        if self.crop not in ("resize", "fixed_crops"):
            raise ValueError(f"crop must be 'resize' or 'fixed_crops', got {self.crop!r}")
        if self.crop == "resize" and (self.n_crops != 1 or self.resize_to is not None):
            raise ValueError("crop='resize' takes neither n_crops nor resize_to")

    @classmethod
    def from_dict(cls, values: dict | None) -> "ViewPolicy":
        """The policy recorded in a ``tfagiqa.json`` (absent: resize)."""
        return cls(**(values or {}))

    def to_dict(self) -> dict:
        return asdict(self)


def scoring_model(backbone: keras.Model, head: keras.Model, output: str) -> keras.Model:
    """{images [N, S, S, 3] in [0, 255] (+ prompt, generator)} → {output: score [N]}: backbone and head in one model."""
    size = backbone.input_shape[1:3]
    inputs = {"images": keras.Input((*size, 3), name="images")}
    head_inputs = {"image_features": backbone(inputs["images"])}
    for name in [t.name for t in head.inputs if t.name != "image_features"]:
        inputs[name] = keras.Input((), dtype="string", name=name)
        head_inputs[name] = keras.layers.Reshape((1,), name=f"{name}_column")(inputs[name])
    score = head(head_inputs)
    return keras.Model(inputs, {output: keras.layers.Reshape((), name=output)(score)}, name=f"{head.name}_scorer")


def load_scoring_model(path: str | Path) -> keras.Model:
    """A scoring model saved as ``.keras`` (inputs ``images`` [+ ``prompt``]), or the ``model.keras`` of a preset
    folder; a TfagiqaError when the file is missing, not a Keras archive, or a DLSR head without its backbone."""
    from tfagiqa.presets import is_preset, load_preset

    path = Path(path)
    file = load_preset(path).path("model") if is_preset(path) else path
    if not file.is_file():
        raise TfagiqaError(f"{path} not found" if not file.exists() else f"{path} is not a file")
    try:
        model = keras.saving.load_model(file)
    except Exception as exc:  # Keras raises ValueError, OSError, zipfile and deserialisation errors
        reason = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TfagiqaError(f"cannot load {path} as a Keras model ({reason}). Was it saved with model.save(...keras)?") \
            from exc
    if isinstance(model.input, dict) and "image_features" in model.input:
        raise TfagiqaError(f"{path} is a head without its backbone; export it with "
                           f"--model dlsr-perception|dlsr-alignment --weights {path}")
    try:
        describe(model)
    except TfagiqaError as exc:
        raise TfagiqaError(f"{path}: {exc}") from exc
    return model


def describe(model: keras.Model) -> dict:
    """What a scoring model takes and gives: input size, whether it needs a prompt, its output names; a
    TfagiqaError for anything else (not a Keras model, inputs not a dict with ``images``, non-square images)."""
    if not isinstance(model, keras.Model):
        raise TfagiqaError(f"a scoring model is a keras.Model (e.g. tfagiqa.create_scorer(...)), got "
                           f"{type(model).__name__}")
    try:
        inputs = model.input
    except AttributeError as exc:  # a model never called has no inputs
        raise TfagiqaError(f"{model.name} is not a scoring model: {exc}") from exc
    if not isinstance(inputs, dict) or "images" not in inputs:
        raise TfagiqaError(f"{model.name} is not a scoring model: its inputs must be a dict with 'images'")
    height, width = inputs["images"].shape[1:3]
    if height != width:
        raise TfagiqaError(f"scoring models take square images; {model.name} takes {height}×{width}")
    return {"input_size": int(height), "needs_prompt": "prompt" in model.input,
            "outputs": sorted(model.output) if isinstance(model.output, dict) else ["score"]}


def image_views(images: tf.Tensor, size: int, policy: ViewPolicy = ViewPolicy()) -> tf.Tensor:
    """float32 [V, S, S, 3] views of one image, or [N, V, S, S, 3] of a batch; pixels (any dtype) in [0, 255]."""
    images = tf.cast(images, tf.float32)
    if policy.crop == "resize":
        return tf.expand_dims(_resize(images, (size, size)), -4)
    if policy.resize_to is not None:
        images = _shorter_side(images, policy.resize_to)
    images = _cover(images, size)
    height, width = tf.shape(images)[-3], tf.shape(images)[-2]
    offsets = fixed_crop_offsets(height, width, size, policy.n_crops)
    return tf.stack([tf.image.crop_to_bounding_box(images, top, left, size, size) for top, left in offsets], axis=-4)


def decode_image_bytes(data: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(uint8 [H, W, 3] RGB, ok) for one encoded image; ok is False (and the image 1×1 white) when unusable."""
    ok = _looks_complete(data)
    image = tf.cond(ok, lambda: _decode_rgb(data), lambda: tf.fill([1, 1, 3], tf.constant(255, tf.uint8)))
    return image, ok


def decode_views(data: tf.Tensor, size: int, policy: ViewPolicy = ViewPolicy()) -> tuple[tf.Tensor, tf.Tensor]:
    """(views float32 [N, V, S, S, 3], ok bool [N]) of encoded images tf.string [N].

    An element that fails the up-front checks of :func:`decode_image_bytes`, or that the decoder itself
    rejects (a corrupt body behind a valid header), gets ``ok`` False and black views; the other elements are
    decoded as usual. The decoder's errors are dropped by ``tf.data``'s ``ignore_errors`` and the survivors
    put back in place by their index, so one bad element never fails the batch.
    """
    count = tf.shape(data)[0]
    n_views = policy.n_crops if policy.crop == "fixed_crops" else 1

    def one(index, element):
        image, ok = decode_image_bytes(element)
        return index, image_views(image, size, policy), ok

    decoded = tf.data.Dataset.from_tensor_slices((tf.range(count), data)).map(one).ignore_errors()
    sentinel = tf.data.Dataset.from_tensors((tf.constant(-1), tf.zeros([n_views, size, size, 3]), tf.constant(False)))
    index, views, ok = decoded.concatenate(sentinel).batch(tf.cast(count, tf.int64) + 1).get_single_element()
    kept = index >= 0
    positions = tf.boolean_mask(index, kept)[:, None]
    views = tf.scatter_nd(positions, tf.boolean_mask(views, kept), [count, n_views, size, size, 3])
    ok = tf.scatter_nd(positions, tf.cast(tf.boolean_mask(ok, kept), tf.int32), [count]) > 0
    return views, ok


def view_scorer(model: keras.Model):
    """``score_views(views [N, V, S, S, 3], prompt [N] | None) → {name: [N]}``: the model on every view, averaged.

    Prompts may hold any bytes (invalid UTF-8 is replaced by U+FFFD before tokenising); an empty batch gives
    empty scores without running the model."""
    info = describe(model)
    size, with_prompt, outputs = info["input_size"], info["needs_prompt"], info["outputs"]

    def run_model(views, prompt):
        count, n_views = tf.shape(views)[0], tf.shape(views)[1]
        inputs = {"images": tf.reshape(tf.cast(views, tf.float32), [-1, size, size, 3])}
        if with_prompt:
            prompt = tf.strings.unicode_transcode(prompt, "UTF-8", "UTF-8", errors="replace")  # any bytes are text
            inputs["prompt"] = tf.reshape(tf.repeat(prompt, n_views), [-1])
        if "generator" in model.input:  # the T2I model is unknown when scoring: its out-of-vocabulary slot
            inputs["generator"] = tf.fill(tf.shape(inputs["images"])[:1], "")
        scores = model(inputs, training=False)
        scores = scores if isinstance(scores, dict) else {"score": scores}
        return {name: tf.reduce_mean(tf.reshape(tf.cast(scores[name], tf.float32), [count, n_views]), axis=1)
                for name in outputs}

    def score_views(views, prompt=None):
        empty = {name: tf.zeros([0], tf.float32) for name in outputs}
        return tf.cond(tf.shape(views)[0] > 0, lambda: run_model(views, prompt), lambda: empty)

    return score_views


def export_savedmodel(model: keras.Model, out_dir: str | Path, metadata: dict | None = None,
                      policy: ViewPolicy = ViewPolicy()) -> Path:
    """Write ``model`` as a SavedModel with the three signatures plus ``tfagiqa.json``: ``metadata`` with the
    signatures, inputs, outputs and view policy added. Atomic (:mod:`tfagiqa.atomic`): an existing SavedModel at
    ``out_dir`` is replaced only once the new one is complete."""
    out_dir = Path(out_dir)
    info = describe(model)
    size, with_prompt = info["input_size"], info["needs_prompt"]
    archive = keras.export.ExportArchive()
    archive.track(model)

    score_views = view_scorer(model)

    def prompt_of(inputs):
        return inputs["prompt"] if with_prompt else None

    def serve_bytes(inputs):
        views, ok = decode_views(inputs["image_bytes"], size, policy)
        scores = score_views(views, prompt_of(inputs))
        nan = tf.fill(tf.shape(ok), float("nan"))
        return {**{k: tf.where(ok, v, nan) for k, v in scores.items()}, "decoded": tf.cast(ok, tf.float32)}

    def serve_images(inputs):
        return score_views(image_views(inputs["images"], size, policy), prompt_of(inputs))

    def serve_views(inputs):
        return score_views(inputs["views"], prompt_of(inputs))

    prompt_spec = {"prompt": tf.TensorSpec([None], tf.string, name="prompt")} if with_prompt else {}
    specs = {
        "serving_default": (serve_bytes, {"image_bytes": tf.TensorSpec([None], tf.string, name="image_bytes")}),
        "score_images": (serve_images, {"images": tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")}),
        "score_views": (serve_views, {"views": tf.TensorSpec([None, None, size, size, 3], tf.float32, name="views")}),
    }
    for name, (fn, spec) in specs.items():
        archive.add_endpoint(name, fn, input_signature=[{**spec, **prompt_spec}])
    record = {**(metadata or {}), **info, "views": policy.to_dict(), "format_version": FORMAT_VERSION,
              "signatures": {name: sorted({**spec, **prompt_spec}) for name, (_, spec) in specs.items()},
              "serving_extra_outputs": ["decoded"]}
    with atomic_path(out_dir) as tmp:
        archive.write_out(str(tmp), verbose=False)
        (tmp / "tfagiqa.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return out_dir


def _resize(images: tf.Tensor, size) -> tf.Tensor:
    """Bilinear, antialiased resize (as :mod:`tfagiqa.data.pipeline` does for training)."""
    return tf.image.resize(images, size, method="bilinear", antialias=True)


def _shorter_side(images: tf.Tensor, side: int) -> tf.Tensor:
    shape = tf.cast(tf.shape(images)[-3:-1], tf.float32)
    return _resize(images, tf.cast(tf.round(shape * side / tf.reduce_min(shape)), tf.int32))


def _cover(images: tf.Tensor, size: int) -> tf.Tensor:
    """Enlarge (aspect kept) only an image smaller than the crop."""
    shape = tf.cast(tf.shape(images)[-3:-1], tf.float32)
    scale = tf.reduce_max(size / shape)
    target = tf.maximum(tf.cast(tf.math.ceil(shape * scale), tf.int32), size)
    return tf.cond(scale > 1.0, lambda: _resize(images, target), lambda: images)


def _bytes_at(data: tf.Tensor, start, length: int) -> tf.Tensor:
    """``length`` bytes of ``data`` from ``start`` as uint8 (empty where the string is shorter)."""
    return tf.io.decode_raw(tf.strings.substr(data, start, length), tf.uint8)


def _starts_with(data: tf.Tensor, prefix: bytes) -> tf.Tensor:
    return tf.equal(tf.strings.substr(data, 0, len(prefix)), prefix)


def _kind(data: tf.Tensor) -> dict[str, tf.Tensor]:
    """Which container format the bytes start with."""
    data = tf.strings.join([data, b"\0" * 12])  # headers are read without running past a short string
    return {"jpeg": _starts_with(data, b"\xff\xd8\xff"), "png": _starts_with(data, b"\x89PNG\r\n\x1a\n"),
            "gif": _starts_with(data, b"GIF8"), "bmp": _starts_with(data, b"BM"),
            "webp": tf.logical_and(_starts_with(data, b"RIFF"), tf.equal(tf.strings.substr(data, 8, 4), b"WEBP"))}


def _looks_complete(data: tf.Tensor) -> tf.Tensor:
    """A known format whose end marker is present (catches empty, non-image and the usual truncated files)."""
    n = tf.strings.length(data)
    kind = _kind(data)
    tail = tf.cond(n > 1, lambda: _bytes_at(data, tf.maximum(n - TAIL_BYTES, 0), TAIL_BYTES), lambda: tf.zeros([2], tf.uint8))
    jpeg_end = tf.reduce_any(tf.logical_and(tf.equal(tail[:-1], 0xFF), tf.equal(tail[1:], 0xD9)))
    png_end = tf.equal(tf.strings.substr(data, tf.maximum(n - 8, 0), 4), b"IEND")
    gif_end = tf.equal(tf.strings.substr(data, tf.maximum(n - 1, 0), 1), b";")
    return tf.reduce_any(tf.stack([
        tf.logical_and(kind["jpeg"], jpeg_end), tf.logical_and(kind["png"], png_end),
        tf.logical_and(kind["gif"], gif_end), kind["bmp"], kind["webp"]]))


def _decode_rgb(data: tf.Tensor) -> tf.Tensor:
    """uint8 [H, W, 3]: JPEG (incl. CMYK) with libjpeg; other formats with any channel count, alpha over white."""
    def other():
        image = tf.io.decode_image(data, channels=0, dtype=tf.uint8, expand_animations=False)
        channels = tf.shape(image)[-1]
        rgba = tf.switch_case(channels - 1, [
            lambda: tf.concat([tf.repeat(image[..., :1], 3, -1), tf.fill(tf.shape(image[..., :1]), tf.constant(255, tf.uint8))], -1),
            lambda: tf.concat([tf.repeat(image[..., :1], 3, -1), image[..., 1:2]], -1),
            lambda: tf.concat([image[..., :3], tf.fill(tf.shape(image[..., :1]), tf.constant(255, tf.uint8))], -1),
            lambda: image[..., :4],
        ])
        rgba = tf.ensure_shape(rgba, [None, None, 4])
        alpha = tf.cast(rgba[..., 3:], tf.float32) / 255.0
        rgb = tf.cast(rgba[..., :3], tf.float32) * alpha + 255.0 * (1.0 - alpha)
        return tf.cast(tf.round(rgb), tf.uint8)

    return tf.cond(_kind(data)["jpeg"], lambda: tf.io.decode_jpeg(data, channels=3), other)
