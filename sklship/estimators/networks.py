"""The networks of sklship's estimators, as functions (as ``keras.applications``).

Each public builder maps an input tensor to a feature tensor; the estimators
add the input, rescaling, output layer, loss and optimizer, and call these
with their parameters. ``seeds`` (a :class:`sklship.estimators.base.LayerSeeds`) gives
every layer that draws random numbers its own seed.

- :func:`dense_body`: fully connected layers (``DenseShipClassifier``, the
  deep part of wide & deep on rows);
- :func:`cnn_body`: convolutional blocks, then :func:`dense_head`
  (``CNNShipClassifier``, the multi-output model, wide & deep on images);
- :func:`dense_head`: hidden dense layers with dropout on a feature vector;
- :func:`backbone_body`: a ``keras.applications`` backbone with its own
  preprocessing, then :func:`dense_head` (``PretrainedShipClassifier``);
- :func:`wide_deep_network`: a linear part and a deep part, logits summed
  (``WideDeepClassifier`` and ``WideDeepRegressor``);
- :func:`label_location_output`: the multi-output model's two heads.
"""

import keras

from .inputs import check_units
from .layers import (
    N_LOCATION,
    WIDE_LAYER,
    BackbonePreprocessing,
    ChipAugmentation,
    ColumnSlice,
)

__all__ = ["AUGMENTATIONS", "backbone_body", "cnn_body", "dense_body", "dense_head",
           "label_location_output", "wide_deep_network"]

#: Names of the training-time augmentations :func:`cnn_body` takes.
AUGMENTATIONS = ("flip", "rot90", "brightness", "shift", "scale", "haze", "contrast",
                 "blur")

# Largest relative brightness change of the "brightness" augmentation.
_BRIGHTNESS_DELTA = 0.1
# Largest translation of the "shift" augmentation, as a fraction of the chip
# side: 0.075 is 6 pixels on 80-pixel chips, 3/4 of the default scan stride
# (``window / 8``). On the real ShipsNet chips (folds 1 and 3 of the group
# CV) 0.1 added 9 false positives on fold 1 (ShipsNet labels ships cut by the
# chip border no-ship) and 0.05 left ships firing on too few windows for
# scan_scene's 3x3 mean (12 of 14 real ships found).
_SHIFT_FRACTION = 0.075
# Largest relative zoom of the "scale" augmentation.
_SCALE_DELTA = 0.1
# Largest offset of the "haze" augmentation, in rescaled input units: the
# dark levels of the hazy Sentinel-2 ports (0.05 to 0.11 in reflectance).
_HAZE_OFFSET = 0.1
# Largest relative change of the "contrast" augmentation.
_CONTRAST_DELTA = 0.3
# Standard deviation, in pixels, of the strongest "blur" augmentation.
_BLUR_SIGMA = 1.0


def dense_body(x, seeds, *, hidden_units=(256, 128, 64, 32), activation="relu",
               dropout=None, batch_norm=False):
    """Fully connected hidden layers on the (flattened) input tensor.

    Parameters
    ----------
    x : KerasTensor
        Input features; images are flattened first.
    seeds : LayerSeeds
        Seeds of the kernels and dropout layers.
    hidden_units : sequence of int, default=(256, 128, 64, 32)
        Units of each hidden layer, input side first.
    activation : str or callable, default="relu"
        Activation of the hidden layers (a Keras activation name).
    dropout : float in [0, 1) or None, default=None
        Dropout rate after each hidden layer while training.
    batch_norm : bool, default=False
        Batch normalisation after each hidden layer, before its activation.

    Returns
    -------
    x : KerasTensor
        The last hidden layer's output (the input, flattened, without any).
    """
    hidden_units = check_units("hidden_units", hidden_units)
    if len(x.shape) > 2:
        x = keras.layers.Flatten()(x)
    for units in hidden_units:
        x = keras.layers.Dense(units, use_bias=not batch_norm,
                               kernel_initializer=seeds.kernel())(x)
        if batch_norm:
            x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation(activation)(x)
        if dropout:
            x = keras.layers.Dropout(dropout, seed=seeds())(x)
    return x


