"""`segcore import` / `export`: a model made elsewhere (.onnx, .keras) becomes a run folder; a run's model -> ONNX.

Folders of predicted label PNGs are imported by segcore.importing_predictions.

An imported run is a folder like a trained one: the model file (copied, never changed), meta.json with its kind,
schema, input size, preprocessing and where it came from. It is opened through its back-end before anything is
kept, so a model that can't be used is refused at import with one line naming the file, not later in the app.
Our own ONNX exports carry schema, preprocessing and input size in the file's metadata_props, so importing them
needs no flags (flags, where given, win).
"""
from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from segcore import files, runs
from segcore.backends import open_backend, void_channel
from segcore.backends.onnx import METADATA_PREFIX
from segcore.backends.preprocessing import PREPROCESS_MODES
from segcore.frames import OUTPUT_KINDS, parse_size
from segcore.labels import SCHEMAS, LabelSchema

MODEL_SUFFIXES = {".onnx": "onnx", ".keras": "keras"}
MIN_EXPORT_AGREEMENT = 0.999           # arg-max agreement with Keras an export must reach to be written
NO_SCHEMA_SAID = "doesn't say which classes it predicts"   # of most model files: only our ONNX exports say it


def load_schema(text: str) -> LabelSchema:
    """A built-in schema by name, or a schema JSON file (the format meta.json stores)."""
    if text in SCHEMAS:
        return SCHEMAS[text]
    if not Path(text).is_file():
        raise ValueError(f"schema {text!r} is neither a built-in schema ({', '.join(SCHEMAS)}) nor a JSON file")
    data = files.read_json(text)
    try:
        return LabelSchema.from_dict(data)
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        raise ValueError(f"{text}: not a usable label schema ({str(err)[:200]})") from None


def onnx_metadata(path: Path) -> dict[str, str]:
    """Our keys from an ONNX file's metadata_props (without the prefix); {} for a foreign model."""
    from segcore.backends.onnx import open_session, our_metadata
    return our_metadata(open_session(path, path.name))


