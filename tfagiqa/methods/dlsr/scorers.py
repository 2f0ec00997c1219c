"""DLSR-IQA in the catalogue: ``dlsr-perception`` (image → quality) and ``dlsr-alignment`` (image + prompt →
alignment), each the frozen ResNet152V2 feature extractor followed by a DLSR head (:mod:`tfagiqa.methods.dlsr.model`).

``weights`` (resolved by :func:`tfagiqa.presets.resolve`; nothing is ever downloaded here):

* ``None`` / ``"none"``: ResNet152V2 and a head of the paper's configuration, both randomly initialised, without
  any I/O (the random alignment head has a placeholder vocabulary of a few common words);
* ``<out>/models/<experiment>_fold<k>/``, the ``dlsr-head`` preset ``experiments/run_dlsr.py`` saves: the backbone
  is rebuilt as that run used it, as its ``config.json`` records (backbone, its weights, image size);
* ``PATH/TO/<experiment>_fold<k>.keras``, a head saved by an earlier ``run_dlsr.py`` in ``<out>/models/``: the
  backbone is read from the run's record (``<out>/savedmodels/<experiment>_fold<k>/tfagiqa.json``, else the
  experiment's row in ``<out>/results.csv`` or ``results.previous.csv``);
* ``PATH/TO/scorer.keras`` (or a ``scorer`` preset): a complete scoring model (inputs ``images`` [+ ``prompt``]).

Rebuilding a head's backbone: ``weights=imagenet`` needs Keras' cached
``resnet152v2_weights_tf_dim_ordering_tf_kernels_notop.h5`` (in ``$KERAS_HOME/models``, default ``~/.keras/models``);
a ``.h5`` path needs that file; the seeded tiny test backbone is rebuilt exactly; a randomly initialised
ResNet152V2 cannot be rebuilt, so its heads are refused (score with the run's SavedModel,
``<out>/savedmodels/<experiment>_fold<k>``, instead).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tfagiqa.catalogue import ModelEntry
from tfagiqa.errors import WeightsError

IMAGE_SIZE = 224
RESNET_FEATURES = 2048
PLACEHOLDER_VOCABULARY = ("a", "an", "the", "of", "in", "with", "and", "on", "photo", "painting")
OUTPUT = {"perception": "quality", "alignment": "alignment"}
KINDS = ("dlsr-head", "scorer")
WEIGHTS_HELP = ("None (random initialisation, no I/O), a dlsr-head preset saved by experiments/run_dlsr.py "
                "(<out>/models/<experiment>_fold<k>/; the backbone is rebuilt from its record) or an earlier run's "
                "<out>/models/<experiment>_fold<k>.keras, or a complete scoring model saved as .keras")
SCALE = "AGIQA-3K MOS, nominally [0, 5] (AIGCIQA2023 mapped onto it by DLSR eq. 1); the learned logistic " \
        "mapping is unbounded, so values slightly outside can occur"


def build_perception(weights: str | None = None):
    """ResNet152V2 features → DLSR perception head → {"quality": [N]}."""
    return _build("perception", weights)


def build_alignment(weights: str | None = None):
    """ResNet152V2 features + prompt (+ unknown T2I model) → DLSR alignment head → {"alignment": [N]}."""
    return _build("alignment", weights)


def weights_provenance(weights: str | None) -> dict:
    """Where a scorer's weights come from: random, or the head and the record of the run that trained it."""
    from tfagiqa.presets import resolve

    resolved = resolve(weights, kind=KINDS, what="DLSR")
    if resolved.random:
        return {"weights": "random", "backbone": "resnet152v2", "backbone_weights": "random", "head": "random"}
    preset = resolved.preset
    if preset.kind == "dlsr-head" and (not preset.legacy or _is_head_file(preset.path("model"))):
        return {"weights": resolved.label, "head": resolved.label, **head_record(preset)}
    return {"weights": resolved.label}


def _build(kind: str, weights: str | None):
    from tfagiqa.export import scoring_model
    from tfagiqa.presets import resolve

    resolved = resolve(weights, kind=KINDS, what=f"dlsr-{kind}")
    if resolved.random:
        from tfagiqa.backbones.resnet import resnet152v2_features

        return scoring_model(resnet152v2_features(None, IMAGE_SIZE).model, _random_head(kind), OUTPUT[kind])
    preset = resolved.preset
    model = preset.load("model")
    where = preset.folder if not preset.legacy else preset.path("model")
    if not isinstance(model.input, dict) or not ({"images", "image_features"} & set(model.input)):
        raise WeightsError(f"{where} is neither a DLSR head (input image_features) nor a scoring model (input images)")
    _check_kind(model, kind, where)
    if "images" in model.input:  # a complete scorer
        return model
    backbone = _backbone(head_record(preset), model.input["image_features"].shape[-1], where)
    return scoring_model(backbone, model, OUTPUT[kind])


def _random_head(kind: str):
    import keras

    from tfagiqa.methods.dlsr import model as dlsr

    if kind == "perception":
        return dlsr.perception_model()
    vectorizer = keras.layers.TextVectorization(output_sequence_length=32, vocabulary=list(PLACEHOLDER_VOCABULARY),
                                                name="prompt_tokens")
    return dlsr.alignment_model(vectorizer, ["unknown"])