def cnn_body(x, seeds, *, filters=(8, 4), kernel_size=3, first_stride=1,
             activation="relu", pooling=None, batch_norm=False, global_pool=False,
             dense_units=(), dropout=None, augmentation=None):
    """Convolutional layers, then optional hidden dense layers, on image tensors.

    The parameters mean what :class:`~sklship.CNNShipClassifier`'s do; kernels and
    pooling windows are clipped to the size of what they are applied to.

    Parameters
    ----------
    x : KerasTensor of shape (batch, height, width, channels)
        Rescaled images.
    seeds : LayerSeeds
        Seeds of the augmentation, kernels and dropout layers.
    filters : sequence of int, default=(8, 4)
        Filters of each convolutional layer.
    kernel_size : int, default=3
        Side of the square convolution kernels.
    first_stride : int, default=1
        Stride of the first convolution.
    activation : str or callable, default="relu"
        Activation of convolutional and hidden dense layers.
    pooling : {"max", "avg"} or None, default=None
        2x2 pooling after each convolutional layer.
    batch_norm : bool, default=False
        Batch normalisation after each convolution, before its activation.
    global_pool : bool, default=False
        Global average pooling instead of flattening the last feature maps.
    dense_units : sequence of int, default=()
        Hidden dense layers after the convolutional part.
    dropout : float in [0, 1) or None, default=None
        Dropout before each dense layer (hidden, and the output that follows).
    augmentation : sequence of {"flip", "rot90", "brightness", "shift", \
            "scale", "haze", "contrast", "blur"} or None, default=None
        Random changes applied to training images.

    Returns
    -------
    x : KerasTensor of shape (batch, n_features)
        Features for the output layer.
    """
    filters = check_units("filters", filters)
    dense_units = check_units("dense_units", dense_units)
    if augmentation:
        x = _augmentation_layer(augmentation, x, seeds())(x)
    for i, n_filters in enumerate(filters):
        kernel = tuple(min(kernel_size, d) for d in x.shape[1:3])
        strides = first_stride if i == 0 else 1
        x = keras.layers.Conv2D(n_filters, kernel, strides=strides, use_bias=not batch_norm,
                                kernel_initializer=seeds.kernel())(x)
        if batch_norm:
            x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation(activation)(x)
        if pooling is not None:
            window = tuple(min(2, d) for d in x.shape[1:3])
            pool = (keras.layers.MaxPooling2D if pooling == "max"
                    else keras.layers.AveragePooling2D)
            x = pool(window)(x)
    if global_pool:
        x = keras.layers.GlobalAveragePooling2D()(x)
    else:
        x = keras.layers.Flatten()(x)
    return dense_head(x, seeds, dense_units=dense_units, activation=activation,
                      dropout=dropout)


def dense_head(x, seeds, *, dense_units=(), activation="relu", dropout=None):
    """Hidden dense layers on a feature vector, each after dropout, then dropout.

    The block between a feature extractor (convolutions, a pretrained
    backbone) and the output layer.

    Parameters
    ----------
    x : KerasTensor of shape (batch, n_features)
        Features.
    seeds : LayerSeeds
        Seeds of the kernels and dropout layers.
    dense_units : sequence of int, default=()
        Units of each hidden dense layer.
    activation : str or callable, default="relu"
        Activation of the hidden layers.
    dropout : float in [0, 1) or None, default=None
        Dropout before each hidden layer and before the output that follows.

    Returns
    -------
    x : KerasTensor of shape (batch, n_units)
        Features for the output layer.
    """
    for units in check_units("dense_units", dense_units):
        if dropout:
            x = keras.layers.Dropout(dropout, seed=seeds())(x)
        x = keras.layers.Dense(units, activation=activation,
                               kernel_initializer=seeds.kernel())(x)
    if dropout:
        x = keras.layers.Dropout(dropout, seed=seeds())(x)
    return x


def backbone_body(x, seeds, backbone_model, *, backbone, scale=1.0, size=None,
                  dense_units=(), activation="relu", dropout=None, augmentation=None,
                  preprocess_name="preprocess"):
    """A frozen ``keras.applications`` backbone with its preprocessing, then a head.

    Parameters
    ----------
    x : KerasTensor of shape (batch, height, width, 3)
        Images (not rescaled).
    seeds : LayerSeeds
        Seeds of the head's kernels and dropout layers.
    backbone_model : keras.Model
        The backbone (``include_top=False, pooling="avg"``) with its weights;
        it is frozen here.
    backbone : str
        Its name, selecting ``preprocess_input`` (:class:`BackbonePreprocessing`).
    scale : float, default=1.0
        Factor that brings the images to 0..255 (255 for floats in [0, 1]).
    size : int or None, default=None
        Side the images are resized to; None keeps theirs.
    dense_units, activation, dropout
        The head, as in :func:`dense_head`.
    augmentation : sequence of str or None, default=None
        Training-time augmentation of the images, as in :func:`cnn_body`
        (active while fine-tuning; the frozen features are computed without it).
    preprocess_name : str, default="preprocess"
        Name of the preprocessing layer.

    Returns
    -------
    x : KerasTensor of shape (batch, n_features)
        Features for the output layer.
    """
    if augmentation:
        # Augmentation draws float factors: the pixels as floats, unchanged.
        x = keras.layers.Rescaling(1.0, name="as_float")(x)
        x = _augmentation_layer(augmentation, x, seeds())(x)
    x = BackbonePreprocessing(backbone, scale=scale, size=size, name=preprocess_name)(x)
    backbone_model.trainable = False
    # Inference mode always (Keras' transfer-learning recipe): batch
    # normalisation keeps its ImageNet statistics, also when fine-tuning.
    x = backbone_model(x, training=False)
    return dense_head(x, seeds, dense_units=dense_units, activation=activation,
                      dropout=dropout)


