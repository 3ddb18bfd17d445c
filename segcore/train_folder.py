"""A new run's folder: what it may hold before training starts, and what a run that fails before its first epoch
leaves (nothing)."""
from __future__ import annotations

import shutil
from pathlib import Path

from segcore import runs, train_backup
from segcore.run_lock import LOCK_FILE

# What a run folder may hold before its training starts: the lock just taken, an earlier failed run's files.
RUN_FILES = {LOCK_FILE, runs.META_FILE, runs.HISTORY_FILE, runs.AUGMENT_FILE, "logs"}


def check_new_run_folder(out: Path) -> None:
    """RunError if `out` holds anything but RUN_FILES (and TensorBoard files under logs/): a new run replaces an
    old run's logs, and anything else in the folder is someone's, and stays so. A folder not made yet holds nothing
    (a multi-worker run's other workers check it before its chief has made it)."""
    if not out.is_dir():
        return
    foreign = sorted(p.name for p in out.iterdir() if p.name not in RUN_FILES or (
        p.name == "logs" and any(f.is_file() and "tfevents" not in f.name for f in p.rglob("*"))))
    if foreign:
        raise runs.RunError(f"{out} holds files that are not a run's ({', '.join(foreign[:3])}"
                            f"{', ...' if len(foreign) > 3 else ''}); give --out an empty or new folder")


def remove_unstarted(out: Path, created: bool) -> None:
    """What a new run wrote before it failed without finishing an epoch (no backup, no model): nothing to keep,
    and a folder left with a meta.json would read as a broken run. The folder itself goes if the run `created` it."""
    if not out.is_dir() or (out / train_backup.BACKUP_DIR).exists() or (out / runs.MODEL_FILE).exists():
        return
    if created:
        shutil.rmtree(out, ignore_errors=True)
        return
    for name in (runs.META_FILE, runs.HISTORY_FILE, runs.AUGMENT_FILE):
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / "logs", ignore_errors=True)
