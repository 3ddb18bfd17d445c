"""What trimap scores add to an evaluation (segcore.trimap): TrimapCounts.add on one frame, at CamVid's 360x480
(real val labels where ../shared has them, the project's synthetic scenes otherwise) and Cityscapes' 1024x2048
(the CamVid labels scaled up, nearest), against a prediction that is the truth with 20 % of pixels changed;
median of 9 calls after one warm-up.

    .venv/bin/python benchmarks/bench_trimap.py

Results and the machine: docs/BENCHMARKS.md ("Trimap: what it adds to an evaluation").
"""
from pathlib import Path

import cv2
import numpy as np

from bench_inference import median_ms
from segcore.imageio import read_mask
from segcore.labels import CAMVID11
from segcore.synth import render_scene
from segcore.trimap import TrimapCounts

LABELS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "camvid" / "labels" / "val"
rng = np.random.default_rng(0)
labels = sorted(LABELS.glob("*.png"))
truth = read_mask(labels[0], CAMVID11) if labels else render_scene(0)[1]
for height, width in ((360, 480), (1024, 2048)):
    frame = cv2.resize(truth, (width, height), interpolation=cv2.INTER_NEAREST)
    pred = np.where(rng.random(frame.shape) < 0.8, frame, rng.integers(0, 11, frame.shape)).astype(np.uint8)
    counts = TrimapCounts(CAMVID11.num_classes, CAMVID11.ignore_index)
    counts.add(frame, pred)
    took = median_ms(lambda: counts.add(frame, pred), 9)
    print(f"TrimapCounts.add, one {height}x{width} frame ({'CamVid val' if labels else 'synthetic'} labels): "
          f"{took} ms")
