"""What test-time augmentation costs: `Predictor.predict` per 480x360 frame, with none, flip and multiscale.

    .venv/bin/python benchmarks/bench_tta.py [RUN ...] [--out benchmarks/results/tta.json]

For each run (default: the shipped full-resolution runs), on Keras and on the app's engine (the checked ONNX
export), the median model ms and total ms (resize in + forward + label map out) over 8 synthetic street frames
after 2 warm-up calls, with --tta none and flip (multiscale on Keras only: it rebuilds the Keras model at each
scale, so the app serves it with Keras too). Results and the machine: docs/BENCHMARKS.md ("Test-time
augmentation").
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from segcore.predict import TTA_MODES, Predictor  # noqa: E402
from segcore.synth.scene import render_scene  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RUNS = ("unet-camvid-full", "segnet-camvid-full")


def timings(predictor: Predictor, frames) -> dict:
    for frame in frames[:2]:
        predictor.predict(frame)
    results = [predictor.predict(frame) for frame in frames]
    return {"model_ms": round(statistics.median(r.model_ms for r in results), 1),
            "total_ms": round(statistics.median(r.total_ms for r in results), 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="*", default=DEFAULT_RUNS, help="run folders under models/ (names)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "tta.json"), help="JSON to write")
    args = parser.parse_args()
    frames = [render_scene(seed, (360, 480))[0] for seed in range(8)]
    results = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs", "runs": {}}
    for name in args.runs:
        for engine, via_onnx in (("keras", False), ("onnxruntime", True)):
            for tta in TTA_MODES:
                if tta == "multiscale" and via_onnx:
                    continue
                measured = timings(Predictor(ROOT / "models" / name, keras_via_onnx=via_onnx, tta=tta), frames)
                results["runs"].setdefault(name, {}).setdefault(engine, {})[tta] = measured
                print(f"{name:>20} {engine:>11} tta={tta:<10} {measured}")
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
