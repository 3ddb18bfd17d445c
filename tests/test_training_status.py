"""Home's status column says when a run is still training (a live trainer holds its lock) or was interrupted (its
backup is left), with its epochs, so a reviewer knows the model shown is not the final one."""
import json
import os
import socket

import pytest

from app.settings import describe_models_dir
from segcore import run_lock, runs
from test_onnx_import import trained_like_run


@pytest.fixture
def models(tmp_path):
    folder = tmp_path / "models"
    for name in ("done", "training", "interrupted"):
        run = trained_like_run(folder / name)
        meta = json.loads((run / "meta.json").read_text())
        runs.write_json(run / "meta.json", {**meta, "epochs": 150, "epochs_completed": 23})
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": run_lock._start_time(os.getpid())}
    (folder / "training" / run_lock.LOCK_FILE).write_text(json.dumps(me))
    (folder / "training" / "backup").mkdir()
    (folder / "interrupted" / "backup").mkdir()
    gone = {**me, "pid": 2 ** 22 + 7}                                  # no such process: a stale lock
    (folder / "interrupted" / run_lock.LOCK_FILE).write_text(json.dumps(gone))
    return folder


def test_status_says_training_or_interrupted_with_the_epochs(models):
    status = describe_models_dir(models)[0].set_index("run")["status"]
    assert status["done"] == "ok"
    assert status["training"] == "ok · training, epoch 23/150"
    assert status["interrupted"] == "ok · interrupted at epoch 23/150; resume with --resume"


def test_a_lock_is_live_only_while_its_process_runs(tmp_path):
    assert run_lock.live_holder(tmp_path) is None
    with run_lock.RunLock(tmp_path):
        assert run_lock.live_holder(tmp_path)["pid"] == os.getpid()
    assert run_lock.live_holder(tmp_path) is None
