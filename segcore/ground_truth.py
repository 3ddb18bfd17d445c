"""Scoring one model's label map against a ground truth labelled in any schema.

Same schema: class or category level, as the viewer chooses. Different schemas: only the shared 7 categories
(segcore.labels' class -> category fold; void ignored) compare, so class level is refused with the reason.
"""
from __future__ import annotations

import numpy as np

from segcore import figures
from segcore.compare import ModelView
from segcore.labels import LabelSchema


def truth_at_level(mask: np.ndarray, mask_schema: LabelSchema, run_schema: LabelSchema,
                   level: str) -> tuple[np.ndarray | None, str | None]:
    """(the mask as ids of the view's schema, None) or (None, why it can't be scored at `level`)."""
    if mask_schema.name == run_schema.name:
        return (mask, None) if level == "class" else (mask_schema.to_categories(mask), None)
    if level == "class":
        return None, (f"the mask is labelled in {mask_schema.name} and the model in {run_schema.name}: only the 7 "
                      "categories they share compare; choose '7 categories' to score it")
    return mask_schema.to_categories(mask), None


def score_view(view: ModelView, image: np.ndarray, truth: np.ndarray) -> ModelView:
    """`view` (segcore.compare.model_view) with its scores and error map against `truth` (ids of view.schema)."""
    if truth.shape != view.labels.shape:
        raise ValueError(f"the ground truth is {truth.shape[1]}x{truth.shape[0]} but the image is "
                         f"{view.labels.shape[1]}x{view.labels.shape[0]}; upload the mask of this image")
    view.truth = truth
    view.scores = figures.per_image_scores(truth, view.labels, view.schema)
    view.errors = figures.error_map(image, truth, view.labels, view.schema.ignore_index)
    return view
