"""ImageNet backbones: which ones, their weights files, and their features.

A grid search builds the same backbone for every candidate and fold; the
weights read from a file are kept in the process (the last two sets), so the
file is read once (:func:`clear_weights_cache` frees them).
"""

import functools
import os
import warnings
from collections import namedtuple

import keras
import numpy as np

from .tflite_weights import is_tflite_file, load_tflite_weights
from .training import predict_in_full_batches

__all__ = ["BACKBONES", "clear_weights_cache", "extract_features", "imagenet_weights_file",
           "load_backbone", "run_extractor"]

_Backbone = namedtuple("_Backbone", ["constructor", "min_size", "imagenet_file"])

#: Supported backbones: the ``keras.applications`` constructor, the smallest
#: input side it accepts (``obtain_input_shape(min_size=...)`` in Keras 3), and
#: the name of its Keras ImageNet weights file without the top (``{size}``:
#: input side). Their ``preprocess_input`` is named in
#: :data:`sklship.estimators.layers.PREPROCESS_MODULES`.
BACKBONES = {
    "resnet50": _Backbone(
        "ResNet50", 32, "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "mobilenetv2": _Backbone(
        "MobileNetV2", 32,
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{size}_no_top.h5"),
    "efficientnetb0": _Backbone("EfficientNetB0", 32, "efficientnetb0_notop.h5"),
}

# Input sides with MobileNetV2 ImageNet weights.
_MOBILENETV2_SIZES = (96, 128, 160, 192, 224)

# Backbones whose weights can come from a TensorFlow Lite file: Keras' network
# has the file's convolutions in the same order (``tflite_weights``).
_TFLITE_BACKBONES = ("mobilenetv2",)

# Name of the backbone layer inside a model.
BACKBONE_NAME = "backbone"

# Images per backbone forward batch. On a CPU a convolutional backbone runs
# faster in small batches (their activations stay in the cache): on 2 cores,
# MobileNetV2 at 128x128 takes about 1.3 times longer per chip at 64.
BACKBONE_BATCH_SIZE = 32

# Weight values of backbones read from a weights file (or Keras' ImageNet
# download) in this process, by backbone, input shape and file identity
# (path, size, modification time). A grid search builds the same backbone
# for every candidate and fold; reading the file once saves about a second
# each time. The last two are kept (a ResNet50 holds 94 MB).
_LOADED_WEIGHTS = {}
_LOADED_WEIGHTS_KEPT = 2


def imagenet_weights_file(backbone, size=224):
    """File name of the Keras ImageNet weights (without top) of ``backbone``.

    Parameters
    ----------
    backbone : str
        A key of ``BACKBONES``.
    size : int, default=224
        Input side; only MobileNetV2 has one file per size (96, 128, 160,
        192 or 224).

    Returns
    -------
    name : str
        The file name Keras downloads to ``~/.keras/models``.
    """
    if backbone == "mobilenetv2" and size not in _MOBILENETV2_SIZES:
        size = 224  # what Keras falls back to
    return BACKBONES[backbone].imagenet_file.format(size=size)


def run_extractor(extractor, X):
    """Backbone features of X in inference mode, in padded fixed-size batches."""
    return np.asarray(predict_in_full_batches(extractor, X, BACKBONE_BATCH_SIZE),
                      dtype=np.float32)


def clear_weights_cache():
    """Forget the backbone weights kept in this process; return how many sets.

    Every backbone weights file (or Keras' ImageNet download, or TFLite file)
    read in a process is kept in memory, the last two sets, so that a grid
    search reads it once instead of once per candidate and fold. A ResNet50
    set holds 94 MB: call this to free it once the fits are done. Fitted
    estimators keep their own weights and are not affected; the next fit
    reads the file again.

    Returns
    -------
    n_cleared : int
        The number of weight sets that were kept.

    Examples
    --------
    >>> from sklship.estimators.backbones import clear_weights_cache
    >>> n_freed = clear_weights_cache()   # what earlier fits kept
    >>> clear_weights_cache()             # nothing is left
    0
    """
    n_cleared = len(_LOADED_WEIGHTS)
    _LOADED_WEIGHTS.clear()
    return n_cleared


def _weights_key(backbone, input_shape, weights):
    """Key of ``_LOADED_WEIGHTS`` for these weights; None for random ones."""
    if weights is None:
        return None
    if weights == "imagenet":
        return backbone, input_shape, weights
    status = os.stat(weights)
    return (backbone, input_shape, os.path.realpath(weights), status.st_size,
            status.st_mtime_ns)


def _remember_weights(key, values):
    for value in values:
        value.flags.writeable = False
    _LOADED_WEIGHTS[key] = values
    while len(_LOADED_WEIGHTS) > _LOADED_WEIGHTS_KEPT:
        _LOADED_WEIGHTS.pop(next(iter(_LOADED_WEIGHTS)), None)  # the oldest


def extract_features(X, backbone, input_spec, weights_digest, extractor):
    """Features of X; the cached unit of ``memory`` (``extractor`` not hashed).

    The key is the data, the backbone name, the input specification (dtype,
    scale, size) and a digest of the backbone's weights values, which is what
    the features depend on; the Keras model running them is ignored.
    """
    return run_extractor(extractor, X)


def load_backbone(backbone, weights, input_shape):
    """A ``keras.applications`` backbone with the requested weights, or a clear error.

    Weights read from a file (or Keras' download) are kept in the process
    (:func:`clear_weights_cache`), so the next backbone of the same kind
    reads nothing.

    Parameters
    ----------
    backbone : str
        A key of :data:`BACKBONES`.
    weights : {"imagenet"}, None, str or os.PathLike
        ImageNet weights from Keras' download, random weights, or a Keras
        ``.h5`` file or (MobileNetV2) a TensorFlow Lite file.
    input_shape : tuple of int
        (height, width, channels) of the backbone's input.

    Returns
    -------
    model : keras.Model
        The backbone, average-pooled, without its top.
    """
    spec = BACKBONES[backbone]
    given = weights
    if weights is not None and weights != "imagenet":
        weights = os.fspath(weights)
        if not os.path.isfile(weights):
            raise FileNotFoundError(
                f"weights={given!r}: no such weights file for backbone "
                f"{backbone!r}. Pass 'imagenet', None or the path of an "
                f"existing file (Keras' name for the ImageNet one is "
                f"{imagenet_weights_file(backbone, input_shape[0])!r})."
            )
    constructor = functools.partial(
        getattr(keras.applications, spec.constructor), include_top=False,
        input_shape=input_shape, pooling="avg", name=BACKBONE_NAME)
    key = _weights_key(backbone, input_shape, weights)
    if key in _LOADED_WEIGHTS:
        # Same random draws as a load (Keras initialises, then loads), so
        # the head starts from the same weights either way.
        model = constructor(weights=None)
        model.set_weights(_LOADED_WEIGHTS[key])
        return model
    if weights not in (None, "imagenet") and is_tflite_file(weights):
        model = _load_tflite_backbone(backbone, constructor, weights)
        _remember_weights(key, model.get_weights())
        return model
    try:
        # Keras warns once per layer it cannot fill before it raises; the
        # error below says it once. Warnings of a successful load are kept.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = constructor(weights=weights)
        for warning in caught:
            warnings.warn_explicit(warning.message, warning.category,
                                   warning.filename, warning.lineno)
    except Exception as exc:
        if weights == "imagenet":
            raise OSError(
                f"Could not get the ImageNet weights of backbone "
                f"{backbone!r} ({type(exc).__name__}: {exc}). Without "
                f"internet, copy Keras' file "
                f"{imagenet_weights_file(backbone, input_shape[0])!r} to "
                "this machine and pass its path as weights=..."
            ) from exc
        if weights is None:
            raise
        raise ValueError(
            f"weights file {weights!r} does not fit backbone {backbone!r} "
            f"(include_top=False, input {input_shape}); is it the weights "
            f"file of another architecture? Keras said: {exc}"
        ) from exc
    if key is not None:
        _remember_weights(key, model.get_weights())
    return model


def _load_tflite_backbone(backbone, constructor, path):
    """The backbone with the weights of a TensorFlow Lite file (MobileNetV2 only)."""
    if backbone not in _TFLITE_BACKBONES:
        raise ValueError(
            f"weights file {path!r} is a TensorFlow Lite file, which sklship "
            f"reads for backbone {' or '.join(map(repr, _TFLITE_BACKBONES))} "
            f"only; got backbone={backbone!r}. Pass a Keras weights file "
            f"of {backbone!r} (such as "
            f"{imagenet_weights_file(backbone)!r}) or set "
            "backbone='mobilenetv2'."
        )
    return load_tflite_weights(constructor(weights=None), path)
