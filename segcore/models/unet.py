"""U-Net with Xception-style blocks: separable convolutions, batch norm, residual 1x1 shortcuts, concat skips.

Contracting path: a full-resolution stem, then one residual separable block per level followed by 2x2
max-pooling. Expansive path: bilinear 2x upsampling, concatenation with the encoder feature of the same
level (the U-Net skip), then a residual separable block. Total stride 2**depth.
"""
from __future__ import annotations

from keras import layers

from segcore.models.blocks import classifier, conv_bn_relu, require_stride, xception_block


def unet_stride(depth: int = 4) -> int:
    return 2 ** depth


def unet(inputs, num_classes: int, *, base_filters: int = 32, depth: int = 4, stem_filters: int = 16):
    """U-Net body: per-pixel class logits for `inputs` (rescaled to 0..1, sides divisible by 2**depth)."""
    require_stride(inputs, unet_stride(depth), "unet")
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
    return classifier(x, num_classes)
