"""Overlays, legends and evaluation figures: pure functions of arrays and evaluation JSON (numpy, pandas, plotly).

Images are (H, W, 3) uint8 RGB; label maps hold train ids, where any value outside 0..num_classes-1 (the
ignore index included) is void. Evaluation views only project the stored JSON (see segcore.evaluate);
nothing here re-scores a data set.
"""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from segcore.colours import run_colours
from segcore.labels import VOID
from segcore.metrics import ConfusionMatrix
# The confusion heatmap lives in its own module; importable from here too.
from segcore.figures_confusion import (CONFUSION_COLORSCALE, CONFUSION_VALUES, HIGHLIGHT_COLOR,  # noqa: F401
                                       confusion_heatmap, confusion_size)

SUMMARY_METRICS = ("pixel_accuracy", "mean_class_accuracy", "mean_iou", "frequency_weighted_iou", "mean_dice")
SUMMARY_LABELS = {"pixel_accuracy": "pixel accuracy %", "mean_class_accuracy": "mean class accuracy %",
                  "mean_iou": "mIoU %", "frequency_weighted_iou": "frequency-weighted IoU %",
                  "mean_dice": "mean Dice %"}
PER_CLASS_SCORES = ("iou", "accuracy", "precision", "dice", "support")
LEVELS = {"class_level": "confusions", "category_level": "category_confusions"}

# Error-map look: the photo is dimmed so the tints read at a glance, whatever the scene's own colours.
DIM = 0.5
ERROR_ALPHA = 0.6
CORRECT_COLOR = (0, 200, 0)
WRONG_COLOR = (230, 0, 0)
IGNORED_COLOR = (128, 128, 128)


# --- arrays ------------------------------------------------------------------------------------------------
def _rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {image.shape}")
    return np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image[..., :3]


