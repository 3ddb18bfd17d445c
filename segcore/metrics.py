"""Streaming confusion matrix and every score derived from it (IoU, Dice, accuracies), class or category level.

Rows are ground truth, columns are predictions. Ignored pixels never enter the matrix. A class absent
from both ground truth and prediction has an undefined IoU (NaN) and is left out of the means.

A prediction may leave a pixel without a class (the ignore index: a stored prediction of a model that predicts
void). As the Cityscapes benchmark scores it, such a pixel is a miss for its true class (it lowers that class's
IoU and recall) and a false positive for no class: `unpredicted` counts them per true class, beside the square
matrix, and stored summaries carry it as "unpredicted" only where a pixel was left so.
"""
from __future__ import annotations

import numpy as np

from segcore.labels import CATEGORIES, LabelSchema
# Boundary IoU and calibration live in their own modules; their public functions are importable from here too.
from segcore.boundary import boundary_counts, boundary_iou, boundary_width, mean_boundary_iou  # noqa: F401, E402
from segcore.calibration import (calibration_counts, expected_calibration_error,  # noqa: F401, E402
                                 reliability_curve)


NO_CLASS = "(no class)"        # the confusion column of pixels a prediction left without a class


class ConfusionMatrix:
    def __init__(self, num_classes: int, ignore_index: int | None = None, counts: np.ndarray | None = None,
                 unpredicted: np.ndarray | None = None):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.counts = np.zeros((num_classes, num_classes), dtype=np.int64) if counts is None else \
            np.asarray(counts, dtype=np.int64).reshape(num_classes, num_classes).copy()
        # Per true class, its pixels the prediction left without a class (misses no column receives).
        self.unpredicted = np.zeros(num_classes, dtype=np.int64) if unpredicted is None else \
            np.asarray(unpredicted, dtype=np.int64).reshape(num_classes).copy()

    @classmethod
    def from_summary(cls, summary: dict) -> "ConfusionMatrix":
        """The matrix a stored level summary (`summary()`'s dict) was scored from, its "unpredicted" included."""
        counts = np.asarray(summary["confusion_matrix"], dtype=np.int64)
        return cls(len(counts), None, counts, summary.get("unpredicted"))

    @staticmethod
    def pair_counts(truth: np.ndarray, pred: np.ndarray, num_classes: int, ignore_index: int | None) -> np.ndarray:
        """(num_classes, num_classes + 1) counts for one batch, one bincount, no Python loop over pixels; the last
        column counts the pixels `pred` leaves without a class (`ignore_index` there, when one is given)."""
        truth, pred = np.asarray(truth), np.asarray(pred)
        # Shapes before flattening: a transposed map has as many pixels but pairs the wrong ones.
        if truth.shape != pred.shape:
            raise ValueError(f"ground truth is {_shape(truth)} pixels but the prediction is {_shape(pred)}; "
                             "a prediction must have its label map's exact shape (transposed or resized?)")
        truth, pred = truth.ravel(), pred.ravel()
        classless = pred == ignore_index if ignore_index is not None else np.zeros(pred.shape, bool)
        outside = ((pred < 0) | (pred >= num_classes)) & ~classless
        if outside.any():
            bad = np.unique(pred[outside])
            raise ValueError(f"the prediction holds class ids {bad.tolist()[:10]} outside the schema's "
                             f"0..{num_classes - 1}; the model's classes don't match the label schema")
        keep = (truth >= 0) & (truth < num_classes)        # e.g. -1, another tool's "ignore", counts nowhere
        if ignore_index is not None:
            keep &= truth != ignore_index
        columns = num_classes + 1
        truth = truth[keep].astype(np.int64)
        pred = np.where(classless[keep], num_classes, pred[keep]).astype(np.int64)
        return np.bincount(truth * columns + pred, minlength=num_classes * columns).reshape(num_classes, columns)

    def update(self, truth: np.ndarray, pred: np.ndarray) -> "ConfusionMatrix":
        """Add a batch; returns that batch's own matrix (used for per-image records)."""
        batch = self.pair_counts(truth, pred, self.num_classes, self.ignore_index)
        self.counts += batch[:, :-1]
        self.unpredicted += batch[:, -1]
        return ConfusionMatrix(self.num_classes, self.ignore_index, batch[:, :-1], batch[:, -1])

    def merge(self, other: "ConfusionMatrix") -> "ConfusionMatrix":
        return ConfusionMatrix(self.num_classes, self.ignore_index, self.counts + other.counts,
                               self.unpredicted + other.unpredicted)

    # --- derived ---------------------------------------------------------------------------------------
    @property
    def true_positives(self) -> np.ndarray:
        return np.diag(self.counts)

    @property
    def support(self) -> np.ndarray:      # ground-truth pixels per class, those left without a class included
        return self.counts.sum(axis=1) + self.unpredicted

    @property
    def predicted(self) -> np.ndarray:    # predicted pixels per class
        return self.counts.sum(axis=0)

    @staticmethod
    def _ratio(num, den) -> np.ndarray:
        num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
        out = np.full(np.broadcast(num, den).shape, np.nan)
        np.divide(num, den, out=out, where=den > 0)
        return out

    def iou(self) -> np.ndarray:
        tp = self.true_positives
        return self._ratio(tp, self.support + self.predicted - tp)

    def dice(self) -> np.ndarray:          # = F1 per class
        return self._ratio(2 * self.true_positives, self.support + self.predicted)

    def class_accuracy(self) -> np.ndarray:  # = recall
        return self._ratio(self.true_positives, self.support)

    def precision(self) -> np.ndarray:
        return self._ratio(self.true_positives, self.predicted)

    def mean_iou(self) -> float:
        return _nanmean(self.iou())

    def mean_dice(self) -> float:
        return _nanmean(self.dice())

    def mean_class_accuracy(self) -> float:
        return _nanmean(self.class_accuracy())

    def frequency_weighted_iou(self) -> float:
        total = self.support.sum()
        if total == 0:
            return float("nan")
        iou = np.nan_to_num(self.iou())
        return float((self.support / total * iou).sum())

    def pixel_accuracy(self) -> float:
        total = self.support.sum()
        return float(self.true_positives.sum() / total) if total else float("nan")

    def fold(self, mapping: np.ndarray, num_groups: int) -> "ConfusionMatrix":
        """Sum rows and columns by group (e.g. class -> category)."""
        onehot = np.zeros((self.num_classes, num_groups), dtype=np.int64)
        onehot[np.arange(self.num_classes), mapping] = 1
        return ConfusionMatrix(num_groups, None, onehot.T @ self.counts @ onehot, onehot.T @ self.unpredicted)

    def to_categories(self, schema: LabelSchema) -> "ConfusionMatrix":
        return self.fold(schema.category_ids(), len(CATEGORIES))

    def summary(self, names: list[str]) -> dict:
        """JSON-safe scores (NaN -> None); "unpredicted" only where a pixel was left without a class."""
        return {
            "names": list(names),
            "confusion_matrix": self.counts.tolist(),
            **({"unpredicted": self.unpredicted.tolist()} if self.unpredicted.any() else {}),
            "pixel_accuracy": _json_float(self.pixel_accuracy()),
            "mean_class_accuracy": _json_float(self.mean_class_accuracy()),
            "mean_iou": _json_float(self.mean_iou()),
            "frequency_weighted_iou": _json_float(self.frequency_weighted_iou()),
            "mean_dice": _json_float(self.mean_dice()),
            "per_class": {
                name: {"iou": _json_float(i), "accuracy": _json_float(a), "precision": _json_float(p),
                       "dice": _json_float(d), "support": int(s)}
                for name, i, a, p, d, s in zip(names, self.iou(), self.class_accuracy(), self.precision(),
                                               self.dice(), self.support)
            },
        }


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def _json_float(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) else round(value, 6)


