"""Stand-in bytes are pinned: the same (layout, n, seed, size) writes the same files as before the stand-ins were
split into tfagiqa/data/standins/ (and as in every later version), and every registered layout reads back.

The AI-generated-image hashes are those of the single-module ``tfagiqa/data/synthetic.py`` (commit 29c00b3),
byte for byte (PKU-I2IQA's, added later, pins its first version). The NR-IQA hashes are those of the old
``nriqa_synthetic.py`` output with the MATLAB header text made fixed: scipy used to stamp the writing time there,
so the old .mat files differed from run to run; everything after the 116-byte header is unchanged. The bytes depend on the encoders (Pillow's JPEG, zlib,
openpyxl, scipy) and on NumPy's random streams, so the pins hold for the library versions below; with others
the test is skipped, saying which differ.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import openpyxl
import pandas
import PIL
import pytest
import scipy

from tfagiqa.data import registry
from tfagiqa.data.synthetic import write_synthetic

PINNED_WITH = {"numpy": "2.4.6", "Pillow": "13.0.0", "openpyxl": "3.1.5", "scipy": "1.17.1", "pandas": "3.1.1"}
AIGC_PINS = {  # n=30, seed=0, image_size=32
    "agiqa1k": "8484e41a92e28e4d02126bdf93c283e4ade4ecd128d2630098c4f97ae706cf89",
    "agiqa3k": "c6c4119b6c0891dc3efeb2e9f381e97b0b89dc7522acaf6360346dbb35a19868",
    "aigciqa2023": "8b288247df6d97ba9f55d7d91c6ad38cae43ed91d8e39c9072e96300ac483273",
    "aigiqa20k": "489235a51ee6d4c8d1bd1dbb22966a7c38b2d1c231db6deea24330921e5b51cd",
    "pku_i2iqa": "ee4aad35e9719b517f1660022ea8e8ba06c4731464cbe849a4ab37fb9225fd58",  # new: its first version
}
NRIQA_PINS = {  # n=8, seed=0 (always 96 px)
    "koniq10k": "7124ed819b706b17d2374e97fcc89e848218e01b1dad074b6f5d2d749dd9292f",
    "livec": "a666faed639f22c0b27e09d2e3ca3a2d779082f41d1ac5d1346ae1625b434efe",
    "live": "5e271a9c650245045fb0bc195351f9e5848eb912ca7f5560453e6109cd64f0b5",
    "kadid10k": "17c9652bcd1a65ba817a6a81f9125cd97b2d72da33f2d4dfe34898a7ab4c4623",
}


def folder_hash(folder: Path) -> str:
    """sha256 over every file's relative path and bytes, in path order."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def same_libraries() -> None:
    """Skip, naming the libraries whose versions differ from those the pins were taken with."""
    found = {"numpy": np.__version__, "Pillow": PIL.__version__, "openpyxl": openpyxl.__version__,
             "scipy": scipy.__version__, "pandas": pandas.__version__}
    differ = {k: f"{found[k]} (pinned with {v})" for k, v in PINNED_WITH.items() if found[k] != v}
    if differ:
        pytest.skip(f"stand-in bytes are pinned for other library versions: {differ}")


@pytest.mark.parametrize("layout", sorted(AIGC_PINS))
def test_generated_image_standins_keep_their_bytes(tmp_path, layout):
    same_libraries()
    folder = write_synthetic(layout, tmp_path / registry.get(layout).folder, n=30, seed=0, image_size=32)
    assert folder_hash(folder) == AIGC_PINS[layout]


@pytest.mark.parametrize("layout", sorted(NRIQA_PINS))
def test_nriqa_standins_keep_their_bytes_and_read_back(tmp_path, layout):
    record = registry.get(layout)
    folder = write_synthetic(layout, tmp_path / record.folder, n=8, seed=0)
    df = record.reader(folder)
    assert df.attrs["data"] == "synthetic" and len(df) >= 8 and df["quality01"].between(0, 1).all()
    same_libraries()
    assert folder_hash(folder) == NRIQA_PINS[layout]


def test_every_registered_layout_has_a_pin():
    assert set(AIGC_PINS) | set(NRIQA_PINS) == set(registry.names())
