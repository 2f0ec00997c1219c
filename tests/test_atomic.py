"""tfagiqa.atomic: a process killed (SIGKILL) at a random moment while writing leaves the old complete file or
folder or the new complete one, never a mixture; partial leftovers are swept by the next write."""

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tfagiqa.atomic import atomic_path, write_text
from tfagiqa.errors import TfagiqaError
from tfagiqa.results import append_rows, provenance

ROOT = Path(__file__).resolve().parents[1]
KILLS = 6
CHUNK = 64 * 1024

# The children load the package without running its __init__ (which imports Keras and TensorFlow, seconds a
# process): they need only tfagiqa.atomic and tfagiqa.results, which import neither.
BARE_PACKAGE = f"""
import sys, types
package = types.ModuleType("tfagiqa")
package.__path__ = [{str(ROOT / "tfagiqa")!r}]
sys.modules["tfagiqa"] = package
"""

# The child rewrites the target forever, one version after another, each version self-checking (its number,
# its length and the SHA-256 of its body); it prints "ready" once the first version is complete.
WRITER = BARE_PACKAGE + """
import hashlib, os, sys
from pathlib import Path
from tfagiqa.atomic import atomic_path

target, kind = Path(sys.argv[1]), sys.argv[2]

def write(path, version, part):
    body = os.urandom(4 * 64 * 1024)
    with path.open("wb") as f:
        f.write(f"{version} {part} {len(body)} {hashlib.sha256(body).hexdigest()}\\n".encode())
        for start in range(0, len(body), 64 * 1024):
            f.write(body[start:start + 64 * 1024])
            f.flush()

version = 0
while True:
    with atomic_path(target) as tmp:
        if kind == "file":
            write(tmp, version, "only")
        else:
            tmp.mkdir()
            for part in ("a", "b", "c"):
                write(tmp / f"{part}.bin", version, part)
    if version == 0:
        print("ready", flush=True)
    version += 1
"""

RESULTS_WRITER = BARE_PACKAGE + """
import sys
from tfagiqa.results import append_rows, provenance
row = provenance(paper="dlsr", experiment="kill", dataset="agiqa3k", data="synthetic", weights="random",
                 split="grouped", split_index=0, seed=0, selection="last", profile="smoke")
print("ready", flush=True)
while True:
    append_rows(sys.argv[1], [{**row, "srcc": 0.5, "note": "x" * 2000}] * 50)
"""


def version_of(path: Path, part: str) -> int:
    """The version number of a complete file; fails the test on a torn or mixed one."""
    data = path.read_bytes()
    header, body = data.split(b"\n", 1)
    version, found_part, length, digest = header.decode().split()
    assert found_part == part and int(length) == len(body), f"{path} is incomplete ({len(body)} of {length} bytes)"
    assert hashlib.sha256(body).hexdigest() == digest, f"{path} is corrupt"
    return int(version)


def partials(target: Path) -> list[str]:
    return [p.name for p in target.parent.iterdir() if p.name.startswith(f".{target.name}.")]


def kill_mid_write(script: str, args: list[str], seconds: float) -> None:
    """Start a writer, let it run ``seconds`` after its first complete write, then SIGKILL it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env)
    try:
        assert child.stdout.readline().strip() == b"ready", child.stderr.read().decode()[-2000:]
        time.sleep(seconds)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_sigkill_leaves_old_or_new_complete_version(tmp_path, kind):
    target = tmp_path / ("scores.csv" if kind == "file" else "savedmodel")
    for kill in range(KILLS):
        kill_mid_write(WRITER, [str(target), kind], random.Random(kill).uniform(0.0, 0.15))
        if kind == "file":
            version_of(target, "only")
        else:
            assert sorted(p.name for p in target.iterdir()) == ["a.bin", "b.bin", "c.bin"]
            versions = {version_of(target / f"{part}.bin", part) for part in "abc"}
            assert len(versions) == 1, f"a folder mixing versions {versions}"
    write_text(tmp_path / "other.txt", "unrelated")  # a write elsewhere leaves the target's leftovers alone
    with atomic_path(target) as tmp:  # the next write to the target sweeps the killed writers' partial paths
        if kind == "file":
            tmp.write_bytes(b"final")
        else:
            tmp.mkdir()
            (tmp / "final").write_bytes(b"")
    assert partials(target) == []
    assert (target.read_bytes() == b"final") if kind == "file" else [p.name for p in target.iterdir()] == ["final"]


def test_sigkill_during_results_append_keeps_a_readable_table(tmp_path):
    target = tmp_path / "results.csv"
    for kill in range(3):
        kill_mid_write(RESULTS_WRITER, [str(target)], random.Random(kill).uniform(0.05, 0.4))
        if target.exists():
            table = pd.read_csv(target)
            assert len(table) % 50 == 0 and (table["note"] == "x" * 2000).all()


def test_failed_block_leaves_the_old_file_and_no_partial(tmp_path):
    target = write_text(tmp_path / "out.csv", "old\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer failed")
    assert target.read_text() == "old\n" and partials(target) == []


def test_keeps_permissions_and_suffixes(tmp_path):
    target = write_text(tmp_path / "model.weights.h5", "old")
    target.chmod(0o600)
    with atomic_path(target) as tmp:
        assert tmp.name.endswith(".weights.h5") and tmp.parent == target.parent  # Keras checks the suffix
        tmp.write_text("new")
    assert target.read_text() == "new" and (target.stat().st_mode & 0o777) == 0o600


def test_never_replaces_a_folder_with_a_file_or_back(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(TfagiqaError, match="is a folder; refusing to replace it with a file"):
        write_text(tmp_path / "folder", "x")
    write_text(tmp_path / "file", "x")
    with pytest.raises(TfagiqaError, match="is a file; refusing to replace it with a folder"), \
            atomic_path(tmp_path / "file") as tmp:
        tmp.mkdir()
    assert (tmp_path / "file").read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder"]


def test_append_rows_writes_through_the_helper(tmp_path):
    row = provenance(paper="dlsr", experiment="e", dataset="agiqa3k", data="synthetic", weights="random",
                     split="grouped", split_index=0, seed=0, selection="last", profile="smoke")
    append_rows(tmp_path / "r.csv", [{**row, "srcc": 0.5}])
    append_rows(tmp_path / "r.csv", [{**row, "srcc": 0.6}])
    assert json.loads(pd.read_csv(tmp_path / "r.csv")["srcc"].to_json(orient="values")) == [0.5, 0.6]
    assert partials(tmp_path / "r.csv") == []
