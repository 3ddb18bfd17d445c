"""A Keras run served through onnxruntime: its model.keras exported to ONNX once, checked, cached beside it.

Why: in a long-lived server (the Streamlit app) TensorFlow's first forward pass of every script run costs
150-200 ms more than the next ones (benchmarks/first_forward.py); the same model exported to ONNX shows no such
penalty and runs faster on CPU. The export is the one `segcore export` writes, made in a child process so that
TensorFlow never enters the server: it is kept only if its arg-max
agrees with Keras' on at least importing.MIN_EXPORT_AGREEMENT of a sample frame's pixels, and is cached under
the model file's content hash, so a retrained model is exported again. Where onnxruntime or tf2onnx is missing,
or the export fails, the Keras back-end serves the run and `engine` says why.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from segcore import runs

CACHE_FOLDER = ".onnx-cache"        # inside the run folder (git-ignored); the export of the current model.keras
KERAS_ENGINE = "Keras (TensorFlow)"
EXPORT_TIMEOUT_S = 900
log = logging.getLogger(__name__)


def export_key(run: runs.Run) -> str:
    """Hash of what an export depends on: the model file's bytes and the meta.json fields written into it."""
    digest = hashlib.sha256()
    with run.model_path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    stated = {key: run.meta.get(key) for key in ("schema", "preprocess", "input_size", "arch")}
    digest.update(json.dumps(stated, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def cache_path(run: runs.Run) -> Path:
    return run.path / CACHE_FOLDER / f"model-{export_key(run)}.onnx"


def onnx_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "tf2onnx", "onnx"))


def open(run: runs.Run, *, write_cache: bool = True):  # noqa: A001 - the name every back-end module exports
    """An OnnxBackend for the Keras run `run` where possible, else its KerasBackend; `engine` names which.

    `write_cache`: keep the export in the run folder for the next start (else, or where the folder is read-only,
    it lives in a temporary folder only while the session loads it).
    """
    if not onnx_available():
        return _keras_backend(run, "onnxruntime is not installed")
    try:
        backend = _cached(run) or _export_and_open(run, cache_path(run) if write_cache else None)
    except (runs.RunError, OSError) as err:
        log.warning("%s: served by Keras, not ONNX Runtime: %s", run.name, err)
        return _keras_backend(run, "its ONNX export failed")
    backend.engine = f"ONNX Runtime (checked export of {run.model_path.name})"
    return backend


def _cached(run: runs.Run):
    """The back-end on the cached export, or None where there is none or it can't be loaded (then re-exported)."""
    cached = cache_path(run)
    if cached.parent.is_symlink() or cached.is_symlink() or not cached.is_file():   # never read from outside the run
        return None
    try:
        return _onnx_backend(run, cached)
    except runs.RunError as err:
        log.warning("%s: exporting again: %s", run.name, err)
        return None


def _export_and_open(run: runs.Run, cached: Path | None):
    if cached is not None and _writable_folder(cached.parent):
        export(run, cached)
        backend = _onnx_backend(run, cached)
        _remove_stale_exports(cached)
        return backend
    if cached is not None:
        log.info("%s: run folder is read-only; the ONNX export is not cached", run.name)
    with tempfile.TemporaryDirectory(prefix="seglab-onnx-") as folder:
        exported = Path(folder) / "model.onnx"
        export(run, exported)
        return _onnx_backend(run, exported)     # onnxruntime has read the file: the folder can go


def export(run: runs.Run, out: Path) -> None:
    """`segcore export` of the run to `out`, in a child process: TensorFlow never enters the process that serves
    the export (in a Streamlit server it would stay for good, ~1 GB, and make the garbage collection Streamlit
    forces after every rerun 0.15 s slower: docs/BENCHMARKS.md). RunError with the child's last line if it fails."""
    package_root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (package_root, os.environ.get("PYTHONPATH"))))}
    # --overwrite: a cached export that failed to load is replaced (the cache is this module's own file).
    command = [sys.executable, "-m", "segcore", "export", "--run", str(run.path), "--format", "onnx", "--out", str(out),
               "--overwrite"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=EXPORT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise runs.RunError(f"{run.name}: the ONNX export took over {EXPORT_TIMEOUT_S} s") from None
    if done.returncode != 0:
        prefix = "segcore export: error: "      # the CLI's one line; TensorFlow may log around it
        said = [line.removeprefix(prefix) for line in done.stderr.splitlines() if line.startswith(prefix)]
        raise runs.RunError(said[-1] if said else f"{run.name}: the ONNX export stopped with exit status "
                            f"{done.returncode}")


def _writable_folder(folder: Path) -> bool:
    """Makes the cache folder where it can; False in a read-only run folder (a read-only mount, say) and where the
    folder is a link: exports are written, and stale ones deleted, only inside the run folder."""
    if folder.is_symlink():
        log.warning("%s is a link: the ONNX export is not cached there", folder)
        return False
    try:
        folder.mkdir(exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def _remove_stale_exports(current: Path) -> None:
    """Exports of the run's earlier model files: nothing loads them again (a server that has one open holds it in
    memory), and each is as large as the model."""
    for stale in current.parent.glob("model-*.onnx"):
        if stale != current and stale.is_file() and not stale.is_symlink():
            try:
                stale.unlink()
            except OSError as err:
                log.info("%s: left in place: %s", stale, err)


def _keras_backend(run: runs.Run, why: str):
    from segcore.backends.keras import KerasBackend    # imports TensorFlow: only when it serves the run
    backend = KerasBackend(run)
    backend.engine = f"{KERAS_ENGINE}; {why}"
    return backend


def _onnx_backend(run: runs.Run, path: Path):
    """The export's input size is the Keras run's (meta.json or the model's own); its output kind is in its metadata."""
    from segcore.backends.onnx import OnnxBackend
    return OnnxBackend(runs.Run(run.path, {**run.meta, "kind": "onnx"}), model_path=path)
