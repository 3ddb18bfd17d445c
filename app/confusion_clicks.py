"""Clickable confusion matrices: Plotly selects scatter points on a click but never heatmap cells, so invisible
markers cover the cells, and a Streamlit selection event is parsed back into the (truth, predicted) cell.
No Streamlit import: both work on plain Plotly figures and event dicts, tested without a running app."""
from __future__ import annotations

import numpy as np

def clickable_cells(figure):
    """The confusion heatmap with an invisible marker on every cell, hovering like the cell itself.

    Plotly selects scatter points on a click but never heatmap cells, so these markers are what a click on the
    matrix selects; a selected point's x and y name the cell (see cell_from_selection).
    """
    heatmap = figure.data[0]
    names_x, names_y = list(heatmap.x), list(heatmap.y)
    counts = np.asarray(heatmap.customdata, dtype=np.int64)
    values = np.asarray(heatmap.z, dtype=float)
    shares = heatmap.zmax == 1          # row or column normalised
    xs, ys, text = [], [], []
    for row, truth in enumerate(names_y):
        for col, predicted in enumerate(names_x):
            value, count = values[row, col], int(counts[row, col])
            amount = f"{value:.1%} ({count:,} px)" if shares and not np.isnan(value) else f"{count:,} px"
            xs.append(predicted), ys.append(truth), text.append(f"truth {truth} / predicted {predicted}: {amount}")
    invisible = {"marker": {"opacity": 0}}
    figure.add_scatter(x=xs, y=ys, text=text, mode="markers", hovertemplate="%{text}<extra></extra>",
                       marker={"symbol": "square", "size": 14, "opacity": 0}, selected=invisible,
                       unselected=invisible, showlegend=False, name="cells")
    # Markers would pad the axes' autorange; keep the matrix edge to edge, row 0 on top.
    figure.update_xaxes(range=[-0.5, len(names_x) - 0.5])
    figure.update_yaxes(range=[len(names_y) - 0.5, -0.5], autorange=False)
    return figure


def cell_from_selection(points: list[dict], names: list[str]) -> tuple[int, int] | None:
    """(truth, predicted) ids of the heatmap cell a Plotly selection event names (y = truth, x = predicted)."""
    for point in points or []:
        truth, predicted = point.get("y"), point.get("x")
        if truth in names and predicted in names:
            return names.index(truth), names.index(predicted)
    return None
