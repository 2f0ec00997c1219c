"""The papers' baselines that the package runs: a ResNet-50 regressor (random or ImageNet initialisation) and a
zero-shot CLIPScore."""

from tfagiqa.methods import Method

METHOD = Method(
    name="baselines", title="Baselines", package=__name__,
    summary="ResNet-50 regressor (random / ImageNet init) and zero-shot CLIPScore",
)