def top_confusions(counts: np.ndarray, k: int = 5) -> list[tuple[int, int, int]]:
    """The k largest off-diagonal cells as (true, predicted, pixels), non-empty only."""
    off = np.asarray(counts).copy()
    np.fill_diagonal(off, 0)
    flat = np.argsort(-off, axis=None, kind="stable")[:k]   # ties: the first cell first, as argmax would
    rows, cols = np.unravel_index(flat, off.shape)
    return [(int(r), int(c), int(off[r, c])) for r, c in zip(rows, cols) if off[r, c] > 0]


def sparse_confusion(counts: np.ndarray) -> list[list[int]]:
    """Every non-zero cell of a confusion matrix, diagonal included, as [true, predicted, pixels] (row order)."""
    counts = np.asarray(counts)
    rows, cols = np.nonzero(counts)
    return [[int(r), int(c), int(counts[r, c])] for r, c in zip(rows, cols)]


def sparse_unpredicted(unpredicted: np.ndarray) -> list[list[int]]:
    """The non-zero entries of a per-class count of pixels left without a class, as [true id, pixels]."""
    return [[int(true), int(pixels)] for true, pixels in enumerate(np.asarray(unpredicted).tolist()) if pixels]


def dense_unpredicted(pairs, num_classes: int) -> np.ndarray:
    """The (num_classes,) int64 counts of sparse [true id, pixels] pairs (ValueError for a malformed pair)."""
    counts = np.zeros(num_classes, dtype=np.int64)
    for pair in pairs:
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in pair) and pair[0] < num_classes):
            raise ValueError(f"unpredicted entry {str(pair)[:40]} is not [true id, pixels] with an id below "
                             f"{num_classes}")
        counts[pair[0]] += pair[1]
    return counts


def dense_confusion(triples, num_classes: int) -> np.ndarray:
    """The (num_classes, num_classes) int64 matrix of sparse [true, predicted, pixels] triples (ValueError if one
    is not three non-negative integers with both ids below num_classes)."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    for triple in triples:
        if not (isinstance(triple, (list, tuple)) and len(triple) == 3 and all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in triple)
                and triple[0] < num_classes and triple[1] < num_classes):
            raise ValueError(f"confusion cell {str(triple)[:40]} is not [true id, predicted id, pixels] with ids "
                             f"below {num_classes}")
        matrix[triple[0], triple[1]] += triple[2]
    return matrix


def _shape(array: np.ndarray) -> str:
    """(H, W) as 'HxW' (height x width, as the CLI writes sizes); other ranks as a tuple."""
    return "x".join(str(v) for v in array.shape) if array.ndim == 2 else str(array.shape)
