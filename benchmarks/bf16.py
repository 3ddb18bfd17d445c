"""Whether bfloat16 mixed precision would speed up CPU training (it would need a second numeric path, so only if it
pays): `.venv/bin/python benchmarks/bf16.py` times, in a fresh process per Keras dtype policy (float32,
mixed_bfloat16; oneDNN on, as segcore sets it), the shipped U-Net architecture's training step (batch 8 at 360x480,
Adam, cross-entropy; median of 4 after 2) and forward pass (batch 8, median of 4 after 2). Meant for CPUs with
AVX-512 BF16 or AMX, where oneDNN has bfloat16 kernels.
Results and the machine: docs/BENCHMARKS.md ("bfloat16 mixed precision on an AVX-512 BF16 CPU").
"""
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from onednn import cpu_flags  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

TIMING = r"""
import json, sys
sys.path.insert(0, "benchmarks")
import keras, numpy as np
from bench_inference import median_ms
from segcore.models import build

keras.mixed_precision.set_global_policy(sys.argv[1])
model = build("unet", num_classes=11, input_shape=(360, 480, 3), base_filters=32)
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
batch = np.random.default_rng(1).uniform(0, 255, (8, 360, 480, 3)).astype(np.float32)
labels = np.random.default_rng(2).integers(0, 11, (8, 360, 480, 1))
step = median_ms(lambda: model.train_on_batch(batch, labels), 4)
forward = median_ms(lambda: model.predict_on_batch(batch), 4)
print(json.dumps({"train_step_ms": step, "forward_ms": forward}))
"""


def main() -> int:
    print(f"CPU vector flags: {cpu_flags() or 'none read'}; cores: {os.cpu_count()}")
    for policy in ("float32", "mixed_bfloat16"):
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
        result = subprocess.run([sys.executable, "-c", TIMING, policy], cwd=ROOT, env=env, capture_output=True,
                                text=True)
        if result.returncode:
            print(result.stderr[-2000:], file=sys.stderr)
            return result.returncode
        timings = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"{policy}: U-Net training step {timings['train_step_ms']} ms, forward {timings['forward_ms']} ms "
              "(batch 8, 360x480)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
