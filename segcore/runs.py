"""A trained run is a folder: model.keras, meta.json, history.csv, augment.json, eval/<data set key>.json.

Everything is written atomically (temporary file in the same folder, then rename), and models are only
ever loaded from a run folder, with Keras safe mode on.
"""
from __future__ import annotations

import math
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from segcore import files
from segcore.labels import LabelSchema

MODEL_FILE = "model.keras"
# The model file of each kind of run (segcore.backends); runs trained here are "keras". A "predictions" run
# (`segcore import PRED_DIR --predictions`) has a folder of stored label PNGs instead of a model.
PREDICTIONS = "predictions"
MODEL_FILES = {"keras": MODEL_FILE, "onnx": "model.onnx", PREDICTIONS: "predictions"}
META_FILE = "meta.json"
MAX_META_BYTES = 2 ** 20      # a run's metadata is a few kB: a larger file is refused, not parsed at every rerun
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
    def kind(self) -> str:
        """Which back-end serves it (segcore.backends); runs trained here are "keras"."""
        return self.meta.get("kind", "keras")

    @property
    def input_size(self) -> tuple[int, int]:
        return tuple(self.meta["input_size"])

    @property
    def model_path(self) -> Path:
        kind = self.kind
        return self.path / (MODEL_FILES.get(kind, MODEL_FILE) if isinstance(kind, str) else MODEL_FILE)

    @property
    def history_path(self) -> Path:
        return self.path / HISTORY_FILE

    def evaluations(self) -> dict[str, Path]:
        """'<dataset>-<fingerprint>-<split>' (see segcore.evaluations) -> evaluation JSON path."""
        folder = self.path / EVAL_DIR
        return {p.stem: p for p in sorted(folder.glob("*.json"))} if folder.is_dir() else {}

    def evaluation_key(self, key: str) -> str:
        """`key` if stored, else the one stored evaluation of data set + split it names ('camvid-val')."""
        keys = self.evaluations()
        if key in keys:
            return key
        # 'camvid-val' may be name 'camvid' + split 'val', or any other split at a hyphen.
        patterns = [re.escape(key[:i]) + "-[0-9a-f]+-" + re.escape(key[i + 1:])
                    for i, char in enumerate(key) if char == "-"]
        matches = [k for k in keys if any(re.fullmatch(pattern, k) for pattern in patterns)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise RunError(f"{self.name}: no evaluation {key!r}; stored: {', '.join(keys) or 'none'}")
        raise RunError(f"{self.name}: {key!r} matches {len(matches)} evaluations ({', '.join(matches)}); "
                       "name one of them in full")

    def evaluation(self, key: str) -> dict:
        """A stored evaluation by its key, or by data set name + split when only one matches (RunError if not)."""
        return read_json(self.evaluations()[self.evaluation_key(key)])


def write_json(path, obj) -> Path:
    """Atomic, umask-honouring JSON write (see segcore.files)."""
    return files.write_json(path, obj)


def read_json(path, *, max_bytes: int = files.MAX_JSON_BYTES) -> dict:
    """A JSON object from a regular file of bounded size; anything else is a RunError naming the file."""
    try:
        data = files.read_json(path, max_bytes=max_bytes)
    except ValueError as err:
        raise RunError(str(err)) from None
    if not isinstance(data, dict):
        raise RunError(f"{path}: expected a JSON object")
    return data


def save_model(model, path) -> Path:
    """model.save to a temporary .keras in the same folder, then rename over the target (umask honoured)."""
    path = Path(path)
    with files.atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
    return path


def drop_optimizer_state(run: Run | str | os.PathLike) -> Path:
    """Rewrite the run's model file with architecture and weights only. The optimizer's state (Adam: two more
    copies of the weights) serves only resuming, which reads backup/, and every reader loads with compile=False."""
    run = run if isinstance(run, Run) else open_run(run)
    return save_model(load_model(run), run.model_path)


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shown(value) -> str:
    return repr(value)[:60]


def check_meta(meta: dict, where: str) -> None:
    """RunError (one line, naming the field) unless meta.json's fields have the types the app relies on."""
    for key in ("arch", "schema", "input_size"):
        if key not in meta:
            raise RunError(f"{where}: missing '{key}'")
    if not isinstance(meta["arch"], str) or not meta["arch"].strip():
        raise RunError(f"{where}: 'arch' must be an architecture name such as \"unet\", got {_shown(meta['arch'])}")
    size = meta["input_size"]
    if not (isinstance(size, list) and len(size) == 2 and all(_whole(v) and v > 0 for v in size)):
        raise RunError(f"{where}: 'input_size' must be [height, width] in pixels, got {_shown(size)}")
    for key in ("parameters", "epochs_completed"):
        value = meta.get(key)
        if value is not None and not (_whole(value) and value >= 0):
            raise RunError(f"{where}: '{key}' must be a whole number (0 or more), got {_shown(value)}")
    best = meta.get("best")
    if best is not None and not isinstance(best, dict):
        raise RunError(f"{where}: 'best' must be an object of the best epoch's scores, got {_shown(best)}")
    for value in ((best or {}).get("val_mean_iou"), meta.get("best_val_mean_iou")):
        if value is not None and not (isinstance(value, (int, float)) and not isinstance(value, bool)
                                      and math.isfinite(value) and 0 <= value <= 1):
            raise RunError(f"{where}: the best val_mean_iou must be a number from 0 to 1, got {_shown(value)}")
    try:
        LabelSchema.from_dict(meta["schema"])
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        raise RunError(f"{where}: 'schema' is unusable ({str(err)[:200]})") from None


def open_run(path) -> Run:
    """Read and check a run's metadata; a broken run comes back with `error` set (one line) rather than raising."""
    path = Path(path)
    run = Run(path)
    try:
        if not path.is_dir():
            raise RunError(f"{path}: {'not a' if path.exists() else 'no such'} run folder")
        if not (path / META_FILE).exists():
            raise RunError(f"{path}: not a run folder (no {META_FILE}); give a folder segcore train or segcore "
                           "import wrote")
        run.meta = read_json(path / META_FILE, max_bytes=MAX_META_BYTES)
        check_meta(run.meta, f"{path.name}/{META_FILE}")
        if run.kind == PREDICTIONS:
            if not run.model_path.is_dir():
                raise RunError(f"{path.name}: no {run.model_path.name}/ folder of label PNGs; import the "
                               "prediction folder again (segcore import PRED_DIR --predictions)")
        elif not run.model_path.is_file():
            raise RunError(f"{path.name}: no {run.model_path.name}; train it or copy the model file in")
    except (RunError, ValueError, TypeError) as err:
        run.error = str(err)
    except OSError as err:          # an unreadable folder or file (permissions): broken, never a crashed page
        run.error = f"{path.name}: can't be read ({err.strerror or err}); check its permissions"
    return run


def discover_runs(models_dir) -> list[Run]:
    """Every folder under models_dir that has a meta.json or a model.keras, broken ones included; hidden folders
    (a name starting with '.', such as an import still being built) are not runs.

    A run linked in from outside the models folder is listed as broken and never opened: the app reads and
    writes only inside the folder its operator configured.
    """
    models_dir = Path(models_dir)
    try:
        if not models_dir.is_dir():
            return []
        folders = sorted(models_dir.iterdir())
    except OSError as err:
        return [Run(models_dir, error=f"the models folder {models_dir} can't be read ({err.strerror or err}); check "
                                      "its permissions")]
    root = models_dir.resolve()
    found = []
    for folder in folders:
        try:
            if folder.name.startswith(".") or not (folder.is_dir() and ((folder / META_FILE).exists()
                                                                       or (folder / MODEL_FILE).exists())):
                continue
            outside = linked_outside(folder, root)
        except OSError as err:
            found.append(Run(folder, error=f"{folder.name}: can't be read ({err.strerror or err}); check its "
                                           "permissions"))
            continue
        if outside == folder:
            found.append(Run(folder, error=f"links outside the models folder to {folder.resolve()}; move or copy the "
                                           f"run into {root} to use it"))
        elif outside:
            found.append(Run(folder, error=f"its {outside.name} links outside the models folder to "
                                           f"{outside.resolve()}; move or copy it into the run folder to use the run"))
        else:
            found.append(open_run(folder))
    return found


def linked_outside(folder: Path, root: Path) -> Path | None:
    """The run folder, or the first file or folder directly in it, that resolves outside `root` (a link): the app
    reads and writes only inside the models folder, model files, evaluations and caches included."""
    if not folder.resolve().is_relative_to(root):
        return folder
    return next((entry for entry in sorted(folder.iterdir()) if not entry.resolve().is_relative_to(root)), None)


def load_model(run: Run | str | os.PathLike):
    """The run's model, loaded with Keras safe mode (no code from the file is ever run)."""
    import keras

    import segcore.models  # noqa: F401 - registers the custom layers, loss and metrics

    run = run if isinstance(run, Run) else open_run(run)
    if not run.ok:
        raise RunError(run.error)
    # Keras reports a .keras file that isn't a complete zip archive as "File not found".
    if not zipfile.is_zipfile(run.model_path):
        raise RunError(f"{run.name}: {MODEL_FILE} can't be loaded safely: the file is damaged or truncated "
                       "(not a complete .keras archive); copy or save the model again")
    try:
        return keras.models.load_model(run.model_path, safe_mode=True, compile=False)
    except Exception as err:  # Keras raises many types for corrupt or unsafe files; all mean "can't use it"
        custom = re.search(r"Could not locate (?:class|function) '([\w.>]+)'", str(err))
        if custom:          # Keras' first line blames from_config(); the layer it can't find is the cause
            raise RunError(f"{run.name}: {MODEL_FILE} uses {custom.group(1)}, a custom layer or function that is not "
                           "part of Keras or segcore, so it can't be loaded: rebuild the model from built-in Keras "
                           "layers, or export it to ONNX and import that") from None
        raise RunError(f"{run.name}: {MODEL_FILE} can't be loaded safely ({type(err).__name__}: "
                       f"{str(err).splitlines()[0][:300]})") from None
