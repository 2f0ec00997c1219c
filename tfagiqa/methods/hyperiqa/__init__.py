"""HyperIQA (Su et al., 2020) and the Hypernet AGIQA paper's variants (Huang): a hyper network that generates a
per-image target network; quality, authenticity, alignment, text-based and hybrid settings."""

from tfagiqa.methods import Method

METHOD = Method(
    name="hyperiqa", title="Hypernet AGIQA (HyperIQA)", paper="hypernet", package=__name__, benchmark="benchmark",
    summary="HyperIQA hyper network generating a per-image target network; quality, authenticity, alignment heads",
    run_script="experiments/run_hypernet.py", scorers="scorers", tables="tables",
    converters={"hyperiqa": "convert"},
)
