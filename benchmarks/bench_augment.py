"""Cost of every catalogue transform: median ms per 360x480 frame and its mask, on one thread, written to
segcore/augment/costs.json, the file the catalogue's cost labels come from.

    .venv/bin/python benchmarks/bench_augment.py [--runs 15] [--data ../shared/data/camvid] [--noisy]

Each run is a different seeded draw (so a transform whose work depends on what it samples, such as the number of
rain drops, is timed over its range), with the step forced to p = 1; the first call is a warm-up. Pass --noisy
when other work shares the machine: the file then says so, and the figures should be measured again when quiet.
"""
from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):   # before numpy loads
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from segcore import augment  # noqa: E402
from segcore.augment.costs import COSTS_FILE  # noqa: E402
from segcore.datasets import list_pairs, schema_for  # noqa: E402
from segcore.frames import resize_label  # noqa: E402
from segcore.imageio import read_pair  # noqa: E402

SIZE = (360, 480)
ROOT = Path(__file__).resolve().parents[1]


def frame(data: Path):
    """The first training frame of `data` and its mask at 360x480, and the schema's ignore index."""
    schema = schema_for(data)
    sample = list_pairs(data, "train")[0]
    image, mask = read_pair(sample.image, sample.label, schema)
    if image.shape[:2] != SIZE:
        image = cv2.resize(image, SIZE[::-1], interpolation=cv2.INTER_AREA)
        mask = resize_label(mask, SIZE)
    return image, mask, schema.ignore_index


def median_ms(name: str, image, mask, fill: int, runs: int) -> float:
    """Median ms of `runs` seeded draws of catalogue transform `name` at p = 1 (after one warm-up call)."""
    pipeline = augment.build_pipeline([{**augment.default_step(name), "p": 1.0}], mask_fill=fill)
    augment.apply_seeded(pipeline, image, mask, seed=runs)     # warm-up: lazy kernels and tables
    times = []
    for seed in range(runs):
        augment.seed_pipeline(pipeline, seed)                  # seeding is not timed, only the draw
        start = time.perf_counter()
        augment.apply(pipeline, image, mask)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical cores, Python {platform.python_version()}, OpenCV {cv2.__version__}"


def table(ms: dict[str, float]) -> str:
    """A Markdown table, most expensive first, for docs/BENCHMARKS.md."""
    rows = ["| transform | ms per frame | label |", "|---|---:|---|"]
    rows += [f"| {name} | {value:.2f} | {augment.cost_label(value)} |"
             for name, value in sorted(ms.items(), key=lambda item: -item[1])]
    return "\n".join(rows)


def main() -> None:
    camvid = ROOT.parent / "shared" / "data" / "camvid"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=camvid if camvid.is_dir() else ROOT / "data" / "sample",
                        help="data set whose first training frame is timed (resized to 360x480 if needed)")
    parser.add_argument("--runs", type=int, default=15, help="seeded draws per transform (default: 15)")
    parser.add_argument("--out", type=Path, default=COSTS_FILE, help="where to write the figures")
    parser.add_argument("--noisy", action="store_true", help="mark the figures as taken on a busy machine")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    image, mask, fill = frame(args.data)
    ms = {}
    for name in augment.CATALOGUE:
        ms[name] = round(median_ms(name, image, mask, fill, args.runs), 3)
        print(f"{name:<28} {ms[name]:>9.3f} ms", flush=True)
    result = {
        "ms": ms, "unit": "median ms per 360x480 frame and mask, one thread, p = 1, catalogue defaults",
        "runs": args.runs, "frame": f"{Path(args.data).name}: first training frame", "machine": machine(),
        "command": "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]]),
        "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "noisy": args.noisy,
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nwrote {args.out}\n\n{table(ms)}")


if __name__ == "__main__":
    main()
