"""BRISQUE (Mittal, Moorthy & Bovik 2012): 36 natural-scene statistics of MSCN coefficients and their neighbour
products at two scales, regressed to quality by an RBF ε-SVR."""

from tfagiqa.methods import Method

METHOD = Method(
    name="brisque", title="BRISQUE", package=__name__, benchmark="benchmark", scorers="scorers",
    summary="spatial natural-scene statistics (36 features) and an RBF ε-SVR: LIVE's model or one re-trained "
            "on the split",
)
