"""Training backups that survive a kill at any moment, even during their own save (a double checkpoint).

`RUN/backup/` holds two slots, `slot-0/` and `slot-1/`; each end of epoch writes into the slot that does NOT
hold the newest complete backup. A slot is complete when its `state.json` exists and the weights file
matches the size and SHA-256 recorded there. `state.json` is removed before the weights are rewritten and
written (atomically) only after they are on disk, so a kill mid-save leaves the other slot complete, and a
resume takes the newest complete slot.

The weights file is Keras' `.weights.h5` of the compiled model: layer weights and the optimizer's variables
(its step count included). `state.json` adds the epoch count and the best score so far.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from segcore import runs

BACKUP_DIR = "backup"
SLOTS = ("slot-0", "slot-1")
WEIGHTS_FILE = "state.weights.h5"
STATE_FILE = "state.json"


@dataclass
class Backup:
    slot: Path
    epoch: int            # epochs completed when it was written
    state: dict

    @property
    def weights(self) -> Path:
        return self.slot / WEIGHTS_FILE


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _complete(slot: Path) -> Backup | None:
    try:
        state = runs.read_json(slot / STATE_FILE)
        weights = slot / WEIGHTS_FILE
        if not isinstance(state.get("epoch"), int) or weights.stat().st_size != state.get("weights_bytes"):
            return None
        if _sha256(weights) != state.get("weights_sha256"):
            return None
    except (runs.RunError, OSError):
        return None
    return Backup(slot, state["epoch"], state)


def complete_backups(folder) -> list[Backup]:
    """The complete backups under `folder` (a run's backup/), newest first."""
    folder = Path(folder)
    found = [b for b in (_complete(folder / name) for name in SLOTS) if b is not None]
    return sorted(found, key=lambda b: b.epoch, reverse=True)


def restore(model, folder) -> Backup | None:
    """Load the newest complete backup into the compiled `model` and return it; None when there is none.

    One that is complete but won't load (a Keras that reads its file differently, say) is a RunError, not a quiet
    step back to the older slot: the run's epoch count, history and best score are the newest one's.
    """
    backups = complete_backups(folder)
    if not backups:
        return None
    newest = backups[0]
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)   # the file holds optimizer variables too
    try:
        model.load_weights(newest.weights)
    except (OSError, ValueError) as err:
        older = (f"; to go on from epoch {backups[1].epoch} instead, delete {newest.slot} and resume again"
                 if len(backups) > 1 else "")
        raise runs.RunError(f"{newest.weights} (epoch {newest.epoch}) does not load into this model: "
                            f"{str(err).splitlines()[0] if str(err) else type(err).__name__}{older}") from err
    return newest


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(model, folder, epoch: int, extra: dict) -> Path:
    """Write a backup of `model` after `epoch` completed epochs into the older slot; returns that slot."""
    folder = Path(folder)
    newest = complete_backups(folder)
    target = folder / (SLOTS[1] if newest and newest[0].slot.name == SLOTS[0] else SLOTS[0])
    target.mkdir(parents=True, exist_ok=True)
    (target / STATE_FILE).unlink(missing_ok=True)   # the slot is incomplete from here on
    weights = target / WEIGHTS_FILE
    model.save_weights(weights, overwrite=True)
    _fsync(weights)
    runs.write_json(target / STATE_FILE, {**extra, "epoch": epoch, "weights_bytes": weights.stat().st_size,
                                          "weights_sha256": _sha256(weights)})
    return target


def remove(folder) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def callback(folder, extra_state):
    """A Keras callback saving a backup at each epoch end; `extra_state()` gives what state.json adds.

    Put it last in the callback list, so history and meta of an epoch are written before its backup.
    """
    import keras

    class SlotBackup(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            save(self.model, folder, epoch + 1, extra_state())

    return SlotBackup()
