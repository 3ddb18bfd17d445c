"""The dashboard's settings: where it looks for trained runs and data (env vars), and a plain-words account of
what it finds there (the Home page's tables and messages).

SEGLAB_MODELS_DIR defaults to <repo>/models. SEGLAB_DATA_DIR names the data folders the dashboard may read
(several separated by os.pathsep, e.g. `../shared/data/camvid:data/sample`), default <repo>/data/sample; a web
user picks among them and never types a path. SEGLAB_READ_ONLY=1 stops the dashboard writing evaluations.
SEGLAB_CLASS_COLOURS names a class colours JSON file (segcore.class_colours) every session starts with.
Nothing here imports Streamlit or TensorFlow, so it is tested without a running app.
"""
from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from app.text import plain
from segcore import evaluations, run_lock, runs
from segcore.datasets import DatasetError, detect_layout, left_out_count, list_splits, pairs_with_problems
from segcore.train_config import trains_on_val

REPO = Path(__file__).resolve().parents[1]
MODELS_ENV = "SEGLAB_MODELS_DIR"
DATA_ENV = "SEGLAB_DATA_DIR"
READ_ONLY_ENV = "SEGLAB_READ_ONLY"
CLASS_COLOURS_ENV = "SEGLAB_CLASS_COLOURS"
EVAL_MIOU = "mIoU % (evaluation)"
EVALUATED_ON = "evaluated on"
TRAINED_ON = " (trained on it)"     # in EVALUATED_ON: a final model scored on frames it trained on
LOG_MIOU = "val mIoU % (training log)"
EVAL_TTA = "test-time augmentation"            # of the evaluation: how the run predicts as served
INPUT_SIZE = "input size (height x width)"
IMPORTED_FROM = "imported from"
# Status, then the scores: a broken run's reason and the number a review is about stay visible without scrolling
# the table sideways (at 1400 px the score columns were off screen after the model details).
RUN_COLUMNS = ["run", "status", EVAL_MIOU, EVALUATED_ON, EVAL_TTA, LOG_MIOU, "kind", "architecture", "schema", INPUT_SIZE,
               "parameters", "epochs completed", IMPORTED_FROM]


@dataclass(frozen=True)
class Settings:
    models_dir: Path
    data_dirs: tuple[Path, ...]
    read_only: bool = False
    class_colours: Path | None = None           # the colours every session starts with (its pickers change them)

    @property
    def data_dir(self) -> Path:
        """The first configured data folder (the one pages use when they offer no choice)."""
        return self.data_dirs[0]

    @classmethod
    def from_env(cls, environ=None) -> Settings:
        env = os.environ if environ is None else environ
        folders = [item for item in (env.get(DATA_ENV) or "").split(os.pathsep) if item.strip()]
        data_dirs = tuple(dict.fromkeys(_resolve(item, REPO) for item in folders)) or \
            (_resolve(None, REPO / "data" / "sample"),)
        colours = env.get(CLASS_COLOURS_ENV)
        return cls(models_dir=_resolve(env.get(MODELS_ENV), REPO / "models"), data_dirs=data_dirs,
                   read_only=_flag(env.get(READ_ONLY_ENV)),
                   class_colours=_resolve(colours, REPO) if colours and colours.strip() else None)

    def data_folder(self, path) -> Path:
        """`path` resolved, if it is one of the configured data folders; DatasetError otherwise."""
        resolved = Path(path).expanduser().resolve()
        if resolved not in self.data_dirs:
            raise DatasetError(f"{path} is not one of this dashboard's data folders; whoever runs it adds folders "
                               f"to {DATA_ENV}")
        return resolved


def _resolve(value: str | None, default: Path) -> Path:
    # An empty variable counts as unset, as shells make it easy to export VAR= by accident.
    return Path(value.strip()).expanduser().resolve() if value and value.strip() else default.resolve()


def _flag(value: str | None) -> bool:
    # Any value but an explicit "off" counts: a typo must not leave a deployment writable.
    return bool(value and value.strip()) and value.strip().lower() not in ("0", "false", "no", "off")


# ------------------------------------------------------------------------------------------------ data folder

def describe_data_dir(path) -> tuple[bool, str, str | None, dict[str, int]]:
    """(ok, message, layout, {split: image/label pairs}) for the data folder, with what to do when it is unusable."""
    try:
        return _describe_data_dir(Path(path))
    except OSError as err:          # the folder, or one in it, the app may not read
        where = plain(err.filename or path)
        return False, f"{where} can't be read ({err.strerror or err}); check its permissions.", None, {}


def _describe_data_dir(path: Path) -> tuple[bool, str, str | None, dict[str, int]]:
    shown = plain(path)         # the message is Markdown: the folder's name as it is
    hint = f"set {DATA_ENV} to a data set folder, or run `make sample` to generate the sample scenes"
    if not path.exists():
        return False, f"The data folder {shown} does not exist; {hint}.", None, {}
    if not path.is_dir():
        return False, f"{shown} is a file, not a folder; {hint}.", None, {}
    if not any(p for p in path.iterdir() if not p.name.startswith(".")):
        return False, f"The data folder {shown} is empty; {hint}.", None, {}
    try:
        layout = detect_layout(path)
        paired = {split: pairs_with_problems(path, split, layout) for split in list_splits(path, layout)}
    except DatasetError as err:
        return False, f"{err}. Or {hint}.", None, {}
    counts = {split: len(pairs) for split, (pairs, _) in paired.items()}
    left_out = {split: left_out_count(problems) for split, (_, problems) in paired.items()}
    if not counts or not any(counts.values()):
        found = ", ".join(counts) or "no split folders"
        return False, (f"{shown} looks like a {layout} layout but holds no image/label pairs ({found}); "
                       f"put matching images and labels in, or {hint}."), layout, counts

    def said(split: str) -> str:
        n = left_out[split]
        return f" ({n} file{'s' if n > 1 else ''} left out: `segcore data check` lists them)" if n else ""
    summary = ", ".join(f"{split}: {n} pairs{said(split)}" for split, n in counts.items())
    return True, f"{shown} ({layout} layout) - {summary}", layout, counts


