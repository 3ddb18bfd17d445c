"""Prediction: load a run once, predict many images at their own resolution, with timings.

Images are resized to the model's input size, the class probabilities are resized back (bilinear) to
the image's size, and the arg-max gives the label map, so every mask matches its image pixel for pixel.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from segcore import runs
from segcore.imageio import read_image, write_png
from segcore.labels import LabelSchema

# The largest model input accepted (height x width). Warm-up allocates a batch of this size and the forward
# pass needs many times more, so a model declaring more is refused before anything is allocated.
# 2048 x 2048 covers a full-resolution Cityscapes frame (1024 x 2048).
MAX_INPUT_PIXELS = 2048 * 2048
MIN_INPUT_SIDE = 8


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
        self.input_size: tuple[int, int] = model_input_size(self.model, self.run)
        check_model_output(self.model, self.schema, self.run.name)
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


def model_input_size(model, run: runs.Run) -> tuple[int, int]:
    """(H, W) the model is fed: its declared input, or the run's training size (meta.json) where the model
    leaves a side free (None). Refuses anything but (batch, H, W, 3) and sizes over MAX_INPUT_PIXELS."""
    shape = model.input_shape
    if not (isinstance(shape, tuple) and len(shape) == 4 and shape[3] == 3):
        raise runs.RunError(f"{run.name}: the model takes input {shape}; expected (batch, height, width, 3) "
                            "RGB images")
    declared = shape[1:3]
    if None in declared:
        trained = run.meta.get("input_size")
        if not (isinstance(trained, list) and len(trained) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in trained)):
            raise runs.RunError(f"{run.name}: the model accepts any input size and meta.json has no valid "
                                f"input_size (got {trained!r}); add e.g. \"input_size\": [240, 320]")
        declared = tuple(t if d is None else d for d, t in zip(declared, trained))
    height, width = (int(v) for v in declared)
    if min(height, width) < MIN_INPUT_SIDE or height * width > MAX_INPUT_PIXELS:
        raise runs.RunError(f"{run.name}: input size {height}x{width} is outside what this app runs (each side "
                            f"at least {MIN_INPUT_SIDE}, at most {MAX_INPUT_PIXELS / 1e6:.1f} MP); "
                            "export the model at a smaller input size")
    return height, width


def check_model_output(model, schema: LabelSchema, run_name: str) -> None:
    """The model must output (batch, H, W, C) scores with C == the schema's class count."""
    shape = model.output_shape
    if not (isinstance(shape, tuple) and len(shape) == 4):
        raise runs.RunError(f"{run_name}: the model outputs {shape}; expected one (batch, height, width, "
                            f"{schema.num_classes}) map of class scores for its schema {schema.name}")
    if shape[3] != schema.num_classes:
        raise runs.RunError(f"{run_name}: the model outputs {shape[3]} classes but its schema {schema.name} has "
                            f"{schema.num_classes}; fix the schema in meta.json or use the matching model")


def output_paths(images: list, out, fmt: str) -> list[Path]:
    """One output per input, refused before anything is written if two inputs would share an output
    (e.g. a/frame.png and b/frame.png) or an output would replace an input."""
    out = Path(out)
    targets, owners = [], {}
    for image in images:
        target = out / f"{Path(image).stem}_{fmt}.png"
        key = os.path.normcase(os.path.abspath(target))
        if key in owners and os.path.abspath(owners[key]) != os.path.abspath(image):
            raise ValueError(f"{owners[key]} and {image} would both be written to {target}; predict them in "
                             "separate runs with different --out folders, or rename one")
        owners[key] = image
        targets.append(target)
    inputs = {os.path.normcase(os.path.abspath(image)): image for image in images}
    for target in targets:
        if os.path.normcase(os.path.abspath(target)) in inputs:
            raise ValueError(f"the output {target} would replace the input image of that name; choose "
                             "another --out folder")
    return targets


def predict_files(run, images: list, out, *, fmt: str = "labels") -> list[Path]:
    """Write one PNG per image into `out`: class indices (labels), colour mask (color) or overlay."""
    from segcore.figures import overlay

    if fmt not in ("labels", "color", "overlay"):
        raise ValueError("format must be labels, color or overlay")
    targets = output_paths(images, out, fmt)   # before loading the model: refuse collisions cheaply
    predictor = Predictor(run)
    written = []
    for path, target in zip(images, targets):
        image = read_image(path)
        labels = predictor.predict(image).labels
        if fmt == "labels":
            array = labels
        elif fmt == "color":
            array = predictor.schema.colorize(labels)
        else:
            array = overlay(image, labels, predictor.schema, alpha=0.5)
        written.append(write_png(target, array))
    return written
