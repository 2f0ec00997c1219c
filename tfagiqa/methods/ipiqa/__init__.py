"""IP-IQA (Qu, Li, Gao; ICME 2024): CLIP RN50 dual encoder, Image2Prompt pre-training, a [QA] token, a visual and a
cross-modal attention pool."""

from tfagiqa.methods import Method

METHOD = Method(
    name="ipiqa", title="IP-IQA", paper="ipiqa", package=__name__, benchmark="benchmark",
    summary="CLIP RN50 dual encoder, [QA] token, attention pool + cross-modal attention pool, Image2Prompt",
    run_script="experiments/run_ipiqa.py", scorers="scorers", tables="tables", figures="figures",
    converters={"clip": "tfagiqa.backbones.clip_convert", "ipiqa": "convert"},
)
