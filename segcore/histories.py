"""Training histories: read Keras CSVLogger CSVs, History JSON and TensorBoard logs into one wide frame.

Every reader returns the same shape: an int "epoch" column (0-based, as Keras counts, sorted, unique)
followed by metric columns under canonical names ("loss", "mean_iou", "val_mean_iou", ...), so the
dashboard can compare runs logged by different means. Nothing here imports TensorFlow.
"""
from __future__ import annotations

import io
import json
import math
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from segcore.runs import HISTORY_FILE

MAX_BYTES = 50 * 1024 * 1024  # the dashboard's upload limit (server.maxUploadSize = 50 MB)

_ALIASES = {
    "loss": "loss",
    "accuracy": "pixel_accuracy", "acc": "pixel_accuracy", "pixel_accuracy": "pixel_accuracy",
    "sparse_categorical_accuracy": "pixel_accuracy", "categorical_accuracy": "pixel_accuracy",
    "mean_io_u": "mean_iou", "mean_iou": "mean_iou", "iou": "mean_iou", "iou_score": "mean_iou", "miou": "mean_iou",
    "dice": "dice", "dice_coef": "dice", "f1-score": "dice", "f1_score": "dice",
    "lr": "learning_rate", "learning_rate": "learning_rate",
}
CANONICAL = frozenset(_ALIASES.values())
# Columns some loggers add that are bookkeeping, not metrics.
_NON_METRIC = {"step", "wall_time", "time", "timestamp", "date", "run"}
_VAL_DIRS = {"validation", "val", "valid", "eval"}
_CSV_EXPECTED = "expected a Keras CSVLogger CSV with an 'epoch' column and numeric metric columns"
_JSON_EXPECTED = 'expected a Keras History.history JSON object of equal-length lists, like {"loss": [...], "val_loss": [...]}'


class HistoryError(ValueError):
    """A history file that can't be read; the message names the file and what was expected."""


def canonical_name(raw: str) -> str:
    """Fold a logged metric name to its canonical form, keeping the val_ prefix ("val_mean_io_u" -> "val_mean_iou")."""
    name = raw.strip().lower().replace(" ", "_")
    is_val = False
    for prefix in ("val_", "validation_"):
        if name.startswith(prefix):
            name, is_val = name[len(prefix):], True
    # Keras suffixes a metric's name with _1, _2 when it is instantiated twice ("mean_io_u_1").
    name = _ALIASES.get(name) or _ALIASES.get(re.sub(r"_\d+$", "", name)) or name
    return f"val_{name}" if is_val else name


def lower_is_better(metric: str) -> bool:
    return any(word in metric for word in ("loss", "error", "entropy"))


# ---------------------------------------------------------------------------------------------- reading

def read_history(source, name: str | None = None, *, max_bytes: int = MAX_BYTES) -> pd.DataFrame:
    """Read a history from a path (file or TensorBoard log folder) or an upload given as (filename, bytes).

    The frame's attrs hold "name" (`name`, or the run folder / file stem), "source" and "warnings"
    (missing or non-finite values, which are kept as NaN: diverged runs are worth looking at).
    """
    if isinstance(source, tuple):
        filename, data = source
        label, data = str(filename), bytes(data)
        if len(data) > max_bytes:
            raise HistoryError(f"{label}: {len(data):,} bytes is over the {max_bytes:,}-byte limit for a history file")
        if "tfevents" in label:
            # The record reader wants a path, so the upload goes through a private temporary folder.
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / Path(label).name
                path.write_bytes(data)
                frame = _read_events([(path, "train")], label)
        else:
            frame = _read_text(data, label)
        default_name = Path(label).stem
    else:
        path = Path(source)
        label = str(path)
        if path.is_dir():
            if (path / HISTORY_FILE).is_file():      # a run folder: its CSV is the authoritative record
                return read_history(path / HISTORY_FILE, name or path.name, max_bytes=max_bytes)
            frame = _read_events(_event_files(path, label, max_bytes), label)
            default_name = path.parent.name if path.name == "logs" else path.name   # <run>/logs -> run
        elif path.is_file():
            size = path.stat().st_size
            if size > max_bytes:
                raise HistoryError(f"{label}: {size:,} bytes is over the {max_bytes:,}-byte limit for a history file")
            if "tfevents" in path.name:
                frame = _read_events([(path, _split_of(path.parent.name))], label)
            else:
                frame = _read_text(path.read_bytes(), label)
            default_name = path.parent.name if path.name == HISTORY_FILE else path.stem
        else:
            raise HistoryError(f"{label}: no such file or folder")
    frame.attrs.update(name=name or default_name, source=label)
    return frame


