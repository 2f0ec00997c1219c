"""Synthetic stand-ins: deterministic datasets written in each real dataset's own file layout.

The real images cannot be shipped or downloaded, so every registered dataset has a stand-in: small rendered
scenes whose latent quality and prompt alignment are known (:mod:`scene`, :mod:`render`), scored by simulated
raters (:mod:`raters`) and written with byte-stable label files (:mod:`files`). The AI-generated-image layouts
share :mod:`generated`'s recipe, the NR-IQA ones :mod:`natural`'s; each layout has its own module exposing a
:class:`StandIn`, which its registry record (:mod:`tfagiqa.data.registry`) names. Writing, reuse and the
``SYNTHETIC.json`` marker are :mod:`tfagiqa.data.synthetic`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StandIn:
    """How a dataset's stand-in is written: ``write(folder, n, seed, image_size)`` writes every file but the
    marker; ``n`` (about how many images) must lie in ``min_n..max_n`` and defaults to ``default_n``.
    ``image_size`` is the fixed drawing size of layouts that have one (the NR-IQA stand-ins: the marker then
    does not record it), None where the caller chooses it."""

    write: Callable[[Path, int, int, int], None]
    default_n: int
    max_n: int
    min_n: int = 1
    image_size: int | None = None
