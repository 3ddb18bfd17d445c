"""Training-curve figures (plotly only): one colour per run, train solid and val dashed, optional smoothing; the
x axis in epochs, training time or wall time (X_AXES), as TensorBoard offers step, relative and wall.

Fractions (mIoU, accuracy, Dice) are drawn in percent; long histories are thinned to what is worth drawing
(histories.drawn_points) so a 100,000-epoch log still makes a small figure.
"""
from __future__ import annotations

import html
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from segcore.colours import PALETTE, run_colours  # noqa: F401 - PALETTE re-exported (tests)
from segcore.histories import (MAX_DRAWN_POINTS, best_epoch, canonical_name, drawn_points, is_percent, metric_columns,
                               metric_label, smooth)

_FIRST = ("loss", "mean_iou", "pixel_accuracy")


def available_metrics(histories: dict[str, pd.DataFrame]) -> list[str]:
    """Canonical metric names (without val_) logged by any run: loss, mean_iou, pixel_accuracy first."""
    names = {c.removeprefix("val_") for h in histories.values() for c in metric_columns(h)}
    return [m for m in _FIRST if m in names] + sorted(names - set(_FIRST))


def axis_title(metric: str) -> str:
    return metric_label(metric) + (" (%)" if is_percent(metric) else "")


# Logged columns that record a setting (the optimizer's learning rate), never smoothed.
SETTINGS = frozenset({"learning_rate"})
# x axis -> (history column, axis title): epochs, hours of training so far, or the date and time each epoch ended.
X_AXES = {"epoch": ("epoch", "epoch"), "relative": ("relative_time", "training time (hours)"),
          "wall": ("wall_time", "wall time (UTC)")}


def runs_without_clock(histories: dict[str, pd.DataFrame], x_axis: str) -> list[str]:
    """The runs that can't be drawn against `x_axis`: their logs don't say when their epochs ended."""
    column = X_AXES[x_axis][0]
    return [run for run, history in histories.items()
            if column not in history.columns or not history[column].notna().any()]


def _x_values(history: pd.DataFrame, x_axis: str) -> np.ndarray:
    """Each row's place on `x_axis` as a number (NaN where unknown): epoch, hours, or seconds since 1970."""
    column = X_AXES[x_axis][0]
    if column not in history.columns:
        return np.full(len(history), np.nan)
    values = history[column].to_numpy(dtype=float)
    return values / 3600 if x_axis == "relative" else values


