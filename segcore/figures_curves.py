"""Training-curve figures (plotly only): one colour per run, train solid and val dashed, optional smoothing."""
from __future__ import annotations

import zlib

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from segcore.histories import best_epoch, canonical_name, smooth

PALETTE = qualitative.Plotly
_FIRST = ("loss", "mean_iou", "pixel_accuracy")


def run_colours(runs) -> dict[str, str]:
    """A colour per run, picked from a hash of its name so a run keeps its colour when other runs are
    shown or hidden; a clash within one figure moves to the next free colour."""
    taken: set[str] = set()
    colours = {}
    for run in sorted(runs):
        start = zlib.crc32(run.encode())             # crc32, not hash(): stable across processes
        options = [PALETTE[(start + k) % len(PALETTE)] for k in range(len(PALETTE))]
        colours[run] = next((c for c in options if c not in taken), options[0])
        taken.add(colours[run])
    return colours


def available_metrics(histories: dict[str, pd.DataFrame]) -> list[str]:
    """Canonical metric names (without val_) logged by any run: loss, mean_iou, pixel_accuracy first."""
    names = {c.removeprefix("val_") for h in histories.values() for c in h.columns if c != "epoch"}
    return [m for m in _FIRST if m in names] + sorted(names - set(_FIRST))


def curves_figure(histories: dict[str, pd.DataFrame], metric: str, *, smoothing: float = 0.0,
                  log_y: bool = False, show_best: bool = True) -> go.Figure:
    """Train (solid) and val (dashed) curves of `metric` for each run that logs it; epochs as Keras counts (0-based).

    With smoothing > 0 the raw curve stays visible but faint behind the smoothed one, so smoothing can't
    hide a spike. The star marks the best raw value: max val for IoU/accuracy-like metrics, min for losses.
    """
    metric = canonical_name(metric).removeprefix("val_")
    if not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    colours = run_colours(histories)
    fig = go.Figure()
    for run, history in histories.items():
        for split, column in (("train", metric), ("val", f"val_{metric}")):
            if column not in history.columns:
                continue
            x, y = history["epoch"].to_numpy(), history[column].to_numpy(dtype=float)
            line = dict(color=colours[run], dash="solid" if split == "train" else "dash")
            if smoothing > 0:
                fig.add_scatter(x=x, y=y, mode="lines", line=line, opacity=0.25, name=f"{run} · {split} (raw)",
                                legendgroup=run, showlegend=False, hoverinfo="skip")
                y = smooth(y, smoothing)
            fig.add_scatter(x=x, y=y, mode="lines", line=line, name=f"{run} · {split}", legendgroup=run,
                            hovertemplate="%{y:.4g}")
        best = best_epoch(history, metric) if show_best else None
        if best:
            fig.add_scatter(x=[best[0]], y=[best[1]], mode="markers", name=f"{run} · best", legendgroup=run,
                            showlegend=False,
                            marker=dict(symbol="star", size=14, color=colours[run], line=dict(width=1, color="white")),
                            hovertemplate=f"best {best[1]:.4g} at epoch {best[0]}<extra></extra>")
    if not fig.data:
        fig.add_annotation(text=f"no run logs '{metric}'", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_layout(title=metric, hovermode="x unified", legend_title_text="run · split",
                      xaxis_title="epoch", yaxis_title=metric, yaxis_type="log" if log_y else "linear")
    return fig
