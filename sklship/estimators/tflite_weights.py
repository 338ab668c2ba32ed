"""Weights of a TensorFlow Lite file loaded into the matching Keras network.

Some pretrained networks exist offline only as TensorFlow Lite files, such as
Google's quantized ImageNet MobileNetV2. Such a file holds, for every
convolution, a kernel and a bias with batch normalisation folded in, often
quantized to 8 bits. :func:`load_tflite_weights` reads them with the TFLite
interpreter that ships with TensorFlow, dequantizes them, and writes them into
a Keras network of the same architecture (``keras.applications.MobileNetV2``):
the kernels into its convolutions, the folded biases into the batch
normalisation that follows each one, which is set to add them and nothing
else.
"""

import os
import warnings

import numpy as np

__all__ = ["is_tflite_file", "load_tflite_weights", "read_tflite_convolutions"]

# TFLite operators with a kernel and a bias, and how each kernel is stored:
# CONV_2D as (out, height, width, in), DEPTHWISE_CONV_2D as
# (1, height, width, in * multiplier).
_CONV, _DEPTHWISE = "CONV_2D", "DEPTHWISE_CONV_2D"

# A TFLite file is a FlatBuffer with this identifier at bytes 4 to 8.
_IDENTIFIER = b"TFL3"


def is_tflite_file(path):
    """Whether ``path`` is a TensorFlow Lite file (by its FlatBuffer identifier).

    Parameters
    ----------
    path : str or os.PathLike
        An existing file.

    Returns
    -------
    is_tflite : bool
        True when bytes 4 to 8 of the file are ``b"TFL3"``, whatever the
        file's name.
    """
    with open(path, "rb") as file:
        return file.read(8)[4:] == _IDENTIFIER


def _interpreter(path):
    """A TFLite interpreter of the file, without delegates, tensors allocated."""
    import tensorflow as tf

    with warnings.catch_warnings():
        # TensorFlow announces that tf.lite.Interpreter moves to the separate
        # ai_edge_litert package; reading constant tensors needs nothing more.
        warnings.simplefilter("ignore", UserWarning)
        try:
            # The built-in kernels only: a delegate (XNNPACK) may take over
            # the convolutions and their constant tensors.
            interpreter = tf.lite.Interpreter(
                model_path=os.fspath(path),
                experimental_op_resolver_type=(
                    tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES),
            )
            interpreter.allocate_tensors()
        except (RuntimeError, ValueError) as exc:
            raise ValueError(
                f"weights file {os.fspath(path)!r} is not a readable TensorFlow Lite "
                f"file: {exc}"
            ) from exc
    return interpreter


def _dequantized(interpreter, detail):
    """Real values of a constant tensor: (q - zero_point) * scale, per channel if so stored."""
    values = interpreter.get_tensor(detail["index"])
    quantization = detail["quantization_parameters"]
    scales = quantization["scales"]
    if scales.size == 0:  # a float tensor
        return values.astype(np.float32)
    shape = [1] * values.ndim
    if scales.size > 1:
        shape[quantization["quantized_dimension"]] = scales.size
    zero_points = quantization["zero_points"].reshape(shape)
    real = (values.astype(np.float64) - zero_points) * scales.reshape(shape)
    return real.astype(np.float32)


