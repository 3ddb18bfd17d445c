"""The transform catalogue as data: each supported albumentations transform, its arguments, kinds, defaults and
bounds, written with keywords so an entry reads as a record. The Lab generates its widgets from it and
`segcore.augment.steps` checks every pipeline step against it.

COMPOSES describes the groups (OneOf, SomeOf) a pipeline may hold. Cost labels are not written here: they come
from measured milliseconds (segcore.augment.costs).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KINDS = ("float", "int", "float_range", "int_range", "choice", "bool", "rgb", "int_pair")


@dataclass(frozen=True, kw_only=True)
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


@dataclass(frozen=True, kw_only=True)
class TransformSpec:
    """One catalogue entry: an albumentations class, how the lab shows it, and the arguments it exposes."""
    name: str
    group: str
    description: str
    params: tuple[ParamSpec, ...] = ()
    geometric: bool = False
    default_p: float = 0.5
    needs_mask: bool = False   # picks its crop from the mask, so a draw without one cannot run


class PipelineError(ValueError):
    """A pipeline spec, file or object that this package cannot use; the message says which step and why."""


GROUPS = ("weather", "geometric", "crop", "blur", "noise", "colour")

_ODD = dict(min=3, max=31, step=2, help="Kernel size in pixels (odd).")

CATALOGUE: dict[str, TransformSpec] = {t.name: t for t in (
    # weather
    TransformSpec(
        name="RandomRain", group="weather",
        description="Streaks of rain plus a darker, blurred scene.",
        params=(
            ParamSpec(name="slant_range", kind="float_range", default=(-10.0, 10.0), min=-45, max=45, step=1,
                      help="Drop angle from vertical, degrees."),
            ParamSpec(name="drop_length", kind="int", default=20, min=1, max=100, step=1,
                      help="Drop length in pixels."),
            ParamSpec(name="drop_width", kind="int", default=1, min=1, max=5, step=1, help="Drop width in pixels."),
            ParamSpec(name="drop_color", kind="rgb", default=(200, 200, 200)),
            ParamSpec(name="blur_value", kind="int", default=5, min=1, max=15, step=1,
                      help="Box-blur size for the wet-lens look."),
            ParamSpec(name="brightness_coefficient", kind="float", default=0.7, min=0.0, max=1.0, step=0.05,
                      help="Scene brightness factor."),
            ParamSpec(name="rain_type", kind="choice", default="default",
                      options=("default", "drizzle", "heavy", "torrential"),
                      help="Preset density; 'default' uses the settings above."),
        )),
    TransformSpec(
        name="RandomSnow", group="weather",
        description="Brightens and bleaches light areas as if snow-covered.",
        params=(
            ParamSpec(name="snow_point_range", kind="float_range", default=(0.1, 0.3), min=0.0, max=1.0, step=0.05,
                      help="Share of the image snowed on."),
            ParamSpec(name="brightness_coeff", kind="float", default=2.5, min=0.0, max=5.0, step=0.1,
                      help="How much snowy areas brighten."),
            ParamSpec(name="method", kind="choice", default="bleach", options=("bleach", "texture")),
        )),
    TransformSpec(
        name="RandomFog", group="weather",
        description="Hazy, low-contrast fog made of blurred bright patches.",
        params=(
            ParamSpec(name="fog_coef_range", kind="float_range", default=(0.3, 1.0), min=0.0, max=1.0, step=0.05,
                      help="Fog density."),
            ParamSpec(name="alpha_coef", kind="float", default=0.08, min=0.0, max=1.0, step=0.01,
                      help="Transparency of each fog patch."),
        )),
    TransformSpec(
        name="RandomSunFlare", group="weather",
        description="Lens flare from a bright sun in the upper half of the frame.",
        params=(
            ParamSpec(name="src_radius", kind="int", default=150, min=10, max=1000, step=10,
                      help="Sun radius in pixels."),
            ParamSpec(name="src_color", kind="rgb", default=(255, 255, 255)),
            ParamSpec(name="angle_range", kind="float_range", default=(0.0, 1.0), min=0.0, max=1.0, step=0.05,
                      help="Flare direction, fraction of 2 pi."),
            ParamSpec(name="num_flare_circles_range", kind="int_range", default=(6, 10), min=1, max=20, step=1),
            ParamSpec(name="method", kind="choice", default="overlay", options=("overlay", "physics_based")),
        )),
    TransformSpec(
        name="RandomShadow", group="weather",
        description="Dark polygons on the lower half of the frame, like shadows of buildings and trees on the road.",
        params=(
            ParamSpec(name="num_shadows_limit", kind="int_range", default=(1, 2), min=1, max=10, step=1),
            ParamSpec(name="shadow_dimension", kind="int", default=5, min=3, max=10, step=1,
                      help="Vertices per shadow polygon."),
            ParamSpec(name="shadow_intensity_range", kind="float_range", default=(0.5, 0.5), min=0.0, max=1.0,
                      step=0.05, help="Darkening strength."),
        )),
    # geometric
    TransformSpec(
        name="HorizontalFlip", group="geometric", geometric=True,
        description="Mirror left-right; a street scene stays plausible (traffic side aside)."),
    TransformSpec(
        name="Affine", group="geometric", geometric=True,
        description="Zoom, shift, rotate and shear, as from a different camera pose; uncovered borders become the "
                    "fill colour and the ignore label.",
        params=(
            ParamSpec(name="scale", kind="float_range", default=(0.9, 1.1), min=0.5, max=2.0, step=0.05,
                      help="Zoom factor."),
            ParamSpec(name="translate_percent", kind="float_range", default=(-0.05, 0.05), min=-0.5, max=0.5,
                      step=0.01, help="Shift, share of size."),
            ParamSpec(name="rotate", kind="float_range", default=(-10.0, 10.0), min=-180, max=180, step=1,
                      help="Rotation in degrees."),
            ParamSpec(name="shear", kind="float_range", default=(-5.0, 5.0), min=-45, max=45, step=1,
                      help="Shear in degrees."),
            ParamSpec(name="keep_ratio", kind="bool", default=True, help="Zoom both axes by the same factor."),
            ParamSpec(name="fill", kind="rgb", default=(0, 0, 0), help="Colour of uncovered borders."),
        )),
    TransformSpec(
        name="RandomResizedCrop", group="geometric", geometric=True,
        description="Crop a random part of the image and resize it to a fixed size, a strong zoom augmentation.",
        params=(
            ParamSpec(name="size", kind="int_pair", default=(360, 480), min=16, max=4096, step=8,
                      help="Output (height, width) in pixels."),
            ParamSpec(name="scale", kind="float_range", default=(0.5, 1.0), min=0.01, max=1.0, step=0.01,
                      help="Crop area, share of the image."),
            ParamSpec(name="ratio", kind="float_range", default=(0.75, 1.3333333333333333), min=0.1, max=10.0,
                      step=0.05, help="Crop aspect ratio w/h."),
        )),
    TransformSpec(
        name="Perspective", group="geometric", geometric=True,
        description="Random perspective warp, as from a tilted camera; borders become the ignore label.",
        params=(
            ParamSpec(name="scale", kind="float_range", default=(0.05, 0.1), min=0.0, max=0.5, step=0.01,
                      help="Corner displacement, share of size."),
            ParamSpec(name="fill", kind="rgb", default=(0, 0, 0), help="Colour of uncovered borders."),
        )),
    TransformSpec(
        name="OpticalDistortion", group="geometric", geometric=True,
        description="Barrel or pincushion lens distortion of a different camera.",
        params=(
            ParamSpec(name="distort_limit", kind="float_range", default=(-0.05, 0.05), min=-1.0, max=1.0, step=0.01),
            ParamSpec(name="mode", kind="choice", default="camera", options=("camera", "fisheye")),
        )),
    TransformSpec(
        name="ElasticTransform", group="geometric", geometric=True,
        description="Smooth random local warping, like a wobbly lens or rolling shutter; object outlines bend, "
                    "borders become the ignore label.",
        params=(
            ParamSpec(name="alpha", kind="float", default=60.0, min=0.0, max=500.0, step=1,
                      help="Displacement strength, pixels per unit of smoothed noise."),
            ParamSpec(name="sigma", kind="float", default=6.0, min=1.0, max=100.0, step=0.5,
                      help="Smoothness of the displacement field (Gaussian sigma, pixels)."),
            ParamSpec(name="approximate", kind="bool", default=False,
                      help="Smooth with a fixed 17x17 kernel: faster, close enough for large images."),
        )),
    TransformSpec(
        name="GridDistortion", group="geometric", geometric=True,
        description="Stretch and squeeze the cells of a coarse grid, a simpler stand-in for lens distortion; borders "
                    "become the ignore label.",
        params=(
            ParamSpec(name="num_steps", kind="int", default=5, min=1, max=20, step=1,
                      help="Grid cells per side."),
            ParamSpec(name="distort_limit", kind="float_range", default=(-0.3, 0.3), min=-1.0, max=1.0, step=0.05,
                      help="How far each grid line moves, share of a cell."),
            ParamSpec(name="normalized", kind="bool", default=True, help="Keep the distortion inside the frame."),
        )),
    # crop: these change the output size; training then resizes each frame to the model's --size
    TransformSpec(
        name="RandomScale", group="crop", geometric=True,
        description="Resize by a random factor (multi-scale training). The output size changes: follow it with "
                    "PadIfNeeded and RandomCrop at the model's input size, or training's resize to --size undoes "
                    "the zoom.",
        params=(
            ParamSpec(name="scale_limit", kind="float_range", default=(-0.25, 0.25), min=-0.9, max=3.0, step=0.05,
                      help="Factor minus 1: (-0.25, 0.25) scales by 0.75 to 1.25."),
        )),
    TransformSpec(
        name="PadIfNeeded", group="crop", geometric=True, default_p=1.0,
        description="Pad a frame smaller than the given size (say, after RandomScale below 1) so a crop of that "
                    "size fits; the padding is the fill colour in the image and the ignore label in the mask.",
        params=(
            ParamSpec(name="min_height", kind="int", default=360, min=8, max=4096, step=8,
                      help="Pad to at least this height, pixels."),
            ParamSpec(name="min_width", kind="int", default=480, min=8, max=4096, step=8,
                      help="Pad to at least this width, pixels."),
            ParamSpec(name="position", kind="choice", default="center",
                      options=("center", "top_left", "top_right", "bottom_left", "bottom_right", "random"),
                      help="Where the frame sits inside the padding."),
            ParamSpec(name="fill", kind="rgb", default=(0, 0, 0), help="Colour of the padding."),
        )),
    TransformSpec(
        name="RandomCrop", group="crop", geometric=True, default_p=1.0,
        description="Cut a window of fixed size at a random place; a frame smaller than the window is padded "
                    "first (fill colour, ignore label) when pad_if_needed is on.",
        params=(
            ParamSpec(name="height", kind="int", default=288, min=8, max=4096, step=8, help="Crop height, pixels."),
            ParamSpec(name="width", kind="int", default=384, min=8, max=4096, step=8, help="Crop width, pixels."),
            ParamSpec(name="pad_if_needed", kind="bool", default=True,
                      help="Pad frames smaller than the crop instead of failing."),
            ParamSpec(name="fill", kind="rgb", default=(0, 0, 0), help="Colour of any padding."),
        )),
    TransformSpec(
        name="CropNonEmptyMaskIfExists", group="crop", geometric=True, default_p=1.0, needs_mask=True,
        description="Cut a window of fixed size around a random labelled pixel (class 0 and the ignore label "
                    "count as empty), so crops rarely miss the labelled objects. The frame must be at least the "
                    "crop's size (put PadIfNeeded first).",
        params=(
            ParamSpec(name="height", kind="int", default=288, min=8, max=4096, step=8, help="Crop height, pixels."),
            ParamSpec(name="width", kind="int", default=384, min=8, max=4096, step=8, help="Crop width, pixels."),
        )),
    # blur
    TransformSpec(
        name="Blur", group="blur",
        description="Box blur: a stand-in for an out-of-focus or low-quality lens.",
        params=(
            ParamSpec(name="blur_limit", kind="int_range", default=(3, 7), **_ODD),
        )),
    TransformSpec(
        name="MotionBlur", group="blur",
        description="Blur along a line, as from a moving car or long exposure.",
        params=(
            ParamSpec(name="blur_limit", kind="int_range", default=(3, 7), **_ODD),
            ParamSpec(name="angle_range", kind="float_range", default=(0.0, 360.0), min=0, max=360, step=5,
                      help="Motion direction, degrees."),
            ParamSpec(name="direction_range", kind="float_range", default=(-1.0, 1.0), min=-1.0, max=1.0, step=0.1,
                      help="-1 blurs backward only, 0 both ways, 1 forward only."),
            ParamSpec(name="allow_shifted", kind="bool", default=True, help="Allow the kernel to be off-centre."),
        )),
    TransformSpec(
        name="GaussianBlur", group="blur",
        description="Smooth Gaussian blur, like slight defocus; kernel size follows sigma.",
        params=(
            ParamSpec(name="sigma_limit", kind="float_range", default=(0.5, 3.0), min=0.1, max=10.0, step=0.1,
                      help="Gaussian sigma in pixels."),
        )),
    TransformSpec(
        name="Defocus", group="blur",
        description="Disc-shaped lens defocus (bokeh).",
        params=(
            ParamSpec(name="radius", kind="int_range", default=(3, 10), min=1, max=30, step=1,
                      help="Defocus disc radius in pixels."),
            ParamSpec(name="alias_blur", kind="float_range", default=(0.1, 0.5), min=0.0, max=2.0, step=0.05,
                      help="Softening of the disc edge."),
        )),
    TransformSpec(
        name="Downscale", group="blur",
        description="Shrink then enlarge the image, losing detail like a low-resolution camera.",
        params=(
            ParamSpec(name="scale_range", kind="float_range", default=(0.25, 0.5), min=0.05, max=0.99, step=0.05,
                      help="Intermediate size, share."),
        )),
    # noise
    TransformSpec(
        name="GaussNoise", group="noise",
        description="Additive Gaussian sensor noise.",
        params=(
            ParamSpec(name="std_range", kind="float_range", default=(0.03, 0.1), min=0.0, max=1.0, step=0.01,
                      help="Noise std, share of 255."),
            ParamSpec(name="mean_range", kind="float_range", default=(0.0, 0.0), min=-1.0, max=1.0, step=0.01,
                      help="Noise mean, share of 255."),
            ParamSpec(name="per_channel", kind="bool", default=True, help="Independent noise per colour channel."),
        )),
    TransformSpec(
        name="ISONoise", group="noise",
        description="High-ISO camera noise: colour shifts plus luminance grain, as at night.",
        params=(
            ParamSpec(name="color_shift", kind="float_range", default=(0.01, 0.05), min=0.0, max=1.0, step=0.01,
                      help="Hue shift strength."),
            ParamSpec(name="intensity", kind="float_range", default=(0.1, 0.5), min=0.0, max=2.0, step=0.05,
                      help="Grain strength."),
        )),
    TransformSpec(
        name="ImageCompression", group="noise",
        description="JPEG or WebP artefacts of a low-bit-rate dashcam stream.",
        params=(
            ParamSpec(name="quality_range", kind="int_range", default=(30, 90), min=1, max=100, step=1,
                      help="Encoder quality."),
            ParamSpec(name="compression_type", kind="choice", default="jpeg", options=("jpeg", "webp")),
        )),
    TransformSpec(
        name="CoarseDropout", group="noise",
        description="Erase random rectangles (Cutout), as for occluders the model must see past; the mask keeps "
                    "its labels under the holes, as albumentations and mmsegmentation do by default.",
        params=(
            ParamSpec(name="num_holes_range", kind="int_range", default=(1, 4), min=1, max=50, step=1,
                      help="Number of holes."),
            ParamSpec(name="hole_height_range", kind="float_range", default=(0.05, 0.15), min=0.01, max=1.0,
                      step=0.01, help="Hole height, share of the image height."),
            ParamSpec(name="hole_width_range", kind="float_range", default=(0.05, 0.15), min=0.01, max=1.0,
                      step=0.01, help="Hole width, share of the image width."),
            ParamSpec(name="fill", kind="rgb", default=(0, 0, 0), help="Colour of the holes."),
        )),
    # colour
    TransformSpec(
        name="RandomBrightnessContrast", group="colour",
        description="Change brightness and contrast, as for exposure differences.",
        params=(
            ParamSpec(name="brightness_limit", kind="float_range", default=(-0.2, 0.2), min=-1.0, max=1.0, step=0.05),
            ParamSpec(name="contrast_limit", kind="float_range", default=(-0.2, 0.2), min=-1.0, max=1.0, step=0.05),
            ParamSpec(name="brightness_by_max", kind="bool", default=True,
                      help="Scale brightness by the dtype's max, not the image mean."),
        )),
    TransformSpec(
        name="ColorJitter", group="colour",
        description="Random brightness, contrast, saturation and hue, like different cameras and white balance.",
        params=(
            ParamSpec(name="brightness", kind="float_range", default=(0.8, 1.2), min=0.0, max=2.0, step=0.05,
                      help="Brightness factor."),
            ParamSpec(name="contrast", kind="float_range", default=(0.8, 1.2), min=0.0, max=2.0, step=0.05,
                      help="Contrast factor."),
            ParamSpec(name="saturation", kind="float_range", default=(0.8, 1.2), min=0.0, max=2.0, step=0.05,
                      help="Saturation factor."),
            ParamSpec(name="hue", kind="float_range", default=(-0.05, 0.05), min=-0.5, max=0.5, step=0.01,
                      help="Hue shift, share of a full turn."),
        )),
    TransformSpec(
        name="HueSaturationValue", group="colour",
        description="Shift hue, saturation and value in HSV space, as for different lighting.",
        params=(
            ParamSpec(name="hue_shift_limit", kind="float_range", default=(-20.0, 20.0), min=-180, max=180, step=1),
            ParamSpec(name="sat_shift_limit", kind="float_range", default=(-30.0, 30.0), min=-255, max=255, step=1),
            ParamSpec(name="val_shift_limit", kind="float_range", default=(-20.0, 20.0), min=-255, max=255, step=1),
        )),
    TransformSpec(
        name="CLAHE", group="colour",
        description="Local contrast equalisation, which brings out detail in shadows and haze.",
        params=(
            ParamSpec(name="clip_limit", kind="float_range", default=(1.0, 4.0), min=1.0, max=40.0, step=0.5,
                      help="Contrast limit."),
            ParamSpec(name="tile_grid_size", kind="int_pair", default=(8, 8), min=1, max=64, step=1,
                      help="Grid of (rows, columns) tiles."),
        )),
    TransformSpec(
        name="RandomGamma", group="colour",
        description="Gamma change, as from a different camera response curve.",
        params=(
            ParamSpec(name="gamma_limit", kind="float_range", default=(80.0, 120.0), min=1.0, max=300.0, step=1,
                      help="Gamma x 100."),
        )),
    TransformSpec(
        name="ToGray", group="colour", default_p=0.1,
        description="Drop colour (kept as 3 channels) so the model relies on shape.",
        params=(
            ParamSpec(name="method", kind="choice", default="weighted_average",
                      options=("weighted_average", "from_lab", "desaturation", "average", "max", "pca")),
        )),
)}

assert {t.group for t in CATALOGUE.values()} <= set(GROUPS)

# Groups of transforms. OneOf applies one of its transforms, chosen with probability proportional to their p (the
# chosen one always fires); SomeOf picks n of them uniformly, and each then fires with its own p.
COMPOSES: dict[str, TransformSpec] = {t.name: t for t in (
    TransformSpec(
        name="OneOf", group="group", default_p=0.5,
        description="Apply one of these transforms, picked with probability proportional to its p (its weight); "
                    "the picked one always fires."),
    TransformSpec(
        name="SomeOf", group="group", default_p=1.0,
        description="Pick n of these transforms at random (each equally likely); each picked one then fires with "
                    "its own p.",
        params=(
            ParamSpec(name="n", kind="int", default=1, min=1, max=16, step=1, help="How many transforms to pick."),
            ParamSpec(name="replace", kind="bool", default=False, help="Allow the same transform to be picked twice."),
        )),
)}
