"""The Keras back-end: a run folder's model.keras, loaded in safe mode, checked, warmed up, run under a lock."""
from __future__ import annotations

import threading

import numpy as np

from segcore import runs
from segcore.backends import FREE_SIZE_SAID, check_input_size, check_output_shape, output_channels
from segcore.backends.preprocessing import check_mode, preprocess
from segcore.models import output_kind


class KerasBackend:
    """One loaded Keras model. Safe to share between threads (sessions): the forward pass runs under a lock."""

    engine = "Keras (TensorFlow)"

    def __init__(self, run: runs.Run, model=None, input_size: tuple[int, int] | None = None):
        """`model`: the run's model already built (at another input size); default: load model.keras.
        `input_size`: what to feed a model with free sides, where not meta.json's input_size."""
        self.run = run
        self.name = run.name
        self.schema = run.schema
        self.preprocess = check_mode(run.name, run.meta.get("preprocess", "raw"))   # imported models may scale
        self.model = runs.load_model(run) if model is None else model
        self.input_size = input_size or model_input_size(self.model, run)
        check_output_shape(run.name, self.model.output_shape, self.schema, output_channels(run))
        self.output_kind = output_kind(self.model)     # from the graph: a softmax at the end means probabilities
        self._lock = threading.Lock()
        # The first call traces the graph (slow); do it here so reported latencies are the steady state.
        try:
            self.forward(np.zeros((1, *self.input_size, 3), dtype=np.float32))
        except Exception as err:  # TensorFlow raises many types for a size the graph can't take
            raise runs.RunError(f"{run.name}: the model can't run at {self.input_size[0]}x{self.input_size[1]} "
                                f"({type(err).__name__}: {str(err).splitlines()[0][:160]}); give an input size "
                                "(HxW) it accepts, e.g. the one it was trained at or multiples of 32") from None

    def forward(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            return np.asarray(self.model.predict_on_batch(preprocess(batch, self.preprocess)))

    def at_input_size(self, size: tuple[int, int]) -> "KerasBackend":
        """The same weights rebuilt for input `size` (height, width), for multi-scale prediction; RunError where
        the run's architecture is not one segcore builds (meta.json "arch") or its weights don't fit it."""
        from segcore.models import ARCHS, build
        height, width = check_input_size(self.name, *size)
        if None in self.model.input_shape[1:3]:           # a model with free sides runs at any size as it is
            resized = KerasBackend(self.run, self.model, input_size=(height, width))
            resized._lock = self._lock                      # one model object: one forward pass at a time
            return resized
        arch = self.run.meta.get("arch")
        if not (isinstance(arch, str) and arch in ARCHS):
            raise runs.RunError(f"{self.name}: multi-scale prediction rebuilds the model at other sizes, which "
                                f"needs a segcore architecture in meta.json (\"arch\": one of {', '.join(ARCHS)})")
        options = (self.run.meta.get("config") or {}).get("arch_options") or {}
        with self._lock:
            weights = self.model.get_weights()
        try:
            model = build(arch, output_channels(self.run), (height, width), **options)   # void channel too
            model.set_weights(weights)
        except (ValueError, TypeError) as err:
            raise runs.RunError(f"{self.name}: its weights don't fit a {arch} rebuilt at {height}x{width} "
                                f"({str(err)[:120]}); use test-time flip instead") from None
        return KerasBackend(self.run, model)


def open(run: runs.Run) -> KerasBackend:  # noqa: A001 - the name every back-end module exports
    return KerasBackend(run)


def model_input_size(model, run: runs.Run) -> tuple[int, int]:
    """(H, W) the model is fed: its declared input, or the run's training size (meta.json) where the model
    leaves a side free (None). Refuses anything but (batch, H, W, 3) and sizes outside the limits."""
    shape = model.input_shape
    if not (isinstance(shape, tuple) and len(shape) == 4 and shape[3] == 3):
        raise runs.RunError(f"{run.name}: the model takes input {shape}; expected (batch, height, width, 3) "
                            "RGB images")
    declared = shape[1:3]
    if None in declared:
        trained = run.meta.get("input_size")
        if not (isinstance(trained, list) and len(trained) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in trained)):
            raise runs.RunError(f"{run.name}: the model {FREE_SIZE_SAID} and meta.json has no valid "
                                f"input_size (got {trained!r}); add e.g. \"input_size\": [240, 320]")
        declared = tuple(t if d is None else d for d, t in zip(declared, trained))
    height, width = (int(v) for v in declared)
    return check_input_size(run.name, height, width)

