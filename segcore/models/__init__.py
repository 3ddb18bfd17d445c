"""Model registry: `build(arch, num_classes, input_shape)` for every architecture, one place for padding.

Every model takes float32 RGB images in 0..255 of its declared (H, W) and returns float32 class
probabilities of the same (H, W). Where H or W is not a multiple of the architecture's total stride,
the input is zero-padded (bottom/right) up to the next multiple inside the model and the output cropped
back, here and nowhere else, so pixels never go silently misaligned.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras
from keras import layers

from segcore.models import objectives  # noqa: F401 - registers loss and metrics for loading
from segcore.models import segnet as _segnet
from segcore.models import unet as _unet


@dataclass(frozen=True)
class Arch:
    name: str
    body: Callable          # body(x, num_classes, **options) -> per-pixel logits or probabilities
    stride: Callable        # stride(**options) -> total downsampling factor
    description: str
    outputs_probabilities: bool = False


def _segnet_body(x, num_classes, **options):
    inner = _segnet.segnet(num_classes, input_shape=tuple(x.shape[1:]), **options)
    return inner(x)


def _segnet_mobilenet_body(x, num_classes, **options):
    inner = _segnet.segnet_mobilenet(num_classes, input_shape=tuple(x.shape[1:]), **options)
    return inner(x)


ARCHS: dict[str, Arch] = {
    "unet": Arch("unet", _unet.unet, lambda depth=4, **_: _unet.unet_stride(depth),
                 "U-Net with Xception-style residual separable blocks and concatenated skips"),
    "segnet": Arch("segnet", _segnet_body, lambda **_: _segnet.SEGNET_STRIDE,
                   "SegNet (VGG16-style encoder, decoder unpools with max-pooling indices)", True),
    "segnet-mobilenet": Arch("segnet-mobilenet", _segnet_mobilenet_body,
                             lambda depth=4, **_: _segnet.segnet_mobilenet_stride(depth),
                             "SegNet with a MobileNet-style depthwise-separable encoder, index unpooling", True),
}


def padding_for(size: tuple[int, int], stride: int) -> tuple[int, int]:
    """Rows and columns to add (bottom, right) so that both sides divide by the stride."""
    return (-size[0]) % stride, (-size[1]) % stride


def build(arch: str, num_classes: int, input_shape: tuple[int, int] | tuple[int, int, int] = (240, 320),
          **options) -> keras.Model:
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {sorted(ARCHS)}")
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
    if not spec.outputs_probabilities:
        x = layers.Softmax(dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, x, name=arch.replace("-", "_"))


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
        if isinstance(layer, layers.SeparableConv2D):
            macs = height * width * channels_in * (kh * kw + channels_out)
        elif isinstance(layer, layers.DepthwiseConv2D):
            macs = height * width * channels_in * kh * kw
        else:
            macs = height * width * channels_in * channels_out * kh * kw
        total += 2 * macs
    return int(total)
