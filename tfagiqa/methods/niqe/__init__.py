"""NIQE (Mittal, Soundararajan & Bovik 2013): the distance between a multivariate Gaussian fitted to an image's
96×96 patch statistics and one fitted to pristine natural images; opinion-unaware, lower is better."""

from tfagiqa.methods import Method

METHOD = Method(
    name="niqe", title="NIQE", package=__name__, benchmark="benchmark", scorers="scorers",
    summary="opinion-unaware: Mahalanobis-type distance of patch NSS features from a pristine multivariate Gaussian",
)
