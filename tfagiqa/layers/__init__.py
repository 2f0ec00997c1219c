"""Custom Keras layers of the four methods, one concept a file, all serialisable."""

from tfagiqa.layers.logistic import LogisticMapping
from tfagiqa.layers.stair_reward import StairRewardCombine

__all__ = ["LogisticMapping", "StairRewardCombine"]
