"""Why segcore turns TensorFlow's oneDNN kernels on by default (TF_ENABLE_ONEDNN_OPTS=1, segcore/__init__.py).

`.venv/bin/python benchmarks/onednn.py` times, in a fresh process per setting (TensorFlow reads the variable once,
at import), the shipped U-Net's forward pass at 360x480 (batch 1, median of 5 after 2 warm-up calls) and one
training step of the same architecture (batch 8 at 360x480, Adam, cross-entropy; median of 4 after 2), with
oneDNN off ("0") and on ("1"). On Linux TensorFlow turns it on by itself only on CPUs with AVX-512 VNNI/BF16,
AVX-VNNI or AMX (tensorflow/core/util/port.cc).
Results and the machine: docs/BENCHMARKS.md ("TensorFlow's oneDNN kernels on an AVX2 CPU").
"""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TIMING = r"""
import json, sys
sys.path.insert(0, "benchmarks")
import keras, numpy as np
from bench_inference import median_ms
from segcore.models import build
from segcore.runs import load_model

shipped = load_model("models/unet-camvid-full")
image = np.random.default_rng(0).uniform(0, 255, (1, 360, 480, 3)).astype(np.float32)
forward = median_ms(lambda: shipped.predict_on_batch(image), 5)
model = build("unet", num_classes=11, input_shape=(360, 480, 3), base_filters=32)
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
batch = np.random.default_rng(1).uniform(0, 255, (8, 360, 480, 3)).astype(np.float32)
labels = np.random.default_rng(2).integers(0, 11, (8, 360, 480, 1))
step = median_ms(lambda: model.train_on_batch(batch, labels), 4)
print(json.dumps({"forward_ms": forward, "train_step_ms": step}))
"""


def cpu_flags() -> str:
    flags = Path("/proc/cpuinfo").read_text().split("flags", 1)[-1].split("\n", 1)[0].split()
    return " ".join(sorted(flag for flag in flags if flag.startswith(("avx", "amx"))))


def main() -> int:
    print(f"CPU vector flags: {cpu_flags() or 'none read'}; cores: {os.cpu_count()}")
    for setting in ("0", "1"):
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": setting, "TF_CPP_MIN_LOG_LEVEL": "3"}
        result = subprocess.run([sys.executable, "-c", TIMING], cwd=ROOT, env=env, capture_output=True, text=True)
        if result.returncode:
            print(result.stderr[-2000:], file=sys.stderr)
            return result.returncode
        timings = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"TF_ENABLE_ONEDNN_OPTS={setting}: U-Net forward {timings['forward_ms']} ms (batch 1, 360x480), "
              f"training step {timings['train_step_ms']} ms (batch 8, 360x480)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
