"""Streamlit glue for the pages that run models (Side by Side, Evaluation): cached predictors, predictions,
evaluation JSON, and the run picker both pages share.

A predictor is cached per server (st.cache_resource) under the model file's path and modification time, so a
model loads once and a retrained model is picked up on the next rerun. TensorFlow is imported on first use.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import streamlit as st

from segcore import runs
from segcore.compare import default_runs
from segcore.evaluations import evaluation_problem
from segcore.imageio import read_image, read_mask
from segcore.labels import LabelSchema


def model_stamp(run: runs.Run) -> float:
    return run.model_path.stat().st_mtime if run.model_path.exists() else 0.0


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def predictor(run_path: str, mtime: float):
    """The run's Predictor; raises RunError (not cached) when the model can't be loaded."""
    from segcore.predict import Predictor

    return Predictor(run_path)      # it warms itself up, so the timings shown are the model's steady pace


def predictor_for(run: runs.Run):
    return predictor(str(run.path), model_stamp(run))


@st.cache_data(show_spinner=False, max_entries=256)
def _predict(run_path: str, mtime: float, digest: str, _image: np.ndarray):
    # _image is left out of the key (the digest stands for it): hashing pixels on every rerun is slow.
    return predictor(run_path, mtime).predict(_image)


def predict(run: runs.Run, image: np.ndarray):
    """The run's Prediction for `image`, computed once per (model file, image content)."""
    digest = hashlib.sha1(np.ascontiguousarray(image).data).hexdigest() + str(image.shape)
    return _predict(str(run.path), model_stamp(run), digest, image)


@st.cache_data(show_spinner=False, max_entries=64)
def decode_upload(data: bytes, name: str) -> np.ndarray:
    """An uploaded image as (H, W, 3) uint8 RGB; raises ImageError saying what is wrong."""
    return read_image(_named(data, name))


@st.cache_data(show_spinner=False, max_entries=64)
def decode_mask(data: bytes, name: str, schema_json: str, size: tuple[int, int]) -> np.ndarray:
    """An uploaded ground-truth mask as train ids of the schema, checked against the image's (H, W)."""
    return read_mask(_named(data, name), LabelSchema.from_json(schema_json), size=size)


def _named(data: bytes, name: str) -> io.BytesIO:
    buffer = io.BytesIO(data)
    buffer.name = name              # read_image / read_mask name the file in their messages
    return buffer


@st.cache_data(show_spinner=False, max_entries=64)
def _evaluation(path: str, mtime_ns: int) -> dict:
    result = runs.read_json(path)
    problem = evaluation_problem(result)
    if problem:
        raise runs.RunError(f"{Path(path).name} is not a complete evaluation ({problem})")
    return result


def evaluation(run: runs.Run, key: str) -> dict:
    """A stored evaluation JSON (RunError if unreadable); a rewritten file is re-read (its mtime is in the key)."""
    path = run.evaluations().get(key)
    if path is None:
        raise runs.RunError(f"{run.name}: no evaluation {key}")
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as err:
        raise runs.RunError(f"{run.name}: evaluation {key} can't be read ({err.strerror})") from None
    return _evaluation(str(path), mtime)


def clear_evaluations() -> None:
    _evaluation.clear()


def evaluate_runs(chosen: list[runs.Run], data: Path, split: str, *, models_dir: Path,
                  overwrite: bool) -> tuple[list[str], list[tuple[str, str]]]:
    """Evaluate each run on data/split with a progress bar, writing RUN/eval/<data set key>.json.

    Nothing is written outside `models_dir` (a run linked in from elsewhere is refused), and an existing
    evaluation is replaced only with `overwrite`. Returns the runs evaluated and (kind, message) pairs for the
    page to show (success, or an error per run).
    """
    from segcore.evaluate import evaluate_run

    written, messages = [], []
    for run in chosen:
        bar = st.progress(0.0, text=f"{run.name}: loading the model")
        try:
            evaluate_run(run, data, split, predictor=predictor_for(run), overwrite=overwrite, inside=models_dir,
                         on_image=lambda i, n, run=run, bar=bar: bar.progress(i / n, f"{run.name}: image {i} of {n}"))
            written.append(run.name)
        except ValueError as err:   # RunError, DatasetError, ImageError and schema mismatches are all ValueErrors
            messages.append(("error", f"{run.name} was not evaluated: {err}"))
    if written:
        clear_evaluations()
        messages.insert(0, ("success", f"Evaluated {', '.join(written)} on {data.name}/{split}."))
    return written, messages


def pick_runs(models_dir: Path, key: str) -> list[runs.Run]:
    """Sidebar multiselect of the usable runs (default: a U-Net and a SegNet); broken runs listed with why."""
    found = runs.discover_runs(models_dir)
    usable = {run.name: run for run in found if run.ok}
    broken = [run for run in found if not run.ok]
    # Keep the user's choice across reruns, minus runs that have since gone or broken.
    previous = st.session_state.get(key)
    st.session_state[key] = default_runs(list(usable)) if previous is None else [n for n in previous if n in usable]
    with st.sidebar:
        chosen = st.multiselect("Runs", list(usable), key=key, help=f"Trained runs under {models_dir}")
        if broken:
            with st.expander(f"{len(broken)} run(s) can't be used"):
                for run in broken:
                    st.markdown(f"**{run.name}**: {run.error}")
    if usable and not chosen:
        st.info("Choose at least one run in the sidebar.")
    elif not usable:
        st.info(f"No usable runs under {models_dir}. Train one with `segcore train --arch unet --data <data> "
                f"--out {models_dir}/<name>` or set `SEGLAB_MODELS_DIR`.")
    return [usable[name] for name in chosen]