def _read_text(data: bytes, label: str) -> pd.DataFrame:
    if not data.strip():
        raise HistoryError(f"{label}: the file is empty; {_CSV_EXPECTED}")
    try:
        text = data.decode("utf-8-sig")           # -sig: spreadsheets save CSVs with a byte-order mark
    except UnicodeDecodeError as exc:
        raise HistoryError(f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                           "expected a CSV, a JSON history or a TensorBoard events.out.tfevents.* file") from None
    if label.lower().endswith(".json") or text.lstrip()[:1] in ("{", "["):
        return _read_json(text, label)
    return _read_csv(text, label)


def _read_csv(text: str, label: str) -> pd.DataFrame:
    first_line = text.lstrip().splitlines()[0]
    sep = next((s for s in (",", "\t", ";") if s in first_line), ",")   # CSVLogger's separator is configurable
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise HistoryError(f"{label}: malformed CSV ({exc}); {_CSV_EXPECTED}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    epoch = [c for c in frame.columns if c.lower() == "epoch"]
    if not epoch:
        raise HistoryError(f"{label}: no 'epoch' column (columns: {', '.join(frame.columns)}); {_CSV_EXPECTED}")
    frame = frame.rename(columns={epoch[0]: "epoch"})
    frame = frame[[c for c in frame.columns if c == "epoch" or _is_metric(c)]]
    for column in frame.columns:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = frame[column].notna() & numbers.isna()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise HistoryError(f"{label}: column '{column}' has non-numeric values "
                               f"(e.g. {frame[column].iloc[row]!r} in data row {row + 1}); {_CSV_EXPECTED}")
        frame[column] = numbers.astype(float)
    return _finish(frame, label, _CSV_EXPECTED)


def _read_json(text: str, label: str) -> pd.DataFrame:
    try:
        data = json.loads(text)                    # accepts NaN/Infinity, which Python's json writes
    except json.JSONDecodeError as exc:
        raise HistoryError(f"{label}: invalid JSON ({exc}); {_JSON_EXPECTED}") from None
    if isinstance(data, dict) and isinstance(data.get("history"), dict):
        data = data["history"]
    if not isinstance(data, dict) or not data:
        raise HistoryError(f"{label}: JSON holds {type(data).__name__ if data else 'nothing'}, not a history; {_JSON_EXPECTED}")
    not_lists = [key for key, values in data.items() if not isinstance(values, list)]
    if not_lists:
        raise HistoryError(f"{label}: values of {', '.join(map(repr, not_lists))} are not lists; {_JSON_EXPECTED}")
    lengths = {key: len(values) for key, values in data.items()}
    if len(set(lengths.values())) > 1:
        raise HistoryError(f"{label}: lists of unequal length ({', '.join(f'{k}: {n}' for k, n in lengths.items())}); "
                           f"{_JSON_EXPECTED}")
    columns = {}
    for key, values in data.items():
        if not all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values):
            raise HistoryError(f"{label}: {key!r} has non-numeric values; {_JSON_EXPECTED}")
        columns[str(key)] = [math.nan if v is None else float(v) for v in values]
    frame = pd.DataFrame(columns)
    if "epoch" not in frame.columns:
        frame.insert(0, "epoch", np.arange(len(frame), dtype=float))    # History lists are indexed by epoch
    return _finish(frame, label, _JSON_EXPECTED)


