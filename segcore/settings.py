"""Where the dashboard looks for trained runs and data (env vars), and a plain-words account of what it finds there.

SEGLAB_MODELS_DIR defaults to <repo>/models, SEGLAB_DATA_DIR to <repo>/data/sample (point it at e.g.
../shared/data/camvid for real data). Nothing here imports Streamlit or TensorFlow.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from segcore import runs
from segcore.datasets import DatasetError, detect_layout, list_splits, pairs_with_problems

REPO = Path(__file__).resolve().parents[1]
MODELS_ENV = "SEGLAB_MODELS_DIR"
DATA_ENV = "SEGLAB_DATA_DIR"
RUN_COLUMNS = ["run", "architecture", "schema", "input size", "parameters", "epochs completed", "val mIoU",
               "val mIoU from", "status"]


@dataclass(frozen=True)
class Settings:
    models_dir: Path
    data_dir: Path

    @classmethod
    def from_env(cls, environ=None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(models_dir=_resolve(env.get(MODELS_ENV), REPO / "models"),
                   data_dir=_resolve(env.get(DATA_ENV), REPO / "data" / "sample"))


def _resolve(value: str | None, default: Path) -> Path:
    # An empty variable counts as unset, as shells make it easy to export VAR= by accident.
    return Path(value).expanduser().resolve() if value and value.strip() else default.resolve()


# ------------------------------------------------------------------------------------------------ data folder

def describe_data_dir(path) -> tuple[bool, str, str | None, dict[str, int]]:
    """(ok, message, layout, {split: image/label pairs}) for the data folder, with what to do when it is unusable."""
    path = Path(path)
    hint = f"set {DATA_ENV} to a data set folder, or run `make sample` to generate the sample scenes"
    if not path.exists():
        return False, f"The data folder {path} does not exist; {hint}.", None, {}
    if not path.is_dir():
        return False, f"{path} is a file, not a folder; {hint}.", None, {}
    if not any(p for p in path.iterdir() if not p.name.startswith(".")):
        return False, f"The data folder {path} is empty; {hint}.", None, {}
    try:
        layout = detect_layout(path)
    except DatasetError as err:
        return False, f"{err}. Or {hint}.", None, {}
    counts = {split: len(pairs_with_problems(path, split, layout)[0]) for split in list_splits(path, layout)}
    if not counts or not any(counts.values()):
        found = ", ".join(counts) or "no split folders"
        return False, (f"{path} looks like a {layout} layout but holds no image/label pairs ({found}); "
                       f"put matching images and labels in, or {hint}."), layout, counts
    summary = ", ".join(f"{split}: {n} pairs" for split, n in counts.items())
    return True, f"{path} ({layout} layout) - {summary}", layout, counts


# ---------------------------------------------------------------------------------------------- models folder

def describe_models_dir(path) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """One row per run folder (RUN_COLUMNS), and (run, reason) for every broken run.

    val mIoU comes from the run's stored evaluation (eval/*-val.json, class_level.mean_iou) when there is one,
    else from the best validation value logged during training (meta.json best.val_mean_iou).
    """
    rows, broken = [], []
    for run in runs.discover_runs(path):
        meta = run.meta
        miou, source = _val_miou(run)
        size = meta.get("input_size")
        rows.append({
            "run": run.name,
            "architecture": meta.get("arch"),
            "schema": (meta.get("schema") or {}).get("name") if isinstance(meta.get("schema"), dict) else None,
            "input size": f"{size[1]}x{size[0]}" if isinstance(size, (list, tuple)) and len(size) == 2 else None,
            "parameters": meta.get("parameters"),
            "epochs completed": meta.get("epochs_completed"),
            "val mIoU": miou,
            "val mIoU from": source,
            "status": "ok" if run.ok else "broken",
        })
        if not run.ok:
            broken.append((run.name, run.error))
    frame = pd.DataFrame(rows, columns=RUN_COLUMNS)
    frame["parameters"] = frame["parameters"].astype("Int64")
    frame["epochs completed"] = frame["epochs completed"].astype("Int64")
    frame["val mIoU"] = frame["val mIoU"].astype(float)
    return frame, broken


def _val_miou(run: runs.Run) -> tuple[float, str | None]:
    for key, eval_path in run.evaluations().items():
        if not key.endswith("-val"):
            continue
        try:
            value = runs.read_json(eval_path).get("class_level", {}).get("mean_iou")
        except runs.RunError:
            continue                  # an unreadable evaluation falls back to the training log below
        if isinstance(value, (int, float)) and math.isfinite(value):
            return float(value), f"eval/{eval_path.name}"
    best = run.meta.get("best")
    value = best.get("val_mean_iou") if isinstance(best, dict) else run.meta.get("best_val_mean_iou")
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value), "training log (best epoch)"
    return math.nan, None
