"""Cached Predictors and their label maps, for the pages that run models (Side by Side, Evaluation).

A Predictor is cached per server (st.cache_resource) under the run's path and its model file's and meta.json's
modification times, so a model loads once and a retrained model or an edited meta.json is picked up on the next
rerun. Keras runs are served through their checked
ONNX export (segcore.backends.keras_onnx): inside this server TensorFlow's first forward pass of every rerun costs
150-200 ms more, onnxruntime's doesn't. TensorFlow is imported only to make an export that isn't cached yet.
Byte caps and model count: app.cache_budget.
"""
from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import streamlit as st

from app import cache_budget as budget
from app.settings import Settings
from segcore import runs
from segcore.confidence import ConfidenceMaps, confidence_maps, drawn_confidence
from segcore.evaluations import TTA_SHORT
from segcore.files import changed_stamp
from segcore.label_quality import mask_doubts


def run_stamp(run: runs.Run) -> tuple:
    """When the run's model file and meta.json last changed (left out where one is missing)."""
    return changed_stamp((run.model_path, run.path / runs.META_FILE))


@st.cache_resource(show_spinner="Loading the model…", max_entries=budget.MODELS)
def _predictor(run_path: str, stamp: tuple, tta: str | None = None):
    """The run's Predictor (`tta`: segcore.predict.TTA_MODES, None = the run's own); raises RunError (not cached)
    when the model can't be loaded or can't run that test-time augmentation."""
    from segcore.predict import Predictor

    # It warms itself up, so the timings shown are the model's steady pace. A read-only dashboard keeps no export.
    return Predictor(run_path, keras_via_onnx=True, write_cache=not Settings.from_env().read_only, tta=tta)


def _asked(run: runs.Run, tta: str | None) -> str | None:
    """None where `tta` is the run's own setting: one cached Predictor and one prediction serve both."""
    from segcore.predict import own_tta
    return None if tta == own_tta(run) else tta


def predictor(run: runs.Run, tta: str | None = None):
    return _predictor(str(run.path), run_stamp(run), _asked(run, tta))


@st.cache_data(show_spinner=False, max_entries=256, max_size=budget.PREDICTIONS_BYTES)
def _prediction(run_path: str, stamp: tuple, tta: str | None, digest: str, _image: np.ndarray):
    # _image is left out of the key (the digest stands for it): hashing pixels on every rerun is slow.
    # The Prediction holds its label map only (no scores), so the cap counts label maps.
    return _predictor(run_path, stamp, tta).predict(_image)


def prediction(run: runs.Run, image: np.ndarray, tta: str | None = None):
    """The run's Prediction for `image`, computed once per (model file, test-time augmentation, image content)."""
    return _prediction(str(run.path), run_stamp(run), _asked(run, tta), _digest(image), image)


def predict_all(chosen: list[runs.Run], shown: list[tuple[np.ndarray, tuple | None]], *,
                with_confidence: bool = False, tta: str | None = None, level: str = "class") -> list[dict[str, object]]:
    """Per (image, ground truth or None), each run's Prediction (or the RunError that stopped it), all computed before
    a page draws any of them: the browser, busy laying out what a rerun sends, slowed forward passes that ran
    meanwhile by a third on 2 cores (docs/BENCHMARKS.md, "Side by Side speed goals"). `with_confidence`: the same
    forward pass also gives the confidence maps and, where a ground truth (its schema, mask) is given, the mask's
    label doubts that `confidence` returns, at `level` (class or category). `tta`: every run with that test-time
    augmentation (None: each its own)."""
    outcomes = []
    for image, truth in shown:
        outcome = {}
        for run in chosen:
            try:
                outcome[run.name] = (_scored(run, image, truth, tta, level)[0] if with_confidence
                                     else prediction(run, image, tta))
            except runs.RunError as err:
                outcome[run.name] = err
        outcomes.append(outcome)
    return outcomes


# One label map's worth of bytes keeps the caches within cache_budget.CACHES_BYTES; the maps (float32 confidence,
# float16 entropy) and a bool doubts mask (7 bytes a pixel) fit a few 2 MP images, what a visitor looks at at a time.
@st.cache_data(show_spinner=False, max_entries=16, max_size=budget.CONFIDENCE_BYTES)
def _scored_prediction(run_path: str, stamp: tuple, tta: str | None, digest: str, truth_digest: str, level: str,
                       _image: np.ndarray, _truth: tuple | None):
    """(Prediction without its scores, ConfidenceMaps, MaskDoubts or None) from one forward pass; the maps and
    doubts at `level`: at category level a pixel's confidence is that of the category drawn there (its classes'
    probabilities summed), not of its top class."""
    predictor = _predictor(run_path, stamp, tta)
    result = predictor.predict(_image, keep_scores=True)
    probabilities = predictor.probabilities(result.scores)
    at_level = probabilities @ predictor.schema.category_fold() if level == "category" else probabilities
    maps = confidence_maps(at_level, _image.shape[:2], void=predictor.no_class is not None)
    if level == "category":     # the drawn category's probability, not the most probable category's
        drawn = predictor.schema.to_categories(result.labels)
        maps = dataclasses.replace(maps, confidence=drawn_confidence(at_level, drawn, maps.confidence))
    doubts = None if _truth is None else mask_doubts(probabilities, _truth[1], _truth[0], predictor.schema,
                                                     level=level)
    return (dataclasses.replace(result, scores=None),
            # float32 confidence: float16 rounds 0.29996 up to 0.3, across a threshold the visitor set
            ConfidenceMaps(maps.confidence.astype(np.float32), maps.entropy.astype(np.float16)), doubts)


def _scored(run: runs.Run, image: np.ndarray, truth: tuple | None, tta: str | None, level: str = "class"):
    truth_digest = "" if truth is None else truth[0].name + _digest(truth[1])
    return _scored_prediction(str(run.path), run_stamp(run), _asked(run, tta), _digest(image), truth_digest, level,
                              image, truth)


def confidence(run: runs.Run, image: np.ndarray, truth: tuple | None = None, tta: str | None = None,
               level: str = "class"):
    """(ConfidenceMaps, MaskDoubts or None) of the run for `image` (and its ground truth (schema, mask)), at the
    image's resolution and at `level`; computed once, in the forward pass predict_all(with_confidence=True) made."""
    return _scored(run, image, truth, tta, level)[1:]


def _digest(image: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(image).data).hexdigest() + str(image.shape)


def scores_caption(chosen: list[runs.Run], mask_schema, level: str, tta: str | None) -> str:
    """What Side by Side's scores were computed on: the mask's schema, the level, each model's input and test-time
    augmentation (the one asked for, or the run's own)."""
    models = ", ".join(f"{run.name} input {run.input_size[1]}×{run.input_size[0]}, "
                       f"{TTA_SHORT.get(predictor(run, tta).tta, 'no test-time augmentation')}" for run in chosen)
    level_words = "class level" if level == "class" else "7-category level"
    return (f"Scores against this image's ground truth (mask read as {mask_schema.name}), at {level_words} and the "
            f"image's own resolution; models: {models}")
