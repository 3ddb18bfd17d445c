"""Evaluation: stream a labelled split through a run, accumulate the confusion matrix, store it as JSON.

The JSON is the single source for every evaluation view: class- and category-level scores, the
confusion matrices, and per-image records (with their largest confusions) that link a matrix cell to
the images behind it. Scoring is at each label's own resolution. Where the JSON goes and how it names
its data set: segcore.evaluations.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np

from segcore import evaluations, runs
from segcore.datasets import list_pairs, schema_for
from segcore.imageio import read_pair
from segcore.labels import CATEGORIES
from segcore.metrics import ConfusionMatrix, top_confusions


def evaluate_predictor(predictor, samples, *, progress: bool = False, on_image=None, root=None) -> dict:
    """Score `predictor` (a predict.Predictor) on samples; `on_image(i, n)` is called after each image.

    With `root` (the data set folder) per-image paths are stored relative to it, as evaluate_run does.
    """
    where = (lambda path: evaluations.relative(path, Path(root))) if root is not None else str
    schema = predictor.schema
    category_ids = schema.category_ids()
    classes = ConfusionMatrix(schema.num_classes, schema.ignore_index)
    bar = None
    if progress:
        import keras
        bar = keras.utils.Progbar(len(samples), unit_name="image")
    per_image, started = [], time.time()
    for index, sample in enumerate(samples):
        image, truth = read_pair(sample.image, sample.label, schema)
        counts = classes.update(truth, predictor.predict(image).labels)
        single = ConfusionMatrix(schema.num_classes, None, counts)
        category = single.to_categories(schema)
        per_image.append({
            "name": sample.name, "image": where(sample.image), "label": where(sample.label),
            "pixel_accuracy": _round(single.pixel_accuracy()), "mean_iou": _round(single.mean_iou()),
            "confusions": top_confusions(counts, 8),
            "category_confusions": top_confusions(category.counts, 8),
        })
        if bar is not None:
            bar.update(index + 1)
        if on_image is not None:
            on_image(index + 1, len(samples))
    categories = classes.fold(category_ids, len(CATEGORIES))
    return {
        "run": predictor.name,
        "schema": schema.name,
        "images": len(samples),
        "input_size": list(predictor.input_size),
        "seconds": round(time.time() - started, 1),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "class_level": classes.summary(schema.names),
        "category_level": categories.summary(list(CATEGORIES)),
        "per_image": per_image,
    }


def _round(value: float):
    return None if np.isnan(value) else round(float(value), 6)


def evaluation_path(run: runs.Run, data, split: str) -> Path:
    """RUN/eval/<name>-<fingerprint>-<split>.json; a folder that isn't a readable data set is keyed by its path."""
    try:
        identity = evaluations.dataset_identity(data, split)
    except (ValueError, OSError):
        resolved = Path(data).expanduser().resolve()
        identity = {"name": resolved.name, "split": split,
                    "fingerprint": hashlib.sha256(str(resolved).encode()).hexdigest()[:evaluations.FINGERPRINT_CHARS]}
    return evaluations.evaluation_file(run.path, identity)


def evaluate_run(run, data, split: str = "val", *, schema=None, out=None, progress: bool = False,
                 on_image=None, predictor=None, overwrite: bool = True, inside=None) -> tuple[dict, Path]:
    """Evaluate and write the JSON atomically (an interrupted evaluation leaves the previous file intact).

    overwrite=False refuses (RunError, before any work) when the target file exists. `inside`: a folder the
    resolved target must lie in (the app passes its models folder, so a linked run can't write elsewhere).
    """
    from segcore.predict import Predictor

    if predictor is not None:
        run = predictor.run
    run = run if isinstance(run, runs.Run) else runs.open_run(run)
    if not run.ok:
        raise runs.RunError(run.error)
    root = Path(data).expanduser().resolve()
    samples = list_pairs(root, split)
    identity = evaluations.dataset_identity(root, split, samples)
    path = Path(out) if out else evaluations.evaluation_file(run.path, identity)
    if inside is not None:
        path = evaluations.check_inside(path, inside)
    if path.exists() and not overwrite:
        raise runs.RunError(f"{path} already holds an evaluation; pass --overwrite to replace it")
    predictor = predictor or Predictor(run)
    data_schema = schema_for(root, schema)
    if data_schema.name != predictor.schema.name:
        raise ValueError(f"the data set uses the {data_schema.name} schema but {predictor.name} was trained on "
                         f"{predictor.schema.name}; evaluate on data labelled like its training data")
    result = evaluate_predictor(predictor, samples, progress=progress, on_image=on_image, root=root)
    result.update({"format": evaluations.FORMAT, "dataset": identity, "split": split,
                   "label": evaluations.label({"dataset": identity}), "resolution": evaluations.RESOLUTION})
    runs.write_json(path, result)
    return result, path


def format_evaluation(result: dict) -> str:
    lines = []
    for level in ("class_level", "category_level"):
        summary = result[level]
        lines.append(f"{level.replace('_', ' ')}: mIoU {_pct(summary['mean_iou'])}  pixel acc "
                     f"{_pct(summary['pixel_accuracy'])}  mean class acc {_pct(summary['mean_class_accuracy'])}  "
                     f"FW-IoU {_pct(summary['frequency_weighted_iou'])}  mean Dice {_pct(summary['mean_dice'])}")
        for name, scores in summary["per_class"].items():
            lines.append(f"  {name:<14} IoU {_pct(scores['iou'])}  acc {_pct(scores['accuracy'])}  "
                         f"Dice {_pct(scores['dice'])}")
    return "\n".join(lines)


def _pct(value) -> str:
    return "  n/a" if value is None else f"{100 * value:5.1f}"
