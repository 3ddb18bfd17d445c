"""`--strategy multiworker` for real: two worker processes on 127.0.0.1 joined by TF_CONFIG."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import make_camvid_like

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--option", "base_filters=4", "--option", "depth=2", "--option", "stem_filters=4"]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.mark.slow
def test_two_workers_train_one_epoch_and_only_the_chief_writes_the_run(tmp_path):
    data = make_camvid_like(tmp_path / "data", splits=(("train", 8), ("val", 2)))
    run = tmp_path / "run"
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    workers = []
    for index in range(2):
        env = {**os.environ, "TMPDIR": str(scratch),
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "segcore", "train", "--arch", "unet", "--data", str(data), "--size", "32x48",
             "--epochs", "1", "--batch", "4", "--strategy", "multiworker", "--out", str(run), *TINY],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = []
    try:
        for worker in workers:
            outputs.append(worker.communicate(timeout=300)[0])
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-3000:]

    # Had worker 1 written the run folder, it would have met the chief's lock and failed; its own scratch
    # folder is gone.
    assert list(scratch.iterdir()) == []
    assert {p.name for p in run.iterdir()} >= {"model.keras", "meta.json", "history.csv"}
    assert not (run / ".lock").exists() and not (run / "backup").exists()
    history = (run / "history.csv").read_text().splitlines()
    assert len(history) == 2 and history[1].startswith("0,")
    meta = json.loads((run / "meta.json").read_text())
    assert meta["config"]["strategy"] == "multiworker" and meta["epochs_completed"] == 1
    assert meta["optimizer_steps"] == 2                       # 8 images, global batch 4, one epoch

    from segcore.runs import load_model
    model = load_model(run)
    logits = model.predict(np.zeros((1, 32, 48, 3), np.float32), verbose=0)
    assert logits.shape == (1, 32, 48, 11) and np.isfinite(logits).all()
