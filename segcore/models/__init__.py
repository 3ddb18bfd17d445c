"""Model registry: `build(arch, num_classes, input_shape)` for every architecture, one place for padding.

Every model takes float32 RGB images in 0..255 of its declared (H, W) and returns float32 class logits of
the same (H, W) from one output layer named "logits". Nothing in a model applies a softmax: the loss works
from logits (segcore.models.objectives) and whoever wants probabilities applies one
(`segcore.frames.probabilities(scores, output_kind(run.meta))`). Runs trained before this ended in a
softmax; `output_kind` tells the two apart.

Where H or W is not a multiple of the architecture's total stride, the input is zero-padded (bottom/right)
up to the next multiple inside the model and the output cropped back, here and nowhere else, so pixels
never go silently misaligned.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable

import keras
from keras import layers

from segcore.frames import LOGITS, OUTPUT_KINDS, PROBABILITIES  # noqa: F401 - re-exported, defined once
from segcore.models import objectives  # noqa: F401 - registers loss and metrics for loading
from segcore.models import segnet as _segnet
from segcore.models import unet as _unet


@dataclass(frozen=True)
class Arch:
    name: str
    body: Callable          # body(x, num_classes, **options) -> per-pixel class logits
    stride: Callable        # stride(**options) -> total downsampling factor
    description: str


ARCHS: dict[str, Arch] = {
    "unet": Arch("unet", _unet.unet, lambda depth=4, **_: _unet.unet_stride(depth),
                 "U-Net with Xception-style residual separable blocks and concatenated skips"),
    "segnet": Arch("segnet", _segnet.segnet, lambda **_: _segnet.SEGNET_STRIDE,
                   "SegNet (VGG16-style encoder, decoder unpools with max-pooling indices)"),
    "segnet-mobilenet": Arch("segnet-mobilenet", _segnet.segnet_mobilenet,
                             lambda depth=4, **_: _segnet.segnet_mobilenet_stride(depth),
                             "SegNet with a MobileNet-style depthwise-separable encoder, index unpooling"),
}


# What an option may be: whole numbers in these bounds (a width or a depth), or a positive multiplier (alpha).
_OPTION_BOUNDS = {"base_filters": (1, 1024), "stem_filters": (1, 1024), "depth": (1, 6)}
_MAX_ALPHA = 8.0


def check_options(arch: str, options: Mapping) -> None:
    """ValueError (one line, naming the option) unless `options` are the architecture's own, in bounds."""
    import inspect
    import math
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {sorted(ARCHS)}")
    known = [name for name, param in inspect.signature(ARCHS[arch].body).parameters.items()
             if param.kind is inspect.Parameter.KEYWORD_ONLY]
    for name, value in options.items():
        if name not in known:
            raise ValueError(f"{arch} has no option {name!r}; its options are {', '.join(known)} (--option NAME=VALUE)")
        if name == "alpha":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                    math.isfinite(value) and 0 < value <= _MAX_ALPHA):
                raise ValueError(f"option alpha must be a number above 0 and at most {_MAX_ALPHA:g}, got {value!r}")
            continue
        low, high = _OPTION_BOUNDS.get(name, (1, 1024))
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"option {name} must be a whole number from {low} to {high}, got {value!r}")


def padding_for(size: tuple[int, int], stride: int) -> tuple[int, int]:
    """Rows and columns to add (bottom, right) so that both sides divide by the stride."""
    return (-size[0]) % stride, (-size[1]) % stride


def build(arch: str, num_classes: int, input_shape: tuple[int, int] | tuple[int, int, int] = (240, 320),
          **options) -> keras.Model:
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {sorted(ARCHS)}")
    check_options(arch, options)
    spec = ARCHS[arch]
    height, width = int(input_shape[0]), int(input_shape[1])
    pad_h, pad_w = padding_for((height, width), spec.stride(**options))
    inputs = keras.Input(shape=(height, width, 3), name="image")
    x = layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)
    if pad_h or pad_w:
        x = layers.ZeroPadding2D(((0, pad_h), (0, pad_w)), name="pad_to_stride")(x)
    x = spec.body(x, num_classes, **options)
    if pad_h or pad_w:
        x = layers.Cropping2D(((0, pad_h), (0, pad_w)), name="crop_to_input")(x)
    # The one named output; float32 even under a mixed-precision policy (Keras' recipe for the last layer).
    logits = layers.Activation("linear", dtype="float32", name=LOGITS)(x)
    return keras.Model(inputs, logits, name=arch.replace("-", "_"))


def output_kind(model_or_meta) -> str:
    """"logits" or "probabilities": what a model outputs, from its run's meta.json (a dict) or the model itself.

    Training records `"output": "logits"` in meta.json. Runs trained before that key existed (the shipped
    models/unet-camvid and models/segnet-camvid) end in a softmax, so a meta.json without it means
    probabilities. A model outputs probabilities when its output comes from a softmax (a Softmax layer or a
    softmax activation), looked for through cropping, padding and nested models; logits otherwise.
    """
    if isinstance(model_or_meta, Mapping):
        kind = model_or_meta.get("output", PROBABILITIES)
        if kind not in OUTPUT_KINDS:
            raise ValueError(f"meta.json says the model outputs {str(kind)[:40]!r}; expected one of {OUTPUT_KINDS}: "
                             "fix or remove its \"output\" key")
        return kind
    return PROBABILITIES if _ends_in_softmax(model_or_meta) else LOGITS


def _ends_in_softmax(model) -> bool:
    for layer in reversed(model.layers):
        if isinstance(layer, (layers.Cropping2D, layers.ZeroPadding2D)):
            continue                # moves pixels, not scores: the scores come from the layer before
        if isinstance(layer, keras.Model):
            return _ends_in_softmax(layer)
        return isinstance(layer, layers.Softmax) or getattr(layer, "activation", None) is keras.activations.softmax
    return False


def count_flops(model) -> int:
    """Forward FLOPs (2 x multiply-adds) of the convolutions, from the layers' shapes; nested models included.

    Convolutions are nearly all of a segmentation network's arithmetic; batch norm, activations and
    pooling are left out, so this slightly undercounts.
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += count_flops(layer)
            continue
        if not isinstance(layer, (layers.Conv2D, layers.SeparableConv2D, layers.DepthwiseConv2D)):
            continue
        _, height, width, channels_out = layer.output.shape
        channels_in = layer.input.shape[-1]
        kh, kw = layer.kernel_size
        if isinstance(layer, layers.SeparableConv2D):     # depthwise to channels_in * dm, then pointwise
            macs = height * width * channels_in * layer.depth_multiplier * (kh * kw + channels_out)
        elif isinstance(layer, layers.DepthwiseConv2D):   # channels_out = channels_in * depth_multiplier
            macs = height * width * channels_out * kh * kw
        else:
            macs = height * width * channels_in * channels_out * kh * kw
        total += 2 * macs
    return int(total)
