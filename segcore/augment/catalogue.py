"""The transform catalogue as data: each supported albumentations transform, its arguments, kinds, defaults and
bounds, written with keywords so an entry reads as a record. The Lab generates its widgets from it and
`segcore.augment.steps` checks every pipeline step against it. Weather, geometric and crop transforms are written here,
the pixel-level ones (blur, noise, colour) in segcore.augment.catalogue_pixel.

COMPOSES describes the groups (OneOf, SomeOf) a pipeline may hold. Cost labels are not written here: they come
from measured milliseconds (segcore.augment.costs).
"""
from __future__ import annotations

from segcore.augment.catalogue_pixel import PIXEL_TRANSFORMS
from segcore.augment.specs import KINDS, ParamSpec, PipelineError, TransformSpec  # noqa: F401 - the catalogue's API

GROUPS = ("weather", "geometric", "crop", "blur", "noise", "colour")

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
            ParamSpec(name="brightness_coefficient", kind="float", default=0.7, min=0.05, max=1.0, step=0.05,
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
            ParamSpec(name="brightness_coeff", kind="float", default=2.5, min=0.1, max=5.0, step=0.1,
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
            ParamSpec(name="src_radius", kind="int", default=150, min=10, max=1000, step=1,
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
    TransformSpec(
        name="Spatter", group="weather",
        description="Rain drops or mud splashed on the lens: blotches over the whole view.",
        params=(
            ParamSpec(name="mode", kind="choice", default="rain", options=("rain", "mud")),
            ParamSpec(name="intensity", kind="float_range", default=(0.6, 0.6), min=0.0, max=1.0, step=0.05,
                      help="Opacity of the spatter."),
            ParamSpec(name="cutout_threshold", kind="float_range", default=(0.68, 0.68), min=0.0, max=1.0, step=0.01,
                      help="Lower: more of the lens covered."),
            ParamSpec(name="gauss_sigma", kind="float_range", default=(2.0, 2.0), min=0.5, max=10.0, step=0.5,
                      help="Blob softness in pixels."),
        )),
    TransformSpec(
        name="RandomGravel", group="weather",
        description="Patches of gravel in the lower part of the road view, as on unpaved or dirty roads.",
        params=(
            ParamSpec(name="number_of_patches", kind="int", default=2, min=1, max=20, step=1,
                      help="Gravel patches per image."),
        )),
    TransformSpec(
        name="PlasmaShadow", group="weather",
        description="Soft, irregular shadows over the whole frame (fractal noise), as under trees or broken cloud.",
        params=(
            ParamSpec(name="shadow_intensity_range", kind="float_range", default=(0.3, 0.7), min=0.0, max=1.0,
                      step=0.05, help="Darkening strength."),
            ParamSpec(name="roughness", kind="float", default=3.0, min=0.1, max=5.0, step=0.1,
                      help="Higher: smaller, busier shadow patches."),
        )),
    # geometric
    TransformSpec(
        name="HorizontalFlip", group="geometric", geometric=True,
        description="Mirror left-right; a street scene stays plausible (traffic side aside)."),
    TransformSpec(
        name="VerticalFlip", group="geometric", geometric=True,
        description="Mirror upside down. Sky below the road never happens to a street camera: for aerial or "
                    "robot views, or as a deliberate regulariser."),
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
        name="Rotate", group="geometric", geometric=True,
        description="Rotate about the centre, as for a tilted camera; uncovered corners get the fill colour and "
                    "the ignore label.",
        params=(
            ParamSpec(name="limit", kind="float_range", default=(-10.0, 10.0), min=-180, max=180, step=1,
                      help="Angle, degrees."),
            ParamSpec(name="crop_border", kind="bool", default=False,
                      help="Crop to the largest rectangle with no uncovered corner: the frame comes out smaller "
                           "(training then resizes it to the model's input, stretching it a little)."),
            ParamSpec(name="fill", kind="rgb", default=(0, 0, 0), help="Colour of uncovered corners."),
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
            # -1 folds every cell to nothing: a black frame, every mask pixel ignored.
            ParamSpec(name="distort_limit", kind="float_range", default=(-0.3, 0.3), min=-0.95, max=1.0, step=0.05,
                      help="How far each grid line moves, share of a cell."),
            ParamSpec(name="normalized", kind="bool", default=True, help="Keep the distortion inside the frame."),
        )),
    TransformSpec(
        name="ThinPlateSpline", group="geometric", geometric=True,
        description="Smooth warp through a few randomly moved control points, like a flexible lens; uncovered "
                    "borders become the fill colour and the ignore label.",
        params=(
            ParamSpec(name="scale_range", kind="float_range", default=(0.2, 0.4), min=0.0, max=1.0, step=0.05,
                      help="How far the control points move, share of the frame."),
            ParamSpec(name="num_control_points", kind="int", default=4, min=2, max=10, step=1,
                      help="Control points per side."),
            ParamSpec(name="fill", kind="rgb", default=(0, 0, 0), help="Colour of uncovered borders."),
        )),
    TransformSpec(
        name="CropAndPad", group="geometric", geometric=True,
        description="Crop (negative) or pad (positive) each side by a random share, then resize back to the "
                    "frame's size: a shift and zoom; padding is the fill colour and the ignore label.",
        params=(
            ParamSpec(name="percent", kind="float_range", default=(-0.1, 0.1), min=-0.5, max=0.5, step=0.01,
                      help="Per side, share of the side's length: below 0 crops, above 0 pads."),
            ParamSpec(name="sample_independently", kind="bool", default=True,
                      help="Draw each side on its own (off: one value for all four)."),
            ParamSpec(name="keep_size", kind="bool", default=True,
                      help="Resize back to the input size (off: the output size changes)."),
            ParamSpec(name="fill", kind="rgb", default=(0, 0, 0), help="Colour of the padding."),
        )),
    TransformSpec(
        name="RandomGridShuffle", group="geometric", geometric=True,
        description="Cut the frame into a grid and shuffle the cells, image and mask alike: breaks the scene's "
                    "layout so the model has to use local evidence (no sky-is-up shortcut).",
        params=(
            ParamSpec(name="grid", kind="int_pair", default=(3, 3), min=1, max=10, step=1,
                      help="Grid of (rows, columns) cells."),
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
            ParamSpec(name="min_height", kind="int", default=360, min=8, max=4096, step=1,
                      help="Pad to at least this height, pixels."),
            ParamSpec(name="min_width", kind="int", default=480, min=8, max=4096, step=1,
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
            ParamSpec(name="height", kind="int", default=288, min=8, max=4096, step=1, help="Crop height, pixels."),
            ParamSpec(name="width", kind="int", default=384, min=8, max=4096, step=1, help="Crop width, pixels."),
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
            ParamSpec(name="height", kind="int", default=288, min=8, max=4096, step=1, help="Crop height, pixels."),
            ParamSpec(name="width", kind="int", default=384, min=8, max=4096, step=1, help="Crop width, pixels."),
        )),
    TransformSpec(
        name="CenterCrop", group="crop", geometric=True, default_p=1.0,
        description="Cut a window of fixed size from the middle; a frame smaller than the window is padded first "
                    "(fill colour, ignore label) when pad_if_needed is on.",
        params=(
            ParamSpec(name="height", kind="int", default=288, min=8, max=4096, step=1, help="Crop height, pixels."),
            ParamSpec(name="width", kind="int", default=384, min=8, max=4096, step=1, help="Crop width, pixels."),
            ParamSpec(name="pad_if_needed", kind="bool", default=True,
                      help="Pad frames smaller than the crop instead of failing."),
            ParamSpec(name="fill", kind="rgb", default=(0, 0, 0), help="Colour of any padding."),
        )),
    TransformSpec(
        name="RandomSizedCrop", group="crop", geometric=True, default_p=1.0,
        description="Cut a window of random height (its width from the ratio) at a random place and resize it to "
                    "a fixed size: a zoom whose range is given in pixels, where RandomResizedCrop takes a share "
                    "of the area.",
        params=(
            ParamSpec(name="min_max_height", kind="int_range", default=(176, 360), min=8, max=4096, step=1,
                      help="Crop height, pixels."),
            ParamSpec(name="size", kind="int_pair", default=(360, 480), min=16, max=4096, step=8,
                      help="Output (height, width) in pixels."),
            ParamSpec(name="w2h_ratio", kind="float", default=1.3333333333333333, min=0.1, max=10.0, step=0.05,
                      help="Crop width / height."),
        )),
    TransformSpec(
        name="SmallestMaxSize", group="crop", geometric=True, default_p=1.0,
        description="Resize, keeping the aspect ratio, so the shorter side has the given length, as data sets "
                    "of mixed camera sizes are brought to one scale before a crop.",
        params=(
            ParamSpec(name="max_size", kind="int", default=360, min=16, max=4096, step=1,
                      help="Length of the shorter side, pixels."),
        )),
    TransformSpec(
        name="LongestMaxSize", group="crop", geometric=True, default_p=1.0,
        description="Resize, keeping the aspect ratio, so the longer side has the given length (follow it with "
                    "PadIfNeeded for a fixed size).",
        params=(
            ParamSpec(name="max_size", kind="int", default=480, min=16, max=4096, step=1,
                      help="Length of the longer side, pixels."),
        )),
    *PIXEL_TRANSFORMS,
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
