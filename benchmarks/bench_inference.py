"""Inference and training-step benchmark: parameters, FLOPs, forward latency (batch 1), train step time.

    .venv/bin/python benchmarks/bench_inference.py [--out benchmarks/results/inference.json]

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="benchmarks/results/inference.json")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
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
    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