def curves_figure(histories: dict[str, pd.DataFrame], metric: str, *, smoothing: float = 0.0,
                  log_y: bool = False, show_best: bool = True, colours: Mapping[str, str] | None = None,
                  max_points: int = MAX_DRAWN_POINTS, x_axis: str = "epoch",
                  ignore_outliers: bool = False) -> go.Figure:
    """Train (solid) and val (dashed) curves of `metric` for each run that logs it; epochs as Keras counts (0-based).

    `x_axis` (one of X_AXES): "relative" and "wall" draw each epoch where it ended in time; the epochs of a run
    whose logs lack that time are left out (runs_without_clock names the runs with none). Hovers name the epoch.
    `ignore_outliers` scales the y axis to what most points span (outlier_range), as TensorBoard's option does.

    The star marks each run's ONE best epoch (histories.best_epoch: by val mIoU, else val loss), the same epoch
    whatever metric is plotted. It sits on the curve as drawn (smoothed when smoothing is on), on the val curve
    when the run logs one; its hover gives both the drawn and the raw value. With smoothing the raw curve stays
    faint behind the smoothed one, so smoothing can't hide a spike. SETTINGS (the learning rate) are never smoothed.
    """
    metric = canonical_name(metric).removeprefix("val_")
    if not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    if metric in SETTINGS:
        smoothing = 0.0             # a value the trainer set, not a noisy measurement: drawn as it was
    if x_axis not in X_AXES:
        raise ValueError(f"x_axis must be one of {', '.join(X_AXES)}, got {x_axis!r}")
    colours = dict(colours) if colours else run_colours(histories)
    scale = 100.0 if is_percent(metric) else 1.0
    unit = " %" if scale == 100 else ""
    fig = go.Figure()
    drawn_values = []
    for run, history in histories.items():
        colour = colours.get(run) or run_colours([run])[run]
        named = html.escape(run)            # Plotly renders tags in legend text: a run is named as it is
        best = best_epoch(history) if show_best else None
        star = None                         # (epoch, x, drawn value, raw value, split) on the preferred curve
        # A final model's val curve is of frames it trains on: its name says so (docs/MODELS.md).
        val_name = "val (val split, also trained on)" if history.attrs.get("keeps_last_epoch") else "val"
        for split, column in (("train", metric), (val_name, f"val_{metric}")):
            if column not in history.columns:
                continue
            where = _x_values(history, x_axis)
            raw = history[column].to_numpy(dtype=float) * scale
            # Every row on the epoch axis, less those this column has no value at (a run validating every 5th
            # epoch): lines join the values logged, as TensorBoard draws them, instead of vanishing between gaps.
            timed = np.isfinite(where) & np.isfinite(raw)
            if not timed.any():
                continue
            y = (smooth(raw, smoothing) if smoothing > 0 else raw)[timed]     # smoothed as on the epoch axis
            raw, epochs = raw[timed], history["epoch"].to_numpy()[timed]
            # Wall time as UTC datetimes, so plotly draws a date axis.
            x = pd.to_datetime(where[timed], unit="s").to_numpy() if x_axis == "wall" else where[timed]
            at_best = np.flatnonzero(epochs == best.epoch) if best else []
            line = dict(color=colour, dash="solid" if split == "train" else "dash")
            if smoothing > 0:
                shown = drawn_points(raw, max_points, keep=at_best)
                fig.add_scatter(x=x[shown], y=raw[shown], mode="lines", line=line, opacity=0.25,
                                name=f"{named} · {split} (raw)", legendgroup=run, showlegend=False, hoverinfo="skip")
            shown = drawn_points(y, max_points, keep=at_best)
            fig.add_scatter(x=x[shown], y=y[shown], customdata=epochs[shown], mode="lines", line=line,
                            name=f"{named} · {split}", legendgroup=run,
                            hovertemplate=f"%{{y:.4g}}{unit}" + ("" if x_axis == "epoch" else " (epoch %{customdata})"))
            drawn_values.append(y[shown])
            if len(at_best) and math.isfinite(y[at_best[0]]):
                star = (best.epoch, x[at_best[0]], float(y[at_best[0]]), float(raw[at_best[0]]), split)
        if star:
            epoch, star_x, drawn, raw_value, split = star
            value = f"{split} {metric_label(metric)} {raw_value:.4g}{unit}"
            if smoothing > 0:
                value = f"{split} {metric_label(metric)} {drawn:.4g}{unit} smoothed ({raw_value:.4g}{unit} raw)"
            fig.add_scatter(x=[star_x], y=[drawn], mode="markers", name=f"{named} · best epoch", legendgroup=run,
                            showlegend=False,
                            marker=dict(symbol="star", size=14, color=colour, line=dict(width=1, color="white")),
                            hovertemplate=f"best epoch {epoch} ({best.chosen_by}): {value}<extra></extra>")
    if not fig.data:
        missing = f"no run logs '{metric}'" if x_axis == "epoch" else \
            f"no run logs both '{metric}' and its epochs' times"
        fig.add_annotation(text=missing, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_layout(title=axis_title(metric), hovermode="x unified", legend_title_text="run · split",
                      xaxis_title=X_AXES[x_axis][1], yaxis_title=axis_title(metric),
                      yaxis_type="log" if log_y else "linear")
    values = np.concatenate(drawn_values) if drawn_values else np.array([])
    span = outlier_range(values, log_y=log_y) if ignore_outliers and drawn_values else None
    if span:
        fig.update_yaxes(range=span)
    if log_y and drawn_values:
        # Ticks over the range shown: with outliers left out of it, ticks over every value left one in view.
        tickvals = log_ticks(np.power(10.0, span) if span else values)
        if tickvals:
            fig.update_yaxes(tickmode="array", tickvals=tickvals, ticktext=[f"{v:g}" for v in tickvals])
    return fig


def outlier_range(values, *, log_y: bool = False) -> list[float] | None:
    """A y range that leaves out outliers: the 5th to the 95th percentile of the finite values, padded by a fifth
    of that span on each side (plotly's units: log10 of the values on a log axis). None when nothing is finite."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite) & ((finite > 0) if log_y else True)]
    if not finite.size:
        return None
    if log_y:
        finite = np.log10(finite)
    low, high = (float(q) for q in np.quantile(finite, [0.05, 0.95]))
    pad = (high - low) * 0.2 if high > low else abs(low) * 0.1 + 0.1
    return [low - pad, high + pad]


def log_ticks(values) -> list[float]:
    """Readable ticks for a log axis over `values`: 1-2-5 per decade, or 1..9 when that gives fewer than three.

    Plotly's own log ticks label the in-between ticks with a bare digit ("2", "5"), which reads as the value 2
    on an axis that runs from 0.1 to 1."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if not finite.size:
        return []
    low, high = float(finite.min()), float(finite.max())
    decades = range(math.floor(math.log10(low)), math.floor(math.log10(high)) + 1)
    for steps in ((1, 2, 5), (1, 2, 3, 4, 5, 6, 7, 8, 9)):
        ticks = [float(f"{step * 10.0 ** d:.6g}") for d in decades for step in steps]
        ticks = [t for t in ticks if low <= t <= high]
        if len(ticks) >= 3:
            return ticks
    return ticks or [float(f"{low:.2g}"), float(f"{high:.2g}")]
