"""Building albumentations pipelines from validated steps, and running them reproducibly.

Seeding: albumentations 2.0.8's `BaseCompose.set_random_seed(seed)` (and `Compose(seed=...)`) hands the *same*
seed to every child, and each child makes its own `random.Random(seed)`; so every step's first coin flip is the
same number and the steps fire all together or not at all. Here each transform gets its own seed derived from
(seed, its position), so coin flips and sampled parameters are independent between steps and reproducible.
"""
from __future__ import annotations

import inspect
import math
import random
import statistics
import threading
import time

import albumentations as A
import cv2
import numpy as np

from segcore.augment.catalogue import CATALOGUE, COMPOSES, PipelineError
from segcore.augment.steps import validate_steps


# The catalogue's transforms that resize with cv2.resize (frames.resize_label's reason for INTER_NEAREST_EXACT).
RESIZING = frozenset({"RandomResizedCrop", "RandomSizedCrop", "RandomScale", "CropAndPad", "SmallestMaxSize",
                      "LongestMaxSize"})


def managed_arguments(name: str, mask_fill: int) -> dict:
    """The arguments SegLab sets itself for catalogue transform `name` (the Lab does not expose them).

    Labels are class ids: interpolating between them invents classes, so masks move nearest-neighbour (the
    exact variant where the transform resizes: OpenCV's plain INTER_NEAREST shifts a resized mask up to 1.5
    source pixels up and left of its image; the warps accept only the plain one and are within half a pixel);
    pixels a warp uncovers or padding adds get the ignore label (`mask_fill`) so they count as no class; and
    CropNonEmptyMaskIfExists does not centre a crop on ignored pixels.
    """
    if not CATALOGUE[name].geometric:
        return {}
    accepted = inspect.signature(getattr(A, name)).parameters
    managed = {}
    if "mask_interpolation" in accepted:
        managed["mask_interpolation"] = cv2.INTER_NEAREST_EXACT if name in RESIZING else cv2.INTER_NEAREST
    if "fill_mask" in accepted:
        managed["fill_mask"] = mask_fill
    if "ignore_values" in accepted:
        managed["ignore_values"] = [mask_fill]
    return managed


def _kwargs(step: dict, mask_fill: int) -> dict:
    """Constructor arguments for a validated catalogue step or group (without the group's members)."""
    if step["name"] in COMPOSES:
        return {**step["params"], "p": step["p"]}
    return {**step["params"], **managed_arguments(step["name"], mask_fill), "p": step["p"]}


def _transform(step: dict, mask_fill: int):
    if step["name"] in COMPOSES:
        members = [_transform(child, mask_fill) for child in step["steps"]]
        return getattr(A, step["name"])(members, **_kwargs(step, mask_fill))
    return getattr(A, step["name"])(**_kwargs(step, mask_fill))


# ------------------------------------------------------------------------------------------------- seeding

def draw_seed(*parts: int) -> int:
    """One 32-bit seed from any integers, e.g. draw_seed(run_seed, epoch, sample_index) in training.

    Nearby inputs give unrelated seeds (numpy's SeedSequence hashing), so draws of neighbouring samples or
    epochs are independent. Negative parts are taken modulo 2**64.
    """
    entropy = [int(part) % 2 ** 64 for part in parts]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def _child_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence(int(seed) % 2 ** 64, spawn_key=(index,)).generate_state(1)[0])


def seed_pipeline(pipeline, seed: int):
    """Give `pipeline` and every transform in it its own generators, derived from (seed, position).

    Step i's seed depends only on (seed, i), not on the other steps, so a step keeps its draws when another
    step's p changes. Returns the pipeline.
    """
    root_seed = int(np.random.SeedSequence(int(seed) % 2 ** 64).generate_state(1)[0])
    # Set the container's own generators directly: its set_random_seed would hand root_seed to every child.
    pipeline.seed = root_seed
    pipeline.random_generator = np.random.default_rng(root_seed)
    pipeline.py_random = random.Random(root_seed)
    for index, transform in enumerate(getattr(pipeline, "transforms", ())):
        child = _child_seed(seed, index)
        if isinstance(transform, A.BaseCompose):
            seed_pipeline(transform, child)   # OneOf, Sequential...: their children get seeds of their own
        else:
            transform.set_random_seed(child)
    return pipeline


