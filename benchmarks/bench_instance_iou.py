"""What Cityscapes' iIoU adds to an evaluation (segcore.instance_iou): InstanceCounts.add on one frame at Cityscapes'
full 1024x2048 with 40 objects (cars of 10-200 x 10-300 px) and a random prediction, median of 9 calls.

    .venv/bin/python benchmarks/bench_instance_iou.py

Results and the machine: docs/BENCHMARKS.md ("Cityscapes iIoU: what it adds to an evaluation").
"""
import numpy as np

from bench_inference import median_ms
from segcore.instance_iou import InstanceCounts
from segcore.labels import CITYSCAPES

rng = np.random.default_rng(0)
height, width = 1024, 2048
instances = np.full((height, width), 7, np.int32)                 # road everywhere, then 40 cars on it
for number in range(40):
    h, w = int(rng.integers(10, 200)), int(rng.integers(10, 300))
    top, left = int(rng.integers(0, height - h)), int(rng.integers(0, width - w))
    instances[top:top + h, left:left + w] = 26 * 1000 + number
pred = rng.integers(0, CITYSCAPES.num_classes, (height, width)).astype(np.uint8)
categories = CITYSCAPES.to_categories(pred)
counts = InstanceCounts(CITYSCAPES)
took = median_ms(lambda: counts.add(instances, pred, categories), 9)
print(f"InstanceCounts.add, one 1024x2048 frame, 40 objects: {took} ms")
