"""Model builders, one module per paper, that read like the papers' method sections."""
