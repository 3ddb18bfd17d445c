"""Multiply-adds counted from layer shapes, checked against hand-computed small models."""
import keras

from segcore.models import build
from segcore.models.complexity import multiply_adds


def test_convolutions_by_hand():
    inputs = keras.Input((8, 10, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)                      # 8*10 * 9*3*4   = 8640
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)                    # 8*10 * 9*4     = 2880
    x = keras.layers.SeparableConv2D(6, 3, strides=2, padding="same")(x)      # 4*5 * (9*4 + 4*6) = 1200
    x = keras.layers.BatchNormalization()(x)                                  # not counted
    assert multiply_adds(keras.Model(inputs, x)) == 8640 + 2880 + 1200


def test_work_grows_with_the_input_area():
    small = multiply_adds(build("unet", 11, (32, 48), base_filters=4, depth=2, stem_filters=4))
    large = multiply_adds(build("unet", 11, (64, 96), base_filters=4, depth=2, stem_filters=4))
    assert small > 0 and large == 4 * small
