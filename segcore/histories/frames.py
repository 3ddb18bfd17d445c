"""The one frame every history reader returns, its limits, and the names of its columns.

A history frame has an int "epoch" column (0-based, as Keras counts, sorted, unique), then the CLOCK_COLUMNS the
log has (when each epoch ended), then float metric columns under canonical names ("loss", "mean_iou",
"val_mean_iou", ...); attrs hold "warnings". metric_columns() lists the metrics.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from segcore.limits import MAX_HISTORY_COLUMNS as MAX_COLUMNS  # metric columns a history may hold
from segcore.limits import MAX_HISTORY_ROWS as MAX_ROWS        # epochs (or steps) a history may hold
from segcore.limits import MAX_UPLOAD_BYTES as MAX_BYTES       # the dashboard's upload limit

_ALIASES = {
    "loss": "loss",
    "accuracy": "pixel_accuracy", "acc": "pixel_accuracy", "pixel_accuracy": "pixel_accuracy",
    "sparse_categorical_accuracy": "pixel_accuracy", "categorical_accuracy": "pixel_accuracy",
    "mean_io_u": "mean_iou", "one_hot_mean_io_u": "mean_iou", "mean_iou": "mean_iou", "iou": "mean_iou",
    "iou_score": "mean_iou", "miou": "mean_iou",
    "dice": "dice", "dice_coef": "dice", "f1-score": "dice", "f1_score": "dice",
    "lr": "learning_rate", "learning_rate": "learning_rate",
}
# The same names without underscores: "MeanIoU" (a Keras metric's class name as some tools log it) -> "meaniou".
_FOLDED = {name.replace("_", ""): canonical for name, canonical in _ALIASES.items()}
CANONICAL = frozenset(_ALIASES.values())
# Fractions in [0, 1] that the app shows in percent.
PERCENT_METRICS = frozenset({"mean_iou", "pixel_accuracy", "dice"})
_LABELS = {"mean_iou": "mIoU", "pixel_accuracy": "pixel accuracy", "dice": "Dice", "loss": "loss",
           "learning_rate": "learning rate"}
# When each epoch ended: "wall_time" in seconds since 1970 (UTC), "relative_time" in seconds of training so far,
# the pauses between a run's sessions left out (segcore's trainer counts it; tensorboard.training_time for logs).
CLOCK_COLUMNS = ("wall_time", "relative_time")
MAX_EPOCH = 2**31 - 1      # beyond, an epoch number is a mistake (and wraps round as an int)
# Wall times a date axis can draw (pandas' datetime64[ns] ends in 2262); others are read as unknown.
LATEST_WALL_TIME = 9.2e9
# Columns some loggers add that are bookkeeping, not metrics.
_NON_METRIC = {"step", "time", "timestamp", "date", "run", *CLOCK_COLUMNS}


class HistoryError(ValueError):
    """A history file that can't be read; the message names the file and what was expected."""


def canonical_name(raw: str) -> str:
    """Fold a logged metric name to its canonical form, keeping the val_ prefix ("val_mean_io_u" -> "val_mean_iou")."""
    name = raw.strip().lower().replace(" ", "_")
    is_val = False
    for prefix in ("val_", "validation_"):
        if name.startswith(prefix):
            name, is_val = name[len(prefix):], True
    if not is_val:          # Lightning and others say "train_loss" for what Keras calls "loss"
        name = name.removeprefix("training_").removeprefix("train_")
    name = name.removesuffix("_epoch")      # Lightning's epoch aggregate of a metric logged per step too
    # Keras suffixes a metric's name with _1, _2 when it is instantiated twice ("mean_io_u_1").
    for candidate in (name, re.sub(r"_\d+$", "", name)):
        known = _ALIASES.get(candidate) or _FOLDED.get(candidate.replace("_", ""))
        if known:
            name = known
            break
    return f"val_{name}" if is_val else name


def lower_is_better(metric: str) -> bool:
    return any(word in metric for word in ("loss", "error", "entropy"))


def is_percent(metric: str) -> bool:
    """True for metrics shown in percent (mIoU, accuracy, Dice); `metric` with or without val_."""
    return metric.removeprefix("val_") in PERCENT_METRICS


def metric_label(metric: str) -> str:
    """A metric's name in words: "mean_iou" -> "mIoU", "pixel_accuracy" -> "pixel accuracy"."""
    return _LABELS.get(metric, metric.replace("_", " "))


