"""Keras layers shared by several methods (a method's own layers live in its folder under ``tfagiqa.methods``)."""
