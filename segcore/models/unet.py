"""U-Net with Xception-style blocks: separable convolutions, batch norm, residual 1x1 shortcuts, concat skips.

Contracting path: a full-resolution stem, then one residual separable block per level followed by 2x2
max-pooling. Expansive path: bilinear 2x upsampling, concatenation with the encoder feature of the same
level (the U-Net skip), then a residual separable block. Total stride 2**depth.
"""
from __future__ import annotations

from keras import layers

BN_MOMENTUM = 0.9  # Keras' 0.99 lags the batch statistics for many epochs in short training runs


def conv_bn_relu(x, filters, name, kernel=3):
    x = layers.Conv2D(filters, kernel, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def xception_block(x, filters, name):
    """Two separable 3x3 convolutions with a residual shortcut (1x1 conv where the width changes)."""
    shortcut = x
    if x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_shortcut")(x)
        shortcut = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_shortcut_bn")(shortcut)
    y = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_sep1")(x)
    y = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn1")(y)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_sep2")(y)
    y = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn2")(y)
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.ReLU(name=f"{name}_out")(y)


def unet_stride(depth: int = 4) -> int:
    return 2 ** depth


def unet(inputs, num_classes: int, *, base_filters: int = 32, depth: int = 4, stem_filters: int = 16):
    """Logits-free U-Net body: returns per-pixel class probabilities for `inputs` (already rescaled)."""
    skips = [conv_bn_relu(inputs, stem_filters, "stem")]
    x = skips[0]
    widths = [base_filters * 2 ** level for level in range(depth)]
    for level, filters in enumerate(widths):
        x = layers.MaxPooling2D(2, name=f"down{level}_pool")(x)
        x = xception_block(x, filters, f"down{level}")
        skips.append(x)
    x = xception_block(x, widths[-1] * 2, "bottleneck") if depth else x
    for level in reversed(range(depth)):
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"up{level}_upsample")(x)
        x = layers.Concatenate(name=f"up{level}_concat")([x, skips[level]])
        filters = widths[level - 1] if level else stem_filters * 2
        x = xception_block(x, filters, f"up{level}")
    return layers.Conv2D(num_classes, 1, name="classifier")(x)
