"""Converters from the official PyTorch checkpoints to Keras (torch is needed only here: the ``torch`` extra).

Each converter module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``;
``tfagiqa convert NAME`` dispatches to it.
"""

CONVERTERS = {"hyperiqa": "tfagiqa.converters.hyperiqa", "clip": "tfagiqa.converters.clip",
              "swinv2": "tfagiqa.converters.swinv2"}


def require_torch():
    """Import torch, or fail with how to install it."""
    try:
        import torch
    except ImportError as exc:
        from tfagiqa.errors import TfagiqaError

        raise TfagiqaError("this converter needs PyTorch: pip install 'tfagiqa[torch]' (or pip install torch)") from exc
    return torch
