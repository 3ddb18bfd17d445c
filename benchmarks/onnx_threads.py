"""Why segcore.backends.onnx runs every forward pass on one thread with non-spinning workers.

`.venv/bin/python benchmarks/onnx_threads.py [RUN_A RUN_B]` (default: the two runs Side by Side opens with) serves
both Keras runs through their ONNX export and, as the app does on each rerun, calls A then B once per round
from a fresh thread, 12 rounds 0.2 s apart. It prints the median model ms of each under four set-ups:
    spinning workers (onnxruntime's default) or not, x forward pass on the caller's thread or on forward_thread().
Results and the machine: docs/BENCHMARKS.md ("Side by Side speed goals").
"""
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np
import onnxruntime

from segcore import frames
from segcore.backends import onnx as onnx_backend
from segcore.predict import Predictor

ROOT = Path(__file__).resolve().parents[1]


def session(path, spinning: bool):
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return onnxruntime.InferenceSession(str(path), sess_options=options, providers=onnx_backend.providers())


def median_ms(backends, sessions, on_forward_thread: bool) -> list[float]:
    image = np.random.default_rng(0).integers(0, 256, (360, 480, 3), dtype=np.uint8)
    times = [[] for _ in backends]

    def one_round():
        for index, (backend, sess) in enumerate(zip(backends, sessions)):
            x = np.ascontiguousarray(frames.model_input(image, backend.input_size)[None], dtype=np.float32)
            feed = {backend.input_name: x if backend.layout == "NHWC" else x.transpose(0, 3, 1, 2).copy()}
            start = time.perf_counter()
            if on_forward_thread:
                onnx_backend.forward_thread().submit(sess.run, None, feed).result()
            else:
                sess.run(None, feed)
            times[index].append((time.perf_counter() - start) * 1000)

    for _ in range(12):
        worker = threading.Thread(target=one_round)     # a fresh caller thread per round, as a Streamlit rerun
        worker.start()
        worker.join()
        time.sleep(0.2)
    return [round(statistics.median(values), 1) for values in times]


def main(names: list[str]) -> None:
    backends = [Predictor(ROOT / "models" / name, keras_via_onnx=True).backend for name in names]
    paths = [next((ROOT / "models" / name / ".onnx-cache").glob("*.onnx")) for name in names]
    for spinning in (True, False):
        sessions = [session(path, spinning) for path in paths]
        for on_forward_thread in (False, True):
            print(f"spinning={spinning!s:5} forward_thread={on_forward_thread!s:5} median ms "
                  f"{dict(zip(names, median_ms(backends, sessions, on_forward_thread)))}")


if __name__ == "__main__":
    main(sys.argv[1:3] if len(sys.argv) > 2 else ["unet-camvid", "segnet-camvid"])
