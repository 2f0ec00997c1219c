"""tfagiqa: four AI-generated image quality assessment methods in Keras 3, under one protocol."""

__version__ = "0.1.0"
