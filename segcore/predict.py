"""Prediction: load a run once, predict many images at their own resolution, with timings.

A Predictor is the one interface the app, the CLI and evaluation use for any kind of run: the run's back-end
(segcore.backends, chosen by the run's kind) computes class scores, and segcore.frames turns an image into the
model's input and the scores into a label map at the image's resolution, as training saw them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segcore import frames, runs
from segcore.backends import Backend, cannot_predict_new_images, open_backend
from segcore.labels import LabelSchema


@dataclass
class Prediction:
    labels: np.ndarray              # (H, W) uint8 train ids, at the image's resolution
    model_ms: float                 # the forward pass (with any wait for a model another thread is using)
    total_ms: float                 # resize in + forward + label map out
    scores: np.ndarray | None = None    # (h, w, C) model output at the model's resolution, when asked for
    scaled_from: tuple[int, int] | None = None  # a stored prediction's own (h, w), where it was scaled to the image


# Test-time augmentation: "flip" also runs the mirrored frame and averages the two probability maps (the mirror
# mapped back), at twice the model time. "multiscale" does that at each of MULTISCALE_SCALES times the model's
# input size (Keras runs of a segcore architecture are rebuilt at each size; models with free input sides, Keras
# or ONNX, are fed each size) and averages all eight maps at the model's own output size: about 11 times the model
# time of one pass.
TTA_MODES = ("none", "flip", "multiscale")
MULTISCALE_SCALES = (0.75, 1.0, 1.25, 1.5)
SCALE_STEP = 8          # scaled sizes are rounded to a multiple of this (keeps the aspect within a pixel or two)


def own_tta(run: runs.Run) -> str:
    """The test-time augmentation a run predicts with unless told otherwise (meta.json's "tta", default "none")."""
    return run.meta.get("tta", "none")


class TTAUnavailable(runs.RunError):
    """The run can't predict with the test-time augmentation asked for (another one may do)."""


def check_tta(name: str, mode) -> str:
    if mode not in TTA_MODES:
        raise runs.RunError(f"{name}: test-time augmentation {str(mode)[:40]!r} is unknown; use one of "
                            f"{', '.join(TTA_MODES)} (meta.json's \"tta\" or --tta)")
    return mode


class Predictor:
    """One loaded run of any kind. Safe to share between threads (sessions): back-ends lock their forward pass."""

    def __init__(self, run: runs.Run | str | Path, backend: Backend | None = None, *, keras_via_onnx: bool = False,
                 write_cache: bool = True, tta: str | None = None):
        """`keras_via_onnx`, `write_cache`: serve a Keras run through its checked ONNX export, kept in the run
        folder or not (see segcore.backends.keras_onnx). `tta`: one of TTA_MODES; None = the run's own setting
        (meta.json's "tta", default "none"), so a run predicts the same way in training scripts, CLI and app."""
        self.run = run if isinstance(run, runs.Run) else runs.open_run(run)
        self.tta = check_tta(self.run.name, own_tta(self.run) if tta is None else tta)
        # Multi-scale rebuilds the Keras model at other sizes: its ONNX export has one fixed size.
        via_onnx = keras_via_onnx and self.tta != "multiscale"
        self.backend: Backend = backend if backend is not None else \
            open_backend(self.run, keras_via_onnx=via_onnx, write_cache=write_cache)
        self.scaled_backends: list[Backend] = self._scaled_backends() if self.tta == "multiscale" else []
        # The augmented passes, the model's own size first: it sets the size the others are resized to.
        self._passes = [self.backend, *(backend for backend in self.scaled_backends if backend is not self.backend)]

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def schema(self) -> LabelSchema:
        return self.backend.schema

    @property
    def engine(self) -> str:
        return getattr(self.backend, "engine", type(self.backend).__name__)

    @property
    def input_size(self) -> tuple[int, int]:
        return self.backend.input_size

    @property
    def output_kind(self) -> str:
        """What `Prediction.scores` hold: the model's own kind, or probabilities where TTA averaged them."""
        return frames.PROBABILITIES if self.tta != "none" else self.backend.output_kind

    @property
    def no_class(self) -> int | None:
        """The label of pixels the model leaves without a class (its void channel wins there; the schema's ignore
        index), or None for a model that always picks a class."""
        return self.schema.ignore_index if getattr(self.backend, "void_channel", None) is not None else None

    @property
    def serves_stored_labels(self) -> bool:
        """True for a run of stored predictions: it labels only the frames it has (by name), with no scores."""
        return callable(getattr(self.backend, "label_map_for", None))

    def predict(self, image: np.ndarray, *, keep_scores: bool = False, name: str | None = None) -> Prediction:
        """`name` (the frame's file stem) lets a back-end of stored predictions find the frame's label map."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
        start = time.perf_counter()
        if self.serves_stored_labels:
            if name is None:
                raise cannot_predict_new_images(self.name)
            labels = self.backend.label_map_for(name, image.shape[:2])
            scaled_from = None
            if labels.shape != image.shape[:2]:
                scaled_from, labels = labels.shape, frames.resize_label(labels, image.shape[:2])
            return Prediction(labels, 0.0, (time.perf_counter() - start) * 1000, None, scaled_from)
        if self.tta == "none":
            forward = time.perf_counter()
            scores = self.backend.forward(frames.model_input(image, self.input_size)[None])[0]
            model_ms = (time.perf_counter() - forward) * 1000
        else:
            scores, model_ms = self._augmented(image)
        labels = frames.label_map(scores, image.shape[:2], self.no_class)
        return Prediction(labels, model_ms, (time.perf_counter() - start) * 1000,
                          scores if keep_scores else None)

    def _augmented(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        """Mean probabilities over the frame and its mirror (at every scale for multiscale), at the output size
        of the model's own input size; and the time spent in forward passes."""
        total, model_ms = None, 0.0
        for backend in self._passes:
            kind = backend.output_kind      # per pass: a rebuilt model ends in logits, the 240x320 runs in a softmax
            batch = frames.model_input(image, backend.input_size)[None]
            forward = time.perf_counter()
            scores = backend.forward(np.concatenate([batch, batch[:, :, ::-1]]))
            model_ms += (time.perf_counter() - forward) * 1000
            pair = frames.probabilities(scores[0], kind) + frames.probabilities(scores[1], kind)[:, ::-1]
            total = pair if total is None else total + frames.resize_scores(pair, total.shape[:2])
        return total / (2 * len(self._passes)), model_ms

    def _scaled_backends(self) -> list[Backend]:
        """The back-end at each of MULTISCALE_SCALES times the input size (this one at 1.0); TTAUnavailable where
        the back-end can't be rebuilt at another size."""
        resize = getattr(self.backend, "at_input_size", None)
        if resize is None:
            raise TTAUnavailable(f"{self.name}: multi-scale test-time augmentation needs a model that runs at other "
                                 f"sizes (a Keras run of a segcore architecture, or free input sides); "
                                 f"{self.backend.engine} runs at one size: use --tta flip")
        height, width = self.input_size
        sizes = [self.input_size if s == 1 else
                 (round(height * s / SCALE_STEP) * SCALE_STEP, round(width * s / SCALE_STEP) * SCALE_STEP)
                 for s in MULTISCALE_SCALES]        # the model's own size exactly, whatever its rounding
        try:
            return [self.backend if size == self.input_size else resize(size) for size in sizes]
        except runs.RunError as err:        # a back-end that can't take another size: the model itself is fine
            raise TTAUnavailable(str(err)) from err

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """Class probabilities from this run's scores (a softmax where the model outputs logits)."""
        return frames.probabilities(scores, self.output_kind)
