"""SegNet (Badrinarayanan et al., 2017) and a MobileNet-encoder variant, with index unpooling in pure Keras ops.

The encoder max-pools and remembers where each maximum was; the decoder puts every value back at that
position (zeros elsewhere) and densifies with convolutions. Only Keras layers and `keras.ops` are used, so
the models run on any Keras backend (TensorFlow, JAX).

"Indices" here are an argmax *mask* rather than flat integer indices: a tensor shaped like the pooling
input holding 1 at the first maximum of each window and 0 elsewhere. Unpooling is then a broadcast
multiply -- no scatter (slow on CPU) and exact on ties: an all-equal window unpools to exactly one
position, its first (row-major) element, like Caffe's and TensorFlow's argmax pooling.

The bodies are functions of a tensor, like `unet`: they take images already scaled to 0..1 whose height and
width divide by the total stride (the registry in `segcore.models` rescales and pads) and return per-pixel
class logits.
"""
from __future__ import annotations

import keras
from keras import layers, ops

from segcore.models.blocks import bn_relu, classifier, conv_bn_relu, depthwise_separable_block, require_stride

VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))  # (filters, convs) per encoder block
SEGNET_STRIDE = 2 ** len(VGG16_BLOCKS)  # 32

MOBILENET_WIDTHS = (32, 64, 128, 256, 512, 1024)  # stem, then the width after each pooling (alpha=1)
MOBILENET_REPEATS = (1, 2, 2, 4, 2)  # separable blocks after each pooling


