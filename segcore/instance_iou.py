"""Cityscapes' instance-level IoU (iIoU), as its benchmark scores it (cityscapesScripts,
evalPixelLevelSemanticLabeling.py). Plain IoU lets one big car near the camera outweigh many small ones far away;
iIoU weighs each object's true-positive and false-negative pixels by its class's average object size over the
object's own size, so every object counts about the same. False positives stay unweighted (a wrong pixel belongs to
no object). Scored for the classes that have objects (person, rider, car, truck, bus, train, motorcycle, bicycle)
and the categories made only of them (human, vehicle), from the `*_gtFine_instanceIds.png` beside each
`*_gtFine_labelIds.png`; a model of another schema (a CamVid one) is scored on those categories only.

An evaluation stores the weighted sums per class and category (they add over frames and evaluation shards); the
scores come from them and the stored confusion matrix, never from a model run.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from segcore.labels import CATEGORIES, LabelSchema
from segcore.metrics import ConfusionMatrix

# cityscapesScripts' average object size per class in pixels (Cityscapes train at 1024x2048); caravan and trailer
# are void in evaluation and are never scored. Labels of another size scale them by their pixel count, so a
# downscaled copy of Cityscapes weighs its objects as the benchmark does at full size.
FULL_SIZE_PIXELS = 1024 * 2048
AVERAGE_OBJECT_PIXELS = {
    "person": 3462.4756337644, "rider": 3930.4788056518, "car": 12794.0202738185, "truck": 27855.1264367816,
    "bus": 35732.1511111111, "train": 67583.7075812274, "motorcycle": 6298.7200839748,
    "bicycle": 4672.3249222261, "caravan": 36771.8241758242, "trailer": 16926.9763313609,
}
LABEL_SUFFIX, INSTANCE_SUFFIX = "_gtFine_labelIds.png", "_gtFine_instanceIds.png"
OBJECT_ID_BASE = 1000         # an object's pixels hold label id * 1000 + its number; other pixels the label id


def instance_map_path(label_path) -> Path | None:
    """The Cityscapes instanceIds file beside a `*_gtFine_labelIds.png`, or None where there is none."""
    path = Path(label_path)
    if not path.name.endswith(LABEL_SUFFIX):
        return None
    sibling = path.with_name(path.name[: -len(LABEL_SUFFIX)] + INSTANCE_SUFFIX)
    return sibling if sibling.is_file() else None


def object_classes(schema: LabelSchema) -> np.ndarray:
    """(num_classes,) average object size per train id, NaN for a class that has no objects."""
    return np.array([AVERAGE_OBJECT_PIXELS.get(name, np.nan) for name in schema.names])


def object_categories(schema: LabelSchema) -> np.ndarray:
    """(7,) bool: the categories whose every class of the schema has objects (human, vehicle for Cityscapes)."""
    has_objects = ~np.isnan(object_classes(schema))
    category_ids = schema.category_ids()
    return np.array([bool(has_objects[category_ids == index].all()) and (category_ids == index).any()
                     for index in range(len(CATEGORIES))])


class InstanceCounts:
    """Weighted true-positive and false-negative pixel sums of a schema's objects, per class and per category."""

    def __init__(self, schema: LabelSchema):
        self.schema = schema
        self.average = object_classes(schema)
        self.categories_scored = object_categories(schema)
        self.category_ids = schema.category_ids()
        self.label_to_train = dict(schema.raw_to_train)
        self.classes = np.zeros((2, schema.num_classes))          # rows: weighted tp, weighted fn
        self.categories = np.zeros((2, len(CATEGORIES)))

    def add(self, instances: np.ndarray, pred: np.ndarray | None, pred_categories: np.ndarray) -> None:
        """One frame: `instances` its instanceIds map; `pred` the predicted train ids of this schema at the same size
        (None for a model of another schema: only categories are scored); `pred_categories` the predicted
        category ids (segcore.labels.CATEGORIES; any other value is void)."""
        if instances.shape != pred_categories.shape or (pred is not None and pred.shape != instances.shape):
            raise ValueError(f"instance map is {instances.shape}, prediction {pred_categories.shape}: they must match")
        inside = instances > OBJECT_ID_BASE
        objects, which = np.unique(instances[inside], return_inverse=True)
        if not objects.size:
            return
        train = np.array([self.label_to_train.get(int(label), -1) for label in objects // OBJECT_ID_BASE])
        scored = (train >= 0) & (train < self.schema.num_classes)
        scored[scored] = ~np.isnan(self.average[train[scored]])
        sizes = np.bincount(which, minlength=objects.size)
        object_class = np.where(scored, train, 0)
        scale = instances.size / FULL_SIZE_PIXELS
        weight = np.where(scored, self.average[object_class] * scale / sizes, 0.0)
        if pred is not None:
            hits = self._hits(which, pred[inside] == object_class[which], objects.size)
            np.add.at(self.classes[0], object_class, hits * weight)
            np.add.at(self.classes[1], object_class, (sizes - hits) * weight)
        categories = self.category_ids[object_class]
        category_hits = self._hits(which, pred_categories[inside] == categories[which], objects.size)
        in_category = scored & self.categories_scored[categories]
        np.add.at(self.categories[0], categories, np.where(in_category, category_hits * weight, 0.0))
        np.add.at(self.categories[1], categories, np.where(in_category, (sizes - category_hits) * weight, 0.0))

    @staticmethod
    def _hits(which: np.ndarray, right: np.ndarray, count: int) -> np.ndarray:
        """Per object, its pixels predicted right."""
        return np.bincount(which, weights=right.astype(float), minlength=count)

    def to_json(self, level: str) -> dict:
        """The level's stored sums: lists with null for a class (category) that has no objects."""
        sums, scored = ((self.classes, ~np.isnan(self.average)) if level == "class_level"
                        else (self.categories, self.categories_scored))
        return {name: [round(float(value), 6) if keep else None for value, keep in zip(row, scored)]
                for name, row in zip(("tp_weighted", "fn_weighted"), sums)}


def _sums(stored) -> tuple[list, list] | None:
    """The stored (tp_weighted, fn_weighted) lists, or None where they are missing or malformed."""
    if not isinstance(stored, dict):
        return None
    lists = [stored.get(name) for name in ("tp_weighted", "fn_weighted")]
    if not all(isinstance(values, list) for values in lists) or len(lists[0]) != len(lists[1]):
        return None
    if not all(value is None or isinstance(value, (int, float)) for values in lists for value in values):
        return None
    return lists[0], lists[1]


def merged(parts: list[dict | None]) -> dict | None:
    """The sum of several stored sums of one level (evaluation shards); None if any part has none."""
    sums = [_sums(part) for part in parts]
    if not sums or None in sums or len({len(tp) for tp, _ in sums}) != 1:
        return None
    return {name: [None if None in column else round(float(sum(column)), 6) for column in zip(*lists)]
            for name, lists in zip(("tp_weighted", "fn_weighted"), zip(*sums))}


def instance_scores(summary) -> list[float | None] | None:
    """Per-class iIoU of a stored level summary (None for a class without objects, or with no object, prediction
    or miss to score), or None where the evaluation stored no instance sums (no instanceIds files)."""
    sums = _sums(summary.get("instance")) if isinstance(summary, dict) else None
    if sums is None:
        return None
    matrix = ConfusionMatrix.from_summary(summary)
    false_positives = matrix.predicted - matrix.true_positives
    tp, fn = sums
    if len(tp) != len(false_positives):
        return None
    scores = []
    for hit, miss, wrong in zip(tp, fn, false_positives):
        denominator = None if hit is None or miss is None else hit + miss + wrong
        scores.append(hit / denominator if denominator else None)
    return scores


def mean_instance_score(summary) -> float | None:
    """Mean iIoU over the scored classes (the benchmark's "iIoU class" / "iIoU category"), or None."""
    values = [value for value in instance_scores(summary) or [] if value is not None]
    return float(np.mean(values)) if values else None
