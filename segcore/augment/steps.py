"""Pipeline steps: `validate_steps`, the one gate every pipeline passes (in the Lab and in training) before
anything is built, and `default_step`.

A step is a plain dict, ``{"name": "RandomRain", "params": {...}, "p": 0.5}``, checked against the catalogue, or
a group, ``{"name": "OneOf", "params": {}, "p": 0.5, "steps": [...]}`` (SomeOf: params n and replace) holding
catalogue steps. Groups do not nest: one level is what the Lab edits, and files nest no deeper.
"""
from __future__ import annotations

import difflib
import math

import numpy as np

from segcore.augment.catalogue import CATALOGUE, COMPOSES, ParamSpec, PipelineError, TransformSpec
from segcore.limits import MAX_PIPELINE_STEPS as MAX_STEPS


def default_step(name: str, steps: list[dict] | tuple = ()) -> dict:
    """A step for `name` with the catalogue's defaults; for a group (OneOf, SomeOf), holding `steps`."""
    if name in COMPOSES:
        spec = COMPOSES[name]
        return {"name": name, "params": {p.name: p.default for p in spec.params}, "p": spec.default_p,
                "steps": [dict(step) for step in steps]}
    spec = _spec(name, "default_step")
    return {"name": name, "params": {p.name: p.default for p in spec.params}, "p": spec.default_p}


def light_weather() -> list[dict]:
    """The Lab's opening pipeline: a flip, then one light weather effect in most draws, then a small exposure
    change, so the first view already shows what augmentation does."""
    weather = [{"name": "RandomRain", "params": {**default_step("RandomRain")["params"], "rain_type": "drizzle"},
                "p": 1.0},
               {"name": "RandomFog", "params": {"fog_coef_range": (0.1, 0.3), "alpha_coef": 0.08}, "p": 1.0},
               {"name": "RandomShadow", "params": default_step("RandomShadow")["params"], "p": 1.0}]
    return validate_steps([
        {"name": "HorizontalFlip", "params": {}, "p": 0.5},
        {"name": "OneOf", "params": {}, "p": 0.9, "steps": weather},
        {"name": "RandomBrightnessContrast", "params": {"brightness_limit": (-0.15, 0.15),
                                                        "contrast_limit": (-0.15, 0.15)}, "p": 0.5},
    ])


# Albumentations transforms left out of the catalogue on purpose, and why (said where a pipeline names one).
LEFT_OUT = {
    "GridElasticDeform": "albumentations 2.0.8's GridElasticDeform leaves seams of uncovered pixels, black and "
                         "labelled class 0 instead of ignored, on most grids; use ElasticTransform or "
                         "ThinPlateSpline",
}


def did_you_mean(name) -> str:
    """" (did you mean X?)" for the catalogue name (or group) closest to a misspelt `name`, else ""; for a
    transform left out on purpose, why."""
    if name in LEFT_OUT:
        return f" ({LEFT_OUT[name]})"
    names = {known.lower(): known for known in [*CATALOGUE, *COMPOSES]}
    close = difflib.get_close_matches(str(name).lower(), list(names), n=1, cutoff=0.75)
    return f" (did you mean {names[close[0]]}?)" if close else ""


def _spec(name, where) -> TransformSpec:
    if name not in CATALOGUE:
        groups = f"; groups: {', '.join(COMPOSES)}" if where.startswith("step") and "." not in where else ""
        raise PipelineError(f"{where}: unknown transform {name!r}{did_you_mean(name)}; valid: "
                            f"{', '.join(CATALOGUE)}{groups}")
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


def _check_p(p, where: str) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not 0 <= p <= 1:
        raise PipelineError(f"{where}: p={p!r} must be a number in [0, 1]")
    return float(p)


def _check_step(step, where: str, *, in_group: bool) -> dict:
    """One step (or group) checked and normalised; `where` names it in errors ("step 2", "step 2.1")."""
    if not isinstance(step, dict) or "name" not in step:
        raise PipelineError(f"{where}: expected a dict with 'name', 'params' and 'p', got {step!r}")
    group = step["name"] in COMPOSES if isinstance(step["name"], str) else False
    extra = set(step) - {"name", "params", "p"} - ({"steps"} if group else set())
    if extra:
        raise PipelineError(f"{where} ({step['name']}): unknown keys {sorted(extra)}")
    if group and in_group:
        raise PipelineError(f"{where}: a {step['name']} group cannot hold another group; put its transforms in "
                            "the outer group or at the top level")
    spec = COMPOSES[step["name"]] if group else _spec(step["name"], where)
    where = f"{where} ({spec.name})"
    params = step.get("params") or {}
    if not isinstance(params, dict):
        raise PipelineError(f"{where}: params must be a mapping, got {params!r}")
    known = {p.name: p for p in spec.params}
    unknown = set(params) - set(known)
    if unknown:
        raise PipelineError(f"{where}: unknown parameter(s) {sorted(unknown)}; valid: {list(known) or 'none'}")
    out = {"name": spec.name,
           "params": {n: _check_param(ps, params.get(n, ps.default), where) for n, ps in known.items()},
           "p": _check_p(step.get("p", spec.default_p), where)}
    if group:
        children = step.get("steps")
        if not isinstance(children, (list, tuple)) or not children:
            raise PipelineError(f"{where}: a group needs a non-empty list of steps; add a transform to it or "
                                "remove it")
        number = where.split(" ")[1]
        out["steps"] = [_check_step(child, f"step {number}.{k + 1}", in_group=True)
                        for k, child in enumerate(children)]
        if spec.name == "OneOf" and not any(child["p"] for child in out["steps"]):
            raise PipelineError(f"{where}: every member has weight p = 0, so none can be picked; give one a p above 0")
        if spec.name == "SomeOf" and not out["params"]["replace"] and out["params"]["n"] > len(children):
            raise PipelineError(f"{where}: n={out['params']['n']} but the group holds {len(children)} "
                                "transform(s); lower n or allow replace")
    return out


def count_transforms(steps) -> int:
    """Transforms in a list of steps, each group counted with its members (as the file limits count them)."""
    return sum(1 + count_transforms(step.get("steps", ())) for step in steps)


def validate_steps(steps: list[dict]) -> list[dict]:
    """Checked, normalised copies of `steps`: every parameter present (defaults filled in), ranges as tuples.

    Raises PipelineError naming the step and the problem: unknown transform or parameter, a value of the wrong
    type or outside the catalogue's bounds, p outside [0, 1], an empty or nested group, SomeOf's n above its
    size, or more than MAX_STEPS transforms in all. Steps are numbered from 1 in messages ("step 2.1" is the
    first transform of the second step's group), as the Lab numbers them.
    """
    if not isinstance(steps, (list, tuple)):
        raise PipelineError(f"a pipeline spec is a list of steps, got {type(steps).__name__}")
    if len(steps) > MAX_STEPS:
        raise PipelineError(f"the pipeline has {len(steps)} steps; at most {MAX_STEPS} are allowed")
    out = [_check_step(step, f"step {i + 1}", in_group=False) for i, step in enumerate(steps)]
    total = count_transforms(out)
    if total > MAX_STEPS:
        raise PipelineError(f"the pipeline has {total} transforms (groups and their members); at most {MAX_STEPS} "
                            "are allowed")
    return out