def read_tflite_convolutions(path):
    """Kernels and biases of the convolutions of a TFLite file, in execution order.

    Parameters
    ----------
    path : str or os.PathLike
        A TensorFlow Lite file.

    Returns
    -------
    convolutions : list of (str, ndarray, ndarray)
        For each 2-D convolution of the file, in the order the interpreter
        runs them: ``"conv"`` or ``"depthwise"``, the kernel in Keras' layout
        (``(height, width, in, out)`` for a convolution,
        ``(height, width, in, multiplier)`` for a depthwise one) and the
        bias of shape ``(out,)``, both float32 and dequantized.

    Raises
    ------
    ValueError
        If the file cannot be read as a TensorFlow Lite model.
    """
    interpreter = _interpreter(path)
    details = {detail["index"]: detail for detail in interpreter.get_tensor_details()}
    convolutions = []
    # The operator list (which tensors each operator reads) is only exposed
    # as the interpreter's _get_ops_details(); tensor details alone do not
    # say which bias belongs to which kernel.
    for op in interpreter._get_ops_details():
        if op["op_name"] not in (_CONV, _DEPTHWISE):
            continue
        input_index, kernel_index, bias_index = op["inputs"][:3]
        kernel = _dequantized(interpreter, details[kernel_index])
        n_outputs = kernel.shape[0 if op["op_name"] == _CONV else 3]
        bias = (np.zeros(n_outputs, np.float32) if bias_index < 0  # no bias
                else _dequantized(interpreter, details[bias_index]))
        if op["op_name"] == _CONV:
            convolutions.append(("conv", kernel.transpose(1, 2, 3, 0), bias))
        else:
            _, height, width, _ = kernel.shape
            n_inputs = details[input_index]["shape"][-1]
            convolutions.append(("depthwise",
                                 kernel.reshape(height, width, n_inputs, -1), bias))
    return convolutions


def load_tflite_weights(model, path):
    """Write the convolutions of a TFLite file into a Keras network, in order.

    The file's convolutions are matched, in order, with the model's
    ``Conv2D`` and ``DepthwiseConv2D`` layers; each must have the same kind
    and kernel shape. The file may have one convolution more at the end, a
    classification top (MobileNetV2's logits are a 1x1 convolution), which is
    not used. Each Keras convolution has no bias and is followed by batch
    normalisation: that layer is set to add the file's folded bias and
    nothing else (gamma 1, beta the bias, moving mean 0, moving variance
    ``1 - epsilon``, so that ``sqrt(variance + epsilon)`` is 1).

    Parameters
    ----------
    model : keras.Model
        A network of the file's architecture whose convolutions have no bias
        and are each followed by a ``BatchNormalization`` layer, such as
        ``keras.applications.MobileNetV2(include_top=False, weights=None)``.
        Changed in place.
    path : str or os.PathLike
        The TensorFlow Lite file.

    Returns
    -------
    model : keras.Model
        The same model, with the file's weights.

    Raises
    ------
    ValueError
        If the file is not a readable TFLite file, or its convolutions do not
        match the model's in number, kind or shape; the message names the
        file and the first difference.
    """
    import keras

    path = os.fspath(path)
    layers = model.layers
    targets = [index for index, layer in enumerate(layers)
               if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D))]
    convolutions = read_tflite_convolutions(path)
    if len(convolutions) not in (len(targets), len(targets) + 1):
        raise ValueError(
            f"weights file {path!r} has {len(convolutions)} convolutions; "
            f"{model.name!r} has {len(targets)} ({len(targets) + 1} with a "
            "classification top). Is it the TFLite file of another architecture?"
        )
    pairs = zip(targets, convolutions[:len(targets)], strict=True)  # no logits layer
    for number, (index, (kind, kernel, bias)) in enumerate(pairs):
        layer, norm = layers[index], layers[index + 1]
        expected = "depthwise" if isinstance(layer, keras.layers.DepthwiseConv2D) else "conv"
        shape = tuple(layer.kernel.shape)
        if kind != expected or kernel.shape != shape:
            raise ValueError(
                f"weights file {path!r}: convolution {number} ({kind}, kernel "
                f"{kernel.shape}) does not fit layer {layer.name!r} of {model.name!r} "
                f"({expected}, kernel {shape}). Is it the TFLite file of another "
                "architecture?"
            )
        if layer.use_bias or not isinstance(norm, keras.layers.BatchNormalization):
            raise ValueError(
                f"layer {layer.name!r} of {model.name!r} must have no bias and be "
                "followed by batch normalisation to take the folded bias of "
                f"weights file {path!r}."
            )
        layer.set_weights([kernel])
        ones = np.ones_like(bias)
        norm.set_weights([ones, bias, np.zeros_like(bias), ones - norm.epsilon])
    return model
