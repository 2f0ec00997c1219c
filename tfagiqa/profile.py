"""The size of a run, one type for every method: epochs, batch, image size, learning rate, repeats, tiny networks."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Profile:
    """How big a run is. ``smoke``: minutes on 2 CPU cores (tiny networks where ``tiny``); ``paper``: the paper's
    setting. Settings only one method has live in ``options`` and read as attributes (``profile.aug_views``)."""

    name: str
    epochs: int
    batch_size: int
    image_size: int | None = None
    learning_rate: float | None = None
    repeats: int = 1
    tiny: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        options = self.__dict__.get("options", {})
        if name in options:
            return options[name]
        raise AttributeError(f"profile {self.__dict__.get('name')!r} has no setting {name!r}")

    def but(self, **changes: Any) -> Profile:
        """A copy with some settings changed (``None`` values leave a setting as it is)."""
        own = {f.name for f in dataclasses.fields(self)}
        changes = {k: v for k, v in changes.items() if v is not None}
        options = {**self.options, **{k: v for k, v in changes.items() if k not in own}}
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if k in own}, options=options)
