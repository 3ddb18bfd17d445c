"""A model file, or a zip of predicted label PNGs, handed over as bytes (the dashboard's "Bring a model") becomes a
run under the models folder.

A model goes to a temporary file and `segcore import` runs on it in a child process, so a Keras model's TensorFlow
never loads into the caller (a long-lived dashboard server); a zip is unpacked (PNG entries only, within the limits
below) and imported like a prediction folder. Either run is built in a hidden folder beside its final place and
renamed into it only once the import has passed, so a failed or interrupted import leaves nothing behind (the
folder of a server killed mid-import goes at a later import, once a day old).
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path, PurePosixPath

from segcore import runs
from segcore.backends import FREE_SIZE_SAID, VOID_ADVICE
from segcore.backends.onnx import our_keys
from segcore.files import UNZIP_ERRORS
from segcore.frames import parse_size
from segcore.importing import MODEL_SUFFIXES, NO_SCHEMA_SAID
from segcore.importing_predictions import MAX_FOLDER_DEPTH, MAX_PREDICTION_FILES, import_predictions
from segcore.labels import LabelSchema
from segcore.limits import MAX_UNZIPPED_BYTES, MAX_UNZIPPED_BYTES_PER_FILE

IMPORT_TIMEOUT_S = 600
SCRATCH_PREFIX = ".importing-"
ABANDONED_AFTER_S = 24 * 3600       # far longer than any import takes: such a scratch folder's server was killed
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


def export_summary(data: bytes) -> str | None:
    """What an ONNX file `segcore export` wrote says of itself ("unet: classes camvid11 (11), input raw, 360x480"),
    read from its metadata without running it; None for any other file (its import says what is wrong with it)."""
    import onnx
    from google.protobuf.message import DecodeError
    try:
        model = onnx.load_model_from_string(data)
    except DecodeError:
        return None
    said = our_keys({item.key: item.value for item in model.metadata_props})
    try:
        schema = LabelSchema.from_json(said["schema"])
    except (KeyError, ValueError, TypeError, RecursionError):   # no schema, or one its import would refuse
        return None
    input_size = said.get("input_size", "its declared size")
    void = f", void channel {said['void_channel'][:4]}" if said.get("void_channel") else ""
    return (f"{said.get('arch', 'model')[:40]}: classes {schema.name[:40]} ({schema.num_classes}){void}, input "
            f"{said.get('preprocess', 'raw')[:20]}, {input_size[:20]}")


def import_uploaded_model(data: bytes, filename: str, models_dir, name: str, *, schema: str | None,
                          preprocess: str | None, void: int | None = None, input_size: str | None = None) -> Path:
    """Import the model file `data` (named `filename`, .onnx or .keras) as run `name` in `models_dir`, predicting
    the classes of the built-in `schema` from input preprocessed by `preprocess`; returns the run folder. None for
    both: as the file says (`segcore export` writes them into an ONNX file). `void`: the output channel that means
    void, where the model has one beyond the schema's classes. A one-line ValueError (or RunError) where the name,
    the file or the model can't be used. `input_size`: "HxW" to feed a model whose height and width are free."""
    suffix = Path(filename).suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        raise ValueError(f"{filename}: not a model file this can import; give a .onnx or .keras file")
    if input_size:
        height, width = parse_size(input_size)          # a one-line ValueError for text that is not HxW
        if height < 8 or width < 8:
            raise ValueError(f"input size {height}x{width}: both sides must be at least 8 pixels")
    with _building(models_dir, name, filename) as (scratch, built):
        # Named as uploaded (other characters as '-'), so the import's messages name the user's file.
        source = scratch / (re.sub(r"[^\w .()-]+", "-", Path(filename).stem)[:100] + suffix)
        source.write_bytes(data)
        _import_in_child(source, built, schema, preprocess, filename, void, input_size or None)
    return Path(models_dir) / name


@contextlib.contextmanager
def _building(models_dir, name: str, filename: str):
    """(scratch folder, run folder to build in it), both hidden inside `models_dir`; once the block has built the
    run, it is marked as uploaded and renamed to `models_dir`/`name`. The scratch folder goes in every case."""
    problem = run_name_problem(name, models_dir)
    if problem:
        raise ValueError(problem)
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_scratch(models_dir)
    with tempfile.TemporaryDirectory(prefix=SCRATCH_PREFIX, dir=models_dir) as scratch:
        built = Path(scratch) / name
        yield Path(scratch), built
        meta = runs.read_json(built / runs.META_FILE)
        meta["source"] = f"uploaded to the dashboard as {filename}"[:300]
        runs.write_json(built / runs.META_FILE, meta)
        opened = runs.open_run(built)        # never a run the pages would list as broken
        if not opened.ok:
            raise ValueError(f"{filename}: the run made of it can't be used ({opened.error}); nothing was added"[:300])
        try:
            os.rename(built, models_dir / name)      # fails rather than replace a (non-empty) run made meanwhile
        except OSError:
            raise ValueError(f"a run called {name} already exists; choose another name") from None


def _remove_abandoned_scratch(models_dir: Path) -> None:
    stale = time.time() - ABANDONED_AFTER_S
    for folder in models_dir.glob(f"{SCRATCH_PREFIX}*"):
        if folder.is_dir() and not folder.is_symlink() and folder.stat().st_mtime < stale:
            shutil.rmtree(folder, ignore_errors=True)    # another process may be removing it too