def resize_nearest(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize by index lookup: labels must never be interpolated into other classes."""
    array = np.asarray(array)
    if array.shape[:2] == tuple(shape):
        return array
    rows = np.arange(shape[0]) * array.shape[0] // shape[0]
    cols = np.arange(shape[1]) * array.shape[1] // shape[1]
    return array[rows[:, None], cols[None, :]]


def _blend(base: np.ndarray, mask: np.ndarray, colors, alpha: float) -> np.ndarray:
    """`base` with the pixels under `mask` mixed towards `colors` (one colour, or one per masked pixel)."""
    out = base.copy()
    mixed = base[mask].astype(np.float32) * (1 - alpha) + np.asarray(colors, dtype=np.float32) * alpha
    out[mask] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    return out


def _dim(image: np.ndarray, factor: float = DIM) -> np.ndarray:
    return np.rint(image.astype(np.float32) * factor).astype(np.uint8)


def _hex(color) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in color))


def overlay(image: np.ndarray, labels: np.ndarray, schema, alpha: float = 0.5) -> np.ndarray:
    """The image blended with the schema colours of `labels`; void pixels keep the image unchanged.

    A label map of another size (a prediction at model resolution) is resized to the image, nearest.
    """
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    image = _rgb(image)
    labels = resize_nearest(labels, image.shape[:2])
    labelled = (labels >= 0) & (labels < schema.num_classes)
    return _blend(image, labelled, schema.display_colors[labels[labelled]], alpha)


def _name_and_color(schema, class_id: int) -> tuple[str, tuple[int, int, int]]:
    if 0 <= class_id < schema.num_classes:
        info = schema.classes[class_id]
        return info.name, tuple(int(v) for v in schema.display_colors[class_id])
    return VOID, schema.void_color


def legend_html(schema, class_ids=None, shares: dict[int, float] | None = None, hidden=()) -> str:
    """Inline HTML legend: a colour swatch and name per id (all classes by default), plus its share if given; the
    `hidden` ids (left out of the overlay) struck through and faded."""
    class_ids = range(schema.num_classes) if class_ids is None else class_ids
    items = []
    for class_id in class_ids:
        name, color = _name_and_color(schema, int(class_id))
        share = "" if shares is None or class_id not in shares else f" {100 * shares[class_id]:.1f}%"
        faded = ";opacity:.45;text-decoration:line-through" if int(class_id) in hidden else ""
        items.append(
            f'<span style="display:inline-flex;align-items:center;margin:0 .8em .2em 0;white-space:nowrap{faded}">'
            f'<span style="display:inline-block;width:.9em;height:.9em;margin-right:.3em;background:{_hex(color)};'
            f'border:1px solid rgba(0,0,0,.3)"></span>{html.escape(name)}{share}</span>')
    return f'<div style="line-height:1.6">{"".join(items)}</div>'


def class_shares(labels: np.ndarray, schema) -> pd.DataFrame:
    """Pixel share of each class present in `labels` (void folded into one row at the ignore index).

    Indexed by class id, so `frame["share"].to_dict()` is ready for `legend_html(shares=...)`.
    """
    labels = np.asarray(labels).ravel()
    void = (labels < 0) | (labels >= schema.num_classes)
    counts = np.bincount(labels[~void].astype(np.int64), minlength=schema.num_classes)
    ids = [i for i in range(schema.num_classes) if counts[i]]
    pixels = [int(counts[i]) for i in ids]
    if void.any():
        ids.append(schema.ignore_index)
        pixels.append(int(void.sum()))
    names, colors = zip(*(_name_and_color(schema, i) for i in ids)) if ids else ((), ())
    return pd.DataFrame({
        "class": list(names),
        "share": [n / labels.size for n in pixels],
        "pixels": pixels,
        "color": [_hex(color) for color in colors],
    }, index=pd.Index(ids, name="id", dtype=np.int64))


def disagreement(labels_a: np.ndarray, labels_b: np.ndarray) -> tuple[np.ndarray, float]:
    """(H, W) bool map of pixels where the two label maps differ, and the share of such pixels."""
    labels_a, labels_b = np.asarray(labels_a), np.asarray(labels_b)
    if labels_a.shape != labels_b.shape:
        raise ValueError(f"label maps differ in shape: {labels_a.shape} vs {labels_b.shape}")
    differ = labels_a != labels_b
    return differ, float(differ.mean()) if differ.size else 0.0


def disagreement_image(image: np.ndarray, mask_bool: np.ndarray, color=(255, 0, 255), alpha: float = 0.6) -> np.ndarray:
    """Differing pixels tinted with `color` over the original photo; the rest dimmed so they stand out."""
    image = _rgb(image)
    mask = resize_nearest(np.asarray(mask_bool, dtype=bool), image.shape[:2])
    out = _dim(image)
    out[mask] = _blend(image, mask, color, alpha)[mask]
    return out


def error_map(image: np.ndarray, truth: np.ndarray, pred: np.ndarray, ignore_index: int) -> np.ndarray:
    """Correct pixels green, wrong red, ignored grey, each tinted over the dimmed image."""
    image = _rgb(image)
    truth = resize_nearest(truth, image.shape[:2])
    pred = resize_nearest(pred, image.shape[:2])
    ignored = truth == ignore_index
    correct = (truth == pred) & ~ignored
    out = _dim(image)
    for mask, color in ((correct, CORRECT_COLOR), (~correct & ~ignored, WRONG_COLOR), (ignored, IGNORED_COLOR)):
        out = _blend(out, mask, color, ERROR_ALPHA)
    return out


def per_image_scores(truth: np.ndarray, pred: np.ndarray, schema) -> dict:
    """Pixel accuracy and mean IoU of one prediction, scored at the label's resolution as evaluate does."""
    pred = resize_nearest(pred, np.asarray(truth).shape[:2])
    matrix = ConfusionMatrix(schema.num_classes, schema.ignore_index)
    matrix.update(truth, pred)
    return {"pixel_accuracy": matrix.pixel_accuracy(), "mean_iou": matrix.mean_iou()}


# --- evaluation tables and figures ---------------------------------------------------------------------------
def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {list(LEVELS)}, got {level!r}")


def _percent(value) -> float:
    return np.nan if value is None else round(100 * float(value), 1)


def metrics_table(evaluations: dict[str, dict], level: str = "class_level") -> pd.DataFrame:
    """One row per run, the summary scores in % (1 decimal); missing scores are NaN."""
    _check_level(level)
    rows = {run: [_percent(result[level].get(m)) for m in SUMMARY_METRICS] for run, result in evaluations.items()}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(SUMMARY_METRICS), dtype=float)
    frame.index.name = "run"
    return frame