def wide_deep_network(n_wide, n_deep, seeds, *, units, activation, dtype="float32",
                      deep_scale=1.0, deep_body=None, name="wide_deep"):
    """Wide logits plus deep logits on rows of ``n_wide + n_deep`` columns.

    Parameters
    ----------
    n_wide, n_deep : int
        Columns of the linear (wide) part, first, and of the deep part.
    seeds : LayerSeeds
        Seeds of the kernels (and of the deep body's layers).
    units : int
        Output units (1 for a sigmoid or a single regression target).
    activation : str or None
        Output activation; None for a linear output.
    dtype : str, default="float32"
        Input dtype ("uint8" keeps uint8 pixels uint8 until scaled).
    deep_scale : float, default=1.0
        Factor applied to the deep columns first (1/255 for uint8 pixels).
    deep_body : callable or None, default=None
        ``deep_body(x, seeds)`` -> features of the deep columns, e.g. a
        :func:`dense_body` or a reshape and :func:`cnn_body`; None is
        :func:`dense_body` with its defaults.
    name : str, default="wide_deep"
        Name of the model.

    Returns
    -------
    model : keras.Model
        Uncompiled. The wide part's only layer is named
        :data:`~sklship.estimators.layers.WIDE_LAYER`, for
        :class:`~sklship.estimators.layers.WideDeepOptimizer`.
    """
    deep_body = deep_body or dense_body
    inputs = keras.Input(shape=(n_wide + n_deep,), dtype=dtype, name="features")
    logits = []
    if n_wide:
        wide = ColumnSlice(0, n_wide, name="wide_columns")(inputs)
        logits.append(keras.layers.Dense(units, name=WIDE_LAYER,
                                         kernel_initializer=seeds.kernel())(wide))
    if n_deep:
        deep = ColumnSlice(n_wide, n_wide + n_deep, name="deep_columns")(inputs)
        if deep_scale != 1.0:
            deep = keras.layers.Rescaling(deep_scale, name="rescale")(deep)
        deep = deep_body(deep, seeds)
        logits.append(keras.layers.Dense(units, name="deep_logits",
                                         kernel_initializer=seeds.kernel())(deep))
    x = logits[0] if len(logits) == 1 else keras.layers.Add(name="logits")(logits)
    outputs = keras.layers.Activation(activation or "linear", name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def label_location_output(x, seeds, *, units, activation):
    """The label head and the location head side by side: (batch, units + 2).

    Parameters
    ----------
    x : KerasTensor of shape (batch, n_features)
        Features.
    seeds : LayerSeeds
        Seeds of the two heads' kernels.
    units : int
        Label units (1 for a sigmoid, else the number of classes).
    activation : str
        Label activation ("sigmoid" or "softmax").

    Returns
    -------
    output : KerasTensor of shape (batch, units + N_LOCATION)
        Label probabilities, then longitude and latitude (standardised).
    """
    outputs = [
        keras.layers.Dense(units, activation=activation, name="label",
                           kernel_initializer=seeds.kernel())(x),
        keras.layers.Dense(N_LOCATION, name="location",
                           kernel_initializer=seeds.kernel())(x),
    ]
    return keras.layers.Concatenate(name="output")(outputs)


def _augmentation_layer(augmentation, x, seed):
    names = set(augmentation)
    unknown = names - set(AUGMENTATIONS)
    if unknown:
        raise ValueError(
            f"augmentation must name some of {AUGMENTATIONS}; got unknown "
            f"{sorted(unknown)}."
        )
    if "rot90" in names and x.shape[1] != x.shape[2]:
        raise ValueError(
            "augmentation 'rot90' needs square images; got images of "
            f"{x.shape[1]}x{x.shape[2]} pixels."
        )
    return ChipAugmentation(
        flip="flip" in names, rot90="rot90" in names,
        brightness=_BRIGHTNESS_DELTA if "brightness" in names else 0.0, seed=seed,
        shift=_SHIFT_FRACTION if "shift" in names else 0.0,
        scale=_SCALE_DELTA if "scale" in names else 0.0,
        haze=_HAZE_OFFSET if "haze" in names else 0.0,
        contrast=_CONTRAST_DELTA if "contrast" in names else 0.0,
        blur=_BLUR_SIGMA if "blur" in names else 0.0,
    )
