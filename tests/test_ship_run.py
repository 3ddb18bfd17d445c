"""scripts/ship_run.sh: a finished run becomes a shipped one (its four files, test-time flip, a stored val evaluation
with the frames' distances to train); unfinished runs and taken names are refused in one line."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_camvid_like

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--option", "base_filters=4", "--option", "depth=2", "--option", "stem_filters=4"]


def ship(tmp_path: Path, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "MODELS": str(tmp_path / "models"), "PYTHON": sys.executable}
    return subprocess.run(["bash", "scripts/ship_run.sh", *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("ship")
    data = make_camvid_like(root / "data")
    run = root / "scratch-run"
    done = subprocess.run([sys.executable, "-m", "segcore", "train", "--arch", "unet", "--data", str(data), "--size",
                           "32x48", "--epochs", "1", "--batch", "2", "--out", str(run), *TINY], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return data, run


@pytest.mark.slow
def test_a_finished_run_ships_with_flip_and_a_stored_evaluation(trained, tmp_path):
    data, run = trained
    done = ship(tmp_path, run, "tiny", data)
    assert done.returncode == 0, done.stderr[-2000:]
    shipped = tmp_path / "models" / "tiny"
    assert sorted(p.name for p in shipped.iterdir()) == ["eval", "history.csv", "meta.json", "model.keras"]
    meta = json.loads((shipped / "meta.json").read_text())
    original = json.loads((run / "meta.json").read_text())
    assert meta == {**original, "tta": "flip"}
    evaluation = json.loads(next((shipped / "eval").glob("*-val.json")).read_text())
    assert evaluation["split"] == "val" and evaluation["tta"] == "flip"
    assert all("train_distance" in record for record in evaluation["per_image"])


@pytest.mark.slow
def test_an_unfinished_run_a_taken_name_and_a_missing_folder_are_refused_in_one_line(trained, tmp_path):
    data, run = trained
    (tmp_path / "models" / "taken").mkdir(parents=True)
    unfinished = tmp_path / "unfinished"
    (unfinished / "backup").mkdir(parents=True)
    for name in ("model.keras", "meta.json"):
        (unfinished / name).write_text((run / name).read_text(errors="replace"))
    packed = tmp_path / "packed"                 # what a GPU lease brings back mid-training: no backup/ either
    packed.mkdir()
    shutil.copy(run / "model.keras", packed)
    meta = json.loads((run / "meta.json").read_text())
    del meta["finished"]
    (packed / "meta.json").write_text(json.dumps({**meta, "epochs": 150}))
    for args, expected in [((unfinished, "new", data), "is still training or was interrupted (it has backup/)"),
                           ((packed, "new", data), "says 1 of 150 epochs and no end of training"),
                           ((run, "taken", data), "exists: remove it or choose another NAME"),
                           ((tmp_path / "nothing", "new", data), "holds no finished run"),
                           ((run, "new", tmp_path / "no-data"), "no such data set folder")]:
        done = ship(tmp_path, *args)
        assert done.returncode == 2 and done.stderr.startswith("ship_run: ") and expected in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["taken"]


@pytest.mark.slow
def test_a_failed_evaluation_leaves_no_half_shipped_run(trained, tmp_path):
    _, run = trained
    no_val = make_camvid_like(tmp_path / "train-only", splits=(("train", 2),))
    done = ship(tmp_path, run, "tiny", no_val)
    assert done.returncode != 0 and "nothing shipped" in done.stderr
    assert not (tmp_path / "models" / "tiny").exists()
