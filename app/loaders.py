"""Cached readers of the dashboard's folders: run and data overviews, a split's samples, data-set image pairs,
training histories and stored evaluations.

Each cache key holds a fingerprint (paths + modification times), so a run that finishes an epoch or a data folder
that gains files shows up on the next rerun without clearing caches by hand. Byte caps: app.cache_budget.
Data folders are read only when they are configured ones (settings().data_folder). TensorFlow is never imported
here: pages that only read files must start fast.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from app import cache_budget as budget
from app.settings import describe_data_dir, describe_models_dir
from app.shell import settings
from segcore import datasets, eval_records, evaluations, histories, runs
from segcore.evaluations import read_evaluation
from segcore.files import changed_stamp
from segcore.imageio import read_pair
from segcore.labels import LabelSchema
from segcore.run_lock import LOCK_FILE, live_holder
from segcore.train_backup import BACKUP_DIR

# ---------------------------------------------------------------------------------------------- fingerprints


def _models_fingerprint(models_dir: Path) -> tuple:
    """What the runs overview depends on: each run's files (any kind of model), its backup and lock, and whether
    the trainer holding a lock still lives (a killed one leaves its .lock unchanged)."""
    if not models_dir.is_dir():
        return ()
    patterns = (f"*/{runs.META_FILE}", *(f"*/{name}" for name in runs.MODEL_FILES.values()), f"*/{runs.HISTORY_FILE}",
                f"*/{runs.EVAL_DIR}/*.json", f"*/{BACKUP_DIR}")
    locks = list(models_dir.glob(f"*/{LOCK_FILE}"))
    files = [models_dir, *locks, *(p for pattern in patterns for p in models_dir.glob(pattern))]
    live = tuple((lock.parent.name, live_holder(lock.parent) is not None) for lock in locks)
    return changed_stamp(files), live


def _folders_fingerprint(root: Path, depth: int = 3) -> tuple:
    """Folder mtimes change when files are added or removed, so folders (not every file) are stamped."""
    if not root.is_dir():
        return ()
    folders = [root] + [p for level in range(1, depth + 1) for p in root.glob("/".join(["*"] * level)) if p.is_dir()]
    return changed_stamp(folders)


# ---------------------------------------------------------------------------------------------- folders

@st.cache_data(show_spinner=False, max_entries=16, max_size=budget.LISTING_BYTES)
def _runs_overview(models_dir: str, fingerprint: tuple):
    return describe_models_dir(models_dir)


def runs_overview(models_dir: Path) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    return _runs_overview(str(models_dir), _models_fingerprint(models_dir))


@st.cache_data(show_spinner=False, max_entries=16, max_size=budget.LISTING_BYTES)
def _data_overview(data_dir: str, fingerprint: tuple):
    return describe_data_dir(data_dir)


def data_overview(data_dir: Path):
    """(ok, message, layout, {split: pairs}) as describe_data_dir gives it, for a configured data folder only."""
    try:
        data_dir = settings().data_folder(data_dir)
    except datasets.DatasetError as err:
        return False, str(err), None, {}
    return _data_overview(str(data_dir), _folders_fingerprint(data_dir))


@st.cache_data(show_spinner=False, max_entries=64, max_size=budget.LISTING_BYTES)
def _samples(data_dir: str, split: str, fingerprint: tuple) -> list[datasets.Sample]:
    return datasets.list_pairs(data_dir, split)


def samples(data_dir: Path, split: str) -> list[datasets.Sample]:
    """The split's pairs of a configured data folder (DatasetError for any other folder)."""
    data_dir = settings().data_folder(data_dir)
    return _samples(str(data_dir), split, _folders_fingerprint(data_dir))


@st.cache_data(show_spinner=False, max_entries=64, max_size=budget.LISTING_BYTES)
def _dataset_identity(data_dir: str, split: str, fingerprint: tuple) -> dict:
    return evaluations.dataset_identity(data_dir, split)


def dataset_identity(data_dir: Path, split: str) -> dict:
    """{name, path, layout, split, fingerprint} of a configured data folder's split (DatasetError if unreadable)."""
    data_dir = settings().data_folder(data_dir)
    # The fingerprint hashes file sizes: a file rewritten in place changes no folder's mtime, so files are stamped.
    files = [p for p in data_dir.rglob("*") if p.is_file()] if data_dir.is_dir() else []
    return _dataset_identity(str(data_dir), split, (_folders_fingerprint(data_dir), changed_stamp(files)))


