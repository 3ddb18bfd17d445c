"""Side by Side's upload-to-result path, without the browser: decode a 2048x1024 PNG upload, run each model
at its input size, resize back, arg-max, overlay. Models are loaded first (as the server's cache does).

    .venv/bin/python benchmarks/bench_upload.py [--models models] [--out benchmarks/results/upload.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from segcore.figures import overlay  # noqa: E402
from segcore.imageio import encode_png, read_image  # noqa: E402
from segcore.predict import Predictor  # noqa: E402
from segcore.runs import discover_runs  # noqa: E402
from segcore.synth import render_scene  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="models")
    parser.add_argument("--out", default="benchmarks/results/upload.json")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    upload = encode_png(render_scene(0, (1024, 2048))[0])       # a realistic 2048x1024 photo-sized PNG
    predictors = [Predictor(run) for run in discover_runs(args.models) if run.ok]
    rows, totals = {p.name: {"model_ms": [], "predict_ms": [], "overlay_ms": []} for p in predictors}, []
    decode = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        image = read_image(upload)
        decode.append((time.perf_counter() - start) * 1000)
        for predictor in predictors:
            prediction = predictor.predict(image)
            shown = time.perf_counter()
            overlay(image, prediction.labels, predictor.schema, 0.5)
            rows[predictor.name]["model_ms"].append(prediction.model_ms)
            rows[predictor.name]["predict_ms"].append(prediction.total_ms)
            rows[predictor.name]["overlay_ms"].append((time.perf_counter() - shown) * 1000)
        totals.append((time.perf_counter() - start) * 1000)
    result = {
        "upload": "2048x1024 PNG", "upload_bytes": len(upload), "repeats": args.repeats,
        "decode_ms": round(statistics.median(decode), 1),
        "per_model": {name: {k: round(statistics.median(v), 1) for k, v in values.items()}
                      for name, values in rows.items()},
        "total_ms": round(statistics.median(totals), 1), "total_ms_max": round(max(totals), 1),
    }
    print(json.dumps(result, indent=1))
    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=1)


if __name__ == "__main__":
    np.random.seed(0)
    main()
