"""scripts/park_training.sh: an unfinished training's resume state is committed to git history (then removed from the
tree) and brought back on a fresh machine; finished or running trainings are refused in one line."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from segcore.run_lock import RunLock

ROOT = Path(__file__).resolve().parents[1]
GIT_USER = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.org"}


def git(repo: Path, *args) -> str:
    return subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_USER}, capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture
def repo(tmp_path) -> Path:
    """A repository holding the script (it works on the repository it sits in) and one commit."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "park_training.sh", repo / "scripts")
    git(repo, "init", "-q")
    git(repo, "add", "scripts")
    git(repo, "commit", "-q", "-m", "start")
    return repo


def park(repo: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "scripts/park_training.sh", *map(str, args)], cwd=repo, capture_output=True,
                          text=True, env={**os.environ, **GIT_USER, "PYTHON": sys.executable}, timeout=120)


def backup_slot(slot: Path, epoch: int) -> None:
    """A complete backup slot as segcore.train_backup writes one (state.json vouches for the weights file)."""
    slot.mkdir(parents=True)
    weights = os.urandom(4096)
    (slot / "state.weights.h5").write_bytes(weights)
    (slot / "state.json").write_text(json.dumps({"epoch": epoch, "weights_bytes": len(weights),
                                                 "weights_sha256": hashlib.sha256(weights).hexdigest()}))


def unfinished_run(folder: Path, train_split: str = "train+val") -> Path:
    backup_slot(folder / "backup" / "slot-1", 3)           # the newest: what a resume reads
    backup_slot(folder / "backup" / "slot-0", 2)
    (folder / "meta.json").write_text(json.dumps({"arch": "unet", "epochs": 150, "epochs_completed": 3,
                                                  "config": {"train_split": train_split, "val_split": "val"}}))
    (folder / "history.csv").write_text("epoch,loss\n0,2.3\n1,1.9\n2,1.7\n")
    (folder / "model.keras").write_bytes(b"the best epoch's weights (a final run: the last epoch's)")
    (folder / "logs" / "train").mkdir(parents=True)
    (folder / "logs" / "train" / "events.out.tfevents.1").write_bytes(b"TensorBoard's")
    return folder


def test_a_parked_training_comes_back_from_history_alone(repo, tmp_path):
    run = unfinished_run(tmp_path / "runs" / "unet-final")
    (repo / "unrelated.txt").write_text("staged, not parked")
    git(repo, "add", "unrelated.txt")
    done = park(repo, "park", run)
    assert done.returncode == 0, done.stderr
    assert "parked" in done.stdout and "at epoch 3/150" in done.stdout
    subjects = git(repo, "log", "--format=%s").splitlines()
    assert subjects[:2] == ["Parked training unet-final: kept in history only (scripts/park_training.sh)",
                            "Park the training unet-final at epoch 3/150 (back: scripts/park_training.sh unpark "
                            "unet-final DEST)"]
    assert not (repo / "models" / ".parked" / "unet-final.tar").exists()          # the tree stays light
    assert "unrelated.txt" in git(repo, "diff", "--cached", "--name-only")          # only the parked file committed

    back = park(repo, "unpark", "unet-final", tmp_path / "fresh")
    assert back.returncode == 0, back.stderr
    restored = tmp_path / "fresh" / "unet-final"
    for name in ("meta.json", "history.csv", "backup/slot-1/state.weights.h5", "backup/slot-1/state.json"):
        assert (restored / name).read_bytes() == (run / name).read_bytes(), name
    assert not (restored / "backup" / "slot-0").exists()     # the older backup: 12 MB a resume never reads
    assert not (restored / "model.keras").exists()             # a final run writes it again at its next epoch
    assert not (restored / "logs").exists()                    # no event logs in the repository

    again = park(repo, "unpark", "unet-final", tmp_path / "fresh")
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "exists" in again.stderr


def test_a_run_choosing_its_best_epoch_on_val_is_parked_with_that_epochs_model(repo, tmp_path):
    """Its best weights live only in model.keras: a resumed run rewrites it only if a later epoch beats the best."""
    run = unfinished_run(tmp_path / "runs" / "unet-150", train_split="train")
    assert park(repo, "park", run).returncode == 0
    assert park(repo, "unpark", "unet-150", tmp_path / "fresh").returncode == 0
    assert (tmp_path / "fresh" / "unet-150" / "model.keras").read_bytes() == (run / "model.keras").read_bytes()


def test_parking_on_a_detached_head_is_refused_before_committing(repo, tmp_path):
    git(repo, "checkout", "-q", "--detach")
    refused = park(repo, "park", unfinished_run(tmp_path / "runs" / "unet-final"))
    assert refused.returncode == 2 and "detached" in refused.stderr and refused.stderr.count("\n") == 1
    assert git(repo, "log", "--format=%s").splitlines() == ["start"]


def test_finished_running_and_unknown_trainings_are_refused_in_one_line(repo, tmp_path):
    finished = tmp_path / "runs" / "done"
    finished.mkdir(parents=True)
    (finished / "meta.json").write_text("{}")
    running = unfinished_run(tmp_path / "runs" / "running")
    broken = unfinished_run(tmp_path / "runs" / "broken")
    for slot in ("slot-0", "slot-1"):
        (broken / "backup" / slot / "state.weights.h5").write_bytes(b"cut short")
    with RunLock(running):
        refusals = [park(repo, "park", finished), park(repo, "park", running), park(repo, "unpark", "nope", tmp_path),
                    park(repo, "park", tmp_path / "missing"), park(repo, "shelve", finished),
                    park(repo, "park", broken)]
    words = ["no backup/ folder", "is training now", "no parked training called nope", "no such run folder", "usage",
             "holds no complete backup"]
    for refused, said in zip(refusals, words):
        assert refused.returncode != 0 and said in refused.stderr and refused.stderr.count("\n") == 1, refused.stderr
    assert git(repo, "log", "--format=%s").splitlines() == ["start"]


def stop_after_first_epoch():
    """What a kill between epochs leaves: the first epoch's backup on disk, the training gone."""
    import keras

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):      # runs after the run's own backup callback
            raise KeyboardInterrupt

    return Stop()


@pytest.mark.slow
def test_a_run_parked_after_its_first_epoch_resumes_to_the_end_elsewhere(repo, tmp_path):
    from conftest import make_camvid_like
    from segcore.train import TrainConfig, train
    data = make_camvid_like(tmp_path / "data")
    config = TrainConfig(arch="unet", data=str(data), out=str(tmp_path / "runs" / "tiny"), size=(32, 48), epochs=2,
                         batch=2, arch_options={"base_filters": 4, "depth": 2, "stem_filters": 4})
    with pytest.raises(KeyboardInterrupt):
        train(config, verbose=0, callbacks=[stop_after_first_epoch()])
    assert park(repo, "park", config.out).returncode == 0
    shutil.rmtree(tmp_path / "runs")                     # the fresh machine has nothing but the repository

    assert park(repo, "unpark", "tiny", tmp_path / "runs").returncode == 0
    train(config, resume=True, verbose=0)
    meta = json.loads((tmp_path / "runs" / "tiny" / "meta.json").read_text())
    assert meta["epochs_completed"] == 2 and "finished" in meta
    with (tmp_path / "runs" / "tiny" / "history.csv").open() as rows:
        assert [row.split(",")[0] for row in rows.read().splitlines()[1:]] == ["0", "1"]
    assert not (tmp_path / "runs" / "tiny" / "backup").exists()
