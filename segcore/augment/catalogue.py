"""The transform catalogue as data (arguments, kinds, defaults, bounds) and validation of pipeline steps.

A step is a plain dict, ``{"name": "RandomRain", "params": {...}, "p": 0.5}``; `validate_steps` is the one gate
every pipeline passes, in the Lab and in training, before anything is built.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

KINDS = ("float", "int", "float_range", "int_range", "choice", "bool", "rgb", "int_pair")


@dataclass(frozen=True)
class ParamSpec:
    """One argument of a transform, described so a widget can be generated for it.

    ``kind`` is one of KINDS. ``*_range`` values are ``(lo, hi)`` with lo <= hi, ``rgb`` an ``(r, g, b)`` tuple
    of 0-255 ints, and ``int_pair`` an unordered pair of ints such as ``(height, width)``. ``min``/``max`` bound
    every number in the value; ``step`` is the widget's increment, and for int kinds also a constraint
    (``min=3, step=2`` means odd kernel sizes).
    """
    name: str
    kind: str
    default: Any
    min: float | None = None
    max: float | None = None
    step: float | None = None
    options: tuple = ()
    help: str = ""


@dataclass(frozen=True)
class TransformSpec:
    """One catalogue entry: an albumentations class, how the lab shows it, and the arguments it exposes."""
    name: str
    group: str
    description: str
    params: tuple[ParamSpec, ...]
    geometric: bool
    default_p: float = 0.5


class PipelineError(ValueError):
    """A pipeline spec, file or object that this module cannot use; the message says which step and why."""


GROUPS = ("weather", "geometric", "blur", "noise", "colour")

# A pipeline is a short list a person edits; a cap stops a crafted file from building thousands of transforms.
MAX_STEPS = 64

_P = ParamSpec


def _t(name, group, description, params=(), geometric=False, default_p=0.5):
    return TransformSpec(name, group, description, tuple(params), geometric, default_p)


_ODD = dict(min=3, max=31, step=2, help="Kernel size in pixels (odd).")

CATALOGUE: dict[str, TransformSpec] = {t.name: t for t in (
    # weather
    _t("RandomRain", "weather", "Streaks of rain plus a darker, blurred scene. Moderately expensive (draws "
       "every drop).", [
        _P("slant_range", "float_range", (-10.0, 10.0), -45, 45, 1, help="Drop angle from vertical, degrees."),
        _P("drop_length", "int", 20, 1, 100, 1, help="Drop length in pixels."),
        _P("drop_width", "int", 1, 1, 5, 1, help="Drop width in pixels."),
        _P("drop_color", "rgb", (200, 200, 200)),
        _P("blur_value", "int", 5, 1, 15, 1, help="Box-blur size for the wet-lens look."),
        _P("brightness_coefficient", "float", 0.7, 0.0, 1.0, 0.05, help="Scene brightness factor."),
        _P("rain_type", "choice", "default", options=("default", "drizzle", "heavy", "torrential"),
           help="Preset density; 'default' uses the settings above."),
    ]),
    _t("RandomSnow", "weather", "Brightens and bleaches light areas as if snow-covered. Cheap.", [
        _P("snow_point_range", "float_range", (0.1, 0.3), 0.0, 1.0, 0.05, help="Share of the image snowed on."),
        _P("brightness_coeff", "float", 2.5, 0.0, 5.0, 0.1, help="How much snowy areas brighten."),
        _P("method", "choice", "bleach", options=("bleach", "texture")),
    ]),
    _t("RandomFog", "weather", "Hazy, low-contrast fog made of blurred bright patches. Expensive on large "
       "images.", [
        _P("fog_coef_range", "float_range", (0.3, 1.0), 0.0, 1.0, 0.05, help="Fog density."),
        _P("alpha_coef", "float", 0.08, 0.0, 1.0, 0.01, help="Transparency of each fog patch."),
    ]),
    _t("RandomSunFlare", "weather", "Lens flare from a bright sun in the upper half of the frame. "
       "Moderately expensive.", [
        _P("src_radius", "int", 150, 10, 1000, 10, help="Sun radius in pixels."),
        _P("src_color", "rgb", (255, 255, 255)),
        _P("angle_range", "float_range", (0.0, 1.0), 0.0, 1.0, 0.05, help="Flare direction, fraction of 2 pi."),
        _P("num_flare_circles_range", "int_range", (6, 10), 1, 20, 1),
        _P("method", "choice", "overlay", options=("overlay", "physics_based")),
    ]),
    _t("RandomShadow", "weather", "Dark polygons on the lower half of the frame, like shadows of buildings "
       "and trees on the road. Cheap.", [
        _P("num_shadows_limit", "int_range", (1, 2), 1, 10, 1),
        _P("shadow_dimension", "int", 5, 3, 10, 1, help="Vertices per shadow polygon."),
        _P("shadow_intensity_range", "float_range", (0.5, 0.5), 0.0, 1.0, 0.05, help="Darkening strength."),
    ]),
    # geometric
    _t("HorizontalFlip", "geometric", "Mirror left-right; a street scene stays plausible (traffic side "
       "aside). Nearly free.", geometric=True),
    _t("Affine", "geometric", "Zoom, shift, rotate and shear, as from a different camera pose; uncovered "
       "borders become the fill colour and the ignore label. Cheap.", [
        _P("scale", "float_range", (0.9, 1.1), 0.5, 2.0, 0.05, help="Zoom factor."),
        _P("translate_percent", "float_range", (-0.05, 0.05), -0.5, 0.5, 0.01, help="Shift, share of size."),
        _P("rotate", "float_range", (-10.0, 10.0), -180, 180, 1, help="Rotation in degrees."),
        _P("shear", "float_range", (-5.0, 5.0), -45, 45, 1, help="Shear in degrees."),
        _P("keep_ratio", "bool", True, help="Zoom both axes by the same factor."),
        _P("fill", "rgb", (0, 0, 0), help="Colour of uncovered borders."),
    ], geometric=True),
    _t("RandomResizedCrop", "geometric", "Crop a random part of the image and resize it to a fixed size, "
       "a strong zoom augmentation. Cheap.", [
        _P("size", "int_pair", (360, 480), 16, 4096, 8, help="Output (height, width) in pixels."),
        _P("scale", "float_range", (0.5, 1.0), 0.01, 1.0, 0.01, help="Crop area, share of the image."),
        _P("ratio", "float_range", (0.75, 1.3333333333333333), 0.1, 10.0, 0.05, help="Crop aspect ratio w/h."),
    ], geometric=True),
    _t("Perspective", "geometric", "Random perspective warp, as from a tilted camera; borders become the "
       "ignore label. Cheap.", [
        _P("scale", "float_range", (0.05, 0.1), 0.0, 0.5, 0.01, help="Corner displacement, share of size."),
        _P("fill", "rgb", (0, 0, 0), help="Colour of uncovered borders."),
    ], geometric=True),
    _t("OpticalDistortion", "geometric", "Barrel or pincushion lens distortion of a different camera. "
       "Cheap.", [
        _P("distort_limit", "float_range", (-0.05, 0.05), -1.0, 1.0, 0.01),
        _P("mode", "choice", "camera", options=("camera", "fisheye")),
    ], geometric=True),
    # blur
    _t("Blur", "blur", "Box blur: a cheap stand-in for an out-of-focus or low-quality lens.", [
        _P("blur_limit", "int_range", (3, 7), **_ODD),
    ]),
    _t("MotionBlur", "blur", "Blur along a line, as from a moving car or long exposure. Cheap.", [
        _P("blur_limit", "int_range", (3, 7), **_ODD),
        _P("angle_range", "float_range", (0.0, 360.0), 0, 360, 5, help="Motion direction, degrees."),
        _P("direction_range", "float_range", (-1.0, 1.0), -1.0, 1.0, 0.1,
           help="-1 blurs backward only, 0 both ways, 1 forward only."),
        _P("allow_shifted", "bool", True, help="Allow the kernel to be off-centre."),
    ]),
    _t("GaussianBlur", "blur", "Smooth Gaussian blur, like slight defocus; kernel size follows sigma. Cheap.", [
        _P("sigma_limit", "float_range", (0.5, 3.0), 0.1, 10.0, 0.1, help="Gaussian sigma in pixels."),
    ]),
    _t("Defocus", "blur", "Disc-shaped lens defocus (bokeh). Costlier than Gaussian blur at large radii.", [
        _P("radius", "int_range", (3, 10), 1, 30, 1, help="Defocus disc radius in pixels."),
        _P("alias_blur", "float_range", (0.1, 0.5), 0.0, 2.0, 0.05, help="Softening of the disc edge."),
    ]),
    _t("Downscale", "blur", "Shrink then enlarge the image, losing detail like a low-resolution camera. "
       "Cheap.", [
        _P("scale_range", "float_range", (0.25, 0.5), 0.05, 0.99, 0.05, help="Intermediate size, share."),
    ]),
    # noise
    _t("GaussNoise", "noise", "Additive Gaussian sensor noise. Moderately expensive (a random value per "
       "pixel).", [
        _P("std_range", "float_range", (0.03, 0.1), 0.0, 1.0, 0.01, help="Noise std, share of 255."),
        _P("mean_range", "float_range", (0.0, 0.0), -1.0, 1.0, 0.01, help="Noise mean, share of 255."),
        _P("per_channel", "bool", True, help="Independent noise per colour channel."),
    ]),
    _t("ISONoise", "noise", "High-ISO camera noise: colour shifts plus luminance grain, as at night. "
       "Moderately expensive.", [
        _P("color_shift", "float_range", (0.01, 0.05), 0.0, 1.0, 0.01, help="Hue shift strength."),
        _P("intensity", "float_range", (0.1, 0.5), 0.0, 2.0, 0.05, help="Grain strength."),
    ]),
    _t("ImageCompression", "noise", "JPEG or WebP artefacts of a low-bit-rate dashcam stream. Cheap on small "
       "images.", [
        _P("quality_range", "int_range", (30, 90), 1, 100, 1, help="Encoder quality."),
        _P("compression_type", "choice", "jpeg", options=("jpeg", "webp")),
    ]),
    # colour
    _t("RandomBrightnessContrast", "colour", "Change brightness and contrast, as for exposure differences. "
       "Nearly free.", [
        _P("brightness_limit", "float_range", (-0.2, 0.2), -1.0, 1.0, 0.05),
        _P("contrast_limit", "float_range", (-0.2, 0.2), -1.0, 1.0, 0.05),
        _P("brightness_by_max", "bool", True, help="Scale brightness by the dtype's max, not the image mean."),
    ]),
    _t("ColorJitter", "colour", "Random brightness, contrast, saturation and hue, like different cameras "
       "and white balance. Moderately cheap.", [
        _P("brightness", "float_range", (0.8, 1.2), 0.0, 2.0, 0.05, help="Brightness factor."),
        _P("contrast", "float_range", (0.8, 1.2), 0.0, 2.0, 0.05, help="Contrast factor."),
        _P("saturation", "float_range", (0.8, 1.2), 0.0, 2.0, 0.05, help="Saturation factor."),
        _P("hue", "float_range", (-0.05, 0.05), -0.5, 0.5, 0.01, help="Hue shift, share of a full turn."),
    ]),
    _t("HueSaturationValue", "colour", "Shift hue, saturation and value in HSV space, as for different "
       "lighting. Cheap.", [
        _P("hue_shift_limit", "float_range", (-20.0, 20.0), -180, 180, 1),
        _P("sat_shift_limit", "float_range", (-30.0, 30.0), -255, 255, 1),
        _P("val_shift_limit", "float_range", (-20.0, 20.0), -255, 255, 1),
    ]),
    _t("CLAHE", "colour", "Local contrast equalisation, which brings out detail in shadows and haze. "
       "Moderately cheap.", [
        _P("clip_limit", "float_range", (1.0, 4.0), 1.0, 40.0, 0.5, help="Contrast limit."),
        _P("tile_grid_size", "int_pair", (8, 8), 1, 64, 1, help="Grid of (rows, columns) tiles."),
    ]),
    _t("RandomGamma", "colour", "Gamma change, as from a different camera response curve. Nearly free.", [
        _P("gamma_limit", "float_range", (80.0, 120.0), 1.0, 300.0, 1, help="Gamma x 100."),
    ]),
    _t("ToGray", "colour", "Drop colour (kept as 3 channels) so the model relies on shape. Nearly free.", [
        _P("method", "choice", "weighted_average",
           options=("weighted_average", "from_lab", "desaturation", "average", "max", "pca")),
    ], default_p=0.1),
)}

assert {t.group for t in CATALOGUE.values()} <= set(GROUPS)


# ----------------------------------------------------------------------------------------------------- steps

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
