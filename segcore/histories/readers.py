"""Read a history from a run folder, a Keras CSVLogger CSV, a History JSON, TensorBoard logs or an upload.

Sizes, columns and rows are bounded before anything is parsed in full, so a hostile file is refused fast
with a one-line HistoryError instead of tying the server up.
"""
from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from segcore.histories import tensorboard
from segcore.histories.frames import (CLOCK_COLUMNS, MAX_BYTES, MAX_COLUMNS, MAX_ROWS, HistoryError, finish,
                                      is_metric, too_many_columns, too_many_rows)
from segcore.runs import HISTORY_FILE, META_FILE
from segcore.train_config import trains_on_val

LOGS_DIR = "logs"              # where `segcore train` writes its TensorBoard logs inside a run folder
_MAX_META_BYTES = 1024 * 1024
_CSV_EXPECTED = "expected a Keras CSVLogger CSV with an 'epoch' column and numeric metric columns"
_JSON_EXPECTED = 'expected a Keras History.history JSON object of equal-length lists, like {"loss": [...], "val_loss": [...]}'


def read_history(source, name: str | None = None, *, max_bytes: int = MAX_BYTES) -> pd.DataFrame:
    """Read a history from a path (file, run folder, TensorBoard log folder) or an upload given as (filename, bytes).

    Uploads may be a .zip of a TensorBoard log folder (train/ and validation/ inside): one run, both splits.
    The frame's attrs hold "name" (`name`, or the run folder / file stem), "source", "warnings" (NaN/inf
    values kept as gaps, damaged event files) and, for run folders, "input_size" ("240x320"), "dataset"
    and "val_split" from the run's meta.json (None when unknown, as for uploads).
    """
    context = {"input_size": None, "dataset": None, "val_split": None}
    if isinstance(source, tuple):
        filename, data = source
        label, data = str(filename), bytes(data)
        _check_size(label, len(data), max_bytes)
        if data[:4] == b"PK\x03\x04" or label.lower().endswith(".zip"):
            frame = tensorboard.read_event_files(tensorboard.files_in_zip(data, label, max_bytes), label)
        elif "tfevents" in label:
            frame = tensorboard.read_event_files([(Path(label).name, data, "train")], label)
        else:
            frame = _read_text(data, label)
        default_name = Path(label).stem
    else:
        path = Path(source)
        label = str(path)
        if path.is_dir():
            if (path / HISTORY_FILE).is_file():      # a run folder: its CSV is the authoritative record
                return read_history(path / HISTORY_FILE, name or path.name, max_bytes=max_bytes)
            frame = tensorboard.read_event_files(tensorboard.files_in_folder(path, label, max_bytes), label)
            run_folder = path.parent if path.name == LOGS_DIR else path
            default_name = run_folder.name
            context = run_context(run_folder)
        elif path.is_file():
            _check_size(label, path.stat().st_size, max_bytes)
            if "tfevents" in path.name:
                files = [(path.name, path.read_bytes(), tensorboard.split_of(path.parent.name))]
                frame = tensorboard.read_event_files(files, label)
            else:
                frame = _read_text(path.read_bytes(), label)
            if path.name == HISTORY_FILE:
                default_name, context = path.parent.name, run_context(path.parent)
            else:
                default_name = path.stem
        else:
            raise HistoryError(f"{label}: no such file or folder")
    frame.attrs.update(name=name or default_name, source=label, **context)
    return frame


def _check_size(label: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise HistoryError(f"{label}: {size:,} bytes is over the {max_bytes:,}-byte limit for a history file")


def run_context(run_folder: Path) -> dict:
    """What a run's meta.json says about where its logged metrics come from; None for anything unknown.

    A missing or malformed meta.json is not an error here: the curves are still worth showing.
    """
    context = {"input_size": None, "dataset": None, "val_split": None, "hardware": None}
    path = Path(run_folder) / META_FILE
    try:
        if not path.is_file() or path.stat().st_size > _MAX_META_BYTES:
            return context
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return context
    if not isinstance(meta, dict):
        return context
    size = meta.get("input_size")
    if (isinstance(size, list) and len(size) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 100_000 for v in size)):
        context["input_size"] = f"{size[0]}x{size[1]}"                 # height x width, as the CLI takes it
    context["hardware"] = describe_hardware(meta.get("hardware"))
    dataset, config = meta.get("dataset"), meta.get("config")
    if isinstance(dataset, dict) and isinstance(dataset.get("name"), str):
        context["dataset"] = dataset["name"][:100]
    if isinstance(config, dict) and isinstance(config.get("holdout_sequence"), str):
        # Validated on a train sequence it never trained on (segcore train --holdout-sequence), not on a split.
        context["val_split"] = f"train sequence {config['holdout_sequence'][:40]} held out"
    elif isinstance(config, dict) and isinstance(config.get("val_split"), str):
        # A final model trained on train+val: its val curve is a training curve, and says so.
        trained_on = isinstance(config.get("train_split"), str) and trains_on_val(config)
        context["val_split"] = f"{config['val_split'][:100]} split" + (", also trained on" if trained_on else "")
        context["keeps_last_epoch"] = trained_on
    elif context["dataset"]:
        context["val_split"] = "val split"                               # train's default
    return context