def column_label(column: str) -> str:
    """A column's name in words with its split and unit: "val_mean_iou" -> "val mIoU (%)", "loss" -> "train loss"."""
    metric = column.removeprefix("val_")
    split = "val" if column.startswith("val_") else "train"
    return f"{split} {metric_label(metric)}" + (" (%)" if is_percent(metric) else "")


def too_many_columns(label: str, count: int) -> HistoryError:
    return HistoryError(f"{label}: {count:,} columns, over the limit of {MAX_COLUMNS:,} for a history; "
                        "expected one column per logged metric")


def too_many_rows(label: str, count: int) -> HistoryError:
    return HistoryError(f"{label}: {count:,} rows, over the limit of {MAX_ROWS:,} epochs for a history; "
                        "log per epoch, not per batch")


def is_metric(column: str) -> bool:
    name = column.lower()
    return name != "epoch" and name not in _NON_METRIC and not name.startswith("unnamed:")   # unnamed: a saved index


def metric_columns(history: pd.DataFrame) -> list[str]:
    """The metric columns of a history frame (neither epoch nor a clock column)."""
    return [c for c in history.columns if c != "epoch" and c not in CLOCK_COLUMNS]


def finish(frame: pd.DataFrame, label: str, expected: str, warnings: list[str] | None = None,
           notes: tuple[str, ...] = (), steps: np.ndarray | None = None) -> pd.DataFrame:
    """Validate epochs, canonicalise and merge metric columns; of a resumed log, the rows training continued from.
    `warnings`: the reader's own (default: the NaN/inf values found here); `notes`: more, said before them;
    `steps`: the log's step column (Lightning's CSVLogger): an epoch's rows are one epoch (_epoch_rows)."""
    frame = frame.dropna(how="all")            # a spreadsheet's trailing rows of bare separators
    if not len(frame):
        raise HistoryError(f"{label}: no rows; {expected}")
    epoch = frame["epoch"]
    if not (np.isfinite(epoch).all() and (epoch == epoch.round()).all() and (epoch >= 0).all()
            and (epoch <= MAX_EPOCH).all()):
        raise HistoryError(f"{label}: column 'epoch' must hold whole numbers from 0 to {MAX_EPOCH:,}; {expected}")
    # Lightning's per-step values ("train_loss_step") beside their epoch aggregate ("train_loss_epoch"): the latter.
    metrics = [c for c in frame.columns if is_metric(c) and not canonical_name(c).endswith("_step")]
    if not metrics:
        raise HistoryError(f"{label}: no metric columns; {expected}")
    merged: dict[str, pd.Series] = {}
    for column in metrics:                     # "acc" and "accuracy" in one file fold to one column
        key = canonical_name(column)
        merged[key] = merged[key].combine_first(frame[column]) if key in merged else frame[column]
    clocks = {column: frame[column] for column in CLOCK_COLUMNS if column in frame.columns}
    joined = pd.DataFrame({"epoch": epoch.astype(int), **clocks, **merged})     # one step, not inserts
    notes = list(notes)
    if steps is not None:
        out, averaged = _epoch_rows(joined, steps[frame.index.to_numpy()])
        if averaged:
            notes.append(f"{', '.join(averaged)} logged at several steps of an epoch: each epoch shows the mean of "
                         "its logged values, as Lightning's epoch aggregate does")
    else:
        out = _join_split_rows(joined)
    # A resumed run logs again from the epoch it went back to: in file order, a row is kept only if no later row
    # goes back to its epoch or before (the rows of the abandoned epochs go, not only the repeated ones).
    later_min = np.minimum.accumulate(out["epoch"].to_numpy()[::-1])[::-1]
    abandoned = np.append(out["epoch"].to_numpy()[:-1] >= later_min[1:], False)
    if abandoned.any():
        dropped = _epochs_text(out["epoch"].to_numpy()[abandoned])
        notes.append(f"{int(abandoned.sum())} earlier row(s) of epoch {dropped} left out: the log goes back to an "
                     "earlier epoch after them (a run resumed or restarted in the same file); the later rows are kept")
    out = out[~abandoned].sort_values("epoch", ignore_index=True)
    values = out.columns[1:]
    out[values] = out[values].astype(float).replace([np.inf, -np.inf], np.nan)
    notes += _percent_scale(out, label, expected)
    if "wall_time" in out.columns:             # before 1970 or past 2262: not a time this log could hold
        out["wall_time"] = out["wall_time"].where((out["wall_time"] > 0) & (out["wall_time"] < LATEST_WALL_TIME))
    if "relative_time" in out.columns:
        out["relative_time"] = out["relative_time"].where(out["relative_time"] >= 0)
    if warnings is None:                       # event readers pass their own (a split may skip epochs)
        warnings = nonfinite_warnings(out, metric_columns(out))
    out.attrs["warnings"] = [*notes, *warnings]
    return out


