"""IP-IQA in the catalogue: ``ipiqa-agiqa1k`` (image + prompt → overall MOS) and ``ipiqa-agiqa3k`` (→ quality,
alignment), each CLIP RN50 + the visual and cross-modal attention pools + the MLP head at 512 px.

``weights`` (resolved by :func:`tfagiqa.presets.resolve`; nothing is ever downloaded here):

* ``None``: the paper's configuration, randomly initialised, prompts tokenized in the graph by the hash tokenizer;
* ``<out>/models/<experiment>_<dataset>_scorer/``: the ``ipiqa-scorer`` preset ``experiments/run_ipiqa.py`` saves
  (its tokenizer inside: CLIP's BPE when fine-tuned from CLIP, else the hash tokenizer), or its ``.keras`` file
  from an earlier run (``<out>/models/<experiment>_<dataset>_scorer.keras``);
* ``<out>/models/<experiment>_<dataset>/`` (or the earlier ``.keras``): the bare ``ipiqa-model`` saved beside it,
  wrapped with the hash tokenizer (refused when it was fine-tuned from CLIP's BPE vocabulary: use the scorer).
"""

from __future__ import annotations

from tfagiqa.catalogue import ModelEntry
from tfagiqa.errors import WeightsError
from tfagiqa.presets import resolve

IMAGE_SIZE = 512
OUTPUTS = {"agiqa1k": ("overall",), "agiqa3k": ("quality", "alignment")}
CLIP_VOCAB = 49408
KINDS = ("ipiqa-scorer", "ipiqa-model")
WEIGHTS_HELP = ("None (RN50 + text tower at 512 px, random initialisation, no I/O), or the ipiqa-scorer preset "
                "saved by experiments/run_ipiqa.py (<out>/models/<experiment>_<dataset>_scorer/, or an earlier run's "
                "<out>/models/<experiment>_<dataset>_scorer.keras)")


def _build(dataset: str, weights: str | None):
    from tfagiqa.methods.ipiqa import model as ipiqa

    outputs = OUTPUTS[dataset]
    resolved = resolve(weights, kind=KINDS, what=f"ipiqa-{dataset}")
    if resolved.random:
        return ipiqa.scoring_model(ipiqa.build_ipiqa(ipiqa.IPIQAConfig(outputs=outputs)), outputs,
                                   name=f"ipiqa_{dataset}_scorer")
    preset = resolved.preset
    model = preset.load("model")
    path = preset.path("model")
    if "images" in model.input and "prompt" in model.input:
        return model
    if model.output_shape[-1] != len(outputs):
        raise WeightsError(f"{path} predicts {model.output_shape[-1]} score(s); ipiqa-{dataset} needs {len(outputs)}")
    if "token_ids" in model.input and model.get_layer("text_encoder").get_layer("embedding").vocab_size == CLIP_VOCAB:
        raise WeightsError(f"{path} was fine-tuned from CLIP's BPE vocabulary: load the scorer saved beside it "
                           f"({preset.folder.name if not preset.legacy else path.stem}_scorer), which tokenizes "
                           "with CLIP's BPE")
    return ipiqa.scoring_model(model, outputs, name=f"ipiqa_{dataset}_scorer")


def build_agiqa1k(weights: str | None = None):
    """{"images", "prompt"} → {"overall": [N]} (AGIQA-1K's single MOS)."""
    return _build("agiqa1k", weights)


def build_agiqa3k(weights: str | None = None):
    """{"images", "prompt"} → {"quality": [N], "alignment": [N]} (AGIQA-3K's two MOS)."""
    return _build("agiqa3k", weights)


IPIQA_AGIQA1K = ModelEntry(
    name="ipiqa-agiqa1k", paper="ipiqa", needs_prompt=True, outputs=OUTPUTS["agiqa1k"], input_size=IMAGE_SIZE,
    score_range=(0.0, 5.0), label_scale="AGIQA-1K MOS, [0, 5] (unbounded regression output)", build=build_agiqa1k,
    weights_help=WEIGHTS_HELP, kinds=KINDS,
    description="IP-IQA: CLIP RN50 + [QA] prompt, visual and cross-modal attention pools, MLP head (AGIQA-1K)")
IPIQA_AGIQA3K = ModelEntry(
    name="ipiqa-agiqa3k", paper="ipiqa", needs_prompt=True, outputs=OUTPUTS["agiqa3k"], input_size=IMAGE_SIZE,
    score_range=(0.0, 5.0), label_scale="AGIQA-3K MOS, about [0, 5] (unbounded regression output)",
    build=build_agiqa3k, weights_help=WEIGHTS_HELP, kinds=KINDS,
    description="IP-IQA: CLIP RN50 + [QA] prompt, visual and cross-modal attention pools, MLP head (AGIQA-3K)")
ENTRIES = (IPIQA_AGIQA1K, IPIQA_AGIQA3K,)
