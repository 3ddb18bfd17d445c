"""What label quality adds to `segcore evaluate` per frame: `segcore.label_quality.contradicted` (self-confidence of
each labelled pixel, the band around label edges left out) on synthetic street scenes.

    .venv/bin/python benchmarks/bench_label_quality.py [--out benchmarks/results/label_quality.json]

At CamVid's 360x480 (11 classes, probabilities at the label's size, as the full-resolution runs give them) and at
Cityscapes' 1024x2048 with probabilities at half size (as a 512x1024 model gives them), the min and median ms of 20
calls after 2 warm-up calls. Results and the machine: docs/BENCHMARKS.md ("Label quality").
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from segcore.label_quality import contradicted
from segcore.synth.scene import render_scene

ROOT = Path(__file__).resolve().parents[1]
CLASSES = 11


def probabilities_for(labels: np.ndarray, size: tuple[int, int], seed: int) -> np.ndarray:
    """Noisy probabilities at `size` that mostly agree with `labels`: a model's output, without a model."""
    rng = np.random.default_rng(seed)
    step_h, step_w = labels.shape[0] // size[0], labels.shape[1] // size[1]
    seen = np.minimum(labels[::step_h, ::step_w][:size[0], :size[1]], CLASSES - 1)
    logits = rng.normal(0, 1, (*size, CLASSES)).astype(np.float32)
    np.put_along_axis(logits, seen[..., None].astype(np.int64), 4.0, axis=-1)
    logits -= logits.max(axis=-1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=-1, keepdims=True)


def timing(label_size: tuple[int, int], output_size: tuple[int, int]) -> dict:
    _, labels = render_scene(0, label_size)
    probabilities = probabilities_for(labels, output_size, seed=0)
    valid = labels < CLASSES
    for _ in range(2):
        contradicted(probabilities, labels, valid)
    times = []
    for _ in range(20):
        start = time.perf_counter()
        contradicted(probabilities, labels, valid)
        times.append((time.perf_counter() - start) * 1000)
    return {"min_ms": round(min(times), 2), "median_ms": round(statistics.median(times), 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "label_quality.json"),
                        help="JSON to write")
    args = parser.parse_args()
    results = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs", "frames": {}}
    for name, label_size, output_size in (("camvid 360x480", (360, 480), (360, 480)),
                                          ("cityscapes 1024x2048, model 512x1024", (1024, 2048), (512, 1024))):
        results["frames"][name] = measured = timing(label_size, output_size)
        print(f"{name:>38} {measured}")
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
