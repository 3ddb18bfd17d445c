"""The ONNX back-end: a run folder's model.onnx through onnxruntime (its CUDA provider where there is one).

The model's single input declares its channel layout (NCHW or NHWC) and, where fixed, its size; free sides come
from meta.json's input_size. The class axis of the output is found by matching the schema's class count.
"""
from __future__ import annotations

import copy
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from segcore import runs
from segcore.backends import FREE_SIZE_SAID, check_input_size, output_channels, void_advice
from segcore.backends.preprocessing import check_mode, preprocess
from segcore.frames import LOGITS, OUTPUT_KINDS, PROBABILITIES

MODEL_FILE = "model.onnx"
METADATA_PREFIX = "seglab."     # metadata_props keys `segcore export` writes: seglab.schema, seglab.preprocess, ...
PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")


def providers() -> list[str]:
    import onnxruntime
    available = set(onnxruntime.get_available_providers())
    return [p for p in PREFERRED_PROVIDERS if p in available]


def open_session(path, name: str):
    import onnxruntime
    options = onnxruntime.SessionOptions()
    # Idle worker threads sleep instead of spinning: in a server, one model's spinning threads slowed the next
    # model's forward pass by half (docs/BENCHMARKS.md, "Side by Side speed goals").
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return onnxruntime.InferenceSession(str(path), sess_options=options, providers=providers())
    except Exception as err:  # onnxruntime raises its own exception types for unreadable or invalid graphs
        raise runs.RunError(f"{name}: {MODEL_FILE} can't be loaded ({type(err).__name__}: "
                            f"{str(err).splitlines()[0][:300]}); export the model to ONNX again") from None


_forward_thread: ThreadPoolExecutor | None = None
_forward_thread_lock = threading.Lock()


def forward_thread() -> ThreadPoolExecutor:
    """The one thread every session's forward pass runs on. onnxruntime's first run from a new thread costs 6 ms
    more (per-thread buffers): a server calls from a new thread on every request (Streamlit: every rerun)."""
    global _forward_thread
    with _forward_thread_lock:
        if _forward_thread is None:
            _forward_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onnxruntime")
        return _forward_thread


def our_metadata(session) -> dict[str, str]:
    """The keys `segcore export` wrote into the model's metadata (without the prefix); {} for a foreign model."""
    return our_keys(session.get_modelmeta().custom_metadata_map)


def our_keys(stored: dict[str, str]) -> dict[str, str]:
    """Our entries of an ONNX file's metadata_props, without the prefix."""
    return {k[len(METADATA_PREFIX):]: v for k, v in stored.items() if k.startswith(METADATA_PREFIX)}


def _fixed(dim) -> bool:
    return isinstance(dim, int) and dim > 0


def input_layout(name: str, shape, trained) -> tuple[str, tuple[int, int]]:
    """("NCHW" | "NHWC", (height, width)) from the declared input shape; free sides from `trained` (meta.json)."""
    if not (isinstance(shape, (list, tuple)) and len(shape) == 4):
        raise runs.RunError(f"{name}: the model takes input {shape}; expected one (batch, 3, height, width) or "
                            "(batch, height, width, 3) image tensor")
    if shape[1] == 3 and shape[3] != 3:
        layout, declared = "NCHW", shape[2:4]
    elif shape[3] == 3:
        layout, declared = "NHWC", shape[1:3]
    else:
        raise runs.RunError(f"{name}: the model takes input {shape}; expected 3 colour channels first (NCHW) or "
                            "last (NHWC)")
    sides = []
    for side, value in enumerate(declared):
        if _fixed(value):
            sides.append(value)
        elif isinstance(trained, list) and len(trained) == 2 and all(isinstance(v, int) for v in trained):
            sides.append(trained[side])
        else:
            raise runs.RunError(f"{name}: the model {FREE_SIZE_SAID} and meta.json has no valid input_size; "
                                "import it with --input-size HxW")
    return layout, check_input_size(name, int(sides[0]), int(sides[1]))