@st.cache_data(show_spinner=False, max_entries=64, max_size=budget.LISTING_BYTES)
def _locate_dataset(split: str, fingerprint: str, roots: tuple, stamp: tuple) -> str | None:
    found = evaluations.locate_dataset({"dataset": {"split": split, "fingerprint": fingerprint}}, roots)
    return str(found) if found else None


def locate_dataset(result: dict) -> Path | None:
    """The configured data folder holding the data set `result` was computed on (same fingerprint), or None."""
    config = settings()
    dataset = evaluations.dataset_of(result)
    if not dataset["fingerprint"]:
        return None
    stamp = tuple(_folders_fingerprint(root) for root in config.data_dirs)
    found = _locate_dataset(dataset["split"], str(dataset["fingerprint"]),
                            tuple(str(root) for root in config.data_dirs), stamp)
    return Path(found) if found else None


# ---------------------------------------------------------------------------------------------- files

@st.cache_data(show_spinner=False, max_entries=64, max_size=budget.PAIRS_BYTES)
def _pair(sample: datasets.Sample, schema_json: str, stamp: tuple) -> tuple[np.ndarray, np.ndarray]:
    return read_pair(sample.image, sample.label, LabelSchema.from_json(schema_json))


def pair(sample: datasets.Sample, schema: LabelSchema) -> tuple[np.ndarray, np.ndarray]:
    """(image, train-id mask) of a data-set sample; ImageError for unreadable files."""
    return _pair(sample, schema.to_json(), changed_stamp([sample.image, sample.label]))


@st.cache_data(show_spinner=False, max_entries=64, max_size=budget.HISTORIES_BYTES)
def _history(path: str, name: str, stamp: tuple) -> pd.DataFrame:
    return histories.read_history(path, name)


def history(path: Path, name: str) -> pd.DataFrame:
    """A run's history table (attrs: name, source, warnings); HistoryError for malformed files."""
    # A TensorBoard logs/ folder changes through the event files inside it, not its own mtime; the run's meta.json
    # gives the table's best-epoch rule and what it trained on.
    watched = [path, *(p for p in path.rglob("*") if p.is_file())] if path.is_dir() else [path]
    watched += [folder / runs.META_FILE for folder in (path, path.parent) if (folder / runs.META_FILE).is_file()]
    return _history(str(path), name, changed_stamp(watched))      # cache_data pickles the table; attrs survive that


@st.cache_data(show_spinner=False, max_entries=64, max_size=budget.EVALUATIONS_BYTES)
def _evaluation(path: str, mtime_ns: int) -> dict:
    return read_evaluation(path)


def evaluation(run: runs.Run, key: str) -> dict:
    """A stored evaluation JSON (RunError if unreadable); a rewritten file is re-read (its mtime is in the key)."""
    path = run.evaluations().get(key)
    if path is None:
        raise runs.RunError(f"{run.name}: no evaluation {key}")
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as err:
        raise runs.RunError(f"{run.name}: evaluation {key} can't be read ({err.strerror})") from None
    return _evaluation(str(path), mtime)


def read_evaluations(chosen, key: str, *, fix: str) -> dict[str, dict]:
    """{run name: its stored evaluation `key`}; a run whose copy can't be read is reported (with `fix`, what to do)
    and left out."""
    found = {}
    for run in chosen:
        try:
            found[run.name] = evaluation(run, key)
        except runs.RunError as err:
            st.error(f"{err}. To fix it, {fix}.", icon=":material/error:")
    return found


def clear_evaluations() -> None:
    _evaluation.clear()


def stored_file(run: runs.Run, key: str, record: dict, what: str) -> Path | None:
    """The "prediction", "thumbnail" or "contradicted" file the evaluation `key` stored for `record`, or None (not
    stored, gone, or a path leading out of the run's eval folder)."""
    reader = {"prediction": eval_records.prediction_path, "thumbnail": eval_records.thumbnail_path,
              "contradicted": eval_records.contradicted_path}[what]
    json_path = run.evaluations().get(key)
    return None if json_path is None else reader(json_path, record)
