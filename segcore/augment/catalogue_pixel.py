"""The catalogue's pixel-level transforms (blur, noise, colour): the image changes, the mask never does. Part of
segcore.augment.catalogue's CATALOGUE, in the same keyword-only records."""
from __future__ import annotations

from segcore.augment.specs import ParamSpec, TransformSpec

_ODD = dict(min=3, max=31, step=2, help="Kernel size in pixels (odd).")

PIXEL_TRANSFORMS: tuple[TransformSpec, ...] = (
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
    TransformSpec(
        name="MedianBlur", group="blur",
        description="Median filter: smooths texture but keeps edges, like a denoising camera pipeline.",
        params=(
            ParamSpec(name="blur_limit", kind="int_range", default=(3, 7), **_ODD),
        )),
    TransformSpec(
        name="ZoomBlur", group="blur",
        description="Radial blur from the centre, as when zooming or driving fast toward the vanishing point.",
        params=(
            ParamSpec(name="max_factor", kind="float_range", default=(1.0, 1.31), min=1.0, max=2.0, step=0.01,
                      help="Largest zoom of the blur."),
            ParamSpec(name="step_factor", kind="float_range", default=(0.01, 0.03), min=0.005, max=0.1, step=0.005,
                      help="Zoom step between blurred copies."),
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
    TransformSpec(
        name="SaltAndPepper", group="noise",
        description="Isolated white and black pixels, as from dead or hot sensor pixels.",
        params=(
            ParamSpec(name="amount", kind="float_range", default=(0.01, 0.06), min=0.0, max=0.5, step=0.01,
                      help="Share of pixels hit."),
            ParamSpec(name="salt_vs_pepper", kind="float_range", default=(0.4, 0.6), min=0.0, max=1.0, step=0.05,
                      help="Share of the hit pixels that turn white."),
        )),
    TransformSpec(
        name="ShotNoise", group="noise",
        description="Photon (Poisson) noise, stronger in the dark: low light at dusk or in tunnels.",
        params=(
            ParamSpec(name="scale_range", kind="float_range", default=(0.1, 0.3), min=0.01, max=1.0, step=0.01,
                      help="Noise scale; higher means fewer photons, more noise."),
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
    TransformSpec(
        name="PlanckianJitter", group="colour",
        description="White-balance change along the colours of real light sources (daylight to tungsten).",
        params=(
            ParamSpec(name="mode", kind="choice", default="blackbody", options=("blackbody", "cied"),
                      help="Black-body radiator or CIE daylight illuminants."),
            ParamSpec(name="sampling_method", kind="choice", default="uniform", options=("uniform", "gaussian"),
                      help="How the colour temperature is drawn (gaussian: near 6000 K more often)."),
        )),
    TransformSpec(
        name="RandomToneCurve", group="colour",
        description="A random S-curve on brightness, as from another camera's tone mapping.",
        params=(
            ParamSpec(name="scale", kind="float", default=0.1, min=0.0, max=1.0, step=0.01,
                      help="Spread of the curve's control points."),
            ParamSpec(name="per_channel", kind="bool", default=False, help="A separate curve per colour channel."),
        )),
    TransformSpec(
        name="Sharpen", group="colour",
        description="Sharpen edges, as an in-camera sharpening filter does.",
        params=(
            ParamSpec(name="alpha", kind="float_range", default=(0.2, 0.5), min=0.0, max=1.0, step=0.05,
                      help="Blend of the sharpened image."),
            ParamSpec(name="lightness", kind="float_range", default=(0.5, 1.0), min=0.0, max=2.0, step=0.05,
                      help="Brightness of the sharpened image."),
            ParamSpec(name="method", kind="choice", default="kernel", options=("kernel", "gaussian")),
        )),
    TransformSpec(
        name="ChromaticAberration", group="colour",
        description="Colour fringes at edges from a budget wide-angle lens (red and blue channels shifted).",
        params=(
            ParamSpec(name="primary_distortion_limit", kind="float_range", default=(-0.02, 0.02), min=-0.5,
                      max=0.5, step=0.01, help="Radial distortion of the shifted channel."),
            ParamSpec(name="secondary_distortion_limit", kind="float_range", default=(-0.05, 0.05), min=-0.5,
                      max=0.5, step=0.01, help="Higher-order distortion of the shifted channel."),
            ParamSpec(name="mode", kind="choice", default="green_purple",
                      options=("green_purple", "red_blue", "random"), help="Which fringe colours."),
        )),
    TransformSpec(
        name="Illumination", group="colour",
        description="Uneven light: a gradient, a bright or dark corner, or a spot, as from low sun or headlights.",
        params=(
            ParamSpec(name="mode", kind="choice", default="linear", options=("linear", "corner", "gaussian")),
            ParamSpec(name="intensity_range", kind="float_range", default=(0.01, 0.2), min=0.01, max=0.2, step=0.01,
                      help="Strength of the light change."),
            ParamSpec(name="effect_type", kind="choice", default="both", options=("both", "brighten", "darken")),
        )),
    TransformSpec(
        name="AutoContrast", group="colour",
        description="Stretch the histogram to the full range, as camera auto-exposure does.",
        params=(
            ParamSpec(name="cutoff", kind="float", default=0.0, min=0.0, max=49.0, step=1.0,
                      help="Percent of the darkest and brightest pixels clipped."),
            ParamSpec(name="method", kind="choice", default="cdf", options=("cdf", "pil")),
        )),
)
