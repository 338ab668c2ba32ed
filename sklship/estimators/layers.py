"""sklship's own Keras layers, losses and optimizers, all in one place.

The registered ones (``register_keras_serializable(package="sklship")``) are
saved inside models by name, ``sklship>ClassName``, and come back with them:

- :class:`ChipAugmentation`: training-time flips, rotations, light, haze,
  contrast, blur, shifts and zoom;
- :class:`BackbonePreprocessing`: a ``keras.applications`` backbone's input
  scaling, resizing and ``preprocess_input``;
- :class:`ColumnSlice`: the wide or the deep columns of wide & deep inputs;
- :class:`LabelLocationLoss`: the multi-output model's loss;
- :class:`WideDeepOptimizer`: one optimizer for the wide part, one for the rest.

:class:`DilatedPooling` only lives in the scan engine's fully convolutional
copies of networks, which are never saved.
"""

import keras
import tensorflow as tf
from keras import ops

__all__ = ["PREPROCESS_MODULES", "BackbonePreprocessing", "ChipAugmentation",
           "ColumnSlice", "DilatedPooling", "LabelLocationLoss", "N_LOCATION",
           "WIDE_LAYER", "WideDeepOptimizer", "preprocess_function"]

#: The ``keras.applications`` module whose ``preprocess_input`` each backbone
#: expects.
PREPROCESS_MODULES = {"resnet50": "resnet50", "mobilenetv2": "mobilenet_v2",
                      "efficientnetb0": "efficientnet"}

#: Location columns of the multi-output model: longitude, latitude.
N_LOCATION = 2

#: Name of the wide part's only layer; :class:`WideDeepOptimizer` routes its
#: variables.
WIDE_LAYER = "wide_logits"