def build_pipeline(steps, *, replay: bool = False, seed: int | None = None, mask_fill: int = 0):
    """An A.Compose (A.ReplayCompose with replay=True) running the steps in order.

    `mask_fill` is the label given to mask pixels that geometric transforms uncover: pass the schema's
    ignore index. With `seed`, the pipeline's random draws are reproducible and independent between steps.
    """
    transforms = [_transform(s, mask_fill) for s in validate_steps(steps)]
    pipeline = A.ReplayCompose(transforms) if replay else A.Compose(transforms)
    return pipeline if seed is None else seed_pipeline(pipeline, seed)


# What albumentations raises when a step's values can't be drawn on this frame (a crop larger than it, a stripe
# longer than it, grid cells or plasma on a frame of a few pixels): its CropSizeError, OpenCV's errors and
# arithmetic errors are no ValueError, so callers catching one would miss them.
_DRAW_ERRORS = (ValueError, ArithmeticError, AssertionError, cv2.error,
                A.augmentations.crops.transforms.CropSizeError)


def _run(pipeline, data: dict) -> dict:
    """`pipeline(**data)`; a draw that fails on this frame is a one-line PipelineError naming the frame's size."""
    try:
        return pipeline(**data)
    except PipelineError:
        raise
    except _DRAW_ERRORS as err:
        said = next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)
        height, width = data["image"].shape[:2]
        raise PipelineError(f"a step can't be drawn on this {height}x{width} frame ({said})") from None


def apply(pipeline, image: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Run `pipeline` on an image and optional mask; returns (image, mask or None). PipelineError (a ValueError)
    where a step can't be drawn on this frame."""
    if mask is None:
        return _run(pipeline, {"image": image})["image"], None
    out = _run(pipeline, {"image": image, "mask": mask})
    return out["image"], out["mask"]


def apply_seeded(pipeline, image: np.ndarray, mask: np.ndarray | None, seed: int):
    """One reproducible draw of `pipeline` (an A.Compose): reseeds it from `seed`, then applies it.

    The same seed gives the same output whatever ran before; steps fire independently. The pipeline object is
    modified (its generators), so use one per thread (see SeededAugmenter). Returns (image, mask or None).
    """
    return apply(seed_pipeline(pipeline, seed), image, mask)


class SeededAugmenter:
    """Training's augmentation: `augmenter(image, mask, seed)` is one reproducible, independent-step draw.

    Built from a pipeline dict (as `load_training_pipeline` returns); each thread builds its own copy, since a
    pipeline holds generators that must not be shared between tf.data worker threads.
    """

    def __init__(self, pipeline_dict: dict):
        self.pipeline_dict = pipeline_dict
        A.from_dict(pipeline_dict)   # fail here, in the caller, rather than in a worker thread
        self._local = threading.local()

    def _pipeline(self):
        if not hasattr(self._local, "pipeline"):
            self._local.pipeline = A.from_dict(self.pipeline_dict)
        return self._local.pipeline

    def __call__(self, image: np.ndarray, mask: np.ndarray | None, seed: int):
        return apply_seeded(self._pipeline(), image, mask, seed)


# --------------------------------------------------------------------------------------------------- draws

def isolate(steps, index: int) -> list[dict]:
    """The steps with only step `index` active, forced to p=1 (the others at p=0), for "this step only".

    Positions are kept, so the isolated step gets the same seed as in the whole pipeline.
    """
    steps = validate_steps(steps)
    if not 0 <= index < len(steps):
        raise PipelineError(f"no step {index + 1}: the pipeline has {len(steps)} step(s)")
    # A step with 0 < p < 1 draws its coin from the pipeline's random stream, one at p = 1 doesn't: forced on just
    # below 1, it still draws it, so the draws after it (its parameters) are the whole pipeline's.
    forced = [1.0 if not 0 < step["p"] < 1 else math.nextafter(1.0, 0.0) for step in steps]
    return [{**step, "p": forced[i] if i == index else 0.0} for i, step in enumerate(steps)]


# Sampled values that say nothing readable (pixel maps, matrices, generator state, SegLab's fixed settings).
_UNREADABLE = {"interpolation", "mask_interpolation", "fill", "fill_mask", "matrix", "bbox_matrix", "map_x", "map_y",
               "noise_map", "random_seed", "sparkle_mask", "snow_texture", "order", "output_shape", "max_height",
               "max_width", "pad_params", "border_mode"}


def _readable_value(value) -> str | None:
    if isinstance(value, dict) and set(value) == {"x", "y"}:        # Affine's per-axis values
        x, y = _readable_value(value["x"]), _readable_value(value["y"])
        return x if x == y else f"x {x}, y {y}"
    if isinstance(value, np.ndarray):
        if value.size <= 4:
            value = value.tolist()
        elif value.ndim == 2 and value.shape[1] == 2:
            return f"{value.shape[0]} points"
        else:
            return "x".join(map(str, value.shape)) + " values"
    if isinstance(value, (list, tuple)):
        flat = all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in value)
        if flat and len(value) <= 4:
            return "(" + ", ".join(_readable_value(v) for v in value) + ")"
        return f"{len(value)} items"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.3g}"
    if isinstance(value, (int, np.integer, str)):
        return str(value)
    return None


