"""Safe file writes and reads: atomic writes that honour the umask, JSON helpers, regular-file-only reads.

A write goes to a new temporary file in the target's folder, is flushed to disk, then renamed over the
target, so a reader sees the old file or the new one, never half of one. The temporary file is created
with mode 0666 and the kernel applies the process umask, exactly as for `open(path, "w")` (0644 under
umask 022), without reading or changing the umask (which is process-wide and racy to read).
"""
from __future__ import annotations

import json
import lzma
import os
import secrets
import stat
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path

from segcore.limits import MAX_JSON_BYTES  # JSON files (run metadata, evaluations) larger than this are refused

# What reading a zip entry raises when its bytes are damaged: zipfile's own errors, and those of the decompressors
# it hands the bytes to (a damaged deflate stream is a zlib.error, a damaged LZMA one an LZMAError).
UNZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError,
                zlib.error, lzma.LZMAError)

_NEW_FILE_MODE = 0o666  # reduced by the umask, as for any file a program creates


class NotARegularFile(OSError):
    """A path that exists but is a FIFO, device, socket or folder: opening it could block or read forever."""


def _create_temp(folder: Path, name: str, suffix: str) -> tuple[int, Path]:
    """A new, exclusive temporary file in `folder` (mode 0666 minus the umask), as (fd, path)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = folder / f".{name}.{secrets.token_hex(6)}{suffix}"
        try:
            return os.open(tmp, flags, _NEW_FILE_MODE), tmp
        except FileExistsError:
            continue


@contextmanager
def atomic_path(path, *, suffix: str = ".tmp"):
    """Yield a fresh temporary path next to `path` for a writer that needs a path (e.g. Keras' model.save);
    on success it is renamed over `path` with the mode a newly created file gets; on failure it is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path.parent, path.name, suffix)
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        os.close(fd)
        yield tmp
        os.chmod(tmp, mode)           # the writer may have replaced the file with one of its own mode
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write `data` to `path` atomically (temporary file in the same folder, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path.parent, path.name, ".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_json(path, obj) -> Path:
    """`obj` as indented JSON (NaN refused: JSON has no NaN), written atomically."""
    return atomic_write_bytes(path, (json.dumps(obj, indent=1, allow_nan=False) + "\n").encode())


def read_regular_bytes(path, *, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most `max_bytes`.

    Opened without blocking and checked with fstat on the open descriptor, so a FIFO (or a path swapped for
    one) is refused instead of hanging the reader. Raises FileNotFoundError, NotARegularFile, or ValueError
    (too large), each with a message naming the file.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise NotARegularFile(f"{path}: is a folder, not a {what}") from None
    try:
        # Checked on the descriptor before wrapping it: opening a folder read-only succeeds on Linux, and only
        # the file object would refuse it (IsADirectoryError), skipping this check.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile(f"{path}: not a regular file (a folder, FIFO, device or socket); use a real {what}")
        if info.st_size > max_bytes:
            raise ValueError(f"{path.name}: file is {info.st_size / 2**20:.1f} MB, over the "
                             f"{max_bytes / 2**20:.0f} MB limit")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:   # the file grew while being read
        raise ValueError(f"{path.name}: file is over the {max_bytes / 2**20:.0f} MB limit")
    return data


def is_regular_file(path) -> bool:
    """True for a regular file (symlinks followed); never opens the path, so a FIFO can't block it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def changed_stamp(paths) -> tuple:
    """(path, modification time, size) of each of `paths` that exists, sorted: a cache key that changes when a file
    is written, added or removed. A file removed while it is being read is left out, not an error (a run deleted
    or rewritten while a page reads its folder), and so is a None path (a file a listing no longer has)."""
    stamped = []
    for path in sorted(path for path in paths if path is not None):
        try:
            info = Path(path).stat()
        except FileNotFoundError:
            continue
        stamped.append((str(path), info.st_mtime_ns, info.st_size))
    return tuple(stamped)


def read_json(path, *, max_bytes: int = MAX_JSON_BYTES):
    """Parsed JSON of a regular file. Raises ValueError with one line naming the file and what is wrong."""
    try:
        data = read_regular_bytes(path, max_bytes=max_bytes, what="JSON file")
    except (OSError, ValueError) as err:   # missing, not a regular file, over the limit, unreadable
        raise ValueError(f"unreadable JSON, {err}") from None
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: unreadable JSON ({err})") from None
    except RecursionError:
        raise ValueError(f"{path}: unreadable JSON (nested too deeply)") from None
