"""A fitted chip network as a fully convolutional network over whole tiles.

The windows of a scan overlap and share most of their convolution work. The
network's convolutional part is run once over a tile, and its head is turned
into convolutions evaluated at every window position: the first Dense after
Flatten becomes a Conv2D with the Dense kernel reshaped to the window's
feature map, later Dense layers become 1x1 convolutions, global pooling
becomes pooling over the window's feature map. A network that down-samples
by ``f`` (strided convolutions, pooling) natively yields windows ``f`` pixels
apart; for a ``stride`` that is not a multiple of ``f``, the down-sampling
layers from the first one whose stride would skip wanted windows run at
stride 1 and the kernels after them are dilated (the "a trous" form,
Holschneider et al. 1989; Long, Shelhamer & Darrell 2015), which costs only
the layers after that point. This is exact (the same numbers as
``predict_proba`` on each window, up to float32 rounding) at every stride,
for valid convolutions, strided convolutions, pooling, batch normalisation,
rescaling, activations, global pooling and dense layers; dropout and
augmentation layers are identity at inference.

Layers are recognised by their Keras class (exactly, so that a subclass with
other behaviour is refused rather than converted wrongly).
"""

import keras
import numpy as np

from ..estimators.layers import ChipAugmentation, DilatedPooling

__all__ = ["fully_convolutional"]

# Layers applied per position: run over the whole tile unchanged.
_ELEMENTWISE = (keras.layers.Rescaling, keras.layers.Activation, keras.layers.ReLU,
                keras.layers.LeakyReLU, keras.layers.ELU, keras.layers.PReLU,
                keras.layers.Softmax, keras.layers.BatchNormalization)
# Identity at inference.
_INFERENCE_IDENTITY = (keras.layers.Dropout, keras.layers.SpatialDropout1D,
                       keras.layers.SpatialDropout2D, keras.layers.GaussianNoise,
                       keras.layers.GaussianDropout, keras.layers.AlphaDropout,
                       keras.layers.InputLayer, ChipAugmentation)
_GLOBAL_POOLING = (keras.layers.GlobalAveragePooling2D, keras.layers.GlobalMaxPooling2D)
_POOLING = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)


def _is(layer, classes):
    """Whether ``layer`` is exactly one of ``classes`` (augmentation: any subclass)."""
    return type(layer) in classes or (ChipAugmentation in classes
                                      and isinstance(layer, ChipAugmentation))


def _chain(model):
    """The model's layers if they form a single chain input -> output, else None."""
    layers = model.layers
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        return None
    previous = model.inputs[0]
    for layer in layers[1:]:
        try:
            if layer.input is not previous:
                return None
        except (AttributeError, ValueError):
            return None
        previous = layer.output
    return layers if previous is model.outputs[0] else None


def _copy_layer(layer):
    """A fresh layer with the same configuration and weights."""
    copy = type(layer).from_config(layer.get_config())
    copy.build(layer.input.shape)
    copy.set_weights(layer.get_weights())
    return copy


def fully_convolutional(model, window, stride):
    """Convert ``model`` to Input(None, None, c) -> grid of ship probabilities.

    Returns (fcn, None) or (None, reason) when the conversion is not exact.

    The grid must hold the network's output for windows ``stride`` pixels
    apart. Layers that down-sample (strided convolutions, pooling) keep
    their stride while the map's spacing still divides ``stride``; from the
    first one that would skip wanted windows, they run at stride 1 and every
    later kernel (and pooling window) is dilated by the strides removed, the
    "a trous" form of the network: the map then holds the network's
    features for every window whose corner is a multiple of the spacing,
    and the head keeps every ``stride // spacing``-th.
    """
    layers = _chain(model)
    if layers is None:
        return None, "its Keras model is not a single chain of layers."
    input_shape = tuple(model.inputs[0].shape[1:])
    if len(input_shape) != 3 or input_shape[:2] != (window, window):
        return None, f"its model input {input_shape} is not a {window}x{window} image."
    inputs = keras.Input(shape=(None, None, input_shape[2]),
                         dtype=model.inputs[0].dtype)
    x = inputs
    spacing = 1  # scene pixels between neighbouring positions of the map
    dilation = 1  # map positions between neighbouring inputs of the next kernel
    head = False  # after Flatten / global pooling: per-window vectors
    converted = set()  # the Dense layer merged into Flatten's convolution
    for layer in layers[1:]:
        kind = type(layer).__name__
        if _is(layer, _INFERENCE_IDENTITY) or id(layer) in converted:
            continue
        if _is(layer, _ELEMENTWISE):
            axis = getattr(layer, "axis", -1)
            if (_is(layer, (keras.layers.BatchNormalization, keras.layers.Softmax))
                    and axis not in (-1, 3, [-1], [3])):
                return None, f"layer {layer.name} ({kind}) does not act on channels."
            x = _copy_layer(layer)(x)
            continue
        if head:
            if not _is(layer, (keras.layers.Dense,)):
                return None, f"layer {layer.name} ({kind}) after the feature vector."
            kernel, *bias = layer.get_weights()
            x = _conv_from_dense(layer, kernel.reshape(1, 1, *kernel.shape), bias)(x)
            continue
        if _is(layer, (keras.layers.Flatten,) + _GLOBAL_POOLING):
            x, reason = _window_head(layers, layer, x, stride // spacing, dilation,
                                     converted)
            if reason:
                return None, reason
            head = True
            continue
        if not _is(layer, (keras.layers.Conv2D,) + _POOLING):
            return None, f"layer {layer.name} ({kind}) has no exact convolutional form."
        cfg = layer.get_config()
        if cfg.get("data_format", "channels_last") != "channels_last":
            return None, f"layer {layer.name} is not channels_last."
        if _is(layer, (keras.layers.Conv2D,)):
            if cfg["padding"] != "valid" and tuple(cfg["kernel_size"]) != (1, 1):
                return None, (f"layer {layer.name} uses '{cfg['padding']}' padding, "
                              "which differs at window borders.")
            step = tuple(cfg["strides"])
        else:
            if cfg["padding"] != "valid":
                return None, f"layer {layer.name} uses '{cfg['padding']}' padding."
            step = tuple(cfg["strides"] or cfg["pool_size"])
        if step[0] != step[1]:
            return None, f"layer {layer.name} has unequal strides {step}."
        if dilation == 1 and stride % (spacing * step[0]) == 0:
            spacing *= step[0]  # every position of the strided map is wanted
            x = _copy_layer(layer)(x)
        else:
            x = _dilated(layer, dilation)(x)
            dilation *= step[0]
    if not head:
        return None, "the network has no Flatten or global pooling layer."
    return keras.Model(inputs, x, name=f"{model.name}_scan"), None


