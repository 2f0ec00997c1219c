"""Each paper's experimental protocol: which data, which splits, how models are trained, selected and scored."""
