"""Clickable confusion matrices: Plotly selects scatter points on a click but never heatmap cells, so invisible
markers cover the cells, and a Streamlit selection event is parsed back into the (truth, predicted) cell.
No Streamlit import: both work on plain Plotly figures and event dicts, tested without a running app."""
from __future__ import annotations

import numpy as np

def clickable_cells(figure):
    """The confusion heatmap with an invisible marker on every cell, hovering like the cell itself.

    Plotly selects scatter points on a click but never heatmap cells, so these markers are what a click on the
    matrix selects; a selected point's x and y name the cell (see cell_from_selection). The hover text is the
    heatmap's own (segcore.figures.confusion_heatmap puts every cell's in `hovertext`).
    """
    heatmap = figure.data[0]
    names_x, names_y = list(heatmap.x), list(heatmap.y)
    hover = np.asarray(heatmap.hovertext, dtype=object).reshape(len(names_y), len(names_x))
    xs = [predicted for _ in names_y for predicted in names_x]
    ys = [truth for truth in names_y for _ in names_x]
    cell = figures_cell_px(figure, len(names_x))
    invisible = {"marker": {"opacity": 0}}
    figure.add_scatter(x=xs, y=ys, text=hover.ravel().tolist(), mode="markers", hovertemplate="%{text}<extra></extra>",
                       marker={"symbol": "square", "size": cell, "opacity": 0}, selected=invisible,
                       unselected=invisible, showlegend=False, name="cells")
    # Markers would pad the axes' autorange; keep the matrix edge to edge, row 0 on top.
    figure.update_xaxes(range=[-0.5, len(names_x) - 0.5])
    figure.update_yaxes(range=[len(names_y) - 0.5, -0.5], autorange=False)
    return figure


def figures_cell_px(figure, columns: int) -> int:
    """The marker size that covers one cell: the plot area's width over the columns (14 px if unsized)."""
    layout = figure.layout
    if layout.width and layout.margin.l is not None and layout.margin.r is not None and columns:
        return max(8, int((layout.width - layout.margin.l - layout.margin.r) / columns) - 2)
    return 14


def cell_from_selection(points: list[dict], names: list[str]) -> tuple[int, int] | None:
    """(truth, predicted) ids of the heatmap cell a Plotly selection event names (y = truth, x = predicted)."""
    for point in points or []:
        truth, predicted = point.get("y"), point.get("x")
        if truth in names and predicted in names:
            return names.index(truth), names.index(predicted)
    return None
