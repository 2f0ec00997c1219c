"""Scoring models (backbone + head, preprocessing inside) and their SavedModel export for TF Serving.

A SavedModel written here loads with plain ``tf.saved_model.load`` in a process that never imports tfagiqa.
Its ``serving_default`` signature takes float32 ``images`` [N, S, S, 3] with values in [0, 255] (and a
tf.string ``prompt`` [N] for prompt-conditioned models) and returns a dict with one named score.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import keras
import tensorflow as tf

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


def export_savedmodel(model: keras.Model, out_dir: str | Path, metadata: dict | None = None) -> Path:
    """Write ``model`` as a SavedModel (atomically: to a temporary folder, then renamed) plus ``tfagiqa.json``."""
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    archive = keras.export.ExportArchive()
    archive.track(model)
    size = model.input["images"].shape[1:]
    signature = {"images": tf.TensorSpec([None, *size], tf.float32, name="images")}
    if "prompt" in model.input:
        signature["prompt"] = tf.TensorSpec([None], tf.string, name="prompt")

    def serve(inputs):
        if "generator" in model.input:  # the T2I model is unknown when scoring: its out-of-vocabulary slot
            inputs = {**inputs, "generator": tf.fill(tf.shape(inputs["prompt"]), "")}
        return model(inputs, training=False)

    archive.add_endpoint("serving_default", serve, input_signature=[signature])
    archive.write_out(str(tmp), verbose=False)
    (tmp / "tfagiqa.json").write_text(json.dumps(metadata or {}, indent=2, sort_keys=True))
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    return out_dir
