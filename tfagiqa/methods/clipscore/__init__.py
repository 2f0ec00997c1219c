"""CLIPScore (Hessel et al. 2021), the zero-shot baseline of IP-IQA's Tables 1–2: 2.5·max(cos(image, prompt), 0)
with IP-IQA's CLIP RN50 encoders. Its model lives with the other IP-IQA baselines in
:mod:`tfagiqa.methods.baselines.models`; this folder registers it under its own name so the benchmark lists it."""

from tfagiqa.methods import Method

METHOD = Method(
    name="clipscore", title="CLIPScore", package=__name__, benchmark="benchmark",
    summary="zero-shot 2.5·max(cos(CLIP image, CLIP prompt), 0) with IP-IQA's CLIP RN50 encoders",
)
