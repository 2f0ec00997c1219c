"""SF-IQA (Yu et al.; CVPRW/NTIRE 2024): a SwinV2 multi-level quality branch, a PickScore-style similarity branch and
a score-fusion MLP."""

from tfagiqa.methods import Method

METHOD = Method(
    name="sfiqa", title="SF-IQA", paper="sfiqa", package=__name__, benchmark="benchmark",
    summary="SwinV2 multi-level quality branch (SAMA views) + PickScore similarity branch + score-fusion MLP",
    run_script="experiments/run_sfiqa.py", scorers="scorers", tables="tables", figures="figures",
    converters={"swinv2": "tfagiqa.backbones.swinv2_convert"},
)