def describe_hardware(hardware) -> str | None:
    """meta.json's "hardware" in words ("NVIDIA H200, Keras on jax", "CPU, 2 cores, Keras on tensorflow"; several
    machines joined by "then"); None where it is missing or not what segcore train writes."""
    if not isinstance(hardware, list):
        return None
    said = []
    for machine in hardware[:8]:
        if not isinstance(machine, dict):
            return None
        accelerators, cores, backend = machine.get("accelerators"), machine.get("cpu_cores"), machine.get("backend")
        if isinstance(accelerators, list) and accelerators and all(isinstance(a, str) for a in accelerators):
            names = sorted(set(accelerators))
            where = ", ".join(f"{accelerators.count(n)} x {n[:60]}" if accelerators.count(n) > 1 else n[:60]
                              for n in names)
        elif isinstance(cores, int) and not isinstance(cores, bool) and 0 < cores < 100_000:
            where = f"CPU, {cores} cores"
        else:
            return None
        said.append(where + (f", Keras on {backend[:20]}" if isinstance(backend, str) else ""))
    return " then ".join(said) or None


def _read_text(data: bytes, label: str) -> pd.DataFrame:
    if not data.strip():
        raise HistoryError(f"{label}: the file is empty; {_CSV_EXPECTED}")
    try:
        text = data.decode("utf-8-sig")           # -sig: spreadsheets save CSVs with a byte-order mark
    except UnicodeDecodeError as exc:
        raise HistoryError(f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start}); expected a CSV, a JSON "
                           "history, a TensorBoard events.out.tfevents.* file or a .zip of a log folder") from None
    if label.lower().endswith(".json") or text.lstrip()[:1] in ("{", "["):
        return _read_json(text, label)
    return _read_csv(text, label)


