"""Model back-ends: one per kind of run, each behind the same small `Backend` interface.

A back-end turns a batch of model inputs into class scores; `segcore.predict.Predictor` adds the one path
in and out (segcore.frames) and timings. Callers never branch on the kind: `open_backend(run)` picks the
back-end registered for `run.kind`. A back-end of stored label maps (a prediction folder) also has
`label_map_for(name, image_shape)`, which the Predictor calls instead of `forward` (see `Backend`).
"""
from __future__ import annotations

import importlib
from typing import Protocol, runtime_checkable

import numpy as np

from segcore import frames, runs
from segcore.labels import LabelSchema
from segcore.limits import MAX_INPUT_PIXELS

# kind -> module holding `open(run) -> Backend`; modules are imported only when a run of that kind is opened
# (the Keras one imports TensorFlow).
BACKENDS = {"keras": "segcore.backends.keras", "onnx": "segcore.backends.onnx",
            "predictions": "segcore.backends.stored"}
KERAS_VIA_ONNX = "segcore.backends.keras_onnx"

MIN_INPUT_SIDE = 8


class MissingPrediction(runs.RunError):
    """A prediction-folder run has no stored label map for this frame (evaluation skips it and says so)."""


def cannot_predict_new_images(run_name: str) -> runs.RunError:
    """The refusal for a run of stored predictions asked to label an image it has no prediction for by name."""
    return runs.RunError(f"{run_name} holds stored predictions and can't predict new images; evaluate it instead")


@runtime_checkable
class Backend(Protocol):
    """What a Predictor needs from a model of any kind.

    Optional: `label_map_for(name, image_shape) -> (h, w) uint8 train ids` for back-ends that serve stored label
    maps rather than scores (frame `name` = its file stem; MissingPrediction when there is none; a map of another
    aspect ratio than `image_shape` refused). A Predictor then returns those maps without scores, scaled to the
    image (nearest) where they are smaller or larger, and refuses images that have no name.
    """

    name: str                       # the run's name, for messages
    schema: LabelSchema             # the classes its scores are over
    input_size: tuple[int, int]     # (height, width) of the model input
    output_kind: str                # "logits" or "probabilities" (segcore.frames.OUTPUT_KINDS); "labels" if stored
    engine: str                     # what computes the scores, in words (shown beside timings)

    def forward(self, batch: np.ndarray) -> np.ndarray:
        """(N, height, width, 3) float32 0..255 -> (N, h, w, classes) float scores. Safe to call from threads."""
        ...


def open_backend(run: runs.Run, *, keras_via_onnx: bool = False, write_cache: bool = True) -> Backend:
    """The back-end for `run`'s kind, loaded and checked (RunError, one line, if it can't be used).

    `keras_via_onnx`: serve a Keras run through its cached, checked ONNX export (segcore.backends.keras_onnx),
    as a long-lived server should; scripts, training and `segcore evaluate` use Keras itself. `write_cache`: keep
    that export in the run folder (False for a read-only dashboard).
    """
    if not run.ok:
        raise runs.RunError(run.error)
    kind = run.kind
    if not (isinstance(kind, str) and kind in BACKENDS):
        raise runs.RunError(f"{run.name}: runs of kind {str(kind)[:40]!r} can't be opened here (known kinds: "
                            f"{', '.join(BACKENDS)}); check 'kind' in its meta.json")
    channel = void_channel(run)
    if kind == "keras" and keras_via_onnx:
        backend = importlib.import_module(KERAS_VIA_ONNX).open(run, write_cache=write_cache)
    else:
        backend = importlib.import_module(BACKENDS[kind]).open(run)
    return backend if channel is None else NoClassChannel(backend, channel)


