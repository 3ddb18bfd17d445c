"""Comparing models, as pure functions of label maps and stored evaluations.

One model on one image: its label map seen at class or category level (overlay, colour mask, legend, shares,
scores against a ground truth). Two models: where they disagree, and a before/after swipe. Stored evaluations:
which ones several runs share, the largest confusion, the pixels behind a confusion, and a per-image table
across runs. The dashboard (app/) lays these out; a notebook or script can use them just the same.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from segcore import class_colours, figures
from segcore.eval_records import frame_scores, level_key
from segcore.labels import VOID, LabelSchema, category_schema
from segcore.metrics import NO_CLASS, top_confusions

LEVELS = {"class": "class_level", "category": "category_level"}
DEFAULT_EVALUATION = "camvid-val"
SWIPE_LINE = (255, 255, 255)


# ------------------------------------------------------------------------------------------------ one model's view

def at_level(labels: np.ndarray, schema: LabelSchema, level: str) -> tuple[np.ndarray, LabelSchema]:
    """A train-id map and its schema as seen at `level`: "class" unchanged, "category" folded onto the 7 + void."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {list(LEVELS)}, got {level!r}")
    return (labels, schema) if level == "class" else (schema.to_categories(labels), category_schema())


@dataclass
class ModelView:
    labels: np.ndarray              # (H, W) ids of the view's schema, at the image's resolution
    schema: LabelSchema
    overlay: np.ndarray             # (H, W, 3) the image with the mask blended in
    color: np.ndarray               # (H, W, 3) the mask alone in the schema's own colours (a colour mask file)
    shares: pd.DataFrame            # figures.class_shares: class, share, pixels, color (by id)
    legend: str                     # HTML: the classes present, with their shares
    truth: np.ndarray | None = None   # the ground truth at the same level, when there is one
    scores: dict | None = None      # pixel_accuracy, mean_iou (0..1) against the ground truth
    errors: np.ndarray | None = None  # error map: right green, wrong red, void grey


def model_view(image: np.ndarray, labels: np.ndarray, schema: LabelSchema, *, level: str = "class",
               alpha: float = 0.5, truth: np.ndarray | None = None, hidden=(), colours=None) -> ModelView:
    """Everything shown for one model on one image; `truth` is a train-id map of `schema`, same size as labels.
    `hidden`: names of classes (at `level`) left out of the overlay, where the photo shows instead; the label map,
    colour mask, shares and scores keep every class. `colours`: a viewer's class colours (segcore.class_colours)
    for the overlay and legend; the colour mask keeps the schema's own."""
    shown, shown_schema = at_level(labels, schema, level)
    shown_schema = class_colours.apply(shown_schema, colours or {})
    shares = figures.class_shares(shown, shown_schema)
    hidden_ids = [shown_schema.names.index(name) for name in hidden if name in shown_schema.names]
    overlaid = np.where(np.isin(shown, hidden_ids), shown_schema.ignore_index, shown) if hidden_ids else shown
    view = ModelView(shown, shown_schema, figures.overlay(image, overlaid, shown_schema, alpha),
                     shown_schema.color_mask(shown), shares,
                     figures.legend_html(shown_schema, list(shares.index), shares["share"].to_dict(), hidden_ids))
    if truth is not None:
        view.truth, _ = at_level(truth, schema, level)
        view.scores = figures.per_image_scores(view.truth, shown, shown_schema)
        view.errors = figures.error_map(image, view.truth, shown, shown_schema.ignore_index)
    return view


def scores_table(rows: list[dict]) -> pd.DataFrame:
    """rows of {model, model_ms, total_ms[, pixel_accuracy, mean_iou, label_quality]} -> a table in ms and % (1
    decimal; label quality 2, as its values crowd near 100)."""
    table = pd.DataFrame(rows).set_index("model")
    for column, decimals in (("pixel_accuracy", 1), ("mean_iou", 1), ("label_quality", 2)):
        if column in table:
            table[column] = (100 * table[column].astype(float)).round(decimals)
    table = table.rename(columns={"model_ms": "model ms", "total_ms": "total ms", "pixel_accuracy": "pixel acc %",
                                  "mean_iou": "mIoU %", "label_quality": "label quality %"})
    return table.round({"model ms": 1, "total ms": 1})


