"""The ResNet-50 regressor of IP-IQA's Tables 1–2: ResNet-50 → global average pool → a linear head, fine-tuned end
to end with IP-IQA's protocol (random or ImageNet initialisation). Its model lives with the other IP-IQA baselines
in :mod:`tfagiqa.methods.baselines.models`; this folder registers it under its own name so the benchmark lists it."""

from tfagiqa.methods import Method

METHOD = Method(
    name="resnet50", title="ResNet-50 regressor", package=__name__, benchmark="benchmark",
    summary="ResNet-50 → GAP → linear head, fine-tuned on the MOS with IP-IQA's protocol (random / ImageNet init)",
)
