"""One writer per run folder: `RUN/.lock` holds the training process's pid and host while it runs.

The lock file is created with O_CREAT | O_EXCL, so of two trainers started together exactly one gets it.
A lock whose process is gone (same host, pid not running, or running but started later: a reused pid) is
stale: it is taken over, and `RunLock.took_over` says from whom. A lock from another host can't be checked
from here and is refused like a live one.
"""
from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from segcore import files
from segcore.runs import Run, RunError

LOCK_FILE = ".lock"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux /proc), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]   # field 22; the name in (...) may hold spaces


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # someone else's process: alive
        return True
    return True


def _read(path: Path) -> dict | None:
    try:
        # Regular files only, a few bytes: a FIFO or a link to /dev/zero named .lock must not hang a page.
        owner = json.loads(files.read_regular_bytes(path, max_bytes=4096, what="lock file"))
    except (OSError, ValueError):        # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    return owner if isinstance(owner, dict) and isinstance(owner.get("pid"), int) else None


def _is_stale(owner: dict) -> bool:
    if owner.get("host") != socket.gethostname():
        return False
    if not _alive(owner["pid"]):
        return True
    started = _start_time(owner["pid"])
    return owner.get("started") is not None and started is not None and started != owner["started"]


def live_holder(folder) -> dict | None:
    """The lock's owner while its process runs (or runs on another host, which can't be checked from here); None
    where the folder has no lock or a stale one."""
    owner = _read(Path(folder) / LOCK_FILE)
    return owner if owner is not None and not _is_stale(owner) else None


def training_state(run: Run) -> str | None:
    """"training, epoch N/M" (N done) while a trainer holds the run, "interrupted at epoch N/M" where an unfinished
    training left its backup, else None (finished, or not trained here)."""
    from segcore.train_backup import BACKUP_DIR
    done, total = run.meta.get("epochs_completed"), run.meta.get("epochs")
    whole = all(isinstance(v, int) and not isinstance(v, bool) for v in (done, total))
    epoch = f"epoch {done}/{total}" if whole else "epoch unknown"
    if live_holder(run.path) is not None:
        return f"training, {epoch}"
    if (run.path / BACKUP_DIR).is_dir():
        return f"interrupted at {epoch}; resume with --resume"
    return None


class RunLock:
    """Context manager holding `folder/.lock`; released on exit, also when training raises."""

    def __init__(self, folder):
        self.path = Path(folder) / LOCK_FILE
        self.owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": _start_time(os.getpid()),
                      "since": time.strftime("%Y-%m-%dT%H:%M:%S")}
        self.took_over: dict | None = None
        self._held = False

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(self.owner) + "\n")
        return True

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self._create():
            owner = _read(self.path)
            if owner is None:
                raise RunError(f"{self.path.parent} is locked by {self.path}, which is unreadable; delete it if "
                               "no training is writing to this folder")
            if not _is_stale(owner):
                raise RunError(f"{self.path.parent} is being trained by pid {owner['pid']} on "
                               f"{owner.get('host')}; wait for it or choose another --out")
            self._take_over(owner)
        self._held = True
        return self

    def _take_over(self, stale: dict) -> None:
        # A guard file serialises take-overs: without it, two trainers could both remove the stale lock,
        # the second removing the first one's fresh lock.
        guard = self.path.with_name(LOCK_FILE + ".takeover")
        try:
            os.close(os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            raise RunError(f"another trainer is taking over the stale lock of {self.path.parent}; if none is, "
                           f"delete {guard}") from None
        try:
            if _read(self.path) != stale or not self._unlink_and_create():
                raise RunError(f"{self.path.parent} was just locked by another trainer; choose another --out")
        finally:
            guard.unlink(missing_ok=True)
        self.took_over = stale

    def _unlink_and_create(self) -> bool:
        self.path.unlink(missing_ok=True)
        return self._create()

    def release(self) -> None:
        if self._held and _read(self.path) == self.owner:   # never remove a lock someone else holds
            self.path.unlink(missing_ok=True)
        self._held = False

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