def _dilated(layer, dilation):
    """``layer`` (Conv2D or 2-D pooling) at stride 1 with its taps ``dilation`` apart."""
    cfg = layer.get_config()
    if not _is(layer, (keras.layers.Conv2D,)):
        return DilatedPooling(cfg["pool_size"], dilation,
                              "max" if isinstance(layer, keras.layers.MaxPooling2D)
                              else "average", name=f"{layer.name}_a_trous")
    rate = np.multiply(cfg["dilation_rate"], dilation)
    cfg.update(strides=(1, 1), dilation_rate=tuple(int(r) for r in rate),
               name=f"{layer.name}_a_trous")
    copy = keras.layers.Conv2D.from_config(cfg)
    copy.build((None, None, None, layer.input.shape[-1]))
    copy.set_weights(layer.get_weights())
    return copy


def _window_head(layers, layer, x, step, dilation, converted):
    """Turn Flatten + Dense, or global pooling, into a per-window operation.

    The operation covers the window's feature map (taps ``dilation`` apart)
    and is evaluated every ``step`` map positions. Returns (output, None) or
    (None, reason).
    """
    feature_shape = tuple(layer.input.shape[1:])
    if len(feature_shape) != 3:
        return None, f"layer {layer.name} gets a {len(feature_shape)}-D input."
    # Keras convolutions and pooling cannot both stride and dilate: with
    # dilated taps the operation runs at every position and the wanted ones
    # are sliced out afterwards.
    strides, keep = (step, 1) if dilation == 1 else (1, step)
    if _is(layer, (keras.layers.Flatten,)):
        dense = _next_dense(layers, layer)
        if dense is None:
            return None, f"layer {layer.name} (Flatten) is not followed by Dense."
        kernel, *bias = dense.get_weights()
        kernel = kernel.reshape(*feature_shape, kernel.shape[-1])
        x = _conv_from_dense(dense, kernel, bias, strides, dilation)(x)
        converted.add(id(dense))
    else:
        if layer.get_config().get("keepdims"):
            return None, f"layer {layer.name} keeps dimensions."
        mode = "max" if _is(layer, (keras.layers.GlobalMaxPooling2D,)) else "average"
        if dilation == 1:
            pool = (keras.layers.MaxPooling2D if mode == "max"
                    else keras.layers.AveragePooling2D)
            x = pool(feature_shape[:2], strides=strides,
                     name=f"{layer.name}_as_pooling")(x)
        else:
            x = DilatedPooling(feature_shape[:2], dilation, mode,
                               name=f"{layer.name}_as_pooling")(x)
    if keep > 1:
        x = x[:, ::keep, ::keep, :]
    return x, None


def _next_dense(layers, flatten):
    """The first weight layer after ``flatten`` if it is a Dense, else None."""
    after = layers[layers.index(flatten) + 1:]
    for layer in after:
        if _is(layer, _INFERENCE_IDENTITY):
            continue
        return layer if _is(layer, (keras.layers.Dense,)) else None
    return None


def _conv_from_dense(dense, kernel, bias, strides=1, dilation=1):
    """A Conv2D computing ``dense`` at every position of a feature map."""
    # Named after the Dense it replaces: an automatic name can repeat one of
    # the copied layers' names when the model was loaded from a file.
    conv = keras.layers.Conv2D(
        kernel.shape[-1], kernel.shape[:2], strides=strides, dilation_rate=dilation,
        activation=dense.activation, use_bias=bool(bias),
        dtype=dense.dtype_policy, name=f"{dense.name}_as_conv",
    )
    conv.build((None, None, None, kernel.shape[2]))
    conv.set_weights([kernel, *bias])
    return conv
