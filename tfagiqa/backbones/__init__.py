"""Image backbones and how their weights are resolved (never a silent download)."""
