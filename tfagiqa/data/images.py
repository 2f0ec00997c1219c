"""Robust image decoding with Pillow: every file mode becomes uint8 H×W×3 RGB, every failure a DataError.

Conventions (chosen to match what a viewer sees and what the original PyTorch loaders feed the models):

* transparency (RGBA, LA, PA, palette with a transparent index) is composited onto a white background;
* grayscale and 1-bit images are replicated into three equal channels;
* CMYK (e.g. Adobe CMYK JPEG) uses Pillow's plain CMYK→RGB conversion, without ICC colour management;
* 16-bit grayscale (``I;16``, ``I;16B``, ``I;16L``, ``I``) is scaled by 255/65535 with rounding, never clipped;
  16-bit RGB PNGs are reduced by Pillow itself to their high byte (65535 → 255);
* EXIF orientation is ignored, as in ``PIL.Image.open(path).convert("RGB")``;
* multi-frame files (GIF, TIFF) give their first frame;
* a truncated file is an error: the pixels are fully decoded and ``ImageFile.LOAD_TRUNCATED_IMAGES`` is left False.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from tfagiqa.errors import DataError

WHITE = (255, 255, 255, 255)
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Decode ``path`` into a uint8 H×W×3 RGB array, or raise ``DataError("cannot read image <path>: <reason>")``."""
    path = Path(os.fsdecode(path))
    problem = path_problem(path)
    if problem:
        raise DataError(f"cannot read image {path}: {problem}")
    try:
        if path.stat().st_size == 0:
            raise DataError(f"cannot read image {path}: empty file (0 bytes)")
        with Image.open(path) as image:
            image.load()
            return to_rgb(image)
    except DataError:
        raise
    except FileNotFoundError as exc:
        raise DataError(f"cannot read image {path}: file not found") from exc
    except UnidentifiedImageError as exc:
        raise DataError(f"cannot read image {path}: not a recognised image file") from exc
    except OSError as exc:
        reason = exc.strerror if exc.filename is not None and exc.strerror else str(exc) or type(exc).__name__
        raise DataError(f"cannot read image {path}: {reason}") from exc
    except Exception as exc:  # Pillow decoders raise SyntaxError, ValueError, struct.error, EOFError...
        raise DataError(f"cannot read image {path}: {str(exc) or type(exc).__name__}") from exc


def path_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be opened as an image file ("file not found", a folder, a broken link), or None."""
    path = Path(path)
    if path.is_file():
        return None
    if path.is_dir():
        return "it is a folder, not a file"
    if path.is_symlink():
        return f"broken symbolic link to {os.readlink(path)}"
    return "file not found"


def decode_image_bytes(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode an encoded image (e.g. a TFRecord's bytes) with the same conventions as :func:`load_image`."""
    if not data:
        raise DataError(f"cannot read image {name}: empty file (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return to_rgb(image)
    except UnidentifiedImageError as exc:
        raise DataError(f"cannot read image {name}: not a recognised image file") from exc
    except Exception as exc:  # same decoder failures as in load_image
        raise DataError(f"cannot read image {name}: {str(exc) or type(exc).__name__}") from exc


def check_image(path: str | os.PathLike) -> str | None:
    """Fully decode ``path`` and return the error message if it cannot be used, else None (for dataset checks)."""
    try:
        load_image(path)
    except DataError as exc:
        return str(exc)
    return None


def to_rgb(image: Image.Image) -> np.ndarray:
    """Convert a loaded Pillow image of any supported mode to uint8 H×W×3 RGB (see the module conventions)."""
    if image.mode in SIXTEEN_BIT_MODES:
        return np.repeat(scale_16bit(np.asarray(image))[..., None], 3, axis=-1)
    if image.mode == "F":
        raise ValueError("32-bit float images (mode F) have no defined 8-bit range")
    if image.mode in ALPHA_MODES or (image.mode == "P" and "transparency" in image.info):
        image = Image.alpha_composite(Image.new("RGBA", image.size, WHITE), image.convert("RGBA"))
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def scale_16bit(values: np.ndarray) -> np.ndarray:
    """Map 0..65535 to 0..255 by rounding v·255/65535 (values outside 0..65535 are clipped first)."""
    wide = np.clip(values.astype(np.int64), 0, 65535)
    return ((wide * 255 + 32767) // 65535).astype(np.uint8)