class OnnxBackend:
    """One onnxruntime session. Safe to share between threads: forward passes run one at a time on forward_thread()."""

    engine = "ONNX Runtime"

    def __init__(self, run: runs.Run, model_path=None):
        """`model_path`: the ONNX file, where it is not the run folder's model.onnx (a cached export)."""
        self.name, self.schema = run.name, run.schema
        self.preprocess = check_mode(run.name, run.meta.get("preprocess", "raw"))
        self.session = open_session(model_path or run.model_path, run.name)
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise runs.RunError(f"{run.name}: the model has {len(inputs)} inputs "
                                f"({', '.join(i.name for i in inputs)[:120]}); only models taking one image tensor "
                                "can be used: export it with a single image input")
        if inputs[0].type != "tensor(float)":
            raise runs.RunError(f"{run.name}: the model takes {inputs[0].type}; expected a float32 image tensor "
                                "(tensor(float)); export it with a float32 input")
        outputs = self.session.get_outputs()
        if len(outputs) != 1:     # run(None) would return them all and [0] might be an auxiliary head
            raise runs.RunError(f"{run.name}: the model has {len(outputs)} outputs "
                                f"({', '.join(o.name for o in outputs)[:120]}); SegLab reads one map of class "
                                "scores: export it with the main head's output only")
        self.input_name = inputs[0].name
        self.layout, self.input_size = input_layout(run.name, inputs[0].shape, run.meta.get("input_size"))
        declared = inputs[0].shape[2:4] if self.layout == "NCHW" else inputs[0].shape[1:3]
        self.free_size = not any(_fixed(side) for side in declared)
        batch = inputs[0].shape[0]
        self.batch_size = batch if _fixed(batch) else None     # a fixed batch (usually 1) is fed image by image
        self.class_axis = None
        sample = np.full((1, *self.input_size, 3), 128, dtype=np.float32)
        try:
            scores = self._run(sample)                     # warm-up, and the output's layout
        except Exception as err:  # onnxruntime raises its own exception types for shapes the graph can't take
            size = f"{self.input_size[0]}x{self.input_size[1]}"
            raise runs.RunError(f"{run.name}: the ONNX model can't run at {size} ({type(err).__name__}: "
                                f"{str(err).splitlines()[0][:160]}); give an input size (HxW) it accepts, "
                                "e.g. the one it was exported at or multiples of 32") from None
        if np.issubdtype(scores.dtype, np.integer):
            raise runs.RunError(label_map_advice(run.name))
        self.class_axis = class_axis(run.name, scores.shape, self.schema, output_channels(run), self.layout)
        stated = run.meta.get("output_kind") or our_metadata(self.session).get("output_kind")
        self.output_kind = stated if stated in OUTPUT_KINDS else guess_output_kind(self._channels_last(scores))

    def _run(self, batch: np.ndarray) -> np.ndarray:
        x = preprocess(batch, self.preprocess)
        if self.layout == "NCHW":
            x = x.transpose(0, 3, 1, 2)
        x = np.ascontiguousarray(x, dtype=np.float32)
        return forward_thread().submit(self._session_run, x).result()

    def _session_run(self, x: np.ndarray) -> np.ndarray:
        if self.batch_size is None:
            return np.asarray(self.session.run(None, {self.input_name: x})[0])
        parts = []
        for start in range(0, len(x), self.batch_size):
            chunk = x[start:start + self.batch_size]
            short = self.batch_size - len(chunk)        # a fixed batch of 2 or more: pad the last chunk, drop its tail
            padded = np.concatenate([chunk, np.repeat(chunk[-1:], short, axis=0)]) if short else chunk
            parts.append(np.asarray(self.session.run(None, {self.input_name: padded})[0])[:len(chunk)])
        return np.concatenate(parts)

    def _channels_last(self, scores: np.ndarray) -> np.ndarray:
        return scores.transpose(0, 2, 3, 1) if self.class_axis == 1 else scores

    def forward(self, batch: np.ndarray) -> np.ndarray:
        return self._channels_last(self._run(batch))

    def at_input_size(self, size: tuple[int, int]) -> "OnnxBackend":
        """This session fed at input `size` (height, width), for multi-scale prediction: only where the model
        declares height and width free; RunError otherwise, or where onnxruntime refuses the size."""
        if not self.free_size:
            raise runs.RunError(f"{self.name}: the ONNX model declares a fixed input size "
                                f"{self.input_size[0]}x{self.input_size[1]}; multi-scale prediction needs free "
                                "height and width (export it with dynamic axes), or use test-time flip only")
        resized = copy.copy(self)          # the same session, fed another size
        resized.input_size = check_input_size(self.name, *size)
        try:
            resized.forward(np.full((1, *resized.input_size, 3), 128, dtype=np.float32))
        except Exception as err:  # onnxruntime raises its own exception types for shapes the graph can't take
            raise runs.RunError(f"{self.name}: the ONNX model can't run at {size[0]}x{size[1]} ({type(err).__name__}: "
                                f"{str(err).splitlines()[0][:200]}); use test-time flip only") from None
        return resized


def class_axis(name: str, shape, schema, channels: int | None = None, input_layout: str | None = None) -> int:
    """1 (NCHW) or 3 (NHWC): the axis of (batch, ., ., .) scores whose length is `channels` (default: the schema's
    class count). Where both are that long (a stride-8 NCHW model 88 pixels wide has 11 columns), the output is
    taken to share the input's layout."""
    if len(shape) == 3:
        raise runs.RunError(label_map_advice(name))
    if len(shape) != 4:
        raise runs.RunError(f"{name}: the model outputs {tuple(shape)}; expected one (batch, classes, height, width) "
                            "or (batch, height, width, classes) map of class scores")
    count = schema.num_classes if channels is None else channels
    if shape[1] == count and shape[3] == count:
        return 1 if input_layout == "NCHW" else 3
    if shape[3] == count:
        return 3
    if shape[1] == count:
        return 1
    found = shape[1] if shape[1] < shape[3] else shape[3]   # classes are the short axis of a score map
    if found == 1:
        raise runs.RunError(label_map_advice(name))
    void = " and a void channel" if count > schema.num_classes else ""
    raise runs.RunError(f"{name}: model outputs {found} classes but schema {schema.name} has "
                        f"{schema.num_classes}{void}; {void_advice(found, schema)}")


def label_map_advice(name: str) -> str:
    return (f"{name}: the model outputs a label map (one class id per pixel), not class scores; export it without "
            "its final ArgMax, so that it ends in one score per class")


def guess_output_kind(scores: np.ndarray) -> str:
    """Probabilities where every pixel's scores are in 0..1 and sum to 1, else logits (arg-max is the same)."""
    sums = scores.sum(axis=-1)
    if scores.min() >= 0 and scores.max() <= 1 and np.allclose(sums, 1, atol=1e-3):
        return PROBABILITIES
    return LOGITS


def open(run: runs.Run) -> OnnxBackend:  # noqa: A001 - the name every back-end module exports
    return OnnxBackend(run)