def void_channel(run: runs.Run) -> int | None:
    """meta.json's "void_channel": the model output channel that means void (no class), one beyond the schema's
    classes; None where the model outputs one channel per class. RunError for a value that is no such channel."""
    channel = run.meta.get("void_channel")
    if channel is None or run.kind == "predictions":
        return None
    count = run.schema.num_classes
    if not (isinstance(channel, int) and not isinstance(channel, bool) and 0 <= channel <= count):
        raise runs.RunError(f"{run.name}: meta.json's void_channel {str(channel)[:20]!r} is not one of the model's "
                            f"{count + 1} output channels (0..{count}); set it to the void channel's index or remove "
                            "it")
    return channel


def output_channels(run: runs.Run) -> int:
    """How many channels the run's model outputs: one per class, and its void channel where it has one."""
    return run.schema.num_classes + (void_channel(run) is not None)


class NoClassChannel:
    """A back-end whose model outputs one channel more than its schema has classes, meaning void: no class (the
    SegNet tutorial's CamVid models output 11 classes and Unlabelled). It serves the classes' probabilities without
    that channel, so what they leave out of 1 is the void channel's probability: the Predictor labels a pixel no
    class where that beats every class (segcore.frames.top_class's `no_class`), and evaluation scores it as a
    miss of its true class, as the Cityscapes benchmark does. Everything else is the wrapped back-end's."""

    output_kind = frames.PROBABILITIES

    def __init__(self, inner: Backend, channel: int):
        self.inner, self.void_channel = inner, channel
        if callable(getattr(inner, "at_input_size", None)):     # multi-scale prediction, where the model allows it
            self.at_input_size = lambda size: NoClassChannel(inner.at_input_size(size), channel)

    def __getattr__(self, name: str):
        if name == "inner":             # not set yet (copy, pickle): no recursion through __getattr__
            raise AttributeError(name)
        return getattr(self.inner, name)

    def forward(self, batch: np.ndarray) -> np.ndarray:
        every = frames.probabilities(self.inner.forward(batch), self.inner.output_kind)
        return np.delete(every, self.void_channel, axis=-1)


def check_input_size(name: str, height: int, width: int) -> tuple[int, int]:
    """(height, width), or RunError if a side is under MIN_INPUT_SIDE or the area over MAX_INPUT_PIXELS."""
    if min(height, width) < MIN_INPUT_SIDE or height * width > MAX_INPUT_PIXELS:
        raise runs.RunError(f"{name}: input size {height}x{width} is outside what this app runs (each side "
                            f"at least {MIN_INPUT_SIDE}, at most {MAX_INPUT_PIXELS / 1e6:.1f} MP); "
                            "export the model at a smaller input size")
    return height, width


def check_output_shape(name: str, shape, schema: LabelSchema, channels: int | None = None) -> None:
    """The model must output (batch, H, W, C) scores with C == `channels` (default: the schema's class count)."""
    channels = schema.num_classes if channels is None else channels
    if not (isinstance(shape, tuple) and len(shape) == 4):
        raise runs.RunError(f"{name}: the model outputs {shape}; expected one (batch, height, width, "
                            f"{channels}) map of class scores for its schema {schema.name}")
    if shape[3] != channels:
        raise runs.RunError(f"{name}: the model outputs {shape[3]} classes but its schema {schema.name} has "
                            f"{schema.num_classes}{' and a void channel' if channels > schema.num_classes else ''}"
                            f"; {void_advice(shape[3], schema)}")


FREE_SIZE_SAID = "accepts any input size"     # the import's words the upload form translates
VOID_ADVICE = "if one of its channels means void"     # the upload form words this advice its own way


def void_advice(found, schema: LabelSchema) -> str:
    """What to do about a model whose class count isn't its schema's (one line's end)."""
    if found == schema.num_classes + 1:
        return (f"{VOID_ADVICE} (as the SegNet tutorial's 12th, Unlabelled), import it with "
                f"--void-channel ({schema.num_classes} for the last), else with the schema it was trained on "
                "(--schema)")
    return "import it with the schema it was trained on (--schema)"
