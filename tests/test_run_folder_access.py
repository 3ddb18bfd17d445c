"""The app reads and writes only inside the models folder and never hangs or falls over on what a run folder holds:
a file or folder in a run linked from outside makes the run broken, an unreadable run is listed as broken, and a
FIFO named like the lock or a data pack's record is not waited on."""
from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from segcore import runs
from segcore.datasets import dataset_name
from segcore.histories import discover_histories
from segcore.run_lock import live_holder

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / "unet-camvid"


@pytest.fixture
def models(tmp_path) -> Path:
    run = tmp_path / "models" / "mine"
    run.mkdir(parents=True)
    for name in ("meta.json", "history.csv"):
        shutil.copy(SHIPPED / name, run / name)
    (tmp_path / "outside").mkdir()
    return tmp_path / "models"


@pytest.mark.parametrize("linked", ["model.keras", "eval", "history.csv", ".onnx-cache"])
def test_a_file_in_a_run_linked_from_outside_makes_the_run_broken(models, linked):
    outside = models.parent / "outside" / linked
    outside.mkdir() if linked in ("eval", ".onnx-cache") else outside.write_bytes(b"x")
    run = models / "mine"
    if linked == "history.csv":
        (run / linked).unlink()
    shutil.copy(SHIPPED / "model.keras", run / "model.keras") if linked != "model.keras" else None
    (run / linked).symlink_to(outside)
    [found] = runs.discover_runs(models)
    assert found.error == (f"its {linked} links outside the models folder to {outside.resolve()}; move or copy it "
                           "into the run folder to use the run")
    if linked == "history.csv":
        assert discover_histories(models) == {}           # Training Curves never reads it either


def test_an_unreadable_run_folder_is_listed_as_broken(models, monkeypatch):
    shutil.copy(SHIPPED / "model.keras", models / "mine" / "model.keras")
    real_iterdir = Path.iterdir

    def iterdir(self):
        if self.name == "mine":
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)
    monkeypatch.setattr(Path, "iterdir", iterdir)     # root ignores chmod 000, so the denial is staged
    [found] = runs.discover_runs(models)
    assert found.error == "mine: can't be read (Permission denied); check its permissions"


@pytest.fixture
def alarm():
    def hung(*_):
        raise TimeoutError("blocked on a FIFO")
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_a_fifo_named_like_the_lock_or_a_pack_record_is_not_waited_on(models, alarm):
    os.mkfifo(models / "mine" / ".lock")
    assert live_holder(models / "mine") is None
    data = models.parent / "data"
    data.mkdir()
    os.mkfifo(data / "PACKED.json")
    assert dataset_name(data) == "data"


def test_a_huge_meta_json_makes_the_run_broken_without_parsing_it(models):
    (models / "mine" / "meta.json").write_text('{"pad": "' + "x" * (runs.MAX_META_BYTES + 1) + '"}')
    assert "over the 1 MB limit" in runs.open_run(models / "mine").error
