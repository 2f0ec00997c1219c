"""DLSR-IQA (Qi, 2023): frozen ResNet152V2 features → small MLP heads → a trainable 5-parameter logistic mapping;
perception, alignment (prompt tokens + T2I model) and the StairReward head."""

from tfagiqa.methods import Method

METHOD = Method(
    name="dlsr", title="DLSR-IQA", paper="dlsr", package=__name__, benchmark="benchmark",
    summary="ResNet152V2 features + prompt tokens → MLP (128, 64) → trainable logistic mapping; StairReward",
    run_script="experiments/run_dlsr.py", scorers="scorers", tables="tables", figures="figures",
)