def _read_csv(text: str, label: str) -> pd.DataFrame:
    text = text.lstrip()
    header = text[:text.find("\n")] if "\n" in text else text
    sep = next((s for s in (",", "\t", ";") if s in header), ",")   # CSVLogger's separator is configurable
    # Bounds first, from the header and the line count: pandas is only asked to parse a bounded table.
    if header.count(sep) + 1 > MAX_COLUMNS + 1:                      # +1: the epoch column
        raise too_many_columns(label, header.count(sep) + 1)
    rows = text.rstrip().count("\n")
    if rows > MAX_ROWS:
        raise too_many_rows(label, rows)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise HistoryError(f"{label}: malformed CSV ({str(exc).strip()}); {_CSV_EXPECTED}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    epoch = [c for c in frame.columns if c.lower() == "epoch"]
    if not epoch:
        shown = ", ".join(frame.columns[:12]) + (", ..." if len(frame.columns) > 12 else "")
        raise HistoryError(f"{label}: no 'epoch' column (columns: {shown}); {_CSV_EXPECTED}")
    frame = frame.rename(columns={epoch[0]: "epoch"})
    columns, vectors = {}, []
    for position, column in enumerate(frame.columns):
        if column != "epoch" and column not in CLOCK_COLUMNS and not is_metric(column):
            continue
        values = frame.iloc[:, position]
        numbers = pd.to_numeric(values, errors="coerce")     # the C parser already made numbers of most
        bad = values.notna() & numbers.isna()
        if column != "epoch" and bad.any() and numbers.isna().all() and values[bad].map(_is_vector).all():
            vectors.append(column)     # CSVLogger writes a per-class metric (F1Score(average=None)) as "[0.1, 0.2]"
            continue
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise HistoryError(f"{label}: column '{column}' has non-numeric values "
                               f"(e.g. {values.iloc[row]!r} in data row {row + 1}); {_CSV_EXPECTED}")
        columns[column] = numbers.to_numpy(dtype=float)
    notes = tuple(f"{column}: one value per class at each epoch, not drawn (a curve needs one number per epoch)"
                  for column in vectors)
    # One frame in one step: inserting columns one by one was quadratic in the column count.
    step = [position for position, column in enumerate(frame.columns) if column.lower() == "step"]
    steps = pd.to_numeric(frame.iloc[:, step[0]], errors="coerce").to_numpy(dtype=float) if step else None
    return finish(pd.DataFrame(columns), label, _CSV_EXPECTED, notes=notes, steps=steps)


def _is_vector(cell) -> bool:
    text = str(cell).strip().strip('"').strip()
    return text.startswith("[") and text.endswith("]")


def _read_json(text: str, label: str) -> pd.DataFrame:
    try:
        data = json.loads(text)                    # accepts NaN/Infinity, which Python's json writes
    except json.JSONDecodeError as exc:
        raise HistoryError(f"{label}: invalid JSON ({exc}); {_JSON_EXPECTED}") from None
    except RecursionError:
        raise HistoryError(f"{label}: JSON nested too deeply to be a history; {_JSON_EXPECTED}") from None
    if isinstance(data, dict) and isinstance(data.get("history"), dict):
        # A whole Keras History object: its "epoch" list numbers the rows (from initial_epoch on a resumed fit).
        epochs = data.get("epoch")
        data = data["history"]
        if isinstance(epochs, list) and "epoch" not in data:
            data = {"epoch": epochs, **data}
    if not isinstance(data, dict) or not data:
        raise HistoryError(f"{label}: JSON holds {type(data).__name__ if data else 'nothing'}, not a history; {_JSON_EXPECTED}")
    if len(data) > MAX_COLUMNS + 1:
        raise too_many_columns(label, len(data))
    not_lists = [key for key, values in data.items() if not isinstance(values, list)]
    if not_lists:
        shown = ", ".join(map(repr, not_lists[:5])) + (", ..." if len(not_lists) > 5 else "")
        raise HistoryError(f"{label}: values of {shown} are not lists; {_JSON_EXPECTED}")
    lengths = {key: len(values) for key, values in data.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k}: {n}" for k, n in list(lengths.items())[:6])
        raise HistoryError(f"{label}: lists of unequal length ({shown}); {_JSON_EXPECTED}")
    if max(lengths.values()) > MAX_ROWS:
        raise too_many_rows(label, max(lengths.values()))
    for key, values in data.items():
        if not all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values):
            raise HistoryError(f"{label}: {key!r} has non-numeric values; {_JSON_EXPECTED}")
    try:
        frame = pd.DataFrame({str(k): np.array([math.nan if v is None else v for v in values], dtype=float)
                              for k, values in data.items()})
    except OverflowError:     # an integer of hundreds of digits: no float holds it
        raise HistoryError(f"{label}: a number too large for a metric; {_JSON_EXPECTED}") from None
    if "epoch" not in frame.columns:
        frame.insert(0, "epoch", np.arange(len(frame), dtype=float))    # History lists are indexed by epoch
    return finish(frame, label, _JSON_EXPECTED)


def discover_histories(models_dir) -> dict[str, Path]:
    """Every run under `models_dir` with a history, as {run name: path}, sorted by run name: its history.csv,
    or its logs/ folder (TensorBoard train/ and validation/) when it has no CSV."""
    root = Path(models_dir)
    if not root.is_dir():
        return {}
    found, inside = {}, root.resolve()
    # As segcore.runs.discover_runs: no hidden folder (an import being built), nothing linked in from outside.
    try:
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:         # an unreadable models folder: Home says so (segcore.runs.discover_runs)
        return {}
    for run in folders:
        try:
            if not run.resolve().is_relative_to(inside):
                continue
            history, logs = run / HISTORY_FILE, run / LOGS_DIR
            if history.is_file() and history.resolve().is_relative_to(inside):
                found[run.name] = history
            elif logs.is_dir() and logs.resolve().is_relative_to(inside) and next(logs.rglob("*tfevents*"), None):
                found[run.name] = logs
        except OSError:     # an unreadable run folder: listed as broken with its reason by discover_runs
            continue
    return found