def _check_kind(model, kind: str, where: Path) -> None:
    """A perception file takes no prompt; an alignment file does."""
    if ("prompt" in model.input) != (kind == "alignment"):
        other = "alignment" if kind == "perception" else "perception"
        raise WeightsError(f"{where} is a DLSR {other} model; use dlsr-{other} for it")


def _is_head_file(path: Path) -> bool:
    return path.suffix == ".keras" and path.parent.name == "models"


def head_record(preset) -> dict:
    """Backbone, backbone weights, image size, data kind, run, experiment and fold of the run that trained a head:
    from its dlsr-head preset, or (an earlier run's ``.keras`` head) from the run's record (:func:`run_record`)."""
    if preset.legacy:
        return run_record(preset.path("model"))
    arch, source = preset.architecture, preset.source
    return {"backbone": arch.get("backbone"), "backbone_weights": arch.get("backbone_weights"),
            "image_size": arch.get("image_size"), "data": source.get("data"), "run": str(preset.folder.parent.parent),
            "experiment": source.get("experiment"), "fold": source.get("split_index"), "name": preset.folder.name}


def run_record(head: Path) -> dict:
    """Backbone, backbone weights, image size and data kind of the run that saved ``head`` (``<out>/models/X.keras``,
    the layout before presets)."""
    out = head.parent.parent
    match = re.fullmatch(r"(.+)_fold(\d+)", head.stem)
    if match is None:
        raise WeightsError(f"{head}: not named <experiment>_fold<k>.keras as run_dlsr.py saves heads")
    experiment, fold = match.group(1), int(match.group(2))
    exported = out / "savedmodels" / head.stem / "tfagiqa.json"
    common = {"run": str(out), "experiment": experiment, "fold": fold, "name": head.stem}
    if exported.is_file():
        meta = json.loads(exported.read_text())
        return {"backbone": meta.get("backbone"), "backbone_weights": meta["weights"],
                "image_size": int(meta["image_size"]), "data": meta.get("data"), **common}
    import pandas as pd

    for name in ("results.csv", "results.previous.csv"):
        table = out / name
        if not table.is_file():
            continue
        rows = pd.read_csv(table)
        rows = rows[(rows["experiment"].astype(str) == experiment) & (rows["split_index"] == fold)]
        if len(rows):
            row = rows.iloc[-1]
            return {"backbone": str(row["backbone"]), "backbone_weights": str(row["weights"]),
                    "image_size": int(row["image_size"]), "data": str(row["data"]), **common}
    raise WeightsError(f"{head}: no record of the run that trained it (looked for {exported} and the "
                       f"'{experiment}' fold {fold} row in {out / 'results.csv'}); its backbone is unknown")


def _backbone(record: dict, feature_dim: int, head: Path):
    """The feature extractor the head was trained on, rebuilt without downloading anything."""
    from tfagiqa.backbones.resnet import resnet152v2_features
    from tfagiqa.backbones.tiny import tiny_cnn_features
    from tfagiqa.presets import resolve

    size, label = int(record["image_size"]), str(record["backbone_weights"])
    name = record.get("backbone") or ("resnet152v2" if feature_dim == RESNET_FEATURES else "tiny")
    if name == "tiny":
        backbone = tiny_cnn_features(size).model
    elif name != "resnet152v2":
        raise WeightsError(f"{head}: unknown backbone {name!r} in its run record")
    elif label == "random":
        raise WeightsError(f"{head} was trained on features of a randomly initialised ResNet152V2, which cannot be "
                           f"rebuilt; score with the run's SavedModel ({record['run']}/savedmodels/{record['name']}) "
                           "instead")
    else:
        try:
            resolved = resolve(label, kind="resnet152v2", what="ResNet152V2")
        except WeightsError as exc:
            raise WeightsError(f"{head} needs the ResNet152V2 weights its run used ({label}): {exc}") from exc
        file = resolved.imagenet if resolved.imagenet is not None else resolved.preset.path("weights")
        if not file.is_file():
            raise WeightsError(f"{head} needs the ResNet152V2 weights its run used ({label}): {file} is missing. "
                               f"Download {file.name} from the keras-applications release and put it there.")
        backbone = resnet152v2_features(str(file), size).model
    if backbone.output_shape[-1] != feature_dim:
        raise WeightsError(f"{head} takes {feature_dim}-d features but the {name} backbone gives {backbone.output_shape[-1]}")
    return backbone


COMMON = dict(paper="dlsr", input_size=IMAGE_SIZE, score_range=(0.0, 5.0), label_scale=SCALE, higher_is_better=True,
              weights_help=WEIGHTS_HELP, provenance=weights_provenance, kinds=KINDS)
PERCEPTION = ModelEntry(
    name="dlsr-perception", needs_prompt=False, outputs=("quality",), build=build_perception,
    description="DLSR-IQA perceptual quality (Qi 2023 §III): frozen ResNet152V2 average-pooled features → "
                "Dense 128 → Dense 64 → Dense 1 → trainable logistic mapping", **COMMON)
ALIGNMENT = ModelEntry(
    name="dlsr-alignment", needs_prompt=True, outputs=("alignment",), build=build_alignment,
    description="DLSR-IQA text-image alignment (Qi 2023 §IV-A): ResNet152V2 features + prompt tokens + T2I model "
                "(unknown at scoring time) → MLP → logistic mapping", **COMMON)
ENTRIES = (PERCEPTION, ALIGNMENT,)
