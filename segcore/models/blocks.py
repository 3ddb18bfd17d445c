"""Building blocks of the architectures, small functions named as their papers name them; Keras layers only.

Every block takes a tensor and a name prefix and returns a tensor, so an architecture reads top to bottom.
"""
from __future__ import annotations

from keras import layers

BN_MOMENTUM = 0.9  # Keras' 0.99 lags the batch statistics for many epochs in short training runs


def require_stride(x, stride: int, arch: str) -> None:
    """Refuse an input whose static height or width doesn't divide by the architecture's total stride."""
    size = tuple(x.shape[1:3])
    if any(not isinstance(side, int) or side % stride for side in size):
        raise ValueError(f"{arch} needs a static height and width divisible by {stride}, got {size}; "
                         "segcore.models.build pads to the stride")


def bn_relu(x, name: str, relu_max=None):
    """Batch norm then ReLU (ReLU6 with relu_max=6, as MobileNet)."""
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(max_value=relu_max, name=f"{name}_relu")(x)


def conv_bn_relu(x, filters: int, name: str, kernel: int = 3, relu_max=None):
    """VGG's unit: a `kernel` x `kernel` convolution (no bias: batch norm follows), batch norm, ReLU."""
    x = layers.Conv2D(filters, kernel, padding="same", use_bias=False, name=f"{name}_conv")(x)
    return bn_relu(x, name, relu_max)


def depthwise_separable_block(x, filters: int, name: str):
    """MobileNet v1's block: depthwise 3x3 + BN + ReLU6, then pointwise 1x1 + BN + ReLU6."""
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = bn_relu(x, f"{name}_dw", 6.0)
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pw")(x)
    return bn_relu(x, f"{name}_pw", 6.0)


def xception_block(x, filters: int, name: str):
    """Two separable 3x3 convolutions with a residual shortcut (1x1 conv where the width changes)."""
    shortcut = x
    if x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_shortcut")(x)
        shortcut = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_shortcut_bn")(shortcut)
    y = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_sep1")(x)
    y = bn_relu(y, f"{name}_sep1")
    y = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_sep2")(y)
    y = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_sep2_bn")(y)
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.ReLU(name=f"{name}_out")(y)


def classifier(x, num_classes: int):
    """Per-pixel class logits: a 1x1 convolution. No softmax: the loss and the consumers apply their own."""
    return layers.Conv2D(num_classes, 1, name="classifier")(x)