def _finish(frame: pd.DataFrame, label: str, expected: str, warnings: list[str] | None = None) -> pd.DataFrame:
    """Validate epochs, canonicalise and merge metric columns, keep the last row of a repeated epoch."""
    if not len(frame):
        raise HistoryError(f"{label}: no rows; {expected}")
    epoch = frame["epoch"]
    if not (np.isfinite(epoch).all() and (epoch == epoch.round()).all() and (epoch >= 0).all()):
        raise HistoryError(f"{label}: column 'epoch' must hold whole numbers >= 0; {expected}")
    metrics = [c for c in frame.columns if _is_metric(c)]
    if not metrics:
        raise HistoryError(f"{label}: no metric columns; {expected}")
    merged: dict[str, pd.Series] = {}
    for column in metrics:                     # "acc" and "accuracy" in one file fold to one column
        key = canonical_name(column)
        merged[key] = merged[key].combine_first(frame[column]) if key in merged else frame[column]
    out = pd.DataFrame({"epoch": epoch.astype(int), **merged})
    # A resumed run may log an epoch again; the later row is the one training continued from.
    out = out.drop_duplicates("epoch", keep="last").sort_values("epoch", ignore_index=True)
    values = out.columns[1:]
    out[values] = out[values].astype(float).replace([np.inf, -np.inf], np.nan)
    if warnings is None:
        warnings = [w for c in values if (w := _nonfinite_warning(c, out["epoch"], out[c]))]
    out.attrs["warnings"] = warnings
    return out


def _is_metric(column: str) -> bool:
    name = column.lower()
    return name != "epoch" and name not in _NON_METRIC and not name.startswith("unnamed:")   # unnamed: a saved index


def _nonfinite_warning(column: str, epochs, values) -> str | None:
    bad = [int(e) for e, v in zip(epochs, values) if not math.isfinite(v)]
    if not bad:
        return None
    shown = ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
    return f"{column}: {len(bad)} missing or non-finite (NaN/inf) value(s) at epoch {shown}; kept as NaN"


# ---------------------------------------------------------------------------------------------- TensorBoard

def _split_of(folder_name: str) -> str:
    return "val" if folder_name.lower() in _VAL_DIRS else "train"


def _event_files(folder: Path, label: str, max_bytes: int) -> list[tuple[Path, str]]:
    """Keras writes <logs>/train and <logs>/validation; each event file's folder names its split."""
    files = sorted(p for p in folder.rglob("*tfevents*") if p.is_file())
    if not files:
        raise HistoryError(f"{label}: no events.out.tfevents.* files (nor {HISTORY_FILE}); expected a TensorBoard "
                           "log folder with train/ and validation/ subfolders, as Keras' TensorBoard callback writes")
    total = sum(p.stat().st_size for p in files)
    if total > max_bytes:
        raise HistoryError(f"{label}: event files total {total:,} bytes, over the {max_bytes:,}-byte limit")
    return [(p, _split_of(p.parent.name)) for p in files]


def _records(path: Path, label: str):
    """Yield serialized Event protos from one TFRecord file.

    TensorBoard's EventFileLoader imports TensorFlow whenever it is installed (3 s), so this uses
    TensorBoard's own pure-Python record reader (its no-TensorFlow fallback) and only falls back to
    the loader if that internal module has moved.
    """
    try:
        from tensorboard.compat.tensorflow_stub import errors
        from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import PyRecordReader_New
    except ImportError:
        from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
        yield from RawEventFileLoader(str(path)).Load()
        return
    reader = PyRecordReader_New(str(path), 0, None, None)
    count = 0
    while True:
        try:
            reader.GetNext()
        except errors.OutOfRangeError:
            return
        except errors.DataLossError:
            if count == 0 and path.stat().st_size:
                raise HistoryError(f"{label}: {path.name} is not a TensorBoard event file (bad record framing)") from None
            return                            # truncated tail of a file still being written, as TensorBoard does
        count += 1
        yield reader.record()


