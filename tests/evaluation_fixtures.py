"""Hand-built stored evaluations for the Evaluation page's tests: a CamVid-style val split and two runs whose
evaluation JSON is written here in format 3 (full per-frame confusions, prediction PNGs, thumbnails, boundary band
counts, calibration bins) or format 2 (top-8 confusions only), scored with segcore's own metrics from synthetic
predictions. The runs' model files are placeholders: the Evaluation page must never load them."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import make_camvid_like
from segcore import evaluations as stored
from segcore.boundary import boundary_counts, boundary_summary, boundary_width
from segcore.calibration import CalibrationCounts, calibration_counts
from segcore.labels import CAMVID11, CATEGORIES
from segcore.metrics import ConfusionMatrix
from stored_runs import evaluation, frame_record, placeholder_run

RUNS = ("unet-a", "segnet-b")
SKY, BUILDING, ROAD = 0, 1, 3
FRAMES = ("f000", "f001", "f002")


def prediction_of(run: int, truth: np.ndarray, index: int) -> np.ndarray:
    """Run 0 paints a block of road as building and 1 px of building as sky on frame 0; run 1 shifts the map one
    column right (errors along every edge). Void pixels get a class, as a model's output does."""
    pred = truth.copy()
    pred[pred >= CAMVID11.num_classes] = ROAD
    if run == 0:
        pred[-6:, : 8 + 2 * index] = BUILDING
        if index == 0:
            pred[0, -1] = SKY if truth[0, -1] != SKY else BUILDING
    else:
        pred = np.roll(pred, 1, axis=1)
    return pred


def confidence_of(run: int, truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Made-up top-class probabilities: sure where right, less sure where wrong (run 1 overconfident)."""
    right = truth == pred
    return np.where(right, 0.93, 0.55 if run == 0 else 0.9).astype(np.float32)


def make_data(root: Path) -> Path:
    return make_camvid_like(root, splits=(("val", len(FRAMES)),), size=(32, 48))


def make_models(root: Path, data: Path, fmt: int = 3, runs=RUNS) -> Path:
    """Runs under `root`, each with a stored evaluation of `data`'s val split in format `fmt` (2 or 3)."""
    identity = stored.dataset_identity(data, "val")
    key = stored.evaluation_key(identity)
    for number, run in enumerate(runs):
        eval_dir = placeholder_run(root / run, [32, 48])
        total = ConfusionMatrix(CAMVID11.num_classes, CAMVID11.ignore_index)
        bands = {level: [np.zeros(n, np.int64), np.zeros(n, np.int64)]
                 for level, n in (("class", CAMVID11.num_classes), ("category", len(CATEGORIES)))}
        calibration, records = CalibrationCounts(), []
        for index, name in enumerate(FRAMES):
            truth = np.asarray(Image.open(data / "labels" / "val" / f"{name}.png"))
            pred = prediction_of(number, truth, index)
            record = frame_record(name, total.update(truth, pred).counts, pred, data, key, eval_dir, fmt)
            if fmt >= 3:
                for level, (t, p, n) in (("class", (truth, pred, CAMVID11.num_classes)),
                                         ("category", (CAMVID11.to_categories(truth), CAMVID11.to_categories(pred),
                                                       len(CATEGORIES)))):
                    intersection, union = boundary_counts(t, p, n, CAMVID11.ignore_index if level == "class" else None)
                    bands[level][0] += intersection
                    bands[level][1] += union
                valid = truth < CAMVID11.num_classes
                calibration.add(calibration_counts(confidence_of(number, truth, pred), truth == pred, valid))
                record.update({"boundary_iou": 0.5, "label_quality": round(float((truth == pred).mean()), 6)})
            records.append(record)
        result = evaluation(run, identity, fmt, [32, 48], total.counts, records)
        if fmt >= 3:
            width = {boundary_width(truth.shape)}
            for level in ("class", "category"):
                result[f"{level}_level"]["boundary"] = boundary_summary(*bands[level], width)
            result["calibration"] = calibration.to_json()
        (eval_dir / f"{key}.json").write_text(json.dumps(result))
    return root


def eval_json(models: Path, run: str) -> Path:
    found = list((models / run / "eval").glob("*.json"))
    assert len(found) == 1, found
    return found[0]
