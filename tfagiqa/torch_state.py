"""Reading official PyTorch checkpoints as numpy arrays, for the converters (torch is needed only here: the
``torch`` extra).

Each converter module (listed by its method's ``converters``, see :mod:`tfagiqa.methods`) defines ``HELP`` (one
line), ``add_arguments(parser)`` and ``run(args) -> int``; ``tfagiqa convert NAME`` dispatches to it.
"""


def require_torch():
    """Import torch, or fail with how to install it."""
    try:
        import torch
    except ImportError as exc:
        from tfagiqa.errors import TfagiqaError

        raise TfagiqaError("this converter needs PyTorch: pip install 'tfagiqa[torch]' (or pip install torch)") from exc
    return torch


def read_torch_state(path, hint: str) -> dict:
    """A ``torch.save``d checkpoint's tensors as float32 numpy arrays: ``model`` / ``state_dict`` / ``params``
    containers unwrapped, a DataParallel ``module.`` prefix dropped. A missing or unreadable file is a WeightsError
    saying ``hint`` (where the official file comes from)."""
    from pathlib import Path

    from tfagiqa.errors import WeightsError

    torch = require_torch()
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"no checkpoint at {path}. {hint}")
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"cannot read {path} as a torch.save file of tensors ({type(exc).__name__}). {hint}") \
            from exc
    return state_to_numpy(state, path)


def state_to_numpy(state, source) -> dict:
    """:func:`read_torch_state`'s unwrapping (``model``, ``state_dict`` or pyiqa's ``params`` container) and
    conversion, for a state dict already loaded (e.g. TorchScript's)."""
    from tfagiqa.errors import WeightsError

    for key in ("model", "state_dict", "params"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise WeightsError(f"{source} holds no state dict")
    return {k.removeprefix("module."): v.detach().float().cpu().numpy() for k, v in state.items()
            if hasattr(v, "detach")}
