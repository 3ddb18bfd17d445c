"""Pipeline steps: `validate_steps`, the one gate every pipeline passes (in the Lab and in training) before
anything is built, and `default_step`.

A step is a plain dict, ``{"name": "RandomRain", "params": {...}, "p": 0.5}``, checked against the catalogue.
"""
from __future__ import annotations

import math

import numpy as np

from segcore.augment.catalogue import CATALOGUE, ParamSpec, PipelineError, TransformSpec
from segcore.limits import MAX_PIPELINE_STEPS as MAX_STEPS


def default_step(name: str) -> dict:
    """A step for `name` with the catalogue's defaults."""
    spec = _spec(name, "default_step")
    return {"name": name, "params": {p.name: p.default for p in spec.params}, "p": spec.default_p}


def _spec(name, where) -> TransformSpec:
    if name not in CATALOGUE:
        raise PipelineError(f"{where}: unknown transform {name!r}; valid: {', '.join(CATALOGUE)}")
    return CATALOGUE[name]


def _number(value, integer: bool, where: str):
    """A JSON/YAML number as int or float; integral floats pass as ints (serialisers write 11 as 11.0)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise PipelineError(f"{where}: expected a number, got {value!r}")
    # NaN passes albumentations' own checks and fails every `lo <= v <= hi` silently: name it.
    if not isinstance(value, (int, np.integer)) and not math.isfinite(value):
        raise PipelineError(f"{where}: expected a finite number, got {value!r}")
    if integer:
        if float(value) != int(value):
            raise PipelineError(f"{where}: expected an integer, got {value!r}")
        return int(value)
    return float(value)


def _check_param(spec: ParamSpec, value, where: str):
    """The value normalised to the spec's kind, or PipelineError saying what is wrong."""
    where = f"{where}: parameter {spec.name!r}"
    kind = spec.kind
    if kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise PipelineError(f"{where}: expected true/false, got {value!r}")
        return bool(value)
    if kind == "choice":
        if value not in spec.options:
            raise PipelineError(f"{where}: {value!r} is not one of {list(spec.options)}")
        return value
    if kind == "rgb":
        if isinstance(value, str) and len(value) == 7 and value.startswith("#"):  # colour pickers give hex
            value = tuple(int(value[i:i + 2], 16) for i in (1, 3, 5))
        if not isinstance(value, (list, tuple)) or len(value) != 3:
            raise PipelineError(f"{where}: expected (r, g, b), got {value!r}")
        rgb = tuple(_number(v, True, where) for v in value)
        if not all(0 <= v <= 255 for v in rgb):
            raise PipelineError(f"{where}: {rgb} has values outside 0-255")
        return rgb
    integer = kind in ("int", "int_range", "int_pair")
    if kind in ("float", "int"):
        values = (_number(value, integer, where),)
    else:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise PipelineError(f"{where}: expected a pair of numbers, got {value!r}")
        values = tuple(_number(v, integer, where) for v in value)
        if kind != "int_pair" and values[0] > values[1]:
            raise PipelineError(f"{where}: range {values} has low > high")
    lo = -np.inf if spec.min is None else spec.min
    hi = np.inf if spec.max is None else spec.max
    if not all(lo <= v <= hi for v in values):
        raise PipelineError(f"{where}: {value!r} out of range [{spec.min}, {spec.max}]")
    if integer and spec.step and spec.min is not None and kind != "int_pair" \
            and any((v - spec.min) % spec.step for v in values):
        raise PipelineError(f"{where}: {value!r} must be {spec.min} plus a multiple of {spec.step}")
    return values[0] if kind in ("float", "int") else values


def validate_steps(steps: list[dict]) -> list[dict]:
    """Checked, normalised copies of `steps`: every parameter present (defaults filled in), ranges as tuples.

    Raises PipelineError naming the step and the problem: unknown transform or parameter, a value of the wrong
    type or outside the catalogue's bounds, or p outside [0, 1].
    """
    if not isinstance(steps, (list, tuple)):
        raise PipelineError(f"a pipeline spec is a list of steps, got {type(steps).__name__}")
    if len(steps) > MAX_STEPS:
        raise PipelineError(f"the pipeline has {len(steps)} steps; at most {MAX_STEPS} are allowed")
    out = []
    for i, step in enumerate(steps):
        if not isinstance(step, dict) or "name" not in step:
            raise PipelineError(f"step {i}: expected a dict with 'name', 'params' and 'p', got {step!r}")
        extra = set(step) - {"name", "params", "p"}
        if extra:
            raise PipelineError(f"step {i} ({step['name']}): unknown keys {sorted(extra)}")
        spec = _spec(step["name"], f"step {i}")
        where = f"step {i} ({spec.name})"
        params = step.get("params") or {}
        known = {p.name: p for p in spec.params}
        unknown = set(params) - set(known)
        if unknown:
            raise PipelineError(f"{where}: unknown parameter(s) {sorted(unknown)}; valid: {list(known) or 'none'}")
        p = step.get("p", spec.default_p)
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not 0 <= p <= 1:
            raise PipelineError(f"{where}: p={p!r} must be a number in [0, 1]")
        out.append({"name": spec.name,
                    "params": {n: _check_param(ps, params.get(n, ps.default), where) for n, ps in known.items()},
                    "p": float(p)})
    return out
