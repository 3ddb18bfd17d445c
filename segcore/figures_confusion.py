"""The confusion matrix as a readable Plotly heatmap: sized from the class count, log-scaled pixel counts or row /
column shares, the pixels a prediction left without a class as a last column. Part of segcore.figures (which
re-exports it)."""
from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from segcore.metrics import NO_CLASS, ConfusionMatrix


def _short_count(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f}M"
    if count >= 10_000:
        return f"{count / 1000:.0f}k"
    return str(count)


def _decade_label(power: int) -> str:
    """10**power pixels as a colour-bar tick: 1, 10, 100, 1k, 10k, 100k, 1M, ..."""
    for size, suffix in ((9, "G"), (6, "M"), (3, "k")):
        if power >= size:
            return f"{10 ** (power - size)}{suffix}"
    return str(10 ** power)


def _share_label(share: float) -> str:
    """A row or column share as a cell label: whole percent from 10 %, one decimal below, '<0.1%' for a sliver."""
    if share >= 0.1:
        return f"{100 * share:.0f}%"
    return f"{100 * share:.1f}%" if share >= 0.0005 else "<0.1%"


# Zero cells stay blank (NaN); the scale starts at a visible tint so a 1-pixel confusion still shows.
CONFUSION_COLORSCALE = [[0.0, "#dbe9f6"], [0.35, "#8fc1de"], [0.7, "#2f7ebc"], [1.0, "#08306b"]]
HIGHLIGHT_COLOR = "#ff6a00"
CONFUSION_VALUES = {"none": "pixels", "row": "row % (recall)", "column": "column % (precision)"}


def confusion_size(num_classes: int, names=()) -> dict:
    """Pixel layout of a confusion matrix of `num_classes` classes: square cells of 64 px at 7 classes or fewer,
    down to 36 px from 17 classes on (11 classes: 54 px, 19: 36 px), margins fitted to the longest class name.
    Returns cell, width, height and the margin dict for fig.update_layout."""
    cell = int(min(64, max(36, 600 // max(num_classes, 1))))
    longest = max((len(str(name)) for name in names), default=8)
    left = 60 + 7 * longest                          # tick labels + the axis title
    bottom = 60 + int(5.2 * longest)                 # labels at -45 degrees
    margin = {"l": left, "r": 130, "t": 50, "b": bottom}   # r: the colour bar and its ticks
    return {"cell": cell, "width": left + margin["r"] + cell * num_classes,
            "height": margin["t"] + bottom + cell * num_classes, "margin": margin}


def confusion_heatmap(summary: dict, normalize: str = "none", title: str = "",
                      selected: tuple[int, int] | None = None) -> go.Figure:
    """Confusion matrix heatmap: y = truth, x = predicted, row 0 on top, sized from the class count
    (confusion_size).

    normalize "none" colours pixel counts on a log10 scale (the colour bar's ticks read real counts: 1, 10, 100,
    1k, ...), so off-diagonal cells a thousand times smaller than the diagonal still show; "row" divides by each
    true class's pixels (recall), "column" by each predicted class's pixels (precision), on 0..100 %. Cells with
    no pixels are blank (NaN); so is an empty row or column's share. Cell labels use the colour bar's unit.
    `selected` (truth, predicted) is outlined. Every cell's hover text is in `hovertext`, its count in `customdata`.
    Pixels the prediction left without a class (the summary's "unpredicted") get a last column, NO_CLASS.
    """
    counts = np.asarray(summary["confusion_matrix"], dtype=np.int64)
    names = list(summary["names"])
    columns = list(names)
    if normalize not in CONFUSION_VALUES:
        raise ValueError(f"normalize must be 'none', 'row' or 'column', got {normalize!r}")
    unpredicted = ConfusionMatrix.from_summary(summary).unpredicted
    if unpredicted.any():
        counts, columns = np.column_stack([counts, unpredicted]), columns + [NO_CLASS]
    pairs = [(truth, predicted) for truth in names for predicted in columns]
    if normalize == "none":
        values = np.full(counts.shape, np.nan)
        np.log10(counts, out=values, where=counts > 0)
        top = max(1, int(np.ceil(values[counts > 0].max()))) if (counts > 0).any() else 1
        colorbar = dict(title="pixels", tickvals=list(range(top + 1)),
                        ticktext=[_decade_label(power) for power in range(top + 1)])
        scale = dict(zmin=0, zmax=top)
        text = [[_short_count(c) if c else "" for c in row] for row in counts.tolist()]
        hover = [f"truth {t} / predicted {p}: {c:,} px" for (t, p), c in zip(pairs, counts.ravel().tolist())]
    else:
        totals = np.broadcast_to(counts.sum(axis=1 if normalize == "row" else 0, keepdims=True), counts.shape)
        values = np.full(counts.shape, np.nan)
        np.divide(counts, totals, out=values, where=(totals > 0) & (counts > 0))
        colorbar = dict(title=CONFUSION_VALUES[normalize], tickformat=".0%", tickvals=[0, 0.25, 0.5, 0.75, 1])
        scale = dict(zmin=0, zmax=1)
        text = [["" if c == 0 or np.isnan(v) else _share_label(v) for v, c in zip(vrow, crow)]
                for vrow, crow in zip(values.tolist(), counts.tolist())]
        shares = np.full(counts.shape, np.nan)
        np.divide(counts, totals, out=shares, where=totals > 0)
        hover = [f"truth {t} / predicted {p}: " + (f"{v:.1%} ({c:,} px)" if not np.isnan(v) else f"{c:,} px")
                 for (t, p), v, c in zip(pairs, shares.ravel().tolist(), counts.ravel().tolist())]
    size = confusion_size(len(names), names)
    size["width"] += size["cell"] * (len(columns) - len(names))
    fig = go.Figure(go.Heatmap(
        z=values, x=columns, y=names, text=text, texttemplate="%{text}", customdata=counts,
        hovertext=np.array(hover, dtype=object).reshape(counts.shape), hovertemplate="%{hovertext}<extra></extra>",
        colorscale=CONFUSION_COLORSCALE, colorbar=colorbar, textfont={"size": 12 if size["cell"] >= 48 else 10},
        xgap=1, ygap=1, **scale))
    fig.update_layout(title=html.escape(title), width=size["width"], height=size["height"], margin=size["margin"],
                      plot_bgcolor="white",
                      xaxis=dict(title="predicted", type="category", tickangle=-45, showgrid=False),
                      yaxis=dict(title="truth", type="category", autorange="reversed", showgrid=False))
    if selected is not None:
        row, col = (int(v) for v in selected)
        if 0 <= row < len(names) and 0 <= col < len(columns):
            # Numbers on a category axis are category indices: the outline sits exactly on the cell.
            fig.add_shape(type="rect", xref="x", yref="y", x0=col - 0.5, x1=col + 0.5, y0=row - 0.5, y1=row + 0.5,
                          line=dict(color=HIGHLIGHT_COLOR, width=4), fillcolor="rgba(0,0,0,0)", layer="above",
                          name="selected cell")
    return fig
