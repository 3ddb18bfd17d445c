"""The Augmentation Lab's state and widget values: the editable step list, widget settings generated from the
catalogue's ParamSpecs (in the number types Streamlit requires), and the tables and labels the page shows.

The lab keeps its pipeline as *items*: augment steps plus a "uid" that never changes while the step exists, so
a step's widgets keep their state when it is moved. A group (OneOf, SomeOf) is an item whose "items" are its
members; a *path* addresses an item: (i,) at the top level, (i, k) for member k of group i.
`steps_of(items)` gives the plain steps segcore.augment takes. No Streamlit here, so all of it is tested without
a running app.
"""
from __future__ import annotations

import hashlib
import json
from itertools import count
from pathlib import Path

import numpy as np
import pandas as pd

from segcore import augment
from segcore.augment import CATALOGUE, COMPOSES, GROUPS, ParamSpec
from segcore.figures import class_shares, legend_html, overlay
from segcore.labels import LabelSchema

_uids = count(1)


# ------------------------------------------------------------------------------------------------ step list

def catalogue_choices() -> list[str]:
    """Transform names ordered by group (weather first), then by name."""
    return sorted(CATALOGUE, key=lambda name: (GROUPS.index(CATALOGUE[name].group), name))


def cost_text(name: str) -> str:
    """"cheap, 0.77 ms" from the measured costs; "" for a group or a transform not measured."""
    cost = augment.cost_of(name)
    if cost is None:
        return ""
    return f"{cost[1]}, {cost[0]:.2g} ms" if cost[0] < 10 else f"{cost[1]}, {cost[0]:.0f} ms"


def choice_label(name: str) -> str:
    cost = cost_text(name)
    return f"{CATALOGUE[name].group} · {name}" + (f" · {cost}" if cost else "")


def new_item(name: str) -> dict:
    """A catalogue step with its defaults, under a fresh uid."""
    return {"uid": next(_uids), **augment.default_step(name)}


def new_group(name: str, members) -> dict:
    """A OneOf or SomeOf group holding `members` (items), under a fresh uid."""
    group = {"uid": next(_uids), **augment.default_step(name)}
    del group["steps"]
    return {**group, "items": list(members)}


def items_from_steps(steps) -> list[dict]:
    def item(step):
        if "steps" in step:
            return {"uid": next(_uids), **{k: v for k, v in step.items() if k != "steps"},
                    "items": [item(child) for child in step["steps"]]}
        return {"uid": next(_uids), **step}
    return [item(step) for step in augment.validate_steps(steps)]


def default_items() -> list[dict]:
    """The pipeline the Lab opens on (segcore.augment.light_weather), as items."""
    return items_from_steps(augment.light_weather())


def steps_of(items) -> list[dict]:
    return [{**{key: item[key] for key in ("name", "params", "p")}, "steps": steps_of(item["items"])}
            if "items" in item else {key: item[key] for key in ("name", "params", "p")} for item in items]


def _path(path) -> tuple[int, ...]:
    return (path,) if isinstance(path, int) else tuple(path)


def fit_group(group: dict) -> dict:
    """SomeOf's n lowered to the group's size (n above it is refused unless replace is on)."""
    if group["name"] == "SomeOf" and not group["params"]["replace"]:
        return {**group, "params": {**group["params"], "n": min(group["params"]["n"], len(group["items"]))}}
    return group


def removed(items, path) -> list[dict]:
    """The list without the item at `path` (an index or (i, k)); a group whose last member goes goes too."""
    path = _path(path)
    rest = [item for i, item in enumerate(items) if i != path[0]]
    if len(path) == 1:
        return rest
    members = removed(items[path[0]]["items"], path[1:])
    if members:
        rest.insert(path[0], fit_group({**items[path[0]], "items": members}))
    return rest


def moved(items, path, offset: int) -> list[dict]:
    """The list with the item at `path` moved by `offset` places (-1 = up) among its siblings, clamped."""
    path = _path(path)
    items = list(items)
    if len(path) > 1:
        items[path[0]] = {**items[path[0]], "items": moved(items[path[0]]["items"], path[1:], offset)}
        return items
    target = min(max(path[0] + offset, 0), len(items) - 1)
    items.insert(target, items.pop(path[0]))
    return items


