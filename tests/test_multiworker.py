"""`--strategy multiworker` for real: two worker processes on 127.0.0.1 joined by TF_CONFIG."""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import make_camvid_like
from segcore import train_backup

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


def start_workers(run: Path, data: Path, scratch: Path, *extra: str) -> list[subprocess.Popen]:
    """Two `segcore train --strategy multiworker` processes joined by TF_CONFIG on fresh ports."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = []
    for index in range(2):
        env = {**os.environ, "TMPDIR": str(scratch),
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "segcore", "train", "--arch", "unet", "--data", str(data), "--size", "32x48",
             "--batch", "4", "--strategy", "multiworker", "--out", str(run), *TINY, *extra],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    return workers


def finish(workers: list[subprocess.Popen]) -> list[str]:
    """Each worker's output once it has ended; a worker still running after 5 minutes is killed."""
    outputs = []
    try:
        for worker in workers:
            outputs.append(worker.communicate(timeout=300)[0])
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    return outputs


@pytest.mark.slow
def test_two_workers_train_one_epoch_and_only_the_chief_writes_the_run(tmp_path):
    data = make_camvid_like(tmp_path / "data", splits=(("train", 8), ("val", 2)))
    run = tmp_path / "run"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    workers = start_workers(run, data, scratch, "--epochs", "1")
    outputs = finish(workers)
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


@pytest.mark.slow
def test_two_workers_killed_after_an_epoch_resume_together_and_log_each_epoch_once(tmp_path):
    """Every worker resumes from the chief's backup: the resumed run ends with each epoch once in its history and
    the optimizer steps of an uninterrupted run."""
    data = make_camvid_like(tmp_path / "data", splits=(("train", 24), ("val", 2)))
    run = tmp_path / "run"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    workers = start_workers(run, data, scratch, "--epochs", "3")
    backup = run / train_backup.BACKUP_DIR
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and all(worker.poll() is None for worker in workers):
            if train_backup.complete_backups(backup):
                break
            time.sleep(0.02)
        for worker in workers:
            worker.kill()
    finally:
        finish(workers)
    done = [b.epoch for b in train_backup.complete_backups(backup)]
    assert done and 1 <= done[0] < 3, f"the workers were not killed between epochs 1 and 3 ({done})"
    kept = (run / "history.csv").read_text().splitlines()[:1 + done[0]]

    resumed_scratch = tmp_path / "tmp-resumed"      # the killed worker left its own scratch folder behind
    resumed_scratch.mkdir()
    workers = start_workers(run, data, resumed_scratch, "--epochs", "3", "--resume")
    outputs = finish(workers)
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-3000:]
    rows = (run / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["0", "1", "2"]
    assert rows[:len(kept)] == kept                 # the epochs before the kill were not trained again
    meta = json.loads((run / "meta.json").read_text())
    assert meta["epochs_completed"] == 3 and meta["optimizer_steps"] == 3 * 6     # 24 images, global batch 4
    assert not backup.exists() and not (run / ".lock").exists()
    assert list(resumed_scratch.iterdir()) == []