# ---------------------------------------------------------------------------------------------- models folder

def describe_models_dir(path) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """One row per run folder (RUN_COLUMNS), and (run, reason) for every broken run.

    Scores are in % (1 decimal), as every page shows them. "mIoU % (evaluation)" comes from the run's stored
    evaluation of a val split (class level, at label resolution): of the data set most runs were evaluated on where
    it has several, so that the column compares like with like; "evaluated on" names that data set and its
    fingerprint. The training-log value is the best epoch's Keras val mIoU, measured at the model's input size.
    table.attrs["notes"] holds caveats for the scores shown (CamVid val). A broken run shows only its name and why
    it is broken.
    """
    rows, broken, notes = [], [], []
    found = runs.discover_runs(path)
    val_scores = {run.name: _val_evaluations(run) for run in found if run.ok}
    shared = Counter(key for scores in val_scores.values() for key in scores)
    for run in found:
        if not run.ok and run_lock.live_holder(run.path) is not None:     # its first epoch: no model file yet
            rows.append({"run": run.name, "status": "training, first epoch"})
            continue
        if not run.ok:
            rows.append({"run": run.name, "status": f"broken: {run.error}"})
            broken.append((run.name, run.error))
            continue
        meta = run.meta
        scores = val_scores[run.name]
        miou, evaluated_on, passes, note = (scores[min(scores, key=lambda key: (-shared[key], key))] if scores
                                            else (None, None, None, None))
        config = meta.get("config")
        trained_on_val = isinstance(config, dict) and trains_on_val(config)
        if trained_on_val:      # its logged "val" scores are on frames it trained on: no validation figure
            notes.append(f"{run.name} trained on its val split too (a final model): its training log has no "
                         "held-out val mIoU.")
        height, width = meta["input_size"]
        rows.append({
            "run": run.name,
            "kind": run.kind,       # keras (trained here or imported), onnx or predictions (a folder of PNGs)
            "architecture": meta["arch"],
            "schema": _schema_words(meta),
            INPUT_SIZE: f"{height}x{width}",
            "parameters": meta.get("parameters"),
            "epochs completed": meta.get("epochs_completed"),
            EVAL_MIOU: _percent(miou),
            EVALUATED_ON: evaluated_on,
            EVAL_TTA: passes,
            LOG_MIOU: _percent(None if trained_on_val else _logged_miou(meta)),
            IMPORTED_FROM: str(meta["source"])[:300] if meta.get("source") else None,   # trained here: none
            "status": "ok" + (f" · {state}" if (state := run_lock.training_state(run)) else ""),
        })
        if note and note not in notes:
            notes.append(note)
    table = pd.DataFrame(rows, columns=RUN_COLUMNS)
    for column in ("parameters", "epochs completed"):
        table[column] = table[column].astype("Int64")
    for column in (EVAL_MIOU, LOG_MIOU):
        table[column] = table[column].astype(float)
    table.attrs["notes"] = notes
    return table, broken


def _schema_words(meta: dict) -> str | None:
    """The run's schema by name, and its model's void channel where it has one (segcore.backends.NoClassChannel)."""
    name = meta["schema"].get("name")
    void = meta.get("void_channel")
    return name if void is None else f"{name} + void channel {void}"


def _percent(value: float | None) -> float:
    return round(100 * value, 1) if value is not None else math.nan


def _val_evaluations(run: runs.Run) -> dict[str, tuple[float, str, str, str | None]]:
    """{evaluation key: (mIoU 0..1, 'camvid val (data set 8a853e67), label resolution', its test-time augmentation,
    caveat)} for each readable val evaluation of the run made with its own test-time augmentation."""
    found = {}
    for key, eval_path in run.evaluations().items():
        if not key.endswith("-val"):
            continue
        try:
            result = runs.read_json(eval_path)
            level = result.get("class_level")
            value = level.get("mean_iou") if isinstance(level, dict) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                passes = evaluations.tta_in_words(result)
                # A final model's score on frames it trained on is named so, which also keeps it out of the
                # ranking that picks the pages' default runs (app.pickers.evaluated_scores).
                seen = TRAINED_ON if evaluations.trained_on(result) else ""
                found[key] = (float(value), f"{evaluations.label(result, fingerprint=True)}{seen}, label resolution",
                              passes, evaluations.optimism_note(result))
        except (runs.RunError, TypeError, AttributeError):
            continue      # an unreadable or hand-damaged evaluation is skipped; the training log still shows
    return found


def _logged_miou(meta: dict) -> float | None:
    best = meta.get("best")
    value = best.get("val_mean_iou") if isinstance(best, dict) else meta.get("best_val_mean_iou")
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
