"""Cached Predictors and their label maps, for the pages that run models (Side by Side, Evaluation).

A Predictor is cached per server (st.cache_resource) under the model file's path and modification time, so a
model loads once and a retrained model is picked up on the next rerun. TensorFlow is imported on first use.
Byte caps and model count: app.cache_budget.
"""
from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from app import cache_budget as budget
from segcore import runs


def model_stamp(run: runs.Run) -> float:
    return run.model_path.stat().st_mtime if run.model_path.exists() else 0.0


@st.cache_resource(show_spinner="Loading the model…", max_entries=budget.MODELS)
def _predictor(run_path: str, mtime: float):
    """The run's Predictor; raises RunError (not cached) when the model can't be loaded."""
    from segcore.predict import Predictor

    return Predictor(run_path)      # it warms itself up, so the timings shown are the model's steady pace


def predictor(run: runs.Run):
    return _predictor(str(run.path), model_stamp(run))


@st.cache_data(show_spinner=False, max_entries=256, max_size=budget.PREDICTIONS_BYTES)
def _prediction(run_path: str, mtime: float, digest: str, _image: np.ndarray):
    # _image is left out of the key (the digest stands for it): hashing pixels on every rerun is slow.
    # The Prediction holds its label map only (no scores), so the cap counts label maps.
    return _predictor(run_path, mtime).predict(_image)


def prediction(run: runs.Run, image: np.ndarray):
    """The run's Prediction for `image`, computed once per (model file, image content)."""
    digest = hashlib.sha1(np.ascontiguousarray(image).data).hexdigest() + str(image.shape)
    return _prediction(str(run.path), model_stamp(run), digest, image)
