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
    TransformSpec(
        name="GlassBlur", group="blur",
        description="Frosted glass: pixels swapped with near neighbours, then blurred, as through a dirty or "
                    "fogged windscreen.",
        params=(
            ParamSpec(name="sigma", kind="float", default=0.7, min=0.1, max=5.0, step=0.1,
                      help="Gaussian blur sigma, pixels."),
            ParamSpec(name="max_delta", kind="int", default=4, min=1, max=20, step=1,
                      help="How far a pixel may be swapped, pixels."),
            ParamSpec(name="iterations", kind="int", default=2, min=1, max=5, step=1,
                      help="Rounds of swapping (each costs as much again)."),
            ParamSpec(name="mode", kind="choice", default="fast", options=("fast", "exact")),
        )),
    TransformSpec(
        name="AdvancedBlur", group="blur",
        description="Blur with a random anisotropic, rotated kernel: defocus that is not the same in every "
                    "direction.",
        params=(
            ParamSpec(name="blur_limit", kind="int_range", default=(3, 7), **_ODD),
            ParamSpec(name="sigma_x_limit", kind="float_range", default=(0.2, 1.0), min=0.1, max=10.0, step=0.1,
                      help="Kernel sigma across, pixels."),
            ParamSpec(name="sigma_y_limit", kind="float_range", default=(0.2, 1.0), min=0.1, max=10.0, step=0.1,
                      help="Kernel sigma down, pixels."),
            ParamSpec(name="rotate_limit", kind="float_range", default=(-90.0, 90.0), min=-90, max=90, step=5,
                      help="Kernel rotation, degrees."),
        )),
    TransformSpec(
        name="RingingOvershoot", group="blur",
        description="Ripples beside sharp edges (a sinc filter), as from a camera's over-sharpening or a "
                    "resampled, compressed stream.",
        params=(
            ParamSpec(name="blur_limit", kind="int_range", default=(7, 15), **_ODD),
            ParamSpec(name="cutoff", kind="float_range", default=(0.7853981633974483, 1.5707963267948966),
                      min=0.01, max=3.14, step=0.01, help="Filter cut-off, radians (lower: stronger ringing)."),
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
            ParamSpec(name="hole_height_range", kind="float_range", default=(0.05, 0.15), min=0.01, max=0.99,
                      step=0.01, help="Hole height, share of the image height."),
            ParamSpec(name="hole_width_range", kind="float_range", default=(0.05, 0.15), min=0.01, max=0.99,
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
    TransformSpec(
        name="MultiplicativeNoise", group="noise",
        description="Multiply pixels by random factors: gain noise, or with neither option a plain exposure "
                    "change.",
        params=(
            ParamSpec(name="multiplier", kind="float_range", default=(0.9, 1.1), min=0.0, max=2.0, step=0.05,
                      help="Factor range."),
            ParamSpec(name="per_channel", kind="bool", default=False, help="A factor per colour channel."),
            ParamSpec(name="elementwise", kind="bool", default=False, help="A factor per pixel (grain)."),
        )),
    TransformSpec(
        name="AdditiveNoise", group="noise",
        description="Add noise of a chosen distribution, per pixel or in smooth patches, at each noise type's "
                    "default strength.",
        params=(
            ParamSpec(name="noise_type", kind="choice", default="uniform",
                      options=("uniform", "gaussian", "laplace", "beta")),
            ParamSpec(name="spatial_mode", kind="choice", default="constant",
                      options=("constant", "per_pixel", "shared"),
                      help="constant: one value per channel; per_pixel: independent; shared: one per pixel for "
                           "all channels."),
        )),
    TransformSpec(
        name="GridDropout", group="noise",
        description="Erase squares on a regular grid (GridMask); the mask keeps its labels under them, as with "
                    "CoarseDropout.",
        params=(
            ParamSpec(name="ratio", kind="float", default=0.5, min=0.05, max=0.95, step=0.05,
                      help="Side of each erased square, share of its grid cell's side."),
            ParamSpec(name="random_offset", kind="bool", default=True, help="Shift the grid at random."),
            ParamSpec(name="fill", kind="rgb", default=(0, 0, 0), help="Colour of the erased squares."),
        )),
    TransformSpec(
        name="XYMasking", group="noise",
        description="Erase full-height and full-width stripes, as a pole or a wiper across the lens would; the "
                    "mask keeps its labels under them.",
        params=(
            ParamSpec(name="num_masks_x", kind="int_range", default=(1, 3), min=0, max=10, step=1,
                      help="Vertical stripes."),
            ParamSpec(name="num_masks_y", kind="int_range", default=(1, 3), min=0, max=10, step=1,
                      help="Horizontal stripes."),
            ParamSpec(name="mask_x_length", kind="int_range", default=(10, 40), min=0, max=200, step=1,
                      help="Width of a vertical stripe, pixels."),
            ParamSpec(name="mask_y_length", kind="int_range", default=(10, 40), min=0, max=200, step=1,
                      help="Height of a horizontal stripe, pixels."),
        )),
    TransformSpec(
        name="PixelDropout", group="noise",
        description="Black out scattered single pixels, as from a failing sensor; the mask is unchanged.",
        params=(
            ParamSpec(name="dropout_prob", kind="float", default=0.01, min=0.0, max=0.5, step=0.01,
                      help="Share of pixels dropped."),
            ParamSpec(name="per_channel", kind="bool", default=False, help="Drop colour channels separately."),
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
    TransformSpec(
        name="ChannelShuffle", group="colour",
        description="Swap the colour channels at random: colours become wrong, so the model must rely on shape "
                    "and texture."),
    TransformSpec(
        name="ChannelDropout", group="colour",
        description="Zero one or two colour channels, as from a broken channel or a strong colour cast.",
        params=(
            ParamSpec(name="channel_drop_range", kind="int_range", default=(1, 1), min=1, max=2, step=1,
                      help="How many channels to drop."),
        )),
    TransformSpec(
        name="Posterize", group="colour",
        description="Fewer bits per channel: banded colours, as from a low-end camera or heavy compression.",
        params=(
            ParamSpec(name="num_bits", kind="int_range", default=(4, 6), min=1, max=8, step=1,
                      help="Bits kept per channel (8: unchanged)."),
        )),
    TransformSpec(
        name="Solarize", group="colour",
        description="Invert every pixel above a brightness threshold, as from an overexposed sensor.",
        params=(
            ParamSpec(name="threshold_range", kind="float_range", default=(0.5, 0.5), min=0.0, max=1.0, step=0.05,
                      help="Threshold, share of full brightness."),
        )),
    TransformSpec(
        name="Equalize", group="colour",
        description="Equalise the histogram so brightness spreads over the full range, as strong auto-exposure "
                    "or a night mode does.",
        params=(
            ParamSpec(name="mode", kind="choice", default="cv", options=("cv", "pil"),
                      help="OpenCV's or Pillow's algorithm."),
            ParamSpec(name="by_channels", kind="bool", default=True,
                      help="Each colour channel on its own (off: the luminance only)."),
        )),
    TransformSpec(
        name="FancyPCA", group="colour",
        description="Shift colours along the image's own principal colour axes (the AlexNet colour "
                    "augmentation), as for lighting of another tint.",
        params=(
            ParamSpec(name="alpha", kind="float", default=0.1, min=0.0, max=1.0, step=0.01,
                      help="Strength of the shift."),
        )),
    TransformSpec(
        name="Emboss", group="colour",
        description="Relief effect that brings out edges and texture.",
        params=(
            ParamSpec(name="alpha", kind="float_range", default=(0.2, 0.5), min=0.0, max=1.0, step=0.05,
                      help="Blend of the embossed image."),
            ParamSpec(name="strength", kind="float_range", default=(0.2, 0.7), min=0.0, max=2.0, step=0.05,
                      help="Strength of the relief."),
        )),
    TransformSpec(
        name="UnsharpMask", group="colour",
        description="Unsharp masking, the sharpening most camera pipelines apply; only differences above a "
                    "threshold are boosted, so flat areas stay flat.",
        params=(
            ParamSpec(name="blur_limit", kind="int_range", default=(3, 7), **_ODD),
            ParamSpec(name="alpha", kind="float_range", default=(0.2, 0.5), min=0.0, max=1.0, step=0.05,
                      help="Blend of the sharpened image."),
            ParamSpec(name="threshold", kind="int", default=10, min=0, max=255, step=1,
                      help="Smallest difference sharpened, of 255."),
        )),
    TransformSpec(
        name="ToSepia", group="colour", default_p=0.1,
        description="Brown-toned monochrome, a strong colour cast."),
    TransformSpec(
        name="PlasmaBrightnessContrast", group="colour",
        description="Brightness and contrast that vary smoothly across the frame (fractal noise), as with "
                    "patchy light.",
        params=(
            ParamSpec(name="brightness_range", kind="float_range", default=(-0.3, 0.3), min=-1.0, max=1.0,
                      step=0.05),
            ParamSpec(name="contrast_range", kind="float_range", default=(-0.3, 0.3), min=-1.0, max=1.0, step=0.05),
            ParamSpec(name="roughness", kind="float", default=3.0, min=0.1, max=5.0, step=0.1,
                      help="Higher: smaller, busier patches."),
        )),
)
