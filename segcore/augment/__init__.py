"""Augmentation catalogue and pipelines: the data behind the dashboard's Augmentation Lab and `train --augment`.

- catalogue: each supported albumentations 2.x transform as data (arguments, kinds, defaults, bounds), so the
  Lab generates widgets from it; COMPOSES, the OneOf/SomeOf groups a pipeline may hold.
- costs: each transform's measured ms per 360x480 frame (costs.json, from benchmarks/bench_augment.py) and label.
- steps: `validate_steps`, the one gate for a list of plain-dict *steps*
  ``{"name": "RandomRain", "params": {...}, "p": 0.5}`` or groups of them (``"steps": [...]``), `default_step`
  and `light_weather` (the Lab's opening pipeline).
- build: pipelines from steps (masks moved nearest-neighbour, uncovered pixels given the ignore label), seeded
  so that every step's coin flip and parameters are independent and reproducible (`draw`, `apply_seeded`).
- files: JSON/YAML text parsed without touching the filesystem, files read only when asked, size and alias
  limits, and `load_training_pipeline` (the Lab's checks, for `train --augment`).
- stats: how often steps fire, their on/off combinations and class shares over many draws.
"""
from segcore.augment.build import (PIPELINE_DRAWS, SeededAugmenter, apply, apply_seeded, build_pipeline, draw,
                                   draw_grid, draw_seed, isolate, managed_arguments, pipeline_code, readable_params,
                                   seed_pipeline, time_steps)
from segcore.augment.catalogue import CATALOGUE, COMPOSES, GROUPS, KINDS, ParamSpec, PipelineError, TransformSpec
from segcore.augment.costs import COST_THRESHOLDS, cost_label, cost_of, measured_costs
from segcore.augment.files import (MAX_NESTING, MAX_PIPELINE_BYTES, dumps_pipeline, load_pipeline,
                                   load_pipeline_file, load_training_pipeline, parse_pipeline_text,
                                   read_pipeline_file, save_pipeline, steps_from_pipeline,
                                   steps_from_pipeline_file, to_dict)
from segcore.augment.stats import DatasetFrames, augmentation_stats, format_stats, step_keys
from segcore.augment.steps import MAX_STEPS, count_transforms, default_step, light_weather, validate_steps

__all__ = [
    "COMPOSES", "COST_THRESHOLDS", "cost_label", "cost_of", "count_transforms", "light_weather",
    "managed_arguments", "measured_costs", "readable_params",
    "CATALOGUE", "GROUPS", "KINDS", "MAX_NESTING", "MAX_PIPELINE_BYTES", "MAX_STEPS", "DatasetFrames",
    "PIPELINE_DRAWS", "ParamSpec", "PipelineError", "SeededAugmenter", "TransformSpec", "apply", "apply_seeded",
    "augmentation_stats", "build_pipeline", "default_step", "draw", "draw_grid", "draw_seed", "dumps_pipeline",
    "format_stats", "isolate", "load_pipeline", "load_pipeline_file", "load_training_pipeline",
    "parse_pipeline_text", "pipeline_code", "read_pipeline_file", "save_pipeline", "seed_pipeline",
    "step_keys", "steps_from_pipeline", "steps_from_pipeline_file", "time_steps", "to_dict", "validate_steps",
]