@keras.saving.register_keras_serializable(package="sklship")
class ChipAugmentation(keras.layers.Layer):
    """Random flips, 90-degree rotations, brightness, haze, contrast, blur, shifts and zoom.

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
    haze : float, default=0.0
        Add to each chip an offset of up to ``haze`` (in the network's
        rescaled input: 8-bit pixels / 255, or reflectance), each band's
        drawn from ``[0.5, 1]`` of the chip's: thin haze brightens dark
        water and lowers its contrast with a hull, and not equally in every
        band. Sentinel-2's hazy scenes have dark levels of 0.05 to 0.11 in
        reflectance.
    contrast : float, default=0.0
        Scale each chip's departures from its own mean (per band) by a factor
        drawn from ``[1 - contrast, 1 + contrast]``: another sensor, product
        or exposure stretches the same scene differently.
    blur : float, default=0.0
        Soften each chip towards its Gaussian blur of standard deviation
        ``blur`` pixels, by a share drawn from ``[0, 1]`` (edges reflected):
        sharpness differs between sensors, and a scene resampled from a
        coarser ground resolution is softer than the training chips.
    shift : float, default=0.0
        Move each chip's content by up to ``shift`` times its side along
        each axis (uniform, sub-pixel, bilinear; the border is filled by
        reflection). A scan sees a ship anywhere between window centres,
        up to half a stride off in each axis, and its neighbouring windows
        see it up to one and a half strides off: shifted training chips
        teach the network that a ship a few pixels off centre is still
        a ship, so the decision does not depend on where the grid falls.
        ``CNNShipClassifier(augmentation=("shift", ...))`` uses 0.075.
    scale : float, default=0.0
        Zoom each chip about its centre by a factor drawn from
        ``[1 - scale, 1 + scale]`` (with ``shift``, in the same resampling).
    seed : int or None, default=None
        Seed of the layer's random generator.
    **kwargs : dict
        Passed to :class:`keras.layers.Layer`.
    """

    # How "shift" and "scale" fill the pixels they bring in from outside.
    _FILL_MODE = "reflect"

    def __init__(self, flip=True, rot90=True, brightness=0.0, seed=None, shift=0.0,
                 scale=0.0, haze=0.0, contrast=0.0, blur=0.0, **kwargs):
        super().__init__(**kwargs)
        self.flip = flip
        self.rot90 = rot90
        self.brightness = brightness
        self.haze = haze
        self.contrast = contrast
        self.blur = blur
        self.shift = shift
        self.scale = scale
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _coin(self, inputs):
        shape = (ops.shape(inputs)[0], 1, 1, 1)
        return keras.random.uniform(shape, seed=self.seed_generator) < 0.5

    def call(self, inputs, training=None):
        if not training:
            return inputs
        x = inputs
        if self.flip or self.rot90:
            x = self._symmetry(x)
        if self.brightness:
            shape = (ops.shape(x)[0], 1, 1, 1)
            factor = keras.random.uniform(
                shape, 1 - self.brightness, 1 + self.brightness,
                seed=self.seed_generator, dtype=x.dtype,
            )
            x = x * factor
        if self.haze:
            x = x + self._haze(x)
        if self.contrast:
            x = self._contrast(x)
        if self.blur:
            x = self._blur(x)
        if self.shift or self.scale:
            x = self._shift_and_scale(x)
        return x

    def _haze(self, x):
        """Each chip's offset: up to ``haze``, each band 0.5 to 1 of it."""
        n, bands = ops.shape(x)[0], x.shape[3]
        depth = keras.random.uniform((n, 1, 1, 1), 0.0, self.haze,
                                     seed=self.seed_generator, dtype=x.dtype)
        tint = keras.random.uniform((n, 1, 1, bands), 0.5, 1.0,
                                    seed=self.seed_generator, dtype=x.dtype)
        return depth * tint

    def _contrast(self, x):
        """Each chip's departures from its band means scaled by ``1 +- contrast``."""
        factor = keras.random.uniform((ops.shape(x)[0], 1, 1, 1), 1 - self.contrast,
                                      1 + self.contrast, seed=self.seed_generator,
                                      dtype=x.dtype)
        mean = ops.mean(x, axis=(1, 2), keepdims=True)
        return mean + (x - mean) * factor

    def _blur(self, x):
        """Each chip moved towards its Gaussian blur (``blur`` pixels) by a share in [0, 1]."""
        radius = max(1, round(2 * self.blur))
        taps = ops.exp(-0.5 * (ops.arange(-radius, radius + 1, dtype="float32")
                               / self.blur) ** 2)
        taps = ops.cast(taps / ops.sum(taps), x.dtype)
        bands = x.shape[3]
        padded = ops.pad(x, [(0, 0), (radius, radius), (radius, radius), (0, 0)],
                         mode="reflect")
        rows = ops.tile(ops.reshape(taps, (-1, 1, 1, 1)), (1, 1, bands, 1))
        cols = ops.tile(ops.reshape(taps, (1, -1, 1, 1)), (1, 1, bands, 1))
        blurred = ops.depthwise_conv(ops.depthwise_conv(padded, rows), cols)
        share = keras.random.uniform((ops.shape(x)[0], 1, 1, 1), 0.0, 1.0,
                                     seed=self.seed_generator, dtype=x.dtype)
        return x + share * (blurred - x)

    def _symmetry(self, x):
        """Each chip transposed (``rot90``), then flipped along each axis, each 1 time in 2.

        One gather of every pixel from where the three steps take it, the
        same values as transposing and flipping the whole batch and choosing
        per chip (``where``), in about a fifth of the time.
        """
        n, height, width = ops.shape(x)[0], x.shape[1], x.shape[2]
        coins = [self._coin(x) for _ in range(3 if self.rot90 else 2)]
        transpose = ops.cast(coins.pop(0), "int32")[:, :, :, 0] if self.rot90 else 0
        flip_rows, flip_cols = (ops.cast(coin, "int32")[:, :, :, 0] for coin in coins)
        rows, cols = ops.arange(height)[None, :, None], ops.arange(width)[None, None, :]
        rows = rows + flip_rows * (height - 1 - 2 * rows)  # (n, height, 1)
        cols = cols + flip_cols * (width - 1 - 2 * cols)  # (n, 1, width)
        plain = rows * width + cols
        # Transposed (square chips): the pixel comes from (col, row).
        index = plain + transpose * (cols * width + rows - plain)
        index = ops.reshape(index, (n, height * width))
        flat = ops.reshape(x, (n, height * width, x.shape[3]))
        return ops.reshape(tf.gather(flat, index, batch_dims=1), ops.shape(x))

    def _shift_and_scale(self, x):
        """Translate by up to ``shift`` of the side and zoom by ``1 +- scale``."""
        n = ops.shape(x)[0]
        height, width = x.shape[1], x.shape[2]

        def draw(limit):
            return keras.random.uniform((n,), -limit, limit,
                                        seed=self.seed_generator, dtype="float32")

        # Output pixel (col, row) samples the input at
        # centre + (output - centre) / zoom - offset.
        inverse = 1.0 / (1.0 + draw(self.scale)) if self.scale else ops.ones((n,))
        d_col = draw(self.shift * width) if self.shift else ops.zeros((n,))
        d_row = draw(self.shift * height) if self.shift else ops.zeros((n,))
        c_col, c_row = (width - 1) / 2, (height - 1) / 2
        zeros = ops.zeros((n,))
        transform = ops.stack([
            inverse, zeros, c_col * (1 - inverse) - d_col,
            zeros, inverse, c_row * (1 - inverse) - d_row,
            zeros, zeros], axis=1)
        dtype = x.dtype
        moved = ops.image.affine_transform(
            ops.cast(x, "float32"), transform, interpolation="bilinear",
            fill_mode=self._FILL_MODE)
        return ops.cast(moved, dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(flip=self.flip, rot90=self.rot90,
                      brightness=self.brightness, seed=self.seed,
                      shift=self.shift, scale=self.scale, haze=self.haze,
                      contrast=self.contrast, blur=self.blur)
        return config


@keras.saving.register_keras_serializable(package="sklship")
class BackbonePreprocessing(keras.layers.Layer):
    """Scale to 0..255, resize, then the backbone's own ``preprocess_input``.

    ``keras.applications`` preprocessing expects RGB pixel values in 0..255:
    uint8 chips go in as they are (``scale=1``), float chips in [0, 1] are
    multiplied by 255 (``scale=255``).

    Parameters
    ----------
    backbone : str
        A key of :data:`PREPROCESS_MODULES`; selects ``preprocess_input``.
    scale : float, default=1.0
        Factor that brings the input to 0..255.
    size : int or None, default=None
        Side of the square images the backbone gets (bilinear resizing);
        None keeps the input size.
    """

    def __init__(self, backbone, scale=1.0, size=None, **kwargs):
        super().__init__(**kwargs)
        self.backbone = backbone
        self.scale = float(scale)
        self.size = None if size is None else int(size)

    def call(self, inputs):
        x = keras.ops.cast(inputs, self.compute_dtype)
        if self.scale != 1.0:
            x = x * self.scale
        if self.size is not None:
            x = keras.ops.image.resize(x, (self.size, self.size),
                                       interpolation="bilinear")
        return preprocess_function(self.backbone)(x)

    def compute_output_shape(self, input_shape):
        if self.size is None:
            return tuple(input_shape)
        return (input_shape[0], self.size, self.size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "backbone": self.backbone,
                "scale": self.scale, "size": self.size}


def preprocess_function(backbone):
    """``keras.applications.<module>.preprocess_input`` of ``backbone``."""
    return getattr(keras.applications, PREPROCESS_MODULES[backbone]).preprocess_input


@keras.saving.register_keras_serializable(package="sklship")
class ColumnSlice(keras.layers.Layer):
    """Columns ``start:stop`` of 2-D inputs, cast to the layer's float dtype.

    Parameters
    ----------
    start, stop : int
        First column and one past the last column.
    **kwargs : dict
        Keras layer arguments (``name``, ``dtype``).
    """

    def __init__(self, start, stop, **kwargs):
        super().__init__(**kwargs)
        self.start = start
        self.stop = stop

    def call(self, inputs):
        return keras.ops.cast(inputs[:, self.start:self.stop], self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.stop - self.start)

    def get_config(self):
        return {**super().get_config(), "start": self.start, "stop": self.stop}


@keras.saving.register_keras_serializable(package="sklship")
class LabelLocationLoss(keras.losses.Loss):
    """Label loss plus ``location_weight`` times the location's squared error.

    ``y_true`` holds the encoded label in its first column and the
    standardised location in the last two; ``y_pred`` the label
    probabilities (``n_label_units`` columns) and then the location.

    Parameters
    ----------
    n_label_units : int
        1 for a sigmoid (binary) label head, else the number of classes.
    location_weight : float, default=1.0
        Weight of the location's mean squared error.
    **kwargs : dict
        Keras loss arguments (``name``, ``reduction``).
    """

    def __init__(self, n_label_units, location_weight=1.0, name="label_location",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.n_label_units = n_label_units
        self.location_weight = location_weight

    def call(self, y_true, y_pred):
        label_true = y_true[:, :1]
        label_pred = y_pred[:, :self.n_label_units]
        if self.n_label_units == 1:
            label_loss = keras.losses.binary_crossentropy(label_true, label_pred)
        else:
            label_loss = keras.losses.sparse_categorical_crossentropy(
                label_true, label_pred)
        location_error = y_true[:, -N_LOCATION:] - y_pred[:, -N_LOCATION:]
        location_loss = keras.ops.mean(keras.ops.square(location_error), axis=-1)
        return label_loss + self.location_weight * location_loss

    def get_config(self):
        return {**super().get_config(), "n_label_units": self.n_label_units,
                "location_weight": self.location_weight}


@keras.saving.register_keras_serializable(package="sklship")
class WideDeepOptimizer(keras.optimizers.Optimizer):
    """Two optimizers in one: one for the wide layer, one for everything else.

    The variables of the layer named ``wide_layer`` are updated by
    ``wide_optimizer`` and all other trainable variables by
    ``deep_optimizer``, each with its own learning rate and state. Both
    states are saved and restored with the model (``model.save``, pickle).
    This optimizer's own ``learning_rate`` (and clipping or EMA options)
    are not used; set them on the two optimizers.

    Parameters
    ----------
    wide_optimizer : keras.optimizers.Optimizer
        Optimizer of the wide layer's variables.
    deep_optimizer : keras.optimizers.Optimizer
        Optimizer of all other variables.
    wide_layer : str, default="wide_logits"
        Name of the wide layer.
    name : str, default="wide_deep_optimizer"
        Name of the optimizer.
    """

    def __init__(self, wide_optimizer, deep_optimizer, wide_layer=WIDE_LAYER,
                 name="wide_deep_optimizer"):
        super().__init__(learning_rate=0.0, name=name)
        self.wide_optimizer = wide_optimizer
        self.deep_optimizer = deep_optimizer
        self.wide_layer = wide_layer

    def _is_wide(self, variable):
        return variable.path.split("/")[0] == self.wide_layer

    def build(self, variables):
        super().build(variables)
        self.wide_optimizer.build([v for v in variables if self._is_wide(v)])
        self.deep_optimizer.build([v for v in variables if not self._is_wide(v)])

    def apply(self, grads, trainable_variables=None):
        if trainable_variables is None:
            trainable_variables = self._trainable_variables
        elif not self.built:
            self.build(list(trainable_variables))
        parts = {True: ([], []), False: ([], [])}
        for grad, variable in zip(grads, trainable_variables, strict=True):
            part_grads, part_variables = parts[self._is_wide(variable)]
            part_grads.append(grad)
            part_variables.append(variable)
        for optimizer, (part_grads, part_variables) in (
            (self.wide_optimizer, parts[True]), (self.deep_optimizer, parts[False])
        ):
            if part_variables:
                optimizer.apply(part_grads, part_variables)
        self._iterations.assign_add(1)

    def get_config(self):
        return {
            "name": self.name,
            "wide_layer": self.wide_layer,
            "wide_optimizer": keras.optimizers.serialize(self.wide_optimizer),
            "deep_optimizer": keras.optimizers.serialize(self.deep_optimizer),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("wide_optimizer", "deep_optimizer"):
            config[key] = keras.optimizers.deserialize(
                config[key], custom_objects=custom_objects
            )
        return cls(**config)


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
