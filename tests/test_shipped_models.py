"""The shipped runs load, keep their quality, and `segcore evaluate` reproduces their committed evaluation."""
import json
from pathlib import Path

import pytest

from conftest import CAMVID, needs_camvid
from segcore import runs

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ["unet-camvid", "segnet-camvid"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_run_is_complete_and_meets_the_bar(name):
    run = runs.open_run(ROOT / "models" / name)
    assert run.ok, run.error
    assert run.schema.name == "camvid11" and run.meta["dataset"]["train"] == 367
    committed = run.evaluation("camvid-val")
    assert committed["images"] == 101
    assert committed["class_level"]["mean_iou"] >= 0.50
    assert (run.path / "augment.json").exists() and (run.path / "history.csv").exists()


def test_the_best_shipped_model_reaches_60_miou():
    best = max(runs.open_run(ROOT / "models" / n).evaluation("camvid-val")["class_level"]["mean_iou"]
               for n in SHIPPED)
    assert best >= 0.60


@needs_camvid()
@pytest.mark.parametrize("name", SHIPPED)
def test_evaluate_reproduces_the_committed_json(name, tmp_path):
    from segcore.evaluate import evaluate_run
    run = runs.open_run(ROOT / "models" / name)
    result, _ = evaluate_run(run, CAMVID, "val", out=tmp_path / "e.json")
    committed = json.loads((run.path / "eval" / "camvid-val.json").read_text())
    assert result["class_level"]["mean_iou"] == pytest.approx(committed["class_level"]["mean_iou"], abs=1e-6)
    assert result["class_level"]["confusion_matrix"] == committed["class_level"]["confusion_matrix"]
