"""Keras layers of sklship's own."""

import keras
import tensorflow as tf

__all__ = ["DilatedPooling"]


class DilatedPooling(keras.layers.Layer):
    """Valid max or average pooling at stride 1 with taps ``dilation`` apart.

    The "a trous" form of a pooling layer: on a map whose neighbouring
    positions are ``dilation`` times closer than the pooling layer's input
    was, it computes the pooling of every position. The scan engine uses it
    to evaluate a down-sampling network at every window of a fine grid.

    Parameters
    ----------
    pool_size : tuple of int
        (rows, cols) of the pooling window, in taps.
    dilation : int
        Map positions between neighbouring taps.
    mode : {"max", "average"}
        The pooling.
    **kwargs
        Passed to :class:`keras.layers.Layer` (``name``, ...).
    """

    def __init__(self, pool_size, dilation, mode, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("max", "average"):
            raise ValueError(f"mode must be 'max' or 'average'; got {mode!r}.")
        self.pool_size = tuple(int(p) for p in pool_size)
        self.dilation = int(dilation)
        self.mode = mode

    def call(self, inputs):
        kind = {"max": "MAX", "average": "AVG"}[self.mode]
        return tf.nn.pool(inputs, self.pool_size, kind, padding="VALID",
                          dilations=(self.dilation, self.dilation))

    def compute_output_shape(self, input_shape):
        n, rows, cols, channels = input_shape
        span = [(p - 1) * self.dilation for p in self.pool_size]
        return (n, None if rows is None else rows - span[0],
                None if cols is None else cols - span[1], channels)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size,
                "dilation": self.dilation, "mode": self.mode}
