"""Home's "Bring a model": how long the user waits after "Add to the runs", without the browser. Imports a shipped
Keras model file, its ONNX export and a zip of its stored val predictions through segcore.importing_upload (what
the page calls) into a scratch models folder.

    .venv/bin/python benchmarks/bench_bring_a_model.py [--run models/unet-camvid-full] [--repeats 5]

The Keras import starts a child process that loads TensorFlow and the model (safe mode); the ONNX import a child
that loads onnxruntime; the zip import runs in the caller and checks every PNG.
"""
from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from segcore.importing import export_onnx
from segcore.importing_upload import import_uploaded_model, import_uploaded_predictions
from segcore.runs import open_run


def timed(repeats: int, step) -> list[float]:
    times = []
    for index in range(repeats):
        started = time.perf_counter()
        step(index)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", default="models/unet-camvid-full")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    run = open_run(args.run)
    scratch = Path(tempfile.mkdtemp(prefix="bring-a-model-"))
    keras_bytes = run.model_path.read_bytes()
    onnx_path, _ = export_onnx(run.path, scratch / "model.onnx")
    onnx_bytes = onnx_path.read_bytes()
    predictions = next(path for path in run.evaluations().values()).with_suffix("") / "predictions"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for png in sorted(predictions.glob("*.png")):
            archive.write(png, f"predictions/{png.name}")
    zipped = buffer.getvalue()
    models = scratch / "models"
    results = {
        "keras": timed(args.repeats, lambda i: import_uploaded_model(keras_bytes, "model.keras", models, f"k{i}",
                                                                     schema="camvid11", preprocess="raw")),
        "onnx": timed(args.repeats, lambda i: import_uploaded_model(onnx_bytes, "model.onnx", models, f"o{i}",
                                                                    schema="camvid11", preprocess="raw")),
        "zip": timed(args.repeats, lambda i: import_uploaded_predictions(zipped, "preds.zip", models, f"z{i}",
                                                                         schema="camvid11")),
    }
    sizes = {"keras": len(keras_bytes), "onnx": len(onnx_bytes), "zip": len(zipped),
             "zip_frames": len(list(predictions.glob("*.png")))}
    print(json.dumps({"run": str(args.run), "sizes_bytes": sizes, "python": sys.version.split()[0],
                      **{kind: {"median_s": round(statistics.median(t), 2), "min_s": round(min(t), 2),
                                "max_s": round(max(t), 2)} for kind, t in results.items()}}, indent=1))


if __name__ == "__main__":
    main()
