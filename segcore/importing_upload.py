"""A model file handed over as bytes (the dashboard's "Bring a model") becomes a run under the models folder.

The bytes go to a temporary file and `segcore import` runs on it in a child process, so a Keras model's TensorFlow
never loads into the caller (a long-lived dashboard server); the run is built in a hidden folder beside its final
place and renamed into it only once the import has passed, so a failed or interrupted import leaves nothing behind.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from segcore import runs
from segcore.importing import MODEL_SUFFIXES

IMPORT_TIMEOUT_S = 600
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
CLI_ERROR = "segcore import: error: "


def run_name_problem(name: str, models_dir) -> str | None:
    """Why `name` can't name a new run folder in `models_dir` (one line), or None."""
    if not RUN_NAME.fullmatch(name or ""):
        return (f"{name!r} can't name a run folder: use 1 to 64 letters, digits, '.', '_' or '-', starting with a "
                "letter or digit"[:200])
    if (Path(models_dir) / name).exists():
        return f"a run called {name} already exists; choose another name"
    return None


def suggested_name(filename: str, models_dir) -> str:
    """A free run name from an uploaded file's name: its stem with other characters as '-'."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(filename).stem).strip("-._")[:56] or "model"
    name, number = stem, 2
    while (Path(models_dir) / name).exists():
        name, number = f"{stem}-{number}", number + 1
    return name


def import_uploaded_model(data: bytes, filename: str, models_dir, name: str, *, schema: str,
                          preprocess: str) -> Path:
    """Import the model file `data` (named `filename`, .onnx or .keras) as run `name` in `models_dir`, predicting
    the classes of the built-in `schema` from input preprocessed by `preprocess`; returns the run folder. A
    one-line ValueError (or RunError) where the name, the file or the model can't be used."""
    suffix = Path(filename).suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        raise ValueError(f"{filename}: not a model file this can import; give a .onnx or .keras file")
    problem = run_name_problem(name, models_dir)
    if problem:
        raise ValueError(problem)
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".importing-", dir=models_dir) as scratch:
        # Named as uploaded (other characters as '-'), so the import's messages name the user's file.
        source = Path(scratch) / (re.sub(r"[^\w .()-]+", "-", Path(filename).stem)[:100] + suffix)
        source.write_bytes(data)
        built = Path(scratch) / name
        _import_in_child(source, built, schema, preprocess, filename)
        meta = runs.read_json(built / runs.META_FILE)
        meta["source"] = f"uploaded to the dashboard as {filename}"[:300]
        runs.write_json(built / runs.META_FILE, meta)
        source.unlink()
        target = models_dir / name
        try:
            os.rename(built, target)             # fails rather than replace a run made meanwhile
        except OSError:
            raise ValueError(f"a run called {name} already exists; choose another name") from None
    return target


def _import_in_child(source: Path, out: Path, schema: str, preprocess: str, filename: str) -> None:
    package_root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (package_root, os.environ.get("PYTHONPATH"))))}
    command = [sys.executable, "-m", "segcore", "import", str(source), "--schema", schema, "--preprocess",
               preprocess, "--name", Path(filename).stem[:64] or "model", "--out", str(out)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=IMPORT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise runs.RunError(f"{filename}: the import took over {IMPORT_TIMEOUT_S} s") from None
    if done.returncode != 0:
        said = [line.removeprefix(CLI_ERROR) for line in done.stderr.splitlines() if line.startswith(CLI_ERROR)]
        reason = said[-1] if said else f"the import stopped with exit status {done.returncode}"
        raise runs.RunError(reason.replace(str(source), source.name))
