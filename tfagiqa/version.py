"""The package version, in a module of its own so that modules below the package's ``__init__`` (results, presets)
can record it without importing the package itself (which imports them: an import cycle)."""

__version__ = "0.1.0"
