"""The Augmentation Lab's state and widget values: the editable step list, widget settings generated from the
catalogue's ParamSpecs (in the number types Streamlit requires), and the tables and labels the page shows.

The lab keeps its pipeline as *items*: augment steps plus a "uid" that never changes while the step exists, so
a step's widgets keep their state when it is moved. `steps_of(items)` gives the plain steps segcore.augment takes.
No Streamlit here, so all of it is tested without a running app.
"""
from __future__ import annotations

import hashlib
import json
from itertools import count
from pathlib import Path

import numpy as np
import pandas as pd

from segcore import augment
from segcore.augment import CATALOGUE, GROUPS, ParamSpec
from segcore.figures import class_shares, legend_html
from segcore.labels import LabelSchema

_uids = count(1)


# ------------------------------------------------------------------------------------------------ step list

def catalogue_choices() -> list[str]:
    """Transform names ordered by group (weather first), then by name."""
    return sorted(CATALOGUE, key=lambda name: (GROUPS.index(CATALOGUE[name].group), name))


def choice_label(name: str) -> str:
    return f"{CATALOGUE[name].group} · {name}"


def new_item(name: str) -> dict:
    """A catalogue step with its defaults, under a fresh uid."""
    return {"uid": next(_uids), **augment.default_step(name)}


def items_from_steps(steps) -> list[dict]:
    return [{"uid": next(_uids), **step} for step in augment.validate_steps(steps)]


def steps_of(items) -> list[dict]:
    return [{key: item[key] for key in ("name", "params", "p")} for item in items]


def removed(items, index: int) -> list[dict]:
    return [item for i, item in enumerate(items) if i != index]


def moved(items, index: int, offset: int) -> list[dict]:
    """The list with item `index` moved by `offset` places (-1 = up), clamped at both ends."""
    items = list(items)
    target = min(max(index + offset, 0), len(items) - 1)
    items.insert(target, items.pop(index))
    return items


# ------------------------------------------------------------------------------------------------ widgets

def slider_settings(spec: ParamSpec) -> dict:
    """min_value, max_value and step for a slider, all int or all float as Streamlit requires."""
    cast = int if spec.kind in ("int", "int_range", "int_pair") else float
    low, high = cast(spec.min), cast(spec.max)
    step = cast(spec.step) if spec.step else cast((high - low) / 100) or cast(1)
    return {"min_value": low, "max_value": high, "step": step}


def widget_value(spec: ParamSpec, value):
    """A step's stored value in the form its widget takes (same number type as the bounds, hex for colours)."""
    if spec.kind == "rgb":
        return "#{:02x}{:02x}{:02x}".format(*value)
    if spec.kind in ("float", "int"):
        return (int if spec.kind == "int" else float)(value)
    if spec.kind in ("float_range", "int_range", "int_pair"):
        cast = float if spec.kind == "float_range" else int
        return tuple(cast(v) for v in value)
    return value


def from_widget(spec: ParamSpec, value):
    """A widget's value back in step form (colours as (r, g, b))."""
    if spec.kind == "rgb":
        return tuple(int(value[i:i + 2], 16) for i in (1, 3, 5))
    return widget_value(spec, value)


def isolated_index(items, isolated_uid) -> int | None:
    """Position of the step shown alone ("this step only"), or None when none is (or it was removed)."""
    return next((i for i, item in enumerate(items) if item["uid"] == isolated_uid), None)


def shown_steps(items, isolated_uid) -> list[dict]:
    """The steps the preview and grid run: the whole pipeline, or only the isolated step at p=1."""
    index = isolated_index(items, isolated_uid)
    steps = steps_of(items)
    return steps if index is None else augment.isolate(steps, index)


def steps_from_upload(name: str, data: bytes) -> list[dict]:
    """Steps from an uploaded pipeline file: its bytes are the pipeline, never a path to open.

    The format comes from the file name (.json is JSON, anything else YAML). Raises PipelineError.
    """
    fmt = "json" if Path(name).suffix.lower() == ".json" else "yaml"
    return augment.steps_from_pipeline(augment.parse_pipeline_text(data, fmt=fmt, source="the file"))


# ------------------------------------------------------------------------------------------------ display

def legend_for(mask: np.ndarray, schema: LabelSchema) -> str:
    """Legend HTML of the classes present in `mask`, with their pixel shares."""
    shares = class_shares(mask, schema)["share"].to_dict()
    return legend_html(schema, list(shares), shares)


# ------------------------------------------------------------------------------------------------ tables

def draw_table(record) -> pd.DataFrame:
    """One row per step of a draw: whether it fired and the parameters it sampled (as compact JSON)."""
    return pd.DataFrame([{"step": i + 1, "transform": r["name"], "applied": r["applied"],
                          "sampled parameters": json.dumps(r["params"], default=str) if r["applied"] else ""}
                         for i, r in enumerate(record)], columns=["step", "transform", "applied", "sampled parameters"])


def fired_label(record) -> str:
    """Which steps fired in a draw, numbered from 1 as on the page: "fired 1, 3" or "fired none"."""
    fired = [str(i + 1) for i, r in enumerate(record) if r["applied"]]
    return f"fired {', '.join(fired) or 'none'}"


def cost_table(timings: dict[str, float]) -> pd.DataFrame:
    """time_steps' {"i:Name": ms, ..., "pipeline": ms} as rows: each step at p=1, then the pipeline as configured."""
    rows = [{"step": _step_label(key), "ms per image": round(ms, 2)} for key, ms in timings.items()]
    return pd.DataFrame(rows, columns=["step", "ms per image"]).set_index("step")


def _step_label(key: str) -> str:
    if key == "pipeline":
        return "whole pipeline"
    index, name = key.split(":", 1)
    return f"{int(index) + 1}. {name}"          # the page numbers steps from 1


def stats_signature(steps, image: np.ndarray, mask, seed: int, draws: int) -> str:
    """A key that changes when anything the statistics depend on changes (so a stored result is not shown
    for another pipeline or image)."""
    digest = hashlib.sha1(image.tobytes())
    if mask is not None:
        digest.update(mask.tobytes())
    return json.dumps([steps, image.shape, digest.hexdigest(), seed, draws], default=str)


def stats_tables(stats: dict) -> dict[str, pd.DataFrame]:
    """augmentation_stats as tables: "steps" (p and fired share per step), "combinations" (each on/off
    pattern with the steps that fired), "classes" (pixel share before and after, None without masks)."""
    keys = stats["steps"]
    steps = pd.DataFrame([{"step": _step_label(key), "p": stats["p"][key], "fired": stats["applied_rate"][key]}
                          for key in keys], columns=["step", "p", "fired"])
    names = [key.split(":", 1)[1] for key in keys]
    combinations = pd.DataFrame(
        [{"pattern": pattern, "draws": n, "share": n / stats["draws"],
          "steps fired": ", ".join(f"{i + 1}. {names[i]}" for i, on in enumerate(pattern) if on == "1") or "none"}
         for pattern, n in stats["combinations"].items()], columns=["pattern", "draws", "share", "steps fired"])
    classes = None
    if stats.get("class_shares"):
        before, after = stats["class_shares"]["before"], stats["class_shares"]["after"]
        classes = pd.DataFrame([{"class": name, "before": before[name], "after": after[name],
                                 "change": after[name] - before[name]}
                                for name in before if before[name] or after[name]],
                               columns=["class", "before", "after", "change"])
    return {"steps": steps, "combinations": combinations, "classes": classes}
