"""CLIP-IQA (Wang, Chan, Loy; AAAI 2023): zero-shot quality as the softmax of an image's CLIP similarities to the
antonym prompts "Good photo." / "Bad photo."; CLIP-IQA+ replaces the prompts' context by 16 learned tokens."""

from tfagiqa.methods import Method

METHOD = Method(
    name="clipiqa", title="CLIP-IQA / CLIP-IQA+", package=__name__, benchmark="benchmark",
    summary="zero-shot CLIP RN50 (positional embedding removed): P('Good photo.' | image) against 'Bad photo.'",
    scorers="scorers", converters={"clipiqa+": "convert"},
)
