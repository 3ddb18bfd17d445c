"""What the hand-built evaluation fixtures share (tests/evaluation_fixtures.py for the Evaluation page,
tests/frames_fixtures.py for Frames): a run folder with a placeholder model the pages must never load, a frame's
record scored with segcore.metrics as `segcore evaluate` scores it (in format 3 with its prediction PNG and
thumbnail written beside the JSON), and the evaluation JSON around the records."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import save_png
from segcore import evaluations as stored
from segcore.evaluate import level_summaries
from segcore.labels import CAMVID11
from segcore.metrics import ConfusionMatrix, sparse_confusion, top_confusions


def placeholder_run(folder: Path, input_size: list[int]) -> Path:
    """A camvid11 U-Net run folder whose model file is not a model; its eval/ folder."""
    (folder / "eval").mkdir(parents=True, exist_ok=True)
    meta = {"arch": "unet", "schema": CAMVID11.to_dict(), "input_size": input_size, "parameters": 1}
    (folder / "meta.json").write_text(json.dumps(meta))
    (folder / "model.keras").write_bytes(b"placeholder: the evaluation pages never load a model")
    return folder / "eval"


def frame_record(name: str, counts: np.ndarray, pred: np.ndarray, data: Path, key: str, eval_dir: Path,
                 fmt: int, thumbnail_quality: int = 75) -> dict:
    """A val frame's record from its class confusion `counts`: scores, top-8 confusions and, in format 3, its
    full confusions, prediction PNG and thumbnail."""
    single = ConfusionMatrix(CAMVID11.num_classes, None, counts)
    categories = single.to_categories(CAMVID11).counts
    record = {"name": name, "image": f"images/val/{name}.png", "label": f"labels/val/{name}.png",
              "pixel_accuracy": round(single.pixel_accuracy(), 6), "mean_iou": round(single.mean_iou(), 6),
              "confusions": top_confusions(counts, 8), "category_confusions": top_confusions(categories, 8)}
    if fmt >= 3:
        record.update({"confusion": sparse_confusion(counts), "category_confusion": sparse_confusion(categories),
                       "prediction": f"{key}/predictions/{name}.png", "thumbnail": f"{key}/thumbnails/{name}.jpg"})
        save_png(eval_dir / record["prediction"], pred, "L")
        (eval_dir / record["thumbnail"]).parent.mkdir(parents=True, exist_ok=True)
        Image.open(data / record["image"]).convert("RGB").save(eval_dir / record["thumbnail"],
                                                              quality=thumbnail_quality)
    return record


def evaluation(run: str, identity: dict, fmt: int, input_size: list[int], total: np.ndarray,
               records: list[dict]) -> dict:
    """The evaluation JSON of `run` on the val split `identity`, summaries from the summed class confusion."""
    return {"run": run, "schema": "camvid11", "data_schema": "camvid11", "images": len(records),
            "input_size": input_size, "created": "2025-01-01T00:00:00", "format": fmt, "dataset": identity,
            "split": "val", "label": stored.label({"dataset": identity}), "resolution": "label",
            **level_summaries(total, CAMVID11), "per_image": records}