def _import_in_child(source: Path, out: Path, schema: str | None, preprocess: str | None, filename: str,
                     void: int | None = None, input_size: str | None = None) -> None:
    package_root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (package_root, os.environ.get("PYTHONPATH"))))}
    told = [*(["--schema", schema] if schema else []), *(["--preprocess", preprocess] if preprocess else []),
            *(["--void-channel", str(void)] if void is not None else []),
            *(["--input-size", input_size] if input_size else [])]
    # No --name: the architecture is the one a SegLab export names, else the file's name (`source` is named so).
    command = [sys.executable, "-m", "segcore", "import", str(source), *told, "--out", str(out)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=IMPORT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise runs.RunError(f"{filename}: the import took over {IMPORT_TIMEOUT_S} s") from None
    if done.returncode != 0:
        said = [line.removeprefix(CLI_ERROR) for line in done.stderr.splitlines() if line.startswith(CLI_ERROR)]
        reason = said[-1] if said else f"the import stopped with exit status {done.returncode}"
        if NO_SCHEMA_SAID in reason:     # the CLI's advice (--schema) means nothing in the browser
            reason = (f"{filename}: the file {NO_SCHEMA_SAID} (SegLab's own ONNX exports do); turn off \"as the "
                      "file says\" and choose its classes and input")
        if VOID_ADVICE in reason:               # the CLI's advice, in the form's words
            reason = reason.split(f"; {VOID_ADVICE}")[0] + (f"; {VOID_ADVICE}, choose it under \"Void channel\", "
                                                           "else choose its classes")
        if FREE_SIZE_SAID in reason:            # the CLI's advice (--input-size) in the form's words
            reason = (f"{filename}: the model {FREE_SIZE_SAID}; give the size to feed it under \"Input size\" "
                      "(e.g. 360x480, the size it was trained at)")
        raise runs.RunError(reason.replace(str(source), source.name))


def import_uploaded_predictions(data: bytes, filename: str, models_dir, name: str, *, schema: str,
                                label_ids: bool = False) -> tuple[Path, int]:
    """Import the zip `data` of predicted label PNGs (named like their images, in sub-folders or not) as run `name`
    in `models_dir`, holding the built-in `schema`'s train ids (or its label ids, `label_ids`); returns (run folder,
    frames). A one-line ValueError where the name, the zip or a PNG can't be used."""
    if Path(filename).suffix.lower() != ".zip":
        raise ValueError(f"{filename}: not a .zip; zip the folder of predicted label PNGs")
    with _building(models_dir, name, filename) as (scratch, built):
        unpacked = scratch / "predictions"
        _unpack_pngs(data, filename, unpacked)
        try:
            _, count = import_predictions(unpacked, built, schema=schema, name=Path(filename).stem[:64].strip() or name,
                                          label_ids=label_ids)
        except ValueError as err:       # the CLI's words, said in the upload form's
            said = str(err).replace(str(unpacked), filename).replace("check --schema", "check the classes chosen")
            raise ValueError(said.replace("add --label-ids", "turn on label ids")) from None
    return Path(models_dir) / name, count


def _unpack_pngs(data: bytes, filename: str, folder: Path) -> None:
    """The PNG entries of zip `data` into `folder`, at their paths inside it; anything else in the zip is passed
    over. One-line ValueError for an unreadable zip, an entry pointing outside it, or sizes over the limits."""
    import io
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = [e for e in archive.infolist() if not e.is_dir() and e.filename.lower().endswith(".png")]
    except UNZIP_ERRORS as err:
        raise ValueError(f"{filename}: not a readable .zip ({err}); zip the folder of predicted label PNGs") from None
    if not entries:
        raise ValueError(f"{filename}: holds no PNG files; zip one label PNG per image, named like the image (X.png "
                         "or X_pred.png for image X.png)")
    if len(entries) > MAX_PREDICTION_FILES:
        raise ValueError(f"{filename}: {len(entries):,} PNG files, over the limit of {MAX_PREDICTION_FILES:,}; "
                         "import one split at a time")
    if sum(e.file_size for e in entries) > MAX_UNZIPPED_BYTES:
        raise ValueError(f"{filename}: its PNG files unzip to over {MAX_UNZIPPED_BYTES // 1024**3} GB")
    written = 0
    for entry in entries:
        path = PurePosixPath(entry.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or len(path.parts) > MAX_FOLDER_DEPTH + 1:
            raise ValueError(f"{filename}: entry {entry.filename!r} points outside the zip or too deep in it; zip "
                             "the prediction folder itself"[:300])
        if entry.flag_bits & 0x1:
            raise ValueError(f"{filename}: entry {entry.filename!r} is encrypted; zip it without a password"[:300])
        if entry.file_size > MAX_UNZIPPED_BYTES_PER_FILE:
            raise ValueError(f"{filename}: {entry.filename!r} unzips to {entry.file_size:,} bytes, too large for a "
                             "label PNG"[:300])
        target = folder.joinpath(*path.parts)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError:     # e.g. "a.png" and "a.png/b.png": a file where a folder must go
            raise ValueError(f"{filename}: entry {entry.filename!r} needs a folder where the zip holds a file; zip "
                             "the prediction folder itself"[:300]) from None
        try:
            with archive.open(entry) as stream:
                content = stream.read(MAX_UNZIPPED_BYTES_PER_FILE + 1)   # a lying size header can't make it read more
        except UNZIP_ERRORS as err:
            raise ValueError(f"{filename}: entry {entry.filename!r} can't be unzipped ({err})"[:300]) from None
        written += len(content)
        if len(content) > MAX_UNZIPPED_BYTES_PER_FILE or written > MAX_UNZIPPED_BYTES:
            raise ValueError(f"{filename}: {entry.filename!r} unzips to more than its header says; zip it again"[:300])
        try:
            target.write_bytes(content)
        except IsADirectoryError:
            raise ValueError(f"{filename}: entry {entry.filename!r} is a file where the zip also holds a folder; zip "
                             "the prediction folder itself"[:300]) from None
