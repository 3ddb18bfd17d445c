"""Augmentation catalogue and pipelines: the data behind the dashboard's Augmentation Lab and `train --augment`.

- catalogue: each supported albumentations 2.x transform as data (arguments, kinds, defaults, bounds), so the
  Lab generates widgets from it.
- steps: `validate_steps`, the one gate for a list of plain-dict *steps*
  ``{"name": "RandomRain", "params": {...}, "p": 0.5}``, and `default_step`.
- build: pipelines from steps (masks moved nearest-neighbour, uncovered pixels given the ignore label), seeded
  so that every step's coin flip and parameters are independent and reproducible (`draw`, `apply_seeded`).
- files: JSON/YAML text parsed without touching the filesystem, files read only when asked, size and alias
  limits, and `load_training_pipeline` (the Lab's checks, for `train --augment`).
- stats: how often steps fire, their on/off combinations and class shares over many draws.
"""
from segcore.augment.build import (SeededAugmenter, apply, apply_seeded, build_pipeline, draw, draw_grid,
                                   draw_seed, isolate, pipeline_code, seed_pipeline, time_steps)
from segcore.augment.catalogue import CATALOGUE, GROUPS, KINDS, ParamSpec, PipelineError, TransformSpec
from segcore.augment.files import (MAX_NESTING, MAX_PIPELINE_BYTES, dumps_pipeline, load_pipeline,
                                   load_pipeline_file, load_training_pipeline, parse_pipeline_text,
                                   read_pipeline_file, save_pipeline, steps_from_pipeline, to_dict)
from segcore.augment.stats import DatasetFrames, augmentation_stats, format_stats, step_keys
from segcore.augment.steps import MAX_STEPS, default_step, validate_steps

__all__ = [
    "CATALOGUE", "GROUPS", "KINDS", "MAX_NESTING", "MAX_PIPELINE_BYTES", "MAX_STEPS", "DatasetFrames",
    "ParamSpec", "PipelineError", "SeededAugmenter", "TransformSpec", "apply", "apply_seeded",
    "augmentation_stats", "build_pipeline", "default_step", "draw", "draw_grid", "draw_seed", "dumps_pipeline",
    "format_stats", "isolate", "load_pipeline", "load_pipeline_file", "load_training_pipeline",
    "parse_pipeline_text", "pipeline_code", "read_pipeline_file", "save_pipeline", "seed_pipeline",
    "step_keys", "steps_from_pipeline", "time_steps", "to_dict", "validate_steps",
]
