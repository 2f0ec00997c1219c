"""Write a file or a folder so that what is on disk is always the old complete version or the new one.

    with atomic_path("scores.csv") as tmp:   # tmp does not exist yet: create a file or a folder there
        tmp.write_text(table)
    # here scores.csv is the new file; had the block raised, or the process been killed, it would be unchanged

The temporary path is a hidden sibling, ``.<name>.<pid>-<token>.partial<suffixes>``: in the same folder, so
the final rename stays on one file system, and ending in the target's last two suffixes, so that writers that
check the name (Keras' ``.keras`` and ``.weights.h5``, NumPy's ``.npy``) accept it. When the block ends, the
new file's or folder's contents are flushed to disk (fsync), then

* a file is moved in with ``os.replace`` (atomic on POSIX and Windows; the old file's permissions are kept);
* a folder is swapped with the old one in one atomic step by Linux's ``renameat2(RENAME_EXCHANGE)`` and the
  old one deleted afterwards. Where that call does not exist (other systems, old kernels) the old folder is
  moved aside first, which leaves a moment in which neither exists.

A file never replaces a folder nor a folder a file (a TfagiqaError says so). Partial paths left beside the
target by a killed process are removed by the next write to the same target.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
from collections.abc import Collection, Iterator
from pathlib import Path

from tfagiqa.errors import TfagiqaError

MARKER = ".partial"
RENAME_EXCHANGE = 2  # linux/fs.h
AT_FDCWD = -100


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary sibling of ``path``; publish what the block created there onto ``path``.

    The block may create a file or a folder at the yielded path (or write nothing: then ``path`` is left
    as it is). If the block raises, the temporary path is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}{MARKER}{''.join(path.suffixes[-2:])}")
    try:
        yield temporary
        if temporary.exists() or temporary.is_symlink():
            _publish(temporary, path)
    except BaseException:
        _remove(temporary)
        raise


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike, owns: Collection[str]) -> Iterator[Path]:
    """:func:`atomic_path` for an output folder a command writes as a whole: yields an empty temporary folder.

    An existing folder at ``path`` is replaced only if it holds nothing but entries named in ``owns`` (what
    the command writes), so that no unrelated file is deleted; otherwise a TfagiqaError names the others.
    """
    path = Path(path)
    if path.is_dir():
        foreign = sorted(p.name for p in path.iterdir() if p.name not in owns)
        if foreign:
            raise TfagiqaError(f"{path} holds {foreign[:5]}{' ...' if len(foreign) > 5 else ''}, which this command "
                               "does not write; refusing to replace that folder. Choose a new or empty output folder.")
    with atomic_path(path) as temporary:
        temporary.mkdir()
        yield temporary


def write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Atomically replace ``path`` with ``text``."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding=encoding)
    return Path(path)


def _publish(temporary: Path, path: Path) -> None:
    """Flush ``temporary`` to disk and move it onto ``path`` (exchange for folders), then flush the folder."""
    new_is_dir = temporary.is_dir() and not temporary.is_symlink()
    if path.exists() and path.is_dir() != new_is_dir:
        kinds = ("folder", "file") if path.is_dir() else ("file", "folder")
        raise TfagiqaError(f"{path} is a {kinds[0]}; refusing to replace it with a {kinds[1]}. "
                           "Choose another output path or remove it first.")
    _fsync_tree(temporary)
    if not new_is_dir:
        if path.is_file():
            shutil.copymode(path, temporary)
        os.replace(temporary, path)
    elif not path.exists():
        os.rename(temporary, path)
    elif _exchange(temporary, path):
        _remove(temporary)  # now holds the old folder
    else:
        aside = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}{MARKER}.old")
        os.rename(path, aside)
        os.rename(temporary, path)
        _remove(aside)
    _fsync(path.parent)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically with renameat2(RENAME_EXCHANGE); False where the system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    result = renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE)
    if result == 0:
        return True
    error = ctypes.get_errno()
    if error in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: this file system or kernel cannot exchange
        return False
    raise OSError(error, os.strerror(error), str(second))


def _fsync_tree(path: Path) -> None:
    """fsync a file, or every file and folder under a folder, so the rename publishes complete contents."""
    if path.is_dir() and not path.is_symlink():
        for folder, _, files in os.walk(path):
            for name in files:
                _fsync(Path(folder, name))
            _fsync(Path(folder))
    elif path.is_file():
        _fsync(path)


def _fsync(path: Path) -> None:
    """fsync one file or folder (skipped where the system does not allow opening it, e.g. folders on Windows)."""
    try:
        handle = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass  # some file systems refuse fsync on folders; the data files were synced
    finally:
        os.close(handle)


def _sweep(path: Path) -> None:
    """Remove partial siblings of ``path`` whose writing process no longer runs (it was killed mid-write)."""
    prefix = f".{path.name}."
    try:
        siblings = [p for p in path.parent.iterdir() if p.name.startswith(prefix) and MARKER in p.name]
    except OSError:
        return
    for sibling in siblings:
        pid = sibling.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            _remove(sibling)


def _alive(pid: int) -> bool:
    """Whether a process with this id exists (one we may not signal counts as existing; on Windows, where
    ``os.kill`` would end the process, every process counts as existing)."""
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _remove(path: Path) -> None:
    """Delete a file, link or folder if present."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