def _read_events(files: list[tuple[Path, str]], label: str) -> pd.DataFrame:
    try:
        from google.protobuf.message import DecodeError
        from tensorboard.compat.proto import event_pb2
        from tensorboard.util import tensor_util
    except ImportError:
        raise HistoryError(f"{label}: reading TensorBoard event files needs the 'tensorboard' package") from None
    latest: dict[tuple[str, int], tuple[float, float]] = {}     # (column, step) -> (wall_time, value)
    tags: dict[str, str] = {}                                   # column -> raw tag, for filtering below
    for path, split in files:
        for record in _records(path, label):
            try:
                event = event_pb2.Event.FromString(record)
            except DecodeError:
                raise HistoryError(f"{label}: {path.name} holds records that are not TensorBoard events") from None
            for value in event.summary.value:
                number = _scalar(value, tensor_util)
                if number is None:
                    continue
                column = _tag_column(value.tag, split)
                tags.setdefault(column, value.tag)
                key = (column, int(event.step))
                # Resumed runs write a new event file that repeats steps: the later write wins.
                if key not in latest or event.wall_time >= latest[key][0]:
                    latest[key] = (event.wall_time, number)
    # Keras logs per-epoch scalars as epoch_*, next to batch_* and *_vs_iterations series whose steps
    # are batches: when epoch_* tags exist, only they are epochs.
    keras = any(tag.lower().startswith(("epoch_", "train/epoch_", "validation/epoch_")) for tag in tags.values())
    keep = {c for c, tag in tags.items()
            if ("epoch_" in tag.lower() if keras else not tag.lower().startswith("batch_"))
            and not tag.lower().endswith("_vs_iterations")}
    series, warnings = {}, []
    for column in sorted(keep, key=lambda c: (c.startswith("val_"), c)):
        points = sorted((step, v) for (c, step), (_, v) in latest.items() if c == column)
        s = pd.Series([v for _, v in points], index=[step for step, _ in points], dtype=float)
        if warning := _nonfinite_warning(column, s.index, s.to_numpy()):
            warnings.append(warning)
        series[column] = s
    if not series:
        raise HistoryError(f"{label}: no scalar summaries in the event file(s); expected epoch scalars "
                           "(e.g. epoch_loss) as Keras' TensorBoard callback writes them")
    wide = pd.DataFrame(series)                 # outer join on step: a split may skip epochs
    wide.index.name = "epoch"
    return _finish(wide.reset_index(), label, "expected TensorBoard epoch scalars", warnings)


def _scalar(value, tensor_util) -> float | None:
    """A Summary.Value's number: tensor summaries (TF2/Keras) or legacy simple_value; None for non-scalars."""
    if value.HasField("tensor"):
        try:
            array = tensor_util.make_ndarray(value.tensor)
        except Exception:                       # unsupported dtypes: not a scalar we can plot anyway
            return None
        return float(array.reshape(-1)[0]) if array.size == 1 and array.dtype.kind in "fiub" else None
    if value.HasField("simple_value"):
        return float(value.simple_value)
    return None


def _tag_column(tag: str, split: str) -> str:
    name = tag.strip().lower()
    for prefix, prefix_split in (("train/", "train"), ("training/", "train"),
                                 ("validation/", "val"), ("val/", "val"), ("eval/", "val")):
        if name.startswith(prefix):
            name, split = name[len(prefix):], prefix_split
    column = canonical_name(name.removeprefix("epoch_"))
    return f"val_{column}" if split == "val" and not column.startswith("val_") else column


# ---------------------------------------------------------------------------------------------- analysis