def per_class_table(evaluations: dict[str, dict], level: str = "class_level", score: str = "iou") -> pd.DataFrame:
    """One row per class (in schema order), one column per run: `score` in % (support stays a pixel count)."""
    _check_level(level)
    if score not in PER_CLASS_SCORES:
        raise ValueError(f"score must be one of {PER_CLASS_SCORES}, got {score!r}")
    # Runs may use different schemas: keep every class, in order of first appearance.
    names = list(dict.fromkeys(n for result in evaluations.values() for n in result[level]["names"]))
    convert = (lambda v: np.nan if v is None else float(v)) if score == "support" else _percent
    columns = {run: [convert(result[level]["per_class"].get(n, {}).get(score)) for n in names]
               for run, result in evaluations.items()}
    return pd.DataFrame(columns, index=pd.Index(names, name="class"), dtype=float)


def iou_bars(evaluations: dict[str, dict], level: str = "class_level", sort: str = "class") -> go.Figure:
    """Grouped IoU bars (%): one trace per run, one group per class.

    `sort`: "class" (schema order), "mean" (mean over runs, best first) or a run name (that run's IoU,
    best first). Classes without an IoU go last.
    """
    table = per_class_table(evaluations, level, "iou")
    if sort not in ("class", "mean", *table.columns):
        raise ValueError(f"sort must be 'class', 'mean' or a run name {list(table.columns)}, got {sort!r}")
    if sort != "class":
        key = table.mean(axis=1) if sort == "mean" else table[sort]
        table = table.loc[key.sort_values(ascending=False, na_position="last", kind="stable").index]
    colours = run_colours(table.columns)
    fig = go.Figure()
    for run in table.columns:
        fig.add_bar(x=list(table.index), y=table[run].tolist(), name=html.escape(run), marker_color=colours[run],
                    hovertemplate=f"{html.escape(run)}<br>%{{x}}: %{{y:.1f}}%<extra></extra>")
    fig.update_layout(barmode="group", legend_title_text="run", yaxis=dict(title="IoU (%)", range=[0, 100]),
                      xaxis=dict(title=level.replace("_level", ""), categoryorder="array",
                                 categoryarray=list(table.index)))
    return fig


def trimap_curves(evaluations: dict[str, dict], level: str = "class_level") -> go.Figure:
    """mIoU (%) over the pixels within w px of a ground-truth edge against w (log axis), one line per run that
    stored trimap counts (segcore.trimap); the runs' overall mIoU as dotted lines of the same colour."""
    from segcore.trimap import trimap_scores

    colours = run_colours(list(evaluations))
    fig = go.Figure()
    for run, result in evaluations.items():
        scores = trimap_scores(result[level])
        if scores is None:
            continue
        values = [None if v is None else 100 * v for v in scores["mean_iou"]]
        fig.add_scatter(x=scores["widths"], y=values, name=html.escape(run), mode="lines+markers",
                        line_color=colours[run],
                        hovertemplate=f"{html.escape(run)}<br>within %{{x}} px of an edge: mIoU %{{y:.1f}}%"
                                      "<extra></extra>")
        if result[level].get("mean_iou") is not None:
            fig.add_hline(y=100 * result[level]["mean_iou"], line_dash="dot", line_color=colours[run], opacity=0.6)
    fig.update_layout(legend_title_text="run", margin=dict(t=30),
                      yaxis=dict(title="mIoU in the band (%)", range=[0, 100]),
                      xaxis=dict(title="band: pixels from a ground-truth edge (dotted: mIoU of all pixels)",
                                 type="log", dtick=0.30103))
    return fig