def import_model(source, out, *, schema: str | None = None, preprocess: str | None = None,
                 input_size: tuple[int, int] | None = None, name: str | None = None,
                 void: int | None = None) -> Path:
    """Copy `source` (.onnx or .keras) into a new run folder `out` with its meta.json; returns `out`. `void`: the
    index of an output channel beyond the schema's classes that means void, no class (meta.json "void_channel")."""
    source, out = Path(source), Path(out)
    kind = MODEL_SUFFIXES.get(source.suffix.lower())
    if kind is None and source.is_dir():
        raise ValueError(f"{source}: a folder, not a model file; for a folder of predicted label PNGs add "
                         "--predictions, else give a .onnx or .keras file")
    if kind is None:
        raise ValueError(f"{source}: not a model file this can import; give a .onnx or .keras file")
    if not source.is_file():
        raise ValueError(f"{source}: no such file")
    if out.exists():
        raise ValueError(f"{out} already exists; choose a new --out folder for the imported run")
    stored = onnx_metadata(source) if kind == "onnx" else {}
    if schema is None and "schema" not in stored:
        raise ValueError(f"{source}: the model {NO_SCHEMA_SAID}; pass --schema "
                         f"({', '.join(SCHEMAS)} or a schema JSON file)")
    label_schema = load_schema(schema) if schema is not None else LabelSchema.from_json(stored["schema"])
    mode = preprocess or stored.get("preprocess", "raw")
    if mode not in PREPROCESS_MODES:
        raise ValueError(f"{source}: unknown preprocess {mode!r}; use one of {', '.join(PREPROCESS_MODES)}")
    try:
        size = list(input_size) if input_size else (list(parse_size(stored["input_size"])) if "input_size" in stored
                                                     else None)
    except ValueError as err:
        raise ValueError(f"{source}: its metadata's input_size is unusable ({err}); pass --input-size") from None
    meta = {"kind": kind, "arch": first_name(name, stored.get("arch"), source.stem, "model"),
            "schema": label_schema.to_dict(),
            "input_size": size, "preprocess": mode, "source": str(source.resolve()),
            "imported": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if stored.get("output_kind") in OUTPUT_KINDS:       # written by our export; else the back-end guesses
        meta["output_kind"] = stored["output_kind"]
    if void is None and stored.get("void_channel", "").isdigit():
        void = int(stored["void_channel"])
    if void is not None:
        meta["void_channel"] = void
    out.mkdir(parents=True)
    try:
        run = runs.Run(out, meta)
        try:
            void_channel(run)
        except runs.RunError as err:
            raise ValueError(f"{source}: --void-channel {void} is not an output channel of a model of "
                             f"{label_schema.num_classes} classes and a void channel (0..{label_schema.num_classes})"
                             ) from err
        shutil.copyfile(source, run.model_path)
        try:
            backend = open_backend(run)
        except runs.RunError as err:   # the back-end names the run folder; the user knows the file
            raise runs.RunError(f"{source}: {_reason(str(err), out.name)}") from None
        meta["input_size"] = list(backend.input_size)
        if kind == "keras":
            meta["parameters"] = int(backend.model.count_params())
        runs.write_json(out / runs.META_FILE, meta)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return out


def _reason(message: str, run_name: str) -> str:
    # The import's message names the user's file, not the run folder's copy of it.
    reason = message.removeprefix(f"{run_name}: ").removeprefix(f"{runs.MODEL_FILE} ")
    if "Lambda" in reason or "safe_mode" in reason:
        return ("needs custom code to load (a Lambda layer); SegLab loads models in safe mode and never executes "
                "code from a model file: rebuild it from built-in layers, or export it to ONNX and import that")
    return reason


def export_onnx(run_path, out, *, overwrite: bool = False) -> tuple[Path, float]:
    """The run's Keras model as ONNX at `out`, schema/preprocessing/input size in its metadata; an existing `out`
    is replaced only with `overwrite` (it may be another run's model).

    Returns (path, agreement): the share of a sample frame's pixels where onnxruntime's arg-max equals Keras'.
    The file is written only if that share is at least MIN_EXPORT_AGREEMENT.
    """
    if Path(out).exists() and not overwrite:
        raise ValueError(f"{out} exists; add --overwrite to replace it, or choose another --out")
    run = runs.open_run(run_path)
    if not run.ok:
        raise runs.RunError(run.error)
    if run.kind == runs.PREDICTIONS:
        raise runs.RunError(f"{run.name}: holds stored predictions, not a model; there is nothing to export")
    if run.kind != "keras":
        raise runs.RunError(f"{run.name}: a run of kind {run.kind!r} can't be exported; only Keras runs can "
                            f"(its {run.model_path.name} is the model file to use)")
    out = Path(out)
    if out.suffix.lower() != ".onnx":
        raise ValueError(f"{out}: the ONNX file's name must end in .onnx")
    from segcore.backends.keras import KerasBackend
    keras_backend = KerasBackend(run)      # loads in safe mode and calls the model once (export needs that)
    with tempfile.TemporaryDirectory() as folder:
        exported = Path(folder) / "model.onnx"
        try:
            with warnings.catch_warnings():     # Keras' tf2onnx shim trips a NumPy FutureWarning; not ours to fix
                warnings.simplefilter("ignore", FutureWarning)
                keras_backend.model.export(str(exported), format="onnx", verbose=False)
        except Exception as err:  # tf2onnx raises many types for graphs it can't convert
            raise runs.RunError(f"{run.name}: the model can't be exported to ONNX ({type(err).__name__}: "
                                f"{str(err).splitlines()[0][:300] if str(err) else ''})") from None
        _write_metadata(exported, run, keras_backend.input_size, keras_backend.output_kind)
        agreement = _agreement(run, keras_backend, exported)
        if agreement < MIN_EXPORT_AGREEMENT:
            raise runs.RunError(f"{run.name}: the ONNX export agrees with Keras on only {agreement:.2%} of a sample "
                                "frame's pixels; not written (report this model)")
        with files.atomic_path(out, suffix=".onnx") as tmp:
            shutil.copyfile(exported, tmp)
    return out, agreement


def _write_metadata(path: Path, run: runs.Run, input_size: tuple[int, int], output_kind: str) -> None:
    import onnx
    model = onnx.load(str(path))
    values = {"schema": json.dumps(run.schema.to_dict()), "preprocess": run.meta.get("preprocess", "raw"),
              "input_size": f"{input_size[0]}x{input_size[1]}", "arch": run.meta["arch"], "run": run.name,
              "output_kind": output_kind}
    if run.meta.get("void_channel") is not None:
        values["void_channel"] = str(run.meta["void_channel"])
    for key, value in values.items():
        model.metadata_props.add(key=METADATA_PREFIX + key, value=value)
    onnx.save(model, str(path))


def _agreement(run: runs.Run, keras_backend, exported: Path) -> float:
    """Share of pixels of a synthetic street frame where the ONNX file's arg-max equals the Keras model's."""
    from segcore.backends.onnx import OnnxBackend
    from segcore.synth.scene import render_scene
    image, _ = render_scene(0, keras_backend.input_size)
    batch = image.astype(np.float32)[None]
    meta = {**run.meta, "kind": "onnx", "input_size": list(keras_backend.input_size)}
    with tempfile.TemporaryDirectory() as folder:
        shutil.copyfile(exported, Path(folder) / "model.onnx")
        onnx_backend = OnnxBackend(runs.Run(Path(folder), meta))
        ours = onnx_backend.forward(batch).argmax(-1)
    return float(np.mean(ours == keras_backend.forward(batch).argmax(-1)))


def first_name(*names) -> str:
    """The first of `names` that is more than blanks, stripped (a name of spaces would make a broken run)."""
    return next(str(n).strip() for n in names if n is not None and str(n).strip())