def to_long(history: pd.DataFrame, run: str) -> pd.DataFrame:
    """Long form for plotting/tables: run, epoch, metric (without val_), split ("train" | "val"), value."""
    columns = [c for c in history.columns if c != "epoch"]
    long = history.melt(id_vars="epoch", value_vars=columns, var_name="column", value_name="value")
    is_val = long["column"].str.startswith("val_")
    return pd.DataFrame({
        "run": run,
        "epoch": long["epoch"].astype(int),
        "metric": long["column"].str.removeprefix("val_").astype(object),
        "split": np.where(is_val, "val", "train"),
        "value": long["value"].astype(float),
    })


def smooth(values, weight: float) -> np.ndarray:
    """TensorBoard's debiased exponential moving average; NaN/inf stay in place and are skipped."""
    if not 0 <= weight < 1:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    x = np.asarray(values, dtype=float)
    out = x.copy()
    finite = np.isfinite(x)
    # TensorBoard leaves constant series alone: debiasing would only add rounding noise.
    if weight == 0 or np.unique(x[finite]).size <= 1:
        return out
    last, n = 0.0, 0
    for i in np.flatnonzero(finite):
        last = last * weight + (1 - weight) * x[i]
        n += 1
        out[i] = last / (1 - weight ** n)    # early points would otherwise be pulled toward the 0 start
    return out


def best_epoch(history: pd.DataFrame, metric: str = "mean_iou") -> tuple[int, float] | None:
    """(epoch, value) of the best validation value (train if there is no val column); min for losses, max otherwise."""
    metric = canonical_name(metric).removeprefix("val_")
    for column in (f"val_{metric}", metric):
        if column in history.columns and history[column].notna().any():
            values = history[column]
            row = values.idxmin() if lower_is_better(metric) else values.idxmax()
            return int(history.loc[row, "epoch"]), float(values[row])
    return None


def summarize(histories: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per run: run, epochs, best_epoch, best_val_mean_iou, best_val_loss, train_val_gap, final_<metric>...

    best_epoch is by val mean_iou when the run logs mean_iou, else by val loss. train_val_gap is taken at
    the best epoch and is positive when the model does better on train: train - val mean_iou, or
    val_loss - loss when there is no mean_iou.
    """
    fixed = ["run", "epochs", "best_epoch", "best_val_mean_iou", "best_val_loss", "train_val_gap"]
    rows = []
    for run, history in histories.items():
        has_iou = bool({"mean_iou", "val_mean_iou"} & set(history.columns))
        best = best_epoch(history, "mean_iou" if has_iou else "loss")
        row = {"run": run, "epochs": len(history), "best_epoch": best[0] if best else None,
               "best_val_mean_iou": _column_best(history, "val_mean_iou", max),
               "best_val_loss": _column_best(history, "val_loss", min),
               "train_val_gap": math.nan}
        if best:
            at = history.loc[history["epoch"] == best[0]].iloc[0]
            if {"mean_iou", "val_mean_iou"} <= set(history.columns):
                row["train_val_gap"] = float(at["mean_iou"] - at["val_mean_iou"])
            elif {"loss", "val_loss"} <= set(history.columns):
                row["train_val_gap"] = float(at["val_loss"] - at["loss"])
        if len(history):
            row.update({f"final_{c}": float(history[c].iloc[-1]) for c in history.columns if c != "epoch"})
        rows.append(row)
    out = pd.DataFrame(rows, columns=fixed) if not rows else pd.DataFrame(rows)
    if rows:
        out["best_epoch"] = out["best_epoch"].astype("Int64")
    return out


def _column_best(history: pd.DataFrame, column: str, pick) -> float:
    if column not in history.columns or not history[column].notna().any():
        return math.nan
    return float(pick(history[column].dropna()))


def discover_histories(models_dir) -> dict[str, Path]:
    """Every <models_dir>/<run>/history.csv as {run name: path}, sorted by run name."""
    root = Path(models_dir)
    if not root.is_dir():
        return {}
    return {p.parent.name: p for p in sorted(root.glob(f"*/{HISTORY_FILE}")) if p.is_file()}
