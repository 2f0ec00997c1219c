"""PickScore (Kirstain et al. 2023), zero-shot: S = exp(t)·cos(E_img(I), E_txt(p)) in the CLIP ViT-H/14 that
PickScore fine-tuned on Pick-a-Pic preferences; SF-IQA's similarity branch starts from it, and SF-IQA's Table 1
lists it as a baseline. The CLIP is the PickScore-shaped one of :mod:`tfagiqa.methods.sfiqa.model`."""

from tfagiqa.methods import Method

METHOD = Method(
    name="pickscore", title="PickScore", package=__name__, scorers="scorers", benchmark="benchmark",
    summary="zero-shot exp(t)·cos(image, prompt) in PickScore's CLIP ViT-H/14 (SF-IQA's similarity branch, unfine-tuned)",
)
