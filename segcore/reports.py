"""Per-class reports of stored evaluations, as FiftyOne's and mmsegmentation's evaluation reports print them, and the
evaluation-wide extras (boundary IoU, calibration): tables computed from what `segcore evaluate` stored (the
confusion matrices, boundary band counts, calibration bins), never by running a model.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from segcore import eval_records
from segcore import evaluations as stored
from segcore.eval_records import level_key
from segcore.calibration import expected_calibration_error
from segcore.figures import SUMMARY_LABELS, metrics_table
from segcore.instance_iou import instance_scores, mean_instance_score
from segcore.metrics import NO_CLASS, ConfusionMatrix
from segcore.trimap import trimap_scores
from segcore.unlike_train import stored_least_alike

# Region scores from the confusion matrix, boundary IoU from the stored band counts (format 3), Cityscapes' iIoU
# from the stored instance sums (segcore.instance_iou).
REPORT_METRICS = ("iou", "boundary_iou", "instance_iou", "precision", "recall", "dice", "support")
OPTIONAL_METRICS = ("boundary_iou", "instance_iou")         # columns only where some run stored them
REPORT_LABELS = {"iou": "IoU %", "boundary_iou": "boundary IoU %", "instance_iou": "iIoU %",
                 "precision": "precision %", "recall": "recall %", "dice": "Dice %", "support": "support px"}


def _percent(values) -> np.ndarray:
    return np.round(100 * np.asarray(values, dtype=float), 1)


def _per_class(values, classes: int) -> np.ndarray:
    """Stored per-class scores (None where undefined) as floats, all NaN where none were stored."""
    if values is None:
        return np.full(classes, np.nan)
    return np.array([np.nan if value is None else value for value in values], dtype=float)


def class_scores(summary: dict) -> pd.DataFrame:
    """One row per class of a stored level summary: IoU, boundary IoU, iIoU, precision, recall and Dice in % (1
    decimal; NaN where undefined: a class neither in the truth nor predicted, no boundary or instance sums stored, a
    class without objects), support in pixels.

    Computed from the summary's confusion matrix (rows truth, columns prediction), as segcore.metrics scores it.
    """
    matrix = ConfusionMatrix.from_summary(summary)
    classes = matrix.num_classes
    frame = pd.DataFrame({"iou": _percent(matrix.iou()),
                          "boundary_iou": _percent(_per_class(eval_records.boundary_scores(summary), classes)),
                          "instance_iou": _percent(_per_class(instance_scores(summary), classes)),
                          "precision": _percent(matrix.precision()), "recall": _percent(matrix.class_accuracy()),
                          "dice": _percent(matrix.dice()), "support": matrix.support.astype(np.int64)},
                         index=pd.Index(list(summary["names"]), name="class"))
    return frame


def class_report(evaluations: dict[str, dict], level: str = "class") -> pd.DataFrame:
    """The per-class report of several runs side by side: one row per class (every class any run has, in order of
    first appearance), one column per (score, run) named "<score label> · <run>", each score's runs adjacent.

    Boundary IoU and iIoU columns appear only where some run stored boundary counts (format 3) or instance sums
    (Cityscapes instanceIds). A class a run's schema lacks is NaN for it (support included).
    """
    key = level_key(level)
    scores = {run: class_scores(result[key]) for run, result in evaluations.items()}
    names = list(dict.fromkeys(name for table in scores.values() for name in table.index))
    shown = [metric for metric in REPORT_METRICS if metric not in OPTIONAL_METRICS
             or any(table[metric].notna().any() for table in scores.values())]
    columns = {}
    for metric in shown:
        for run, table in scores.items():
            column = table[metric].reindex(names)
            columns[f"{REPORT_LABELS[metric]} · {run}"] = column.astype("Int64") if metric == "support" else column
    report = pd.DataFrame(columns, index=pd.Index(names, name="class"))
    return report


def report_csv_frame(report: pd.DataFrame) -> pd.DataFrame:
    """The report with the class as its first column, ready for segcore.exports.csv_bytes (which drops the index)."""
    return report.reset_index()


# ---------------------------------------------------------------------------------------------- evaluation-wide

def frame_mean_iou(result: dict, level: str = "class") -> float | None:
    """The mean over frames of each frame's own mIoU (over the classes in its truth or prediction): every frame
    weighs the same, where the pooled mIoU lets frames with more pixels count more (FiftyOne users asked for this
    view). None where a frame's full confusion is not stored (format 2) or no frame is scored at `level`."""
    key = level_key(level)
    if key not in result:
        return None
    classes = len(result[key]["names"])
    values = []
    for record in result.get("per_image", []):
        if not isinstance(record, dict):
            continue
        try:
            if eval_records.confusion_is_partial(record, level):
                return None
            value = eval_records.frame_matrix(record, level, classes).mean_iou()
        except ValueError:
            return None             # a record without this level or a malformed cell: not a figure to show
        if np.isfinite(value):
            values.append(value)
    return float(np.mean(values)) if values else None


