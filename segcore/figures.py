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


def _resize_nearest(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
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
    labels = _resize_nearest(labels, image.shape[:2])
    labelled = (labels >= 0) & (labels < schema.num_classes)
    return _blend(image, labelled, schema.colors[labels[labelled]], alpha)


def _name_and_color(schema, class_id: int) -> tuple[str, tuple[int, int, int]]:
    if 0 <= class_id < schema.num_classes:
        info = schema.classes[class_id]
        return info.name, info.color
    return VOID, schema.void_color


def legend_html(schema, class_ids=None, shares: dict[int, float] | None = None) -> str:
    """Inline HTML legend: a colour swatch and name per id (all classes by default), plus its share if given."""
    class_ids = range(schema.num_classes) if class_ids is None else class_ids
    items = []
    for class_id in class_ids:
        name, color = _name_and_color(schema, int(class_id))
        share = "" if shares is None or class_id not in shares else f" {100 * shares[class_id]:.1f}%"
        items.append(
            '<span style="display:inline-flex;align-items:center;margin:0 .8em .2em 0;white-space:nowrap">'
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
    mask = _resize_nearest(np.asarray(mask_bool, dtype=bool), image.shape[:2])
    out = _dim(image)
    out[mask] = _blend(image, mask, color, alpha)[mask]
    return out


def error_map(image: np.ndarray, truth: np.ndarray, pred: np.ndarray, ignore_index: int) -> np.ndarray:
    """Correct pixels green, wrong red, ignored grey, each tinted over the dimmed image."""
    image = _rgb(image)
    truth = _resize_nearest(truth, image.shape[:2])
    pred = _resize_nearest(pred, image.shape[:2])
    ignored = truth == ignore_index
    correct = (truth == pred) & ~ignored
    out = _dim(image)
    for mask, color in ((correct, CORRECT_COLOR), (~correct & ~ignored, WRONG_COLOR), (ignored, IGNORED_COLOR)):
        out = _blend(out, mask, color, ERROR_ALPHA)
    return out


def per_image_scores(truth: np.ndarray, pred: np.ndarray, schema) -> dict:
    """Pixel accuracy and mean IoU of one prediction, scored at the label's resolution as evaluate does."""
    pred = _resize_nearest(pred, np.asarray(truth).shape[:2])
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
        fig.add_bar(x=list(table.index), y=table[run].tolist(), name=run, marker_color=colours[run],
                    hovertemplate=f"{html.escape(run)}<br>%{{x}}: %{{y:.1f}}%<extra></extra>")
    fig.update_layout(barmode="group", legend_title_text="run", yaxis=dict(title="IoU (%)", range=[0, 100]),
                      xaxis=dict(title=level.replace("_level", ""), categoryorder="array",
                                 categoryarray=list(table.index)))
    return fig


def _short_count(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f}M"
    if count >= 10_000:
        return f"{count / 1000:.0f}k"
    return str(count)


def confusion_heatmap(summary: dict, normalize: str = "none", title: str = "") -> go.Figure:
    """Confusion matrix heatmap: y = truth, x = predicted, row 0 on top.

    normalize "row" divides by each true class's pixels (recall), "column" by each predicted class's
    pixels (precision); an empty row or column has no such share and stays blank (NaN).
    """
    counts = np.asarray(summary["confusion_matrix"], dtype=np.int64)
    names = list(summary["names"])
    if normalize == "none":
        values = counts.astype(float)
    elif normalize in ("row", "column"):
        totals = np.broadcast_to(counts.sum(axis=1 if normalize == "row" else 0, keepdims=True), counts.shape)
        values = np.full(counts.shape, np.nan)
        np.divide(counts, totals, out=values, where=totals > 0)
    else:
        raise ValueError(f"normalize must be 'none', 'row' or 'column', got {normalize!r}")
    # Empty cells get no text: a 19-class matrix is mostly zeros and the numbers should mark where errors are.
    if normalize == "none":
        text = [[_short_count(c) if c else "" for c in row] for row in counts.tolist()]
        hover = "truth %{y} / predicted %{x}: %{customdata:,} px<extra></extra>"
    else:
        text = [["" if c == 0 or np.isnan(v) else f"{100 * v:.1f}%" for v, c in zip(vrow, crow)]
                for vrow, crow in zip(values.tolist(), counts.tolist())]
        hover = "truth %{y} / predicted %{x}: %{z:.1%} (%{customdata:,} px)<extra></extra>"
    fig = go.Figure(go.Heatmap(
        z=values, x=names, y=names, text=text, texttemplate="%{text}", customdata=counts,
        hovertemplate=hover, colorscale="Blues", zmin=0, zmax=None if normalize == "none" else 1,
        colorbar=dict(title={"none": "pixels", "row": "recall", "column": "precision"}[normalize]),
    ))
    fig.update_layout(title=title, xaxis=dict(title="predicted", type="category", tickangle=-45),
                      yaxis=dict(title="truth", type="category", autorange="reversed"))
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


def worst_images(per_image: list[dict], k: int | None = None) -> pd.DataFrame:
    """name, mean_iou, pixel_accuracy (0..1) by ascending mean IoU; the index is the record's position in per_image."""
    frame = pd.DataFrame([{"name": r.get("name"), "mean_iou": r.get("mean_iou"),
                           "pixel_accuracy": r.get("pixel_accuracy")} for r in per_image],
                         columns=["name", "mean_iou", "pixel_accuracy"])
    frame[["mean_iou", "pixel_accuracy"]] = frame[["mean_iou", "pixel_accuracy"]].astype(float)
    frame = frame.sort_values("mean_iou", na_position="last", kind="stable")
    return frame if k is None else frame.head(k)
