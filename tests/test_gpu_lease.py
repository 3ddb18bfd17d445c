"""scripts/gpu_lease.sh, the way a lent GPU machine runs it, here on CPU: runs train as daemons outside the
repository, a later call finds them running or finished instead of starting them again, and each comes back packed
without its backup."""
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from conftest import make_camvid_like

ROOT = Path(__file__).resolve().parents[1]


def lease_call(watch: int, jobs: Path, tmp_path: Path, *stop: str) -> str:
    shims = tmp_path / "bin"                      # the device's python3 is the one with segcore's packages here
    shims.mkdir(exist_ok=True)
    (shims / "python3").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')   # a link would leave the venv
    (shims / "python3").chmod(0o755)
    (tmp_path / "site").mkdir(exist_ok=True)
    (tmp_path / "site" / ".installed").touch()    # the wheels are the device's concern: nothing to install here
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    env = {**os.environ, "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}", "OUT": str(out),
           "GPU_RUNS": str(tmp_path / "gpu-runs"), "GPU_SITE": str(tmp_path / "site")}
    done = subprocess.run(["bash", "scripts/gpu_lease.sh", str(watch), str(jobs), *stop], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
@pytest.mark.skipif(__import__("importlib").util.find_spec("jax") is None, reason="JAX not installed here")
def test_a_lease_trains_in_the_background_and_packs_each_run_without_its_backup(tmp_path):
    data = make_camvid_like(tmp_path / "data")
    jobs = tmp_path / "jobs.txt"
    tiny = f"--arch segnet-mobilenet --option alpha=0.125 --size 32x48 --batch 2 --data {data}"
    jobs.write_text(f"# a comment, then a blank line\n\ntiny {tiny} --epochs 2\nstopped {tiny} --epochs 50\n")
    lease_call(0, jobs, tmp_path)                                   # starts both and returns at once
    pids = {name: (tmp_path / "gpu-runs" / f"{name}.pid").read_text() for name in ("tiny", "stopped")}
    said = lease_call(300, jobs, tmp_path, "stopped")               # the next call: stops one, waits for the other
    assert "stopped stopped" in said and "== tiny finished" in said
    assert {name: (tmp_path / "gpu-runs" / f"{name}.pid").read_text() for name in pids} == pids   # none restarted
    with tarfile.open(tmp_path / "out" / "tiny.tar") as packed:
        names = set(packed.getnames())
    assert {"tiny/model.keras", "tiny/meta.json", "tiny/history.csv", "tiny.log"} <= names
    assert not any("backup" in name for name in names)
    meta = __import__("json").loads((tmp_path / "gpu-runs" / "tiny" / "meta.json").read_text())
    assert meta["epochs_completed"] == 2 and meta["hardware"][0]["backend"] == "jax"
