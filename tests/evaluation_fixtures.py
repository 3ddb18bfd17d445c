"""Hand-built stored evaluations for the Evaluation page's tests: a CamVid-style val split and two runs whose
evaluation JSON is written here in format 3 (full per-frame confusions, prediction PNGs, thumbnails, boundary band
counts, calibration bins) or format 2 (top-8 confusions only), scored with segcore's own metrics from synthetic
predictions. The runs' model files are placeholders: the Evaluation page must never load them."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import make_camvid_like, save_png
from segcore import evaluations as stored
from segcore.boundary import boundary_counts, boundary_summary, boundary_width
from segcore.calibration import CalibrationCounts, calibration_counts
from segcore.evaluate import level_summaries
from segcore.labels import CAMVID11, CATEGORIES
from segcore.metrics import ConfusionMatrix, sparse_confusion, top_confusions

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
        folder = root / run
        eval_dir = folder / "eval"
        eval_dir.mkdir(parents=True, exist_ok=True)
        meta = {"arch": "unet", "schema": CAMVID11.to_dict(), "input_size": [32, 48], "parameters": 1}
        (folder / "meta.json").write_text(json.dumps(meta))
        (folder / "model.keras").write_bytes(b"placeholder: the Evaluation page never loads a model")
        total = ConfusionMatrix(CAMVID11.num_classes, CAMVID11.ignore_index)
        bands = {level: [np.zeros(n, np.int64), np.zeros(n, np.int64)]
                 for level, n in (("class", CAMVID11.num_classes), ("category", len(CATEGORIES)))}
        calibration, records = CalibrationCounts(), []
        for index, name in enumerate(FRAMES):
            truth = np.asarray(Image.open(data / "labels" / "val" / f"{name}.png"))
            pred = prediction_of(number, truth, index)
            counts = total.update(truth, pred)
            single = ConfusionMatrix(CAMVID11.num_classes, None, counts)
            categories = single.to_categories(CAMVID11).counts
            record = {"name": name, "image": f"images/val/{name}.png", "label": f"labels/val/{name}.png",
                      "pixel_accuracy": round(single.pixel_accuracy(), 6), "mean_iou": round(single.mean_iou(), 6),
                      "confusions": top_confusions(counts, 8), "category_confusions": top_confusions(categories, 8)}
            if fmt >= 3:
                for level, (t, p, n) in (("class", (truth, pred, CAMVID11.num_classes)),
                                         ("category", (CAMVID11.to_categories(truth), CAMVID11.to_categories(pred),
                                                       len(CATEGORIES)))):
                    intersection, union = boundary_counts(t, p, n, CAMVID11.ignore_index if level == "class" else None)
                    bands[level][0] += intersection
                    bands[level][1] += union
                valid = truth < CAMVID11.num_classes
                calibration.add(calibration_counts(confidence_of(number, truth, pred), truth == pred, valid))
                record.update({"confusion": sparse_confusion(counts),
                               "category_confusion": sparse_confusion(categories),
                               "prediction": f"{key}/predictions/{name}.png",
                               "thumbnail": f"{key}/thumbnails/{name}.jpg", "boundary_iou": 0.5,
                               "label_quality": round(float((truth == pred).mean()), 6)})
                save_png(eval_dir / record["prediction"], pred, "L")
                (eval_dir / record["thumbnail"]).parent.mkdir(parents=True, exist_ok=True)
                Image.open(data / record["image"]).convert("RGB").save(eval_dir / record["thumbnail"])
            records.append(record)
        summaries = level_summaries(total.counts, CAMVID11)
        result = {"run": run, "schema": "camvid11", "data_schema": "camvid11", "images": len(FRAMES),
                  "input_size": [32, 48], "created": "2025-01-01T00:00:00", "format": fmt, "dataset": identity,
                  "split": "val", "label": stored.label({"dataset": identity}), "resolution": "label",
                  **summaries, "per_image": records}
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