def add_targets(items) -> dict[str, object]:
    """Where "Add" can put a transform, label -> target: None (the pipeline), "OneOf"/"SomeOf" (a new group
    holding it) or a group's uid."""
    targets = {"the pipeline": None, "a new OneOf group": "OneOf", "a new SomeOf group": "SomeOf"}
    targets.update({f"group {i + 1} ({item['name']})": item["uid"] for i, item in enumerate(items) if "items" in item})
    return targets


def added(items, name: str, target=None) -> list[dict]:
    """The list with a new `name` step at the end of the pipeline (target None), in a new group (target
    "OneOf"/"SomeOf") or at the end of the group whose uid is `target`."""
    item = new_item(name)
    if target is None:
        return [*items, item]
    if target in COMPOSES:
        return [*items, new_group(target, [item])]
    return [{**group, "items": [*group["items"], item]} if group["uid"] == target else group for group in items]


def step_title(item: dict, number: str, *, in_group: str | None = None, alone: bool = False) -> str:
    """The one line a collapsed step shows: number, transform and its chance (a weight inside OneOf); short
    enough not to wrap in the editor column (the measured cost is in the transform list and inside the step)."""
    if "items" in item:
        extra = f", n = {item['params']['n']}" if item["name"] == "SomeOf" else ""
        text = f"{number}. {item['name']} of {len(item['items'])}{extra}  (p = {item['p']:.2f})"
    else:
        chance = "weight" if in_group == "OneOf" else "p"
        text = f"{number}. {item['name']}  ({chance} = {item['p']:.2f})"
    return text + (" · SHOWN ALONE" if alone else "")


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

def _record_rows(record, prefix: str = ""):
    for i, r in enumerate(record):
        number = f"{prefix}{i + 1}"
        if "steps" in r:
            picked = [f"{number}.{k + 1}" for k, child in enumerate(r["steps"]) if child["applied"]]
            summary = f"ran {', '.join(picked)}" if r["applied"] else ""     # a group fires when a member does
            yield {"step": number, "transform": r["name"], "applied": r["applied"], "sampled parameters": summary}
            yield from _record_rows(r["steps"], f"{number}.")
        else:
            yield {"step": number, "transform": r["name"], "applied": r["applied"],
                   "sampled parameters": r["summary"] if r["applied"] else ""}


def draw_table(record) -> pd.DataFrame:
    """One row per step of a draw (group members numbered "2.1", "2.2"): whether it fired and, as short text,
    the parameters it sampled."""
    return pd.DataFrame(list(_record_rows(record)), columns=["step", "transform", "applied", "sampled parameters"])


def fired_label(record) -> str:
    """Which steps fired in a draw, numbered from 1 as on the page: "fired 1, 2.3" (for a group, the members
    that fired) or "fired none"."""
    return f"fired {', '.join(_fired(record)) or 'none'}"


def _fired(record, prefix: str = ""):
    for i, r in enumerate(record):
        number = f"{prefix}{i + 1}"
        if "steps" in r:
            yield from _fired(r["steps"], f"{number}.") if r["applied"] else ()
        elif r["applied"]:
            yield number


def cost_table(timings: dict[str, float]) -> pd.DataFrame:
    """time_steps' {"i:Name": ms, ..., "pipeline": ms} as rows: each step at p=1, then the pipeline as configured."""
    rows = [{"step": _step_label(key), "ms per image": round(ms, 2)} for key, ms in timings.items()]
    return pd.DataFrame(rows, columns=["step", "ms per image"]).set_index("step")


def _step_label(key: str) -> str:
    if key == "pipeline":
        return f"whole pipeline (mean of {augment.PIPELINE_DRAWS} draws)"
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
    """augmentation_stats as tables: "steps" (p and fired share per step; a group fires when one of its members
    does, so with members of p < 1 it fires less often than its own p), "combinations" (each on/off
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


# ------------------------------------------------------------------------------------------------ grid

def draw_tile(image: np.ndarray, mask: np.ndarray | None, schema: LabelSchema, alpha: float) -> np.ndarray:
    """One draw for the grid: the augmented image and, beside it, its mask over it (image alone without a mask)."""
    if mask is None:
        return image
    gap = np.full((image.shape[0], max(2, image.shape[1] // 80), 3), 255, np.uint8)
    return np.hstack([image, gap, overlay(image, mask, schema, alpha)])
