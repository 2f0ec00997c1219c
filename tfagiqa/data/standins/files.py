"""Label-file formats of the stand-ins, written so that the same content always gives the same bytes.

The xlsx writer fixes the zip entries' dates and the document's created/modified times; the MATLAB writer
replaces the header text, where scipy stamps the creation time. Without this a stand-in's label files would
differ from run to run although their content is the same.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import scipy.io
from openpyxl import Workbook

MAT_HEADER = b"MATLAB 5.0 MAT-file, tfagiqa synthetic stand-in".ljust(116, b" ")


def write_xlsx(path: Path, rows: list[list], header: list[str] | None) -> None:
    """One-sheet workbook ('Sheet1') with byte-identical output for identical content."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    if header is not None:
        sheet.append(header)
    for row in rows:
        sheet.append([None if isinstance(v, float) and np.isnan(v) else v for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    _normalised_zip(buffer.getvalue(), path)


def _normalised_zip(data: bytes, path: Path) -> None:
    """Re-pack an xlsx with fixed entry dates and fixed document times, so same content gives same bytes."""
    fixed_time = "2024-01-01T00:00:00Z"
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            content = source.read(entry.filename)
            if entry.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>" + fixed_time.encode(), content)
            target.writestr(zipfile.ZipInfo(entry.filename, date_time=(1980, 1, 1, 0, 0, 0)), content, zipfile.ZIP_DEFLATED)


def write_mat(path: Path, variables: dict[str, np.ndarray]) -> None:
    """A MATLAB 5 file with ``variables`` and a fixed header text (creating the folder)."""
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables)
    data = bytearray(buffer.getvalue())
    data[:116] = MAT_HEADER
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))
