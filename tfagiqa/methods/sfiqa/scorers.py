"""SF-IQA in the catalogue: ``sfiqa-quality`` (image → quality, the quality branch alone) and ``sfiqa`` (image +
prompt → overall, with the quality and similarity branch scores beside it).

``weights`` (nothing is ever downloaded here):

* ``None``: the paper's architecture (SwinV2-T at 256 px; for ``sfiqa`` also a PickScore-shaped CLIP ViT-H/14,
  about a billion parameters), randomly initialised, prompts tokenized in the graph by the hash tokenizer;
* ``sfiqa-quality``: a quality model ``.keras`` saved by ``experiments/run_sfiqa.py`` (``<out>/models/``);
* ``sfiqa``: that ``models/`` folder; its ``<dataset>_quality_<label>_splitK.keras``,
  ``<dataset>_similarity_<label>_splitK.keras`` and ``<dataset>_fusion_code_<label>_splitK.keras``
  (first split found) are combined. Similarity models fine-tuned from PickScore use its BPE vocabulary, which is not
  tokenized in the graph: those are refused (score them with ``tfagiqa.methods.sfiqa.protocol.predict_similarity``).

The scorer's image input is the 256-px view itself: at exactly 256 px SAMA's two scales coincide, so the view is the
image. To score a larger image as the paper does, make its SAMA view first (``tfagiqa.methods.sfiqa.sama.sama``).
"""

from __future__ import annotations

from pathlib import Path

from tfagiqa.catalogue import ModelEntry
from tfagiqa.errors import WeightsError

SCALE = "the training MOS scale (AGIQA-3K / AIGIQA-20K: about [0, 5]; unbounded regression output)"


def _squeeze(name: str):
    import keras

    return keras.layers.Reshape((), name=name)


def _load(path: Path):
    import keras

    if not path.is_file():
        raise WeightsError(f"SF-IQA: no model file at {path} (run experiments/run_sfiqa.py; models go to <out>/models/)")
    return keras.saving.load_model(path, compile=False)  # scoring needs no optimiser (its class is the trainer's)


def build_quality(weights: str | None = None):
    """{"images": [N, 256, 256, 3] in [0, 255]} → {"quality": [N]}."""
    import keras

    from tfagiqa.methods.sfiqa import model as sfiqa

    model = sfiqa.quality_model(sfiqa.PAPER) if weights is None else _load(Path(weights))
    size = model.input["images"].shape[1]
    images = keras.Input((size, size, 3), name="images")
    q = model({"images": images}, training=False)  # a scorer never runs dropout, whatever its caller passes
    return keras.Model({"images": images}, {"quality": _squeeze("quality")(q)},
                       name="sfiqa_quality_scorer")


def _pick(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    if not found:
        raise WeightsError(f"SF-IQA: no {pattern} in {folder} (run experiments/run_sfiqa.py --target overall)")
    return found[0]


def build_full(weights: str | None = None):
    """{"images": [N, 256, 256, 3] in [0, 255], "prompt": [N]} → {"overall", "quality", "similarity": [N]}."""
    import keras

    from tfagiqa.backbones.clip_text import HashTokenizer
    from tfagiqa.methods.sfiqa import model as sfiqa

    if weights is None:
        quality, similarity, fusion = (sfiqa.quality_model(sfiqa.PAPER), sfiqa.similarity_model(sfiqa.PAPER),
                                       sfiqa.fusion_model("code"))
    else:
        folder = Path(weights)
        if not folder.is_dir():
            raise WeightsError(f"SF-IQA: weights must be None or a run's models/ folder; {folder} is not a folder")
        fusion_path = _pick(folder, "*_fusion_code_*.keras")
        stem = fusion_path.name.split("_fusion_code_")
        quality = _load(folder / f"{stem[0]}_quality_{stem[1]}")
        similarity = _load(folder / f"{stem[0]}_similarity_{stem[1]}")
        fusion = _load(fusion_path)
    text_encoder = next(layer for layer in similarity.layers if hasattr(layer, "vocabulary_size"))
    vocab, context = text_encoder.vocabulary_size, text_encoder.max_sequence_length
    if weights is not None and vocab == sfiqa.PICKSCORE.vocab_size:
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
    weights_help="None (random SwinV2-T) or a quality .keras saved by experiments/run_sfiqa.py")
SFIQA = ModelEntry(
    name="sfiqa", paper="sfiqa", needs_prompt=True, outputs=("overall", "quality", "similarity"), input_size=256,
    score_range=(0.0, 5.0), label_scale=SCALE, build=build_full,
    description="SF-IQA: quality branch + PickScore-style similarity branch + score fusion MLP (2→10→10→1)",
    weights_help="None (random; PickScore-sized CLIP, ~1B parameters) or the models/ folder of a run_sfiqa.py run")
ENTRIES = (SFIQA_QUALITY, SFIQA,)