def extras_table(evaluations: dict[str, dict], level: str = "class") -> pd.DataFrame:
    """One row per run: region mIoU, boundary mIoU (mean over classes with a band), mean iIoU (Cityscapes' instance
    IoU, over the classes with objects), expected calibration error, the mIoU of the quarter of frames least like
    the training frames (segcore.unlike_train) and the mean of the frames' own mIoU (frame_mean_iou), all in % (1
    decimal), NaN where the evaluation did not store the data."""
    key = level_key(level)
    rows = {}
    for run, result in evaluations.items():
        summary = result[key]
        miou = summary.get("mean_iou")
        boundary = eval_records.mean_boundary_score(summary)
        calibration = eval_records.calibration(result, level)
        ece = None if calibration is None else expected_calibration_error(calibration)
        try:
            least_alike = stored_least_alike(result, key.removesuffix("_level"))
        except ValueError:
            least_alike = None          # distances over cells it can't score: shown as not stored
        least_alike = None if least_alike is None else least_alike["mean_iou"]
        rows[run] = [np.nan if value is None else round(100 * float(value), 1)
                     for value in (miou, boundary, mean_instance_score(summary), ece, least_alike,
                                   frame_mean_iou(result, level))]
    frame = pd.DataFrame.from_dict(rows, orient="index", dtype=float, columns=[
        "mean_iou", "mean_boundary_iou", "mean_instance_iou", "ece", "least_alike_miou", "frame_mean_miou"])
    frame.index.name = "run"
    return frame


def _why_absent(result: dict) -> str:
    if eval_records.calibration(result) is not None:     # stored, at the other level
        measured = eval_records.calibration_level(result)
        on = "classes" if measured == "class" else "7 categories"
        return (f"it was measured on the {on}: see it at {measured} level"
                + (", offered where every run chosen predicts the same classes" if measured == "class" else ""))
    if result.get("format", 0) < 3:
        return "evaluation format 2: " + stored.RERUN_HINT.format(what="it")
    return "a prediction folder gives no class scores"


def missing_extras(evaluations: dict[str, dict], level: str = "class") -> list[str]:
    """One line per kind of stored data some runs lack (boundary IoU, calibration) and reason: which runs, why,
    and what to do."""
    key = level_key(level)
    lines = []
    no_boundary = [run for run, result in evaluations.items() if eval_records.boundary_scores(result[key]) is None]
    if no_boundary:
        lines.append(f"Boundary IoU is not stored for {', '.join(no_boundary)}: "
                     + stored.RERUN_HINT.format(what="it") + ".")
    no_trimap = [run for run, result in evaluations.items() if trimap_scores(result[key]) is None]
    if no_trimap and len(no_trimap) < len(evaluations):     # none stored: the section is left out, unsaid
        lines.append(f"Scores near edges (trimap) are not stored for {', '.join(no_trimap)}: "
                     + stored.RERUN_HINT.format(what="them") + ".")
    by_reason: dict[str, list[str]] = {}
    for run, result in evaluations.items():
        if eval_records.calibration(result, level) is None:
            by_reason.setdefault(_why_absent(result), []).append(run)
    lines += [f"Calibration is not stored for {', '.join(runs)} ({why})." for why, runs in by_reason.items()]
    with_distances = [run for run, result in evaluations.items() if "unlike_train" in result]
    if with_distances and len(with_distances) < len(evaluations):
        lacking = [run for run in evaluations if run not in with_distances]
        lines.append(f"The least-alike quarter is not stored for {', '.join(lacking)}: run `segcore unlike-train "
                     "--data DIR --runs RUN... --store`.")
    return lines


def unpredicted_note(summary: dict) -> str | None:
    """How many scored pixels a level summary's prediction left without a class, or None where there were none."""
    matrix = ConfusionMatrix.from_summary(summary)
    left, total = int(matrix.unpredicted.sum()), int(matrix.support.sum())
    if not left:
        return None
    return (f"{left:,} of the {total:,} scored pixels ({100 * left / total:.1f} %) were predicted no class (void): "
            "each is a miss for its true class, as the Cityscapes benchmark scores them")


def no_class_lines(evaluations: dict[str, dict], level: str = "class") -> list[str]:
    """One line per run whose predictions left pixels without a class (a prediction folder holding void)."""
    notes = {run: unpredicted_note(result[level_key(level)]) for run, result in evaluations.items()}
    return [f"{run}: {note}; the matrix shows them as the column {NO_CLASS}." for run, note in notes.items() if note]


SCORE_LABELS = {**SUMMARY_LABELS, "mean_boundary_iou": "boundary mIoU %", "ece": "calibration error (ECE) %",
                "least_alike_miou": "mIoU least like train %", "frame_mean_miou": "mIoU, mean of frames %",
                "mean_instance_iou": "iIoU %"}
SCORE_HELPS = {
    "frame_mean_miou": "Each frame's own mIoU, averaged over frames: every frame counts the same, where the pooled "
                       "mIoU lets frames with more pixels (larger images) count more",
    "mean_instance_iou": "Cityscapes' instance-level IoU over the classes with objects: each object's pixels weighed "
                         "by its class's average object size over its own, so small, far objects count as much as "
                         "near ones"}


def scores_table(evaluations: dict[str, dict], level: str = "class") -> pd.DataFrame:
    """The Evaluation page's scores, one row per run in % (NaN: not stored): the summary metrics, boundary mIoU and
    ECE, and beside mIoU, where some run stored them, the figures to read it against: the frames least like train,
    every frame weighed the same, and (Cityscapes with its instanceIds files) every object weighed the same."""
    extras = extras_table(evaluations, level)
    scores = metrics_table(evaluations, level_key(level)).join(extras[["mean_boundary_iou", "ece"]])
    for column in ("frame_mean_miou", "least_alike_miou", "mean_instance_iou"):
        if extras[column].notna().any():
            scores.insert(scores.columns.get_loc("mean_iou") + 1, column, extras[column])
    return scores
