"""A trained run is a folder: model.keras, meta.json, history.csv, augment.json, eval/<dataset>-<split>.json.

Everything is written atomically (temporary file in the same folder, then rename), and models are only
ever loaded from a run folder, with Keras safe mode on.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from segcore.imageio import atomic_write_bytes
from segcore.labels import LabelSchema

MODEL_FILE = "model.keras"
META_FILE = "meta.json"
HISTORY_FILE = "history.csv"
AUGMENT_FILE = "augment.json"
EVAL_DIR = "eval"


class RunError(ValueError):
    """A run folder that can't be used; the message says what is wrong with it."""


@dataclass
class Run:
    path: Path
    meta: dict = field(default_factory=dict)
    error: str | None = None          # why the run is broken, if it is

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def schema(self) -> LabelSchema:
        return LabelSchema.from_dict(self.meta["schema"])

    @property
    def input_size(self) -> tuple[int, int]:
        return tuple(self.meta["input_size"])

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def history_path(self) -> Path:
        return self.path / HISTORY_FILE

    def evaluations(self) -> dict[str, Path]:
        """'<dataset>-<split>' -> evaluation JSON path."""
        folder = self.path / EVAL_DIR
        return {p.stem: p for p in sorted(folder.glob("*.json"))} if folder.is_dir() else {}

    def evaluation(self, key: str) -> dict:
        return read_json(self.evaluations()[key])


def write_json(path, obj) -> Path:
    return atomic_write_bytes(path, (json.dumps(obj, indent=1, allow_nan=False) + "\n").encode())


def read_json(path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RunError(f"{path}: unreadable JSON ({err})") from None
    if not isinstance(data, dict):
        raise RunError(f"{path}: expected a JSON object")
    return data


def save_model(model, path) -> Path:
    """model.save to a temporary .keras in the same folder, then rename over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".keras")
    os.close(fd)
    try:
        model.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def open_run(path) -> Run:
    """Read a run's metadata; a broken run comes back with `error` set rather than raising."""
    path = Path(path)
    run = Run(path)
    try:
        run.meta = read_json(path / META_FILE)
        for key in ("arch", "schema", "input_size"):
            if key not in run.meta:
                raise RunError(f"{path / META_FILE}: missing '{key}'")
        run.schema  # noqa: B018 - validates the schema
        if not run.model_path.is_file():
            raise RunError(f"{path.name}: no {MODEL_FILE}; train it or copy the model file in")
    except (RunError, ValueError, TypeError) as err:
        run.error = str(err)
    return run


def discover_runs(models_dir) -> list[Run]:
    """Every folder under models_dir that has a meta.json or a model.keras, broken ones included."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return []
    folders = sorted(p for p in models_dir.iterdir()
                     if p.is_dir() and ((p / META_FILE).exists() or (p / MODEL_FILE).exists()))
    return [open_run(p) for p in folders]


def load_model(run: Run | str | os.PathLike):
    """The run's model, loaded with Keras safe mode (no code from the file is ever run)."""
    import keras

    import segcore.models  # noqa: F401 - registers the custom layers, loss and metrics

    run = run if isinstance(run, Run) else open_run(run)
    if not run.ok:
        raise RunError(run.error)
    try:
        return keras.models.load_model(run.model_path, safe_mode=True, compile=False)
    except Exception as err:  # Keras raises many types for corrupt or unsafe files; all mean "can't use it"
        raise RunError(f"{run.name}: {MODEL_FILE} can't be loaded safely ({type(err).__name__}: "
                       f"{str(err).splitlines()[0][:300]})") from None