def reliability_diagram(calibration, title: str = "") -> go.Figure:
    """Reliability diagram of stored calibration bins (segcore.calibration): per non-empty confidence bin, the
    accuracy as a bar over the bin's interval, the mean confidence as a marker, and the diagonal a perfectly
    calibrated model follows; the title carries the expected calibration error. An empty figure for no bins."""
    from segcore.metrics import expected_calibration_error, reliability_curve

    rows = reliability_curve(calibration) or []
    ece = expected_calibration_error(calibration)
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#888", dash="dash"),
                    name="perfectly calibrated", hoverinfo="skip")
    if rows:
        total = sum(row["count"] for row in rows)
        fig.add_bar(x=[(row["lower"] + row["upper"]) / 2 for row in rows], y=[row["accuracy"] for row in rows],
                    width=[row["upper"] - row["lower"] for row in rows], name="accuracy", marker_color="#2f7ebc",
                    customdata=[[row["lower"], row["upper"], row["count"], row["count"] / total] for row in rows],
                    hovertemplate="confidence %{customdata[0]:.2f}-%{customdata[1]:.2f}: accuracy %{y:.1%}, "
                                  "%{customdata[2]:,} px (%{customdata[3]:.1%})<extra></extra>")
        fig.add_scatter(x=[row["confidence"] for row in rows], y=[row["confidence"] for row in rows],
                        mode="markers", marker=dict(color=HIGHLIGHT_COLOR, size=7), name="mean confidence",
                        hovertemplate="mean confidence %{x:.1%}<extra></extra>")
    heading = html.escape(title) + (f": ECE {100 * ece:.1f}%" if ece is not None else "")   # Plotly renders tags
    fig.update_layout(title=heading, height=360, bargap=0, legend=dict(orientation="h", y=-0.25),
                      xaxis=dict(title="confidence (top class probability)", range=[0, 1], tickformat=".0%"),
                      yaxis=dict(title="accuracy", range=[0, 1], tickformat=".0%"))
    return fig


def coverage_curves(calibrations: dict[str, object]) -> go.Figure:
    """Accuracy of the pixels kept against the share kept, as the confidence threshold rises (segcore.calibration's
    coverage_curve), one line per run with stored calibration bins; the hover names each threshold."""
    from segcore.calibration import coverage_curve

    colours = run_colours(list(calibrations))
    fig = go.Figure()
    for run, calibration in calibrations.items():
        rows = coverage_curve(calibration)
        if rows:
            fig.add_scatter(x=[row["coverage"] for row in rows], y=[row["accuracy"] for row in rows],
                            name=html.escape(run),
                            mode="lines+markers", line_color=colours[run],
                            customdata=[row["threshold"] for row in rows],
                            hovertemplate=f"{html.escape(run)}<br>confidence above %{{customdata:.0%}}: %{{x:.1%}} of "
                                          "pixels kept, %{y:.1%} of them right<extra></extra>")
    fig.update_layout(height=360, legend_title_text="run", margin=dict(t=30),
                      xaxis=dict(title="pixels kept (confidence above a threshold)", tickformat=".0%",
                                 autorange="reversed"),         # left to right: a stricter threshold
                      yaxis=dict(title="accuracy of the pixels kept", tickformat=".0%"))
    return fig


def images_for_confusion(per_image: list[dict], true_id: int, pred_id: int, level: str = "class_level",
                         k: int | None = 8) -> list[dict]:
    """The per-image records with the most pixels of truth `true_id` predicted as `pred_id`, most first.

    Each returned record is a copy with "pixels" added. Only the confusions stored per image (its largest
    off-diagonal cells) are searchable, so a diagonal cell or a small confusion may find nothing.
    """
    _check_level(level)
    found = []
    for record in per_image:
        pixels = next((int(n) for t, p, n in record.get(LEVELS[level], []) if t == true_id and p == pred_id), 0)
        if pixels > 0:
            found.append({**record, "pixels": pixels})
    found.sort(key=lambda r: r["pixels"], reverse=True)  # stable: ties keep data-set order
    return found if k is None else found[:k]