def shares_table(views: dict[str, ModelView]) -> pd.DataFrame:
    """One row per class any model predicts, one column per model: its share of the pixels in % (1 decimal)."""
    if not views:
        return pd.DataFrame(index=pd.Index([], name="class"))
    long = pd.concat([view.shares.reset_index().assign(model=name) for name, view in views.items()])
    # Void is one row whatever each schema's ignore index (11 for CamVid, 255 for Cityscapes): it sorts last.
    long["id"] = long["id"].where(long["class"] != VOID, 1 << 16)
    # Rows in schema order (by id), void last, as the legends list them.
    table = long.pivot_table(index=["id", "class"], columns="model", values="share", sort=True).fillna(0.0)
    table = (100 * table).round(1).droplevel("id")[list(views)]
    table.columns.name = None
    return table


# ------------------------------------------------------------------------------------------------ two models

def disagreement_view(image: np.ndarray, labels_a: np.ndarray, labels_b: np.ndarray) -> tuple[np.ndarray, float]:
    """The photo with the pixels where two label maps differ tinted, and the share of such pixels."""
    differ, share = figures.disagreement(labels_a, labels_b)
    return figures.disagreement_image(image, differ), share


def swipe(left: np.ndarray, right: np.ndarray, position: float, line_width: int = 2) -> np.ndarray:
    """`left` shown left of the split at `position` (0..1 of the width), `right` after it, a white line between."""
    if left.shape != right.shape:
        raise ValueError(f"images differ in shape: {left.shape} vs {right.shape}")
    if not 0 <= position <= 1:
        raise ValueError(f"position must be in [0, 1], got {position}")
    width = left.shape[1]
    split = round(position * width)
    out = right.copy()
    out[:, :split] = left[:, :split]
    # The line straddles the split, clipped to the image, and only where both sides are visible.
    if 0 < split < width and line_width > 0:
        start = min(max(split - line_width // 2, 0), width - line_width)
        out[:, start:start + line_width] = SWIPE_LINE
    return out


# ------------------------------------------------------------------------------------------------ evaluations

def shared_levels(evaluations: dict[str, dict]) -> list[str]:
    """The levels ("class", "category") every evaluation has: one scored on data of another schema has only the
    category level."""
    from segcore.evaluations import levels
    return [name for name in LEVELS if all(name in levels(result) for result in evaluations.values())]


def evaluation_keys(available: dict[str, list[str]]) -> tuple[list[str], str | None]:
    """{run: its evaluation keys} -> (the keys every run has, sorted; the default: a CamVid val evaluation
    ('camvid-<fingerprint>-val', or the older 'camvid-val'), else another data set's val split, else the first:
    never a train split where a val split is there, the frames the runs trained on)."""
    sets = [set(keys) for keys in available.values()]
    shared = sorted(set.intersection(*sets)) if sets else []
    camvid_val = [key for key in shared if key == DEFAULT_EVALUATION or re.fullmatch(r"camvid-[0-9a-f]+-val", key)]
    any_val = [key for key in shared if key.endswith("-val")]
    default = next(iter(camvid_val + any_val + shared), None)
    return shared, default


def predicted_names(summary: dict) -> list[str]:
    """A stored level summary's class names, and NO_CLASS (id = the class count) where its prediction left pixels
    without a class: what a confusion's predicted side can name."""
    names = list(summary["names"])
    return names + [NO_CLASS] if any(summary.get("unpredicted") or []) else names


def largest_confusion(summary: dict) -> tuple[int, int] | None:
    """(truth, predicted) of the largest off-diagonal cell of a stored confusion matrix; None if there is none."""
    largest = top_confusions(np.array(summary["confusion_matrix"], dtype=np.int64), k=1)
    return largest[0][:2] if largest else None


def confusion_pixels(truth: np.ndarray, pred: np.ndarray, true_id: int, pred_id: int,
                     num_classes: int | None = None) -> np.ndarray:
    """(H, W) bool: the pixels of class `true_id` that were predicted as `pred_id`; `pred_id` == `num_classes`
    (the NO_CLASS column): those predicted no class (a value outside 0..num_classes-1)."""
    pred = np.asarray(pred)
    predicted = pred >= num_classes if num_classes is not None and pred_id == num_classes else pred == pred_id
    return (np.asarray(truth) == true_id) & predicted


def comparison_pictures(image: np.ndarray, truth: np.ndarray, preds: dict[str, np.ndarray], schema: LabelSchema,
                        level: str = "class", cell: tuple[int, int] | None = None,
                        colours=None) -> dict[str, np.ndarray]:
    """Pictures of one evaluated image, by caption: the ground truth and each model's prediction as colour masks at
    `level` (in `colours`, a viewer's class colours, where given), and with `cell` = (truth, predicted) the pixels
    of that confusion tinted on the photo, per model."""
    truth, shown_schema = at_level(truth, schema, level)
    shown_schema = class_colours.apply(shown_schema, colours or {})
    pictures = {"image": image, "ground truth": shown_schema.colorize(truth)}
    for name, pred in preds.items():
        pred, _ = at_level(pred, schema, level)
        pictures[name] = shown_schema.colorize(pred)
        if cell is not None:
            confused = confusion_pixels(truth, pred, *cell, shown_schema.num_classes)
            caption = f"{name}: {int(confused.sum())} px of this confusion"
            pictures[caption] = figures.disagreement_image(image, confused)
    return pictures


def per_image_table(evaluations: dict[str, dict], level: str = "class") -> pd.DataFrame:
    """One row per image (index "frame", as the page names data-set images), each run's mIoU and pixel accuracy
    in % at `level`, worst image (lowest mean mIoU) first.

    Images are matched by name; an image one run has not scored stays blank for it.
    """
    columns, mious = {}, []
    for run, result in evaluations.items():
        records = [r for r in result.get("per_image", []) if isinstance(r, dict) and r.get("name") is not None]
        classes = len(result.get(level_key(level), {}).get("names") or [])
        scores = pd.DataFrame([frame_scores(record, level, classes) for record in records],
                              index=[record["name"] for record in records], columns=["mean_iou", "pixel_accuracy"],
                              dtype=float)
        columns[f"{run} mIoU %"] = scores["mean_iou"]
        columns[f"{run} pixel acc %"] = scores["pixel_accuracy"]
        mious.append(scores["mean_iou"])
    table = 100 * pd.DataFrame(columns)
    table.index.name = "frame"
    # Mean and order from the unrounded scores (rounding first could rank a frame above a worse one), and from
    # the runs' own series, not column names: a run called "mean" has a column named like the mean's.
    mean = 100 * pd.concat(mious, axis=1).reindex(table.index).mean(axis=1) if mious else pd.Series(dtype=float)
    table.insert(0, "mean mIoU %", mean, allow_duplicates=True)
    return table.loc[mean.sort_values(na_position="last", kind="stable").index].round(1)


def frames_for_confusion(evaluation: dict, level: str, true_id: int, pred_id: int) -> tuple[list[dict], bool]:
    """The per-image records with pixels of truth `true_id` predicted as `pred_id` at `level` ("class" or
    "category"), most pixels first (copies with "pixels" added), and whether the search was partial.

    Format 3 stores each frame's full confusion matrix, so every such frame is found, a diagonal cell included;
    a format 2 record has only its 8 largest off-diagonal cells (partial: smaller confusions are not found).
    `pred_id` == the class count (predicted_names' NO_CLASS): the pixels predicted no class.
    """
    from segcore import eval_records

    num_classes = len(evaluation[LEVELS[level]]["names"])
    found, partial = [], False
    for record in evaluation.get("per_image", []):
        partial = partial or eval_records.confusion_is_partial(record, level)
        matrix = eval_records.frame_matrix(record, level, num_classes)
        pixels = int(matrix.unpredicted[true_id] if pred_id == num_classes else matrix.counts[true_id, pred_id])
        if pixels > 0:
            found.append({**record, "pixels": pixels})
    found.sort(key=lambda r: r["pixels"], reverse=True)      # stable: ties keep data-set order
    return found, partial


def find_record(evaluation: dict, name: str) -> dict | None:
    """The per-image record of the image named `name`, if the evaluation has one."""
    return next((r for r in evaluation.get("per_image", []) if r.get("name") == name), None)
