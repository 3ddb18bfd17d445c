"""Inference and training-step benchmark: parameters, FLOPs, forward latency (batch 1), train step time.

    .venv/bin/python benchmarks/bench_inference.py [--out benchmarks/results/inference.json]
    .venv/bin/python benchmarks/bench_inference.py --onnx [--out benchmarks/results/onnx.json]

--onnx: the shipped runs exported to ONNX (segcore export), onnxruntime against Keras at the runs' 240x320,
each through its segcore back-end (the same forward pass the app times).

Models are built at the shipped runs' widths with fresh weights (speed doesn't depend on the weights).
Latency = median of N forward passes (predict_on_batch) after warm-up.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from segcore.models import build, count_flops  # noqa: E402
from segcore.models.objectives import MaskedSparseCrossEntropy  # noqa: E402

MODELS = {
    "unet (shipped, base_filters=32)": ("unet", {"base_filters": 32}),
    "segnet-mobilenet (shipped, alpha=1)": ("segnet-mobilenet", {}),
    "segnet (VGG16, base_filters=64)": ("segnet", {"base_filters": 64}),
}
SIZES = [(360, 480), (1024, 2048)]


def median_ms(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


SHIPPED_RUNS = ("models/unet-camvid", "models/segnet-camvid")


def onnx_rows(repeats: int) -> list[dict]:
    """Keras vs onnxruntime forward (batch 1, median) per shipped run, and their arg-max agreement."""
    import tempfile
    from pathlib import Path

    from segcore import runs
    from segcore.backends.keras import KerasBackend
    from segcore.backends.onnx import OnnxBackend
    from segcore.importing import export_onnx, import_model
    rows = []
    for folder in SHIPPED_RUNS:
        run = runs.open_run(folder)
        with tempfile.TemporaryDirectory() as tmp:
            exported, agreement = export_onnx(run.path, Path(tmp) / "model.onnx")
            onnx_run = runs.open_run(import_model(exported, Path(tmp) / "run"))
            keras_backend, onnx_backend = KerasBackend(run), OnnxBackend(onnx_run)
            x = np.random.default_rng(0).uniform(0, 255, (1, *keras_backend.input_size, 3)).astype("float32")
            rows.append({"run": run.name, "input": "x".join(map(str, keras_backend.input_size)),
                         "providers": onnx_backend.session.get_providers(),
                         "keras_ms": median_ms(lambda: keras_backend.forward(x), repeats),
                         "onnxruntime_ms": median_ms(lambda: onnx_backend.forward(x), repeats),
                         "argmax_agreement": agreement})
        print(rows[-1], flush=True)
        keras.backend.clear_session()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=None, help="JSON to write (default: benchmarks/results/inference.json, "
                                                    "or onnx.json with --onnx)")
    parser.add_argument("--repeats", type=int, default=5, help="timed forward passes per model (median)")
    parser.add_argument("--onnx", action="store_true", help="time the shipped runs' ONNX exports against Keras")
    args = parser.parse_args()
    if args.onnx:
        import onnxruntime
        result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "keras": keras.__version__,
                  "onnxruntime": onnxruntime.__version__, "rows": onnx_rows(max(args.repeats, 20))}
        with open(args.out or "benchmarks/results/onnx.json", "w") as handle:
            json.dump(result, handle, indent=1)
        return
    rows = []
    for label, (arch, options) in MODELS.items():
        for size in SIZES:
            model = build(arch, 11, size, **options)
            x = np.random.default_rng(0).uniform(0, 255, (1, *size, 3)).astype("float32")
            repeats = args.repeats if size[0] < 1000 or arch != "segnet" else 2
            rows.append({"model": label, "input": f"{size[0]}x{size[1]}", "parameters": model.count_params(),
                         "gflops": round(count_flops(model) / 1e9, 2),
                         "forward_ms": median_ms(lambda: model.predict_on_batch(x), repeats)})
            print(rows[-1], flush=True)
            keras.backend.clear_session()
        model = build(arch, 11, (240, 320), **options)
        model.compile(optimizer="adam", loss=MaskedSparseCrossEntropy(11, 11))
        x = np.random.default_rng(0).uniform(0, 255, (8, 240, 320, 3)).astype("float32")
        y = np.random.default_rng(1).integers(0, 12, (8, 240, 320))
        rows.append({"model": label, "input": "240x320", "train_step_ms_batch8":
                     median_ms(lambda: model.train_on_batch(x, y), 3)})
        print(rows[-1], flush=True)
        keras.backend.clear_session()
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "keras": keras.__version__,
              "backend": keras.backend.backend(), "rows": rows}
    with open(args.out or "benchmarks/results/inference.json", "w") as handle:
        json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
