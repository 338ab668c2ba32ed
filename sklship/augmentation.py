"""Training-time augmentation that a ship does not care about."""

import keras
from keras import ops

__all__ = ["ChipAugmentation", "AUGMENTATIONS"]

AUGMENTATIONS = ("flip", "rot90", "brightness")


@keras.saving.register_keras_serializable(package="sklship")
class ChipAugmentation(keras.layers.Layer):
    """Random flips, 90-degree rotations and brightness changes per chip.

    Seen from above, a ship is the same ship mirrored or turned by a right
    angle, and under slightly different light. Active in training only;
    at inference the layer passes its input through unchanged.

    Parameters
    ----------
    flip : bool, default=True
        Flip each chip up-down and left-right, each with probability 1/2.
    rot90 : bool, default=True
        Transpose each chip with probability 1/2; with ``flip`` this draws
        uniformly from all eight rotations and reflections. Needs square chips.
    brightness : float, default=0.0
        Multiply each chip by a factor drawn from
        ``[1 - brightness, 1 + brightness]``.
    seed : int or None, default=None
        Seed of the layer's random generator.
    **kwargs : dict
        Passed to :class:`keras.layers.Layer`.
    """

    def __init__(self, flip=True, rot90=True, brightness=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.flip = flip
        self.rot90 = rot90
        self.brightness = brightness
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _coin(self, inputs):
        shape = (ops.shape(inputs)[0], 1, 1, 1)
        return keras.random.uniform(shape, seed=self.seed_generator) < 0.5

    def call(self, inputs, training=None):
        if not training:
            return inputs
        x = inputs
        if self.rot90:
            x = ops.where(self._coin(x), ops.transpose(x, (0, 2, 1, 3)), x)
        if self.flip or self.rot90:
            x = ops.where(self._coin(x), ops.flip(x, axis=1), x)
            x = ops.where(self._coin(x), ops.flip(x, axis=2), x)
        if self.brightness:
            shape = (ops.shape(x)[0], 1, 1, 1)
            factor = keras.random.uniform(
                shape, 1 - self.brightness, 1 + self.brightness,
                seed=self.seed_generator, dtype=x.dtype,
            )
            x = x * factor
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(flip=self.flip, rot90=self.rot90,
                      brightness=self.brightness, seed=self.seed)
        return config