def _epoch_rows(frame: pd.DataFrame, steps: np.ndarray) -> tuple[pd.DataFrame, list[str]]:
    """A log with a step column (Lightning's CSVLogger) as one row per run of rows of the same epoch: train
    values logged at each step, the val row and the epoch aggregates joined, a value logged at several steps
    averaged (its column named in the list). A run resumed from a checkpoint logs its step count again from an
    earlier step: a new run of rows, so the resume rule keeps the later one."""
    step = pd.Series(steps, index=frame.index)
    block = ((frame["epoch"] != frame["epoch"].shift()) | (step < step.shift())).cumsum()
    grouped = frame.groupby(block, sort=False)
    averaged = [c for c in frame.columns[1:] if c not in CLOCK_COLUMNS and grouped[c].count().gt(1).any()]
    rows = grouped.agg({c: ("last" if c in CLOCK_COLUMNS or c == "epoch" else "mean") for c in frame.columns})
    return rows.reset_index(drop=True), averaged


def _join_split_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Successive rows of one epoch whose values don't overlap, as one row (Lightning's CSVLogger writes an epoch's
    train and val metrics on rows of their own). Rows that repeat a value are a resumed run's, left as they are."""
    block = (frame["epoch"] != frame["epoch"].shift()).cumsum()
    overlapping = frame.drop(columns="epoch").notna().groupby(block).sum().gt(1).any(axis=1)
    if len(overlapping) == len(frame):
        return frame
    key = np.where(block.map(overlapping), -1 - np.arange(len(frame)), block)   # a row of its own, or its block's
    return frame.groupby(key, sort=False).first().reset_index(drop=True)


def _percent_scale(frame: pd.DataFrame, label: str, expected: str) -> list[str]:
    """Fractions in place of percentages: mIoU, accuracy and Dice logged on a 0-100 scale (many tools do) are
    divided by 100, and said; beyond 100 they are no such metric."""
    said = []
    for column in (c for c in metric_columns(frame) if is_percent(c)):
        top = np.nanmax(frame[column].to_numpy(dtype=float), initial=-np.inf)
        if top > 100:
            raise HistoryError(f"{label}: {column} reaches {top:.4g}, which is neither a fraction (0..1) nor a "
                               f"percentage (0..100); {expected}")
        if top > 1:
            frame[column] = frame[column] / 100
            said.append(f"{column}: logged in percent (up to {top:.4g}); read as {top / 100:.4g} and shown in % as "
                        "every score here")
    return said


def nonfinite_warning(column: str, epochs, values) -> str | None:
    values = np.asarray(values, dtype=float)
    bad = np.asarray(epochs)[~np.isfinite(values)]
    if not len(bad):
        return None
    return _nonfinite_text(column, bad)


def nonfinite_warnings(history: pd.DataFrame, columns) -> list[str]:
    """One warning per set of epochs: columns missing the same epochs (a lost row) are named together."""
    epochs = history["epoch"].to_numpy()
    by_epochs: dict[tuple, list[str]] = {}
    for column in columns:
        bad = epochs[~np.isfinite(history[column].to_numpy(dtype=float))]
        if len(bad):
            by_epochs.setdefault(tuple(int(e) for e in bad), []).append(column)
    measured = [column for column in columns if column != "learning_rate"]    # a schedule, filled in afterwards
    return [_empty_rows_text(np.asarray(bad)) if len(measured) > 1 and set(named) >= set(measured) else
            _nonfinite_text(", ".join(named), np.asarray(bad)) for bad, named in by_epochs.items()]


def _epochs_text(bad) -> str:
    return ", ".join(str(int(e)) for e in bad[:5]) + (", ..." if len(bad) > 5 else "")


def _nonfinite_text(columns: str, bad) -> str:
    return f"{columns}: {len(bad)} missing or non-finite (NaN/inf) value(s) at epoch {_epochs_text(bad)}; kept as NaN"


def _empty_rows_text(bad) -> str:
    """Every metric missing at the same epochs: a lost row (or a diverged one), said once rather than per column."""
    return (f"no metric has a value at epoch {_epochs_text(bad)} (rows lost, or NaN/inf throughout); the curves "
            "join the epochs on either side")

