"""CNNIQA (Kang et al., CVPR 2014): a one-convolution-layer CNN on locally normalised 32×32 grey patches, trained
from scratch on the split; a quality baseline of IP-IQA's and SF-IQA's Table 1."""

from tfagiqa.methods import Method

METHOD = Method(
    name="cnniqa", title="CNNIQA (Kang et al. 2014)", package=__name__,
    summary="one conv layer with min/max pooling on locally normalised 32×32 grey patches; mean of patch scores",
    scorers="scorers", converters={"cnniqa": "convert"}, benchmark="benchmark",
)
