"""SF-IQA in the catalogue: ``sfiqa-quality`` (image → quality, the quality branch alone) and ``sfiqa`` (image +
prompt → overall, with the quality and similarity branch scores beside it).

``weights`` (resolved by :func:`tfagiqa.presets.resolve`; nothing is ever downloaded here):

* ``None``: the paper's architecture (SwinV2-T at 256 px; for ``sfiqa`` also a PickScore-shaped CLIP ViT-H/14,
  about a billion parameters), randomly initialised, prompts tokenized in the graph by the hash tokenizer;
* ``sfiqa-quality``: an ``sfiqa-quality`` preset saved by ``experiments/run_sfiqa.py``
  (``<out>/models/<dataset>_quality_<label>_splitK/``), or an earlier run's ``.keras`` file;
* ``sfiqa``: an ``sfiqa-fusion`` preset (``<out>/models/<dataset>_fusion_code_<label>_splitK/``), which names the
  quality and similarity branches it fuses (its siblings), or a run's ``models/`` folder (or the run's output
  folder), of which the first code-fusion model found and its branches are combined (earlier runs' ``.keras``
  files too). Similarity models fine-tuned from PickScore use its BPE vocabulary, which is not tokenized in the
  graph: those are refused (score them with ``tfagiqa.methods.sfiqa.protocol.predict_similarity``).

The scorer's image input is the 256-px view itself: at exactly 256 px SAMA's two scales coincide, so the view is the
image. To score a larger image as the paper does, make its SAMA view first (``tfagiqa.methods.sfiqa.sama.sama``).
"""

from __future__ import annotations

from pathlib import Path

from tfagiqa.catalogue import ModelEntry
from tfagiqa.errors import WeightsError
from tfagiqa.presets import PRESET_FILE, Preset, load_preset, resolve

SCALE = "the training MOS scale (AGIQA-3K / AIGIQA-20K: about [0, 5]; unbounded regression output)"
FUSION = "_fusion_code_"


def _squeeze(name: str):
    import keras

    return keras.layers.Reshape((), name=name)


def build_quality(weights: str | None = None):
    """{"images": [N, 256, 256, 3] in [0, 255]} → {"quality": [N]}."""
    import keras

    from tfagiqa.methods.sfiqa import model as sfiqa

    resolved = resolve(weights, kind="sfiqa-quality", what="sfiqa-quality")
    model = sfiqa.quality_model(sfiqa.PAPER) if resolved.random else resolved.preset.load("model")
    size = model.input["images"].shape[1]
    images = keras.Input((size, size, 3), name="images")
    q = model({"images": images}, training=False)  # a scorer never runs dropout, whatever its caller passes
    return keras.Model({"images": images}, {"quality": _squeeze("quality")(q)},
                       name="sfiqa_quality_scorer")


def fusion_in_run(path: Path, kind: str) -> Preset | None:
    """A run's ``models/`` folder (or its output folder): the first code-fusion model in it, as a preset naming the
    two branches it fuses; run_sfiqa.py's presets, or the ``.keras`` files of earlier runs. None elsewhere."""
    folder = path / "models" if (path / "models").is_dir() else path
    if not folder.is_dir():
        return None
    presets = sorted(p for p in folder.glob(f"*{FUSION}*") if (p / PRESET_FILE).is_file())
    if presets:
        return load_preset(presets[0], kind)
    files = sorted(folder.glob(f"*{FUSION}*.keras"))
    if not files:
        return None
    dataset, rest = files[0].name.split(FUSION)
    return Preset(folder, kind, "sfiqa", files={"model": files[0].name}, legacy=True, architecture={
        "fusion": "code", "quality": f"{dataset}_quality_{rest}", "similarity": f"{dataset}_similarity_{rest}"})


def _branch(fusion: Preset, role: str):
    """The quality or similarity branch a fusion preset names: a sibling in the run's ``models/`` folder."""
    name = fusion.architecture.get(role)
    if not name:
        raise WeightsError(f"{fusion.folder}: the fusion preset names no {role} branch; save it with run_sfiqa.py")
    models = fusion.folder if fusion.legacy else fusion.folder.parent
    return load_preset(models / name, kind=f"sfiqa-{role}").load("model")


def build_full(weights: str | None = None):
    """{"images": [N, 256, 256, 3] in [0, 255], "prompt": [N]} → {"overall", "quality", "similarity": [N]}."""
    import keras

    from tfagiqa.backbones.clip_text import HashTokenizer
    from tfagiqa.methods.sfiqa import model as sfiqa

    resolved = resolve(weights, kind="sfiqa-fusion", what="sfiqa")
    if resolved.random:
        quality, similarity, fusion = (sfiqa.quality_model(sfiqa.PAPER), sfiqa.similarity_model(sfiqa.PAPER),
                                       sfiqa.fusion_model("code"))
    else:
        quality, similarity = _branch(resolved.preset, "quality"), _branch(resolved.preset, "similarity")
        fusion = resolved.preset.load("model")
    text_encoder = next(layer for layer in similarity.layers if hasattr(layer, "vocabulary_size"))
    vocab, context = text_encoder.vocabulary_size, text_encoder.max_sequence_length
    if not resolved.random and vocab == sfiqa.PICKSCORE.vocab_size:
        raise WeightsError("this similarity model uses PickScore's BPE vocabulary, which is not tokenized in the "
                           "graph; score it with tfagiqa.methods.sfiqa.protocol.predict_similarity")
    q_size = quality.input["images"].shape[1]
    clip_size = similarity.input["images"].shape[1]
    images = keras.Input((q_size, q_size, 3), name="images")
    prompt = keras.Input((), dtype="string", name="prompt")
    q = quality({"images": images}, training=False)  # a scorer never runs dropout, whatever its caller passes
    tokens = HashTokenizer(vocab, context, name="tokenizer")(prompt)
    clip_images = keras.layers.Resizing(clip_size, clip_size, interpolation="bicubic", name="clip_resize")(images)
    s = similarity({"images": clip_images, "token_ids": tokens}, training=False)
    p = fusion(keras.layers.Concatenate(name="q_s")([q, s]), training=False)
    outputs = {"overall": _squeeze("overall")(p), "quality": _squeeze("quality")(q),
               "similarity": _squeeze("similarity")(s)}
    return keras.Model({"images": images, "prompt": prompt}, outputs, name="sfiqa_scorer")


SFIQA_QUALITY = ModelEntry(
    name="sfiqa-quality", paper="sfiqa", needs_prompt=False, outputs=("quality",), input_size=256,
    score_range=(0.0, 5.0), label_scale=SCALE, build=build_quality,
    description="SF-IQA quality branch: SwinV2-T multi-level features, L2 pooling, fusion transformer, global+local head",
    weights_help="None (random SwinV2-T) or an sfiqa-quality preset saved by experiments/run_sfiqa.py",
    kinds=("sfiqa-quality",))
SFIQA = ModelEntry(
    name="sfiqa", paper="sfiqa", needs_prompt=True, outputs=("overall", "quality", "similarity"), input_size=256,
    score_range=(0.0, 5.0), label_scale=SCALE, build=build_full,
    description="SF-IQA: quality branch + PickScore-style similarity branch + score fusion MLP (2→10→10→1)",
    weights_help="None (random; PickScore-sized CLIP, ~1B parameters), an sfiqa-fusion preset, or the models/ "
                 "folder of a run_sfiqa.py run", kinds=("sfiqa-fusion",))
ENTRIES = (SFIQA_QUALITY, SFIQA,)