@keras.saving.register_keras_serializable(package="segcore")
class MaxPoolingWithArgmax2D(layers.Layer):
    """Non-overlapping max-pooling returning `(pooled, argmax_mask)`.

    `argmax_mask` has the input's shape and dtype: 1 at the first maximum (row-major) of each
    pool_size x pool_size window, 0 elsewhere. Input height and width must divide by pool_size.
    """

    def __init__(self, pool_size: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = int(pool_size)

    def call(self, inputs):
        p = self.pool_size
        _, h, w, c = ops.shape(inputs)
        pooled = ops.max_pool(inputs, p, p)
        # View each spatial axis as (window, offset) -- a free reshape -- so the offsets are axes 2 and 4.
        # Elementwise work on these unit slices is several times faster on CPU than reducing over axes
        # (2, 4) or strided 4-D slicing, and pooling is then no longer a large share of inference time.
        windows = ops.reshape(inputs, (-1, h // p, p, w // p, p, c))
        peak = ops.reshape(pooled, (-1, h // p, 1, w // p, 1, c))
        found, rows = None, []
        for i in range(p):
            cols = []
            for j in range(p):  # row-major: a tie goes to the first maximum, and to it alone
                hit = windows[:, :, i:i + 1, :, j:j + 1, :] == peak
                if found is not None:
                    hit = ops.logical_and(hit, ops.logical_not(found))
                found = hit if found is None else ops.logical_or(found, hit)
                cols.append(hit)
            rows.append(ops.concatenate(cols, axis=4))
        mask = ops.cast(ops.concatenate(rows, axis=2), inputs.dtype)
        return pooled, ops.stop_gradient(ops.reshape(mask, (-1, h, w, c)))

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        p = self.pool_size
        return (b, None if h is None else h // p, None if w is None else w // p, c), tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size}


@keras.saving.register_keras_serializable(package="segcore")
class MaxUnpooling2D(layers.Layer):
    """Inverse of `MaxPoolingWithArgmax2D`: call([x, argmax_mask]) puts each value at its stored maximum.

    The mask fixes the output shape (the pooling input's), so `output_shape` -- a shape or a reference
    tensor -- is optional and only checked.
    """

    def __init__(self, pool_size: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = int(pool_size)

    def call(self, inputs, output_shape=None):
        x, mask = inputs
        p = self.pool_size
        _, h, w, c = ops.shape(x)
        if output_shape is not None:
            shape = tuple(getattr(output_shape, "shape", output_shape))
            expected = shape[-3:-1] if len(shape) >= 3 else shape      # (H, W) alone, or with channels (and batch)
            if expected != tuple(mask.shape[1:3]):
                raise ValueError(f"output_shape {expected} does not match the argmax mask {tuple(mask.shape)}")
        # Broadcast each pooled value over its window; the mask keeps it only at the argmax.
        up = ops.reshape(x, (-1, h, 1, w, 1, c)) * ops.reshape(mask, (-1, h, p, w, p, c))
        return ops.reshape(up, (-1, h * p, w * p, c))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[1])

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size}


def segnet(x, num_classes: int, *, base_filters: int = 64):
    """The paper's SegNet: VGG16 encoder (13 conv 3x3), mirrored decoder with index unpooling, stride 32.

    `base_filters` scales every width (64 = the paper, ~29 M parameters; 32 is ~4x fewer).
    """
    require_stride(x, SEGNET_STRIDE, "segnet")
    widths = [max(1, round(filters * base_filters / 64)) for filters, _ in VGG16_BLOCKS]
    masks = []
    for block, (_, convs) in enumerate(VGG16_BLOCKS):
        for i in range(convs):
            x = conv_bn_relu(x, widths[block], f"enc{block + 1}_{i + 1}")
        x, mask = MaxPoolingWithArgmax2D(2, name=f"enc{block + 1}_pool")(x)
        masks.append(mask)
    for block in reversed(range(len(VGG16_BLOCKS))):
        x = MaxUnpooling2D(2, name=f"dec{block + 1}_unpool")([x, masks[block]])
        convs = VGG16_BLOCKS[block][1]
        for i in range(convs):
            # The block's last conv narrows to the next (shallower) block's width, as in the paper.
            last = i == convs - 1 and block > 0
            x = conv_bn_relu(x, widths[block - 1] if last else widths[block], f"dec{block + 1}_{i + 1}")
    return classifier(x, num_classes)


def segnet_mobilenet_stride(depth: int = 4) -> int:
    if not 1 <= depth <= len(MOBILENET_REPEATS):
        raise ValueError(f"depth must be 1..{len(MOBILENET_REPEATS)}, got {depth}")
    return 2 ** depth


def segnet_mobilenet(x, num_classes: int, *, alpha: float = 1.0, depth: int = 4):
    """SegNet with a MobileNet v1-style encoder; every downsampling is an argmax pooling, stride 2**depth.

    Encoder: full-resolution conv stem, then per level a pooling and separable blocks (widths 64, 128,
    256, 512, 1024 times `alpha`). Decoder, per level: one separable block at the pooled resolution that
    mixes and narrows to the width the indices were taken at, then index unpooling. The last unpooled map
    is 3/4 zeros, so a depthwise 3x3 spreads it before the 1x1 classifier.
    """
    require_stride(x, segnet_mobilenet_stride(depth), "segnet_mobilenet")
    widths = [max(8, int(w * alpha + 4) // 8 * 8) for w in MOBILENET_WIDTHS[:depth + 1]]
    x = conv_bn_relu(x, widths[0], "stem", relu_max=6.0)
    masks = []
    for level in range(1, depth + 1):
        x, mask = MaxPoolingWithArgmax2D(2, name=f"enc{level}_pool")(x)
        masks.append(mask)
        for i in range(MOBILENET_REPEATS[level - 1]):
            x = depthwise_separable_block(x, widths[level], f"enc{level}_{i + 1}")
    for level in reversed(range(1, depth + 1)):
        x = depthwise_separable_block(x, widths[level - 1], f"dec{level}")
        x = MaxUnpooling2D(2, name=f"dec{level}_unpool")([x, masks[level - 1]])
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="head_dw")(x)
    x = bn_relu(x, "head_dw", 6.0)
    return classifier(x, num_classes)
