"""Data pipeline benchmark: images/s through PyDataset and tf.data, with and without augmentation,
and the cost of each catalogue transform (ms/image at 360x480).

    .venv/bin/python benchmarks/bench_pipeline.py [--data ../shared/data/camvid] [--out benchmarks/results/pipeline.json]
        [--size 360x480 --pipeline data/pipelines/street-train-fullres.json]   # the shipped full-resolution recipe
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from segcore import augment  # noqa: E402
from segcore.datasets import list_pairs, schema_for  # noqa: E402
from segcore.imageio import read_image, read_mask  # noqa: E402
from segcore.batches import SampleLoader, SegmentationSequence, tf_dataset  # noqa: E402

PIPELINE = Path(__file__).resolve().parents[1] / "data" / "pipelines" / "street-train.json"


def images_per_second(batches, batch_size: int, limit: int, warmup: int = 3) -> float:
    """Steady-state throughput: the first `warmup` batches (tf.data start-up, autotuning) are not counted."""
    batches = iter(batches)
    for _ in range(warmup):
        next(batches)
    start = time.perf_counter()
    for _ in range(limit):
        next(batches)
    return round(limit * batch_size / (time.perf_counter() - start), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "camvid"
    parser.add_argument("--data", default=str(default if default.is_dir() else "data/sample"))
    parser.add_argument("--out", default="benchmarks/results/pipeline.json")
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--size", default="240x320", help="HxW the batches are resized to")
    parser.add_argument("--pipeline", default=str(PIPELINE), help="augmentation pipeline of the augmented rows")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    schema = schema_for(args.data)
    samples = list_pairs(args.data, "train")
    rows = []
    for name, pipeline in (("none", None), (Path(args.pipeline).name, args.pipeline)):
        loader = SampleLoader(schema, size, pipeline)
        sequence = SegmentationSequence(samples, loader, 8)
        rows.append({"path": "PyDataset (sequential)", "augment": name,
                     "images_per_s": images_per_second((sequence[i % len(sequence)] for i in range(10**6)), 8,
                                                       args.batches)})
        rows.append({"path": "tf.data (parallel map)", "augment": name,
                     "images_per_s": images_per_second(tf_dataset(samples, loader, 8, repeat=True), 8,
                                                       args.batches)})
        print(rows[-2:], flush=True)
    image = read_image(samples[0].image)
    mask = read_mask(samples[0].label, schema)
    costs = {}
    for name in augment.CATALOGUE:
        step = {**augment.default_step(name), "p": 1.0}
        costs[name] = round(augment.time_steps([step], image, mask, repeats=9)["0:" + name], 2)
    print(costs, flush=True)
    with open(args.out, "w") as handle:
        json.dump({"data": Path(args.data).name, "image_size": list(image.shape[:2]), "batch_size": list(size),
                   "loaders": rows,
                   "transform_ms_per_image": costs}, handle, indent=1)


if __name__ == "__main__":
    main()
