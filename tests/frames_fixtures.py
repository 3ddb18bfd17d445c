"""Hand-built stored evaluations for the Frames page's tests: a CamVid-style val split and runs whose evaluation
JSON (format 3: full per-frame confusions, prediction PNGs, thumbnails; or format 2: top-8 confusions only) is
written here from synthetic predictions, scored with segcore.metrics as `segcore evaluate` scores them."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import save_png
from segcore import evaluations as stored
from segcore.evaluate import level_summaries
from segcore.labels import CAMVID11
from segcore.metrics import ConfusionMatrix, top_confusions

SKY, BUILDING, ROAD, CAR = 0, 1, 3, 8
# Frames of two sequences: consecutive numbers are near-duplicates of each other.
FRAMES = [f"seqA_{n:05d}" for n in range(0, 8)] + [f"seqB_{n:05d}" for n in range(100, 106)]


def truth_of(index: int, size=(48, 64)) -> np.ndarray:
    """Sky on top, building in the middle, road at the bottom; every 3rd frame a car on the road."""
    height, width = size
    label = np.full(size, ROAD, np.uint8)
    label[: height // 3] = SKY
    label[height // 3: 2 * height // 3] = BUILDING
    if index % 3 == 0:
        label[-height // 4:, width // 4: width // 2] = CAR
    label[0, :4] = CAMVID11.ignore_index          # a little void
    return label


def photo_of(label: np.ndarray, index: int) -> np.ndarray:
    """A photo-like picture: each class a shade (Sky grey, as in CamVid), plus a frame-dependent tint."""
    shades = np.array([[128, 128, 128], [120, 60, 40], [0, 0, 0], [90, 90, 100]] + [[40, 40, 160]] * 8, np.uint8)
    image = shades[np.clip(label, 0, 11)].astype(np.int16)
    image[..., 1] += index * 3
    return np.clip(image, 0, 255).astype(np.uint8)


def prediction_of(run: int, index: int, truth: np.ndarray) -> np.ndarray:
    """Run 0 calls 1 px of building sky on every 4th frame (outside its 8 largest confusions, which are 2-px
    road confusions and the car it always misses); run 1 calls a growing strip of road building."""
    pred = truth.copy()
    height, width = truth.shape
    pred[pred == CAMVID11.ignore_index] = ROAD
    if run == 0:
        if index % 4 == 0:
            pred[height // 2, width // 3] = SKY        # 1 px of building predicted as sky
        pred[pred == CAR] = ROAD                       # the car is never found
        row = int(0.85 * height)                       # on the road, right of the car
        for column, wrong in enumerate(k for k in range(2, 11) if k != ROAD):
            pred[row:row + 2, 3 * width // 4 + column] = wrong     # 8 cells of 2 px: they fill the top 8
    else:
        pred[-4:, :10 + index] = BUILDING
    return pred


def make_frames_data(root: Path, size=(48, 64)) -> Path:
    for index, name in enumerate(FRAMES):
        label = truth_of(index, size)
        save_png(root / "images" / "val" / f"{name}.png", photo_of(label, index))
        save_png(root / "labels" / "val" / f"{name}.png", label, "L")
    return root


def _record(name: str, index: int, truth: np.ndarray, pred: np.ndarray, data: Path, key: str, fmt: int,
            eval_dir: Path) -> dict:
    matrix = ConfusionMatrix(CAMVID11.num_classes, CAMVID11.ignore_index)
    counts = matrix.update(truth, pred)
    single = ConfusionMatrix(CAMVID11.num_classes, None, counts)
    record = {"name": name, "image": f"images/val/{name}.png", "label": f"labels/val/{name}.png",
              "pixel_accuracy": round(single.pixel_accuracy(), 6), "mean_iou": round(single.mean_iou(), 6),
              "confusions": top_confusions(counts, 8),
              "category_confusions": top_confusions(single.to_categories(CAMVID11).counts, 8)}
    if fmt >= 3:
        categories = single.to_categories(CAMVID11).counts
        record["confusion"] = [[int(t), int(p), int(counts[t, p])] for t, p in zip(*np.nonzero(counts))]
        record["category_confusion"] = [[int(t), int(p), int(categories[t, p])]
                                        for t, p in zip(*np.nonzero(categories))]
        record["prediction"] = f"{key}/predictions/{name}.png"
        record["thumbnail"] = f"{key}/thumbnails/{name}.jpg"
        record["boundary_iou"] = round(0.5 + 0.02 * index, 6)
        record["label_quality"] = round(0.9 - 0.05 * index, 6)
        if key_run_stores_doubts(eval_dir):
            doubts = np.zeros(truth.shape, np.uint8)
            doubts[10:20, 10:20] = 255
            record["contradicted"] = f"{key}/contradicted/{name}.png"
            save_png(eval_dir / record["contradicted"], doubts, "L")
        save_png(eval_dir / record["prediction"], pred, "L")
        (eval_dir / record["thumbnail"]).parent.mkdir(parents=True, exist_ok=True)
        Image.open(data / record["image"]).convert("RGB").save(eval_dir / record["thumbnail"], quality=90)
    return record


def key_run_stores_doubts(eval_dir: Path) -> bool:
    """Only unet-a stores label doubts: the viewer must cope with a run that has none."""
    return eval_dir.parent.name == "unet-a"


def make_frames_models(root: Path, data: Path, fmt: int = 3, runs=("unet-a", "segnet-b")) -> Path:
    """Runs with a placeholder model file (the Frames page must never load it) and a stored evaluation of
    `data`'s val split in evaluation format `fmt` (2 or 3)."""
    identity = stored.dataset_identity(data, "val")
    key = stored.evaluation_key(identity)
    for number, run in enumerate(runs):
        folder = root / run
        eval_dir = folder / "eval"
        eval_dir.mkdir(parents=True, exist_ok=True)
        meta = {"arch": "unet", "schema": CAMVID11.to_dict(), "input_size": [48, 64], "parameters": 1}
        (folder / "meta.json").write_text(json.dumps(meta))
        (folder / "model.keras").write_bytes(b"placeholder: the Frames page never loads a model")
        total = ConfusionMatrix(CAMVID11.num_classes, CAMVID11.ignore_index)
        records = []
        for index, name in enumerate(FRAMES):
            truth = np.asarray(Image.open(data / "labels" / "val" / f"{name}.png"))
            pred = prediction_of(number, index, truth)
            total.update(truth, pred)
            records.append(_record(name, index, truth, pred, data, key, fmt, eval_dir))
        result = {"run": run, "schema": "camvid11", "data_schema": "camvid11", "images": len(FRAMES),
                  "input_size": [48, 64], "created": "2025-01-01T00:00:00", "format": fmt, "dataset": identity,
                  "split": "val", "label": stored.label({"dataset": identity}), "resolution": "label",
                  **level_summaries(total.counts, CAMVID11), "per_image": records}
        (eval_dir / f"{key}.json").write_text(json.dumps(result))
    return root
