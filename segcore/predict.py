"""Prediction: load a run once, predict many images at their own resolution, with timings.

Images are resized to the model's input size, the class probabilities are resized back (bilinear) to
the image's size, and the arg-max gives the label map, so every mask matches its image pixel for pixel.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from segcore import runs
from segcore.imageio import read_image, write_png
from segcore.labels import LabelSchema


@dataclass
class Prediction:
    labels: np.ndarray              # (H, W) uint8 train ids, at the image's resolution
    probabilities: np.ndarray | None
    model_ms: float                 # the forward pass alone
    total_ms: float                 # resize in + forward + resize out + arg-max


class Predictor:
    """One loaded run. Safe to share between threads (sessions): inference runs under a lock."""

    def __init__(self, run: runs.Run | str | Path):
        self.run = run if isinstance(run, runs.Run) else runs.open_run(run)
        self.model = runs.load_model(self.run)
        self.schema: LabelSchema = self.run.schema
        self.input_size: tuple[int, int] = tuple(int(v) for v in self.model.input_shape[1:3])
        self._lock = threading.Lock()
        # The first call traces the graph (slow); do it here so reported latencies are the steady state.
        self.model.predict_on_batch(np.zeros((1, *self.input_size, 3), dtype=np.float32))

    @property
    def name(self) -> str:
        return self.run.name

    def predict(self, image: np.ndarray, *, keep_probabilities: bool = False) -> Prediction:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
        start = time.perf_counter()
        height, width = self.input_size
        batch = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA
                           if image.shape[0] > height else cv2.INTER_LINEAR)[None].astype(np.float32)
        with self._lock:
            forward = time.perf_counter()
            probs = np.asarray(self.model.predict_on_batch(batch))[0]
            model_ms = (time.perf_counter() - forward) * 1000
        if probs.shape[:2] != image.shape[:2]:
            probs = cv2.resize(probs, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
            if probs.ndim == 2:  # cv2 drops a single channel axis
                probs = probs[..., None]
        labels = probs.argmax(axis=-1).astype(np.uint8)
        return Prediction(labels, probs if keep_probabilities else None, model_ms,
                          (time.perf_counter() - start) * 1000)


def predict_files(run, images: list, out, *, fmt: str = "labels") -> list[Path]:
    """Write one PNG per image into `out`: class indices (labels), colour mask (color) or overlay."""
    from segcore.figures import overlay

    if fmt not in ("labels", "color", "overlay"):
        raise ValueError("format must be labels, color or overlay")
    predictor = Predictor(run)
    out = Path(out)
    written = []
    for path in images:
        image = read_image(path)
        labels = predictor.predict(image).labels
        if fmt == "labels":
            array = labels
        elif fmt == "color":
            array = predictor.schema.colorize(labels)
        else:
            array = overlay(image, labels, predictor.schema, alpha=0.5)
        written.append(write_png(out / f"{Path(path).stem}_{fmt}.png", array))
    return written
