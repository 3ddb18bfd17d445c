"""How much work a model does: multiply-adds of its convolutions for one input, counted from the layers' shapes.

The count covers Conv2D, DepthwiseConv2D and SeparableConv2D (depthwise + pointwise), which are nearly all of a
segmentation network's arithmetic; batch norm, activations, pooling, unpooling and resizing are left out.
Papers often call multiply-adds "FLOPs"; one multiply-add is two floating-point operations.
"""
from __future__ import annotations

import math


def _spatial(shape) -> int:
    return math.prod(int(v) for v in shape[1:-1])


def multiply_adds(model) -> int:
    """Multiply-adds of one forward pass of a built model with a fixed input size (batch of one)."""
    import keras

    total = 0
    for layer in _layers(model):
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)):
            out = layer.output.shape
            kernel = math.prod(layer.kernel_size)
            channels_in = int(layer.input.shape[-1])
            if isinstance(layer, keras.layers.SeparableConv2D):
                depth = channels_in * layer.depth_multiplier
                total += _spatial(out) * (kernel * depth + depth * int(out[-1]))
            elif isinstance(layer, keras.layers.DepthwiseConv2D):
                total += _spatial(out) * kernel * int(out[-1])
            else:
                total += _spatial(out) * kernel * channels_in * int(out[-1]) // max(1, layer.groups)
    return int(total)


def _layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:     # a nested model or block
            yield from _layers(layer)
        else:
            yield layer
