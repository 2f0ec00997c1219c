"""ImageReward (Xu et al., 2023): BLIP's image-conditioned prompt feature and a reward MLP; fine-tuned with its rank
loss for the Hypernet paper's Table IV."""

from tfagiqa.methods import Method

METHOD = Method(
    name="imagereward", title="ImageReward", package=__name__, benchmark="benchmark",
    summary="BLIP ViT-L/16 + BERT cross-attending to the image → reward MLP; rank-loss fine-tuning",
    scorers="scorers", converters={"imagereward": "convert"},
)