def readable_params(params: dict) -> str:
    """A transform's sampled parameters as short text: "slant -0.924 · drop length 20 · rain drops 120 points".

    Floats get 3 significant digits, large arrays a size, and pixel maps, matrices and SegLab's fixed settings
    are left out.
    """
    parts = []
    for key, value in params.items():
        text = None if key in _UNREADABLE or value is None else _readable_value(value)
        if text is not None:
            parts.append(f"{key.replace('_', ' ')} {text}")
    return " · ".join(parts)


def _jsonable(value, limit: int = 16):
    """Sampled parameters in a form JSON and a table can show; large arrays and lists become summaries."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= limit else f"<array {value.dtype} {list(value.shape)}>"
    if isinstance(value, dict):
        return {str(k): _jsonable(v, limit) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, limit) for v in value] if len(value) <= limit else f"<{len(value)} items>"
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _record(replayed: dict) -> dict:
    params = {k: v for k, v in (replayed.get("params") or {}).items() if k != "shape"}
    entry = {"name": replayed["__class_fullname__"].rsplit(".", 1)[-1], "applied": bool(replayed["applied"]),
             "params": _jsonable(params), "summary": readable_params(params) if replayed["applied"] else ""}
    if "transforms" in replayed:      # a group: what each member did
        entry["steps"] = [_record(child) for child in replayed["transforms"]]
    return entry


def _check_mask_needs(steps, mask) -> None:
    if mask is not None:
        return
    for step in steps:
        for member in [step, *step.get("steps", ())]:
            if member["name"] in CATALOGUE and CATALOGUE[member["name"]].needs_mask:
                raise PipelineError(f"{member['name']} picks its crop from the mask, and this frame has none: "
                                    "add a mask or remove the step")


def draw(steps, image, mask=None, *, seed: int, mask_fill: int = 0):
    """One reproducible augmentation of (image, mask): the same seed gives the same output, and the same
    output as training's `apply_seeded` with that seed.

    Returns (image, mask or None, record), with one record entry per step: {"name", "applied": whether it
    fired, "params": the values it sampled (JSON-safe), "summary": the same as short readable text}; a group's
    entry also has "steps", one entry per member.
    """
    steps = validate_steps(steps)
    _check_mask_needs(steps, mask)
    pipeline = build_pipeline(steps, replay=True, seed=seed, mask_fill=mask_fill)
    data = {"image": image} if mask is None else {"image": image, "mask": mask}
    try:
        out = _run(pipeline, data)
    except PipelineError as err:
        raise PipelineError(f"seed {seed}{_failing_step(steps, data, seed, mask_fill)}: {err}") from None
    return out["image"], out.get("mask"), [_record(r) for r in out["replay"]["transforms"]]


def _failing_step(steps, data: dict, seed: int, mask_fill: int) -> str:
    """", step 2.1 (RandomRain)": the first step (a group's member by itself) that fails alone at p = 1 on this
    frame with this seed; "" where none does alone."""
    candidates = []
    for i, step in enumerate(steps):
        members = step.get("steps") or []
        candidates += [(f"{i + 1}.{k + 1}", member) for k, member in enumerate(members)] or [(f"{i + 1}", step)]
    for number, step in candidates:
        try:
            _run(build_pipeline([{**step, "p": 1.0}], seed=seed, mask_fill=mask_fill), data)
        except PipelineError:
            return f", step {number} ({step['name']})"
    return ""


def draw_grid(steps, image, mask, *, n: int, seed: int, mask_fill: int = 0):
    """`n` different reproducible draws, with seeds seed, seed + 1, ..."""
    steps = validate_steps(steps)
    return [draw(steps, image, mask, seed=seed + i, mask_fill=mask_fill) for i in range(n)]


def _median_ms(pipeline, data: dict, repeats: int) -> float:
    _run(pipeline, data)  # warm-up: the first call pays for lazy set-up (kernels, lookup tables)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _run(pipeline, data)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


PIPELINE_DRAWS = 20     # draws the whole pipeline's cost is averaged over


def _mean_ms(pipeline, data: dict, draws: int) -> float:
    _run(pipeline, data)  # warm-up
    start = time.perf_counter()
    for _ in range(draws):  # each call draws anew: steps with p < 1 fire in about p of them
        _run(pipeline, data)
    return (time.perf_counter() - start) * 1000 / draws


def time_steps(steps, image, mask=None, *, repeats: int = 5, seed: int = 0,
               draws: int = PIPELINE_DRAWS) -> dict[str, float]:
    """Median milliseconds per image for each step forced to p=1 (key "i:Name"), and for the whole pipeline as
    configured (key "pipeline") the mean over `draws` draws: what training pays per image on average (a median of
    a few draws would leave out a step that fires in fewer than half of them)."""
    steps = validate_steps(steps)
    data = {"image": image} if mask is None else {"image": image, "mask": mask}
    result = {f"{i}:{s['name']}": _median_ms(build_pipeline([{**s, "p": 1.0}], seed=seed), data, repeats)
              for i, s in enumerate(steps)}
    result["pipeline"] = _mean_ms(build_pipeline(steps, seed=seed), data, draws)
    return result


def _code_lines(step: dict, mask_fill: int, indent: str) -> list[str]:
    args = ", ".join(f"{k}={v!r}" for k, v in _kwargs(step, mask_fill).items())
    if step["name"] not in COMPOSES:
        return [f"{indent}A.{step['name']}({args}),"]
    members = [line for child in step["steps"] for line in _code_lines(child, mask_fill, indent + "    ")]
    return [f"{indent}A.{step['name']}([", *members, f"{indent}], {args}),"]


def pipeline_code(steps, *, mask_fill: int = 0) -> str:
    """Python source that builds the same pipeline as build_pipeline(steps, mask_fill=mask_fill)."""
    lines = [line for step in validate_steps(steps) for line in _code_lines(step, mask_fill, "    ")]
    body = "\n" + "\n".join(lines) + "\n" if lines else ""
    code = f"import albumentations as A\n\npipeline = A.Compose([{body}])\n"
    if "mask_interpolation=" in code:
        code += ("# mask_interpolation 0 is cv2.INTER_NEAREST, 6 cv2.INTER_NEAREST_EXACT (aligned where a step "
                 "resizes): class ids must not be blended.\n")
    if lines:
        code += ("# Seed it with segcore.augment.seed_pipeline(pipeline, seed), not Compose(seed=...): albumentations "
                 "2.0.8 gives every step that same seed, so the steps fire all together or not at all.\n")
    return code
