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
from segcore.labels import CAMVID11
from segcore.metrics import ConfusionMatrix
from stored_runs import evaluation, frame_record, placeholder_run

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


def _record(name: str, index: int, counts: np.ndarray, pred: np.ndarray, data: Path, key: str, fmt: int,
            eval_dir: Path) -> dict:
    record = frame_record(name, counts, pred, data, key, eval_dir, fmt, thumbnail_quality=90)
    if fmt >= 3:
        record["boundary_iou"] = round(0.5 + 0.02 * index, 6)
        record["label_quality"] = round(0.9 - 0.05 * index, 6)
        if key_run_stores_doubts(eval_dir):
            doubts = np.zeros(pred.shape, np.uint8)
            doubts[10:20, 10:20] = 255
            record["contradicted"] = f"{key}/contradicted/{name}.png"
            save_png(eval_dir / record["contradicted"], doubts, "L")
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
        eval_dir = placeholder_run(root / run, [48, 64])
        total = ConfusionMatrix(CAMVID11.num_classes, CAMVID11.ignore_index)
        records = []
        for index, name in enumerate(FRAMES):
            truth = np.asarray(Image.open(data / "labels" / "val" / f"{name}.png"))
            pred = prediction_of(number, index, truth)
            records.append(_record(name, index, total.update(truth, pred).counts, pred, data, key, fmt, eval_dir))
        result = evaluation(run, identity, fmt, [48, 64], total.counts, records)
        (eval_dir / f"{key}.json").write_text(json.dumps(result))
    return root
