"""One trainer per run folder: RUN/.lock with pid and host, stale locks taken over, released on exit."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_camvid_like
from segcore.run_lock import LOCK_FILE, RunLock
from segcore.runs import RunError

ROOT = Path(__file__).resolve().parents[1]


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped), so it is not running."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_second_holder_is_refused_with_the_owners_pid(tmp_path):
    with RunLock(tmp_path / "run") as lock:
        owner = json.loads((tmp_path / "run" / LOCK_FILE).read_text())
        assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
        with pytest.raises(RunError, match=f"pid {os.getpid()}"):
            RunLock(tmp_path / "run").acquire()
        assert lock.took_over is None
    assert not (tmp_path / "run" / LOCK_FILE).exists()     # released
    RunLock(tmp_path / "run").acquire().release()          # and free again


def test_the_lock_is_released_when_training_raises(tmp_path):
    with pytest.raises(ZeroDivisionError):
        with RunLock(tmp_path):
            1 / 0
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_stale_lock_is_taken_over_and_says_whose_it_was(tmp_path):
    pid = dead_pid()
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": pid, "host": socket.gethostname()}))
    with RunLock(tmp_path) as lock:
        assert lock.took_over["pid"] == pid
        assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()


def test_a_reused_pid_is_stale_but_a_lock_from_another_host_is_not(tmp_path):
    # Our own pid, but recorded with a different start time: the pid was reused, the owner is gone.
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                                  "started": "1"}))
    with RunLock(tmp_path) as lock:
        assert lock.took_over is not None
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": dead_pid(), "host": "elsewhere.example"}))
    with pytest.raises(RunError, match="pid .* on elsewhere.example"):
        RunLock(tmp_path).acquire()
    (tmp_path / LOCK_FILE).write_text("garbage")
    with pytest.raises(RunError, match="unreadable"):
        RunLock(tmp_path).acquire()


def test_release_never_removes_someone_elses_lock(tmp_path):
    lock = RunLock(tmp_path).acquire()
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": 1, "host": socket.gethostname()}))
    lock.release()
    assert (tmp_path / LOCK_FILE).exists()


def test_train_refuses_a_folder_another_trainer_holds(tmp_path):
    data = make_camvid_like(tmp_path / "data")
    run = tmp_path / "run"
    with RunLock(run):   # this test process plays the running trainer
        result = subprocess.run([sys.executable, "-m", "segcore", "train", "--arch", "unet", "--data", str(data),
                                 "--size", "32x48", "--epochs", "1", "--out", str(run)],
                                capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"pid {os.getpid()}" in result.stderr and "Traceback" not in result.stderr
    assert not (run / "meta.json").exists() and not (run / "history.csv").exists()
