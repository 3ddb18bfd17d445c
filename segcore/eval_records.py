"""Reading a stored evaluation's per-frame records and format 3 fields: each frame's confusion matrix, its stored
prediction, thumbnail and contradicted-pixel files, boundary IoU, calibration bins, frames without a prediction.

Pure: these read what `segcore evaluate` stored and never run a model. A format 2 file lacks these fields; each
reader then says so (None, or a partial result) and a view shows segcore.evaluations.RERUN_HINT.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from segcore.evaluations import LEVEL_KEYS
from segcore.files import is_regular_file


def _stored_file(eval_json_path, record, key: str, suffix: str) -> Path | None:
    relative_path = record.get(key) if isinstance(record, dict) else None
    if not isinstance(relative_path, str) or not relative_path.endswith(suffix):
        return None
    folder = Path(eval_json_path).parent.resolve()
    path = (folder / relative_path).resolve()
    if not path.is_relative_to(folder) or not is_regular_file(path):
        return None         # a hand-edited path leading out of the eval folder, or a file not (yet) stored
    return path


def prediction_path(eval_json_path, record) -> Path | None:
    """The stored predicted label map (uint8 train-id PNG at the label's resolution) of a per-image record, or
    None where the evaluation stored none (format 2), the file is gone, or the path leaves the eval folder."""
    return _stored_file(eval_json_path, record, "prediction", ".png")


def contradicted_path(eval_json_path, record) -> Path | None:
    """The stored mask (PNG, 255 = contradicted) of the frame's labelled pixels the model confidently rejects
    (segcore.label_quality), or None where the evaluation stored none (see prediction_path)."""
    return _stored_file(eval_json_path, record, "contradicted", ".png")


def thumbnail_path(eval_json_path, record) -> Path | None:
    """The stored thumbnail JPEG (longer side 256 px at most) of a per-image record, or None (see prediction_path)."""
    return _stored_file(eval_json_path, record, "thumbnail", ".jpg")


def level_key(level: str) -> str:
    key = level if level.endswith("_level") else f"{level}_level"
    if key not in LEVEL_KEYS:
        raise ValueError(f"level must be class or category, got {level!r}")
    return key


def _class_scored(record: dict) -> bool:
    """Whether a per-image record has a class level (a cross-schema record has categories only)."""
    return "confusions" in record or "category_confusion" in record


def _full_and_top(record: dict, level: str):
    """The record's (full sparse cells, top-8 cells) at `level`."""
    if level_key(level) == "class_level":
        if not _class_scored(record):
            raise ValueError(f"{record.get('name')}: this evaluation has no class level (categories only)")
        return record.get("confusion"), record.get("confusions")
    full = record.get("category_confusion" if _class_scored(record) else "confusion")
    return full, record.get("category_confusions")


def confusion_is_partial(record: dict, level: str = "class") -> bool:
    """True where frame_confusion can only give the 8 largest confusions (a format 2 record): no diagonal, no
    small cells. A frame browser filtering on pairs should then say RERUN_HINT (what='full confusion matrices')."""
    return not isinstance(_full_and_top(record, level)[0], list)


def frame_confusion(record: dict, level: str, num_classes: int) -> np.ndarray:
    """A frame's (num_classes, num_classes) int64 confusion matrix at `level` ("class" or "category").

    Format 3 stores every cell; a format 2 record has only its 8 largest off-diagonal cells, which are returned
    alone (confusion_is_partial tells). ValueError if the record has no such level (a cross-schema evaluation has
    categories only) or a stored cell is malformed.
    """
    from segcore.metrics import dense_confusion

    full, top = _full_and_top(record, level)
    try:
        if isinstance(full, list):
            return dense_confusion(full, num_classes)
        return dense_confusion(top if isinstance(top, list) else [], num_classes)
    except ValueError as err:
        raise ValueError(f"{record.get('name')}: {err}") from None


def frame_matrix(record: dict, level: str, num_classes: int):
    """A frame's ConfusionMatrix at `level`: frame_confusion and the pixels its prediction left without a class
    (a record's "unpredicted" pairs, stored only where there are some)."""
    from segcore.metrics import ConfusionMatrix, dense_unpredicted

    class_level = level_key(level) == "class_level"
    key = "unpredicted" if class_level or not _class_scored(record) else "category_unpredicted"
    try:
        unpredicted = dense_unpredicted(record.get(key) or [], num_classes)
    except ValueError as err:
        raise ValueError(f"{record.get('name')}: {err}") from None
    return ConfusionMatrix(num_classes, None, frame_confusion(record, level, num_classes), unpredicted)


def frame_scores(record: dict, level: str, num_classes: int) -> tuple[float, float]:
    """A frame's (mIoU, pixel accuracy) at `level`, 0..1: as stored at class level; at category level from the
    frame's category matrix (NaN where only its largest confusions are stored, format 2, or none at all)."""
    if level_key(level) == "class_level":
        return tuple(float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan
                     for v in (record.get("mean_iou"), record.get("pixel_accuracy")))
    try:
        if confusion_is_partial(record, level):
            return np.nan, np.nan
        matrix = frame_matrix(record, level, num_classes)
    except ValueError:
        return np.nan, np.nan
    return matrix.mean_iou(), matrix.pixel_accuracy()


def boundary_scores(summary) -> list[float | None] | None:
    """Per-class boundary IoU of a level summary (None where neither band has a pixel), or None where the
    evaluation stored no boundary counts (format 2) or they are malformed."""
    stored = summary.get("boundary") if isinstance(summary, dict) else None
    names = summary.get("names") if isinstance(summary, dict) else None
    if not (isinstance(stored, dict) and isinstance(names, list)):
        return None
    counts = [stored.get("intersection"), stored.get("union")]
    if not all(isinstance(values, list) and len(values) == len(names) and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values) for values in counts):
        return None
    return [None if union == 0 else round(intersection / union, 6) for intersection, union in zip(*counts)]


def mean_boundary_score(summary) -> float | None:
    """Mean boundary IoU over the classes that have a band, or None (see boundary_scores)."""
    scores = [v for v in boundary_scores(summary) or [] if v is not None]
    return sum(scores) / len(scores) if scores else None


def calibration(result: dict, level: str | None = None) -> dict | None:
    """The stored calibration bins (for metrics.expected_calibration_error / reliability_curve), or None for a
    run without scores (prediction folders), a format 2 file, or malformed bins; with `level` ("class" or
    "category", or its key), also None where they were measured at the other level (calibration_level)."""
    from segcore.calibration import read_calibration

    stored = result.get("calibration") if isinstance(result, dict) else None
    if level is not None and isinstance(result, dict) and level_key(calibration_level(result)) != level_key(level):
        return None
    return stored if read_calibration(stored) is not None else None


def calibration_level(result: dict) -> str:
    """The level an evaluation's calibration was measured at: its finest, the classes where the data is labelled
    in the model's schema, else the categories both fold onto (segcore.evaluate)."""
    return "class" if "class_level" in result else "category"


def missing_predictions(result: dict) -> list[str]:
    """The frames a prediction-folder run had no prediction for (skipped, not scored); [] when none."""
    missing = result.get("missing_predictions") if isinstance(result, dict) else None
    return [name for name in missing if isinstance(name, str)] if isinstance(missing, list) else []
