"""Writing a dataset's synthetic stand-in folder: checked parameters, atomic publication, the marker, reuse.

Every registered dataset (:mod:`tfagiqa.data.registry`) has a stand-in written in its real file layout by its
layout module under :mod:`tfagiqa.data.standins`; this module puts it on disk. A stand-in folder carries
``SYNTHETIC.json`` (its parameters), so it is never mistaken for real data nor written over real data, and it is
reused while its parameters match. The same (layout, n, seed, image size) always gives the same bytes.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from tfagiqa.data import registry
from tfagiqa.data.labels import SYNTHETIC_MARKER as MARKER
from tfagiqa.data.standins.generated import TRUTH_FILE
from tfagiqa.errors import DataError

VERSION = 1
NOTE = "synthetic stand-in, not real data"
LAYOUTS = registry.names()
__all__ = ["LAYOUTS", "MARKER", "NOTE", "TRUTH_FILE", "VERSION", "ensure_synthetic", "is_synthetic", "write_synthetic"]


def is_synthetic(dataset_dir: str | Path) -> bool:
    """True when the folder carries the synthetic marker, so it is never mistaken for (or overwrites) real data."""
    return (Path(dataset_dir) / MARKER).is_file()


def write_synthetic(layout: str, out_dir: str | Path, n: int | None = None, seed: int = 0, image_size: int = 96) -> Path:
    """Write a complete synthetic dataset in ``layout``'s real file layout at ``out_dir``, atomically.

    ``n`` is about how many images (the layout's default when None); an existing folder with the same
    parameters is returned as it is, any other non-empty one is refused.
    """
    params = _params(layout, n, seed, image_size)
    out = Path(out_dir)
    if out.exists():
        if _read_marker(out) == params:
            return out
        if not out.is_dir() or any(out.iterdir()):
            raise DataError(f"{out} exists and is not empty; refusing to write a synthetic {layout} dataset over it")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        partial.chmod(0o755)
        _write_layout(layout, partial, params)
        (partial / MARKER).write_text(json.dumps(params, indent=2, sort_keys=True) + "\n")
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return _publish(partial, out, params)


def ensure_synthetic(layout: str, data_root: str | Path, n: int | None = None, seed: int = 0,
                     image_size: int = 96) -> Path:
    """``data_root/<the layout's folder>``, generated on first use, reused while its marker matches, rewritten
    when the parameters change, never written over real data."""
    params = _params(layout, n, seed, image_size)
    target = Path(data_root) / registry.get(layout).folder
    if _read_marker(target) == params:
        return target
    if is_synthetic(target):
        shutil.rmtree(target)
    return write_synthetic(layout, target, params["n"], seed, image_size)


def _params(layout: str, n: int | None, seed: int, image_size: int) -> dict:
    """The marker's content for a request, after checking it against the layout's :class:`StandIn`."""
    standin = registry.get(layout).standin
    n = standin.default_n if n is None else int(n)
    if not standin.min_n <= n <= standin.max_n:
        raise DataError(f"synthetic {layout}: n must be in {standin.min_n}..{standin.max_n}, got {n}")
    if int(seed) < 0:
        raise DataError(f"synthetic {layout}: seed must be >= 0, got {seed}")
    if standin.image_size is not None and image_size != standin.image_size:
        raise DataError(f"synthetic {layout}: its images are always {standin.image_size} px, got image_size={image_size}")
    if image_size < 32:
        raise DataError(f"synthetic images need image_size >= 32, got {image_size}")
    params = {"layout": layout, "n": n, "seed": int(seed), "version": VERSION, "note": NOTE}
    if standin.image_size is None:
        params["image_size"] = int(image_size)
    return params


def _write_layout(layout: str, folder: Path, params: dict) -> None:
    """Every file of the stand-in but the marker, by the layout's writer."""
    standin = registry.get(layout).standin
    standin.write(folder, params["n"], params["seed"], params.get("image_size", standin.image_size))


def _publish(partial: Path, out: Path, params: dict) -> Path:
    """Move the finished folder into place; if another process got there first with the same data, keep theirs."""
    try:
        if out.exists():
            out.rmdir()
        partial.rename(out)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
        if _read_marker(out) != params:
            raise
    return out


def _read_marker(folder: Path) -> dict | None:
    """The marker's content, or None when there is no readable marker."""
    try:
        return json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None
