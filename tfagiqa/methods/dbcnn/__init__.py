"""DBCNN (Zhang et al., TCSVT 2018): VGG-16 features (authentic distortions) and an S-CNN pre-trained to classify
synthetic distortions, bilinearly pooled into one quality regressor; a quality baseline of IP-IQA's and SF-IQA's
Table 1."""

from tfagiqa.methods import Method

METHOD = Method(
    name="dbcnn", title="DBCNN (Zhang et al. 2018)", package=__name__,
    summary="VGG-16 conv5_3 and S-CNN features, bilinear pooling, linear head; fine-tuned on the split",
    scorers="scorers", converters={"dbcnn": "convert"}, benchmark="benchmark",
)
