"""What a history says: the one best epoch of a run, smoothing, the summary table, points worth drawing.

The best epoch rule (BEST_EPOCH_RULE) picks ONE epoch per run; every value the summary shows is read at that
epoch, and the curves' star marks that same epoch whatever metric is plotted.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from segcore.histories.frames import column_label, is_percent, metric_columns

MAX_DRAWN_POINTS = 2_000     # points per trace a figure draws; histories keep every row
# (column, pick) in order of preference; the first column a run logged decides its best epoch.
_BEST_BY = (("val_mean_iou", "max"), ("val_loss", "min"), ("mean_iou", "max"), ("loss", "min"))
BEST_EPOCH_RULE = ("the epoch with the highest validation mIoU; where a run logged no IoU, the lowest validation "
                   "loss (train values only for a run that logged no validation); ties go to the earliest epoch; "
                   "a run that also trained on its validation split keeps its last epoch, as training did")
LAST_EPOCH = "epoch"        # BestEpoch.column of a run that keeps its last epoch (segcore train --train-split train+val)
# Summary columns, in this order, when any run logged them.
_SUMMARY_METRICS = ("mean_iou", "pixel_accuracy", "dice", "loss")


@dataclass(frozen=True)
class BestEpoch:
    epoch: int
    column: str        # the column that chose it, e.g. "val_mean_iou"
    value: float       # that column's raw value at `epoch`

    @property
    def chosen_by(self) -> str:
        """In words, e.g. "highest val mIoU"."""
        if self.column == LAST_EPOCH:
            return "last epoch (val trained on)"
        pick = dict(_BEST_BY)[self.column]
        return f"{'highest' if pick == 'max' else 'lowest'} {column_label(self.column).removesuffix(' (%)')}"


def best_epoch(history: pd.DataFrame) -> BestEpoch | None:
    """The run's one best epoch, by BEST_EPOCH_RULE; None when it logged neither mIoU nor loss. A run whose
    meta.json says it trained on its validation split (history.attrs["keeps_last_epoch"]) keeps its last epoch:
    its validation scores can't choose, and its model file is that epoch's."""
    if history.attrs.get("keeps_last_epoch") and len(history):
        last = int(history["epoch"].max())
        return BestEpoch(last, LAST_EPOCH, float(last))
    for column, pick in _BEST_BY:
        if column in history.columns and history[column].notna().any():
            values = history[column]
            row = values.idxmax() if pick == "max" else values.idxmin()     # first of equal values
            return BestEpoch(int(history.loc[row, "epoch"]), column, float(values[row]))
    return None


def value_at(history: pd.DataFrame, column: str, epoch: int) -> float:
    """`column`'s value at `epoch`; NaN if the run didn't log it there."""
    if column not in history.columns:
        return math.nan
    values = history.loc[history["epoch"] == epoch, column]
    return float(values.iloc[0]) if len(values) else math.nan


def to_long(history: pd.DataFrame, run: str) -> pd.DataFrame:
    """Long form for plotting/tables: run, epoch, metric (without val_), split ("train" | "val"), value (as logged)."""
    columns = metric_columns(history)
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


def drawn_points(values, max_points: int = MAX_DRAWN_POINTS, keep=()) -> np.ndarray:
    """Sorted indices of the points worth drawing: all of them when there are at most `max_points`, else per
    bucket of consecutive points its min, its max and its first NaN (so spikes and gaps stay visible), plus
    the first, the last and `keep` (the best epoch). What is stored is never thinned, only what is drawn."""
    y = np.asarray(values, dtype=float)
    n = len(y)
    keep = np.asarray([i for i in keep if 0 <= i < n], dtype=int)
    if n <= max_points:
        return np.arange(n)
    buckets = max(1, (max_points - 2 - len(keep)) // 3)
    size = -(-n // buckets)
    grid = np.concatenate([y, np.full(buckets * size - n, np.nan)]).reshape(buckets, size)
    finite = np.isfinite(grid)
    starts = np.arange(buckets) * size
    lowest = starts + np.where(finite, grid, np.inf).argmin(axis=1)
    highest = starts + np.where(finite, grid, -np.inf).argmax(axis=1)
    gaps = (starts + (~finite).argmax(axis=1))[(~finite).any(axis=1)]
    chosen = np.concatenate([lowest, highest, gaps, [0, n - 1], keep])
    return np.unique(chosen[chosen < n])


def summarize(histories: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per run, every value read at the run's one best epoch (BEST_EPOCH_RULE); column names in words.

    Columns: run, epochs logged, best epoch, chosen by, where the numbers come from ("val data" and
    "input (H x W)", "unknown" for uploads), then "<split> <metric> at best epoch" for mIoU, pixel accuracy and
    Dice (in percent) and loss, the train-val gaps at that epoch (positive when the model does better on
    training data), and where a run logged when its epochs ended, its training time to the best epoch and in all.
    Metrics no run logged get no column.
    """
    logged = {c for h in histories.values() for c in h.columns}
    metric_columns = [f"{split}{m}" for m in _SUMMARY_METRICS for split in ("val_", "") if f"{split}{m}" in logged]
    rows = []
    for run, history in histories.items():
        best = best_epoch(history)
        row = {"run": run, "epochs logged": len(history), "best epoch": best.epoch if best else None,
               "chosen by": best.chosen_by if best else "no mIoU or loss logged"}
        dataset, split = history.attrs.get("dataset"), history.attrs.get("val_split")
        row["val data"] = f"{dataset}, {split}" if dataset else "unknown"
        row["input (H x W)"] = history.attrs.get("input_size") or "unknown"
        row["trained on"] = history.attrs.get("hardware") or "unknown"
        for column in metric_columns:
            value = value_at(history, column, best.epoch) if best else math.nan
            row[f"{column_label(column)} at best epoch"] = value * 100 if is_percent(column) else value
        if {"mean_iou", "val_mean_iou"} <= logged:
            gap = value_at(history, "mean_iou", best.epoch) - value_at(history, "val_mean_iou", best.epoch) \
                if best else math.nan
            row["mIoU gap, train − val (points) at best epoch"] = gap * 100
        if {"loss", "val_loss"} <= logged:
            row["loss gap, val − train at best epoch"] = \
                value_at(history, "val_loss", best.epoch) - value_at(history, "loss", best.epoch) if best else math.nan
        if "relative_time" in logged:       # hours of training to the best epoch, and in all (NaN: not logged)
            row["training time to best epoch (h)"] = \
                value_at(history, "relative_time", best.epoch) / 3600 if best else math.nan
            timed = history.get("relative_time", pd.Series(dtype=float)).dropna()
            row["training time (h)"] = float(timed.iloc[-1]) / 3600 if len(timed) else math.nan
        rows.append(row)
    out = pd.DataFrame(rows, columns=["run", "epochs logged", "best epoch", "chosen by"] if not rows else None)
    if rows:
        out["best epoch"] = out["best epoch"].astype("Int64")
    return out


