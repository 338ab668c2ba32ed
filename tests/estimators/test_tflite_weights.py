"""Weights from TensorFlow Lite files: layouts, dequantization, ImageNet MobileNetV2.

The layout tests convert a tiny Keras network to a float TFLite file here;
the MobileNetV2 tests read Google's quantized ImageNet file (fixture
``mobilenet_v2_tflite``, skipped only when the file is absent).
"""

import warnings

import joblib
import keras
import numpy as np
import pytest
import tensorflow as tf

from sklship import load_model, load_shipsnet, make_ships, save_model
from sklship.estimators import backbones
from sklship.estimators.layers import BackbonePreprocessing
from sklship.estimators.pretrained import PretrainedShipClassifier
from sklship.estimators.tflite_weights import (
    is_tflite_file,
    load_tflite_weights,
    read_tflite_convolutions,
)

FEATURES = "MobilenetV2/Logits/AvgPool"


def _tiny_network():
    """Conv2D (bias) -> DepthwiseConv2D (multiplier 2, bias), random weights."""
    rng = np.random.default_rng(0)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, name="depthwise")(x)
    model = keras.Model(inputs, x, name="tiny")
    for layer in model.layers[1:]:
        layer.set_weights([rng.normal(size=w.shape) for w in layer.get_weights()])
    return model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny network and its float TFLite file."""
    model = _tiny_network()
    path = tmp_path_factory.mktemp("tflite") / "tiny.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return model, path


@pytest.fixture(scope="module")
def chips(request):
    """32 real chips (16 ships) when ShipsNet is beside the repository, else synthetic."""
    try:
        data = load_shipsnet(request.getfixturevalue("shipsnet_dir"))
    except pytest.skip.Exception:
        return make_ships(32, ship_fraction=0.5, random_state=0).images
    rng = np.random.default_rng(0)
    take = np.r_[rng.choice(np.flatnonzero(data.target == 1), 16, replace=False),
                 rng.choice(np.flatnonzero(data.target == 0), 16, replace=False)]
    return data.images[take]


@pytest.fixture(scope="module")
def mobilenet(mobilenet_v2_tflite):
    """Keras' MobileNetV2 at 224 px with the TFLite file's weights."""
    model = keras.applications.MobileNetV2(include_top=False, weights=None,
                                           input_shape=(224, 224, 3), pooling="avg")
    return load_tflite_weights(model, mobilenet_v2_tflite)


def _interpreter(path, *, xnnpack=False, **options):
    """The interpreter with its reference kernels (every tensor kept), or XNNPACK's."""
    resolver = tf.lite.experimental.OpResolverType
    with warnings.catch_warnings():  # tf.lite.Interpreter announces its move
        warnings.simplefilter("ignore", UserWarning)
        interpreter = tf.lite.Interpreter(
            model_path=str(path),
            experimental_op_resolver_type=(
                resolver.AUTO if xnnpack else resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES),
            **options)
    interpreter.allocate_tensors()
    return interpreter


def _dequantized_tensor(interpreter, detail):
    scale, zero_point = detail["quantization"]
    return (interpreter.get_tensor(detail["index"]).astype(np.float32) - zero_point) * scale


# --------------------------------------------------------- reading the file
def test_kernels_come_back_in_keras_layout(tiny):
    model, path = tiny
    assert is_tflite_file(path)
    convolutions = read_tflite_convolutions(path)
    assert [kind for kind, _, _ in convolutions] == ["conv", "depthwise"]
    for (_, kernel, bias), layer in zip(convolutions, model.layers[1:], strict=True):
        expected_kernel, expected_bias = layer.get_weights()
        assert kernel.shape == expected_kernel.shape  # (3, 3, 3, 4), (3, 3, 4, 2)
        np.testing.assert_allclose(kernel, expected_kernel, rtol=1e-6)
        np.testing.assert_allclose(bias, expected_bias, rtol=1e-6)


def test_quantized_weights_are_dequantized(mobilenet_v2_tflite):
    convolutions = read_tflite_convolutions(mobilenet_v2_tflite)
    assert len(convolutions) == 53  # 52 of the feature extractor + the logits
    kind, kernel, bias = convolutions[0]
    assert (kind, kernel.shape, bias.shape) == ("conv", (3, 3, 3, 32), (32,))
    # First kernel: uint8 with scale 0.03396893 and zero point 122 (README).
    steps = kernel / np.float32(0.03396893) + 122
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-3)
    assert steps.min() >= 0 and steps.max() <= 255
    assert convolutions[1][1].shape == (3, 3, 32, 1)  # depthwise, multiplier 1
    assert convolutions[-1][1].shape == (1, 1, 1280, 1001)  # the logits


def test_not_a_tflite_file(tmp_path):
    path = tmp_path / "fake.tflite"
    path.write_bytes(b"\0\0\0\0TFL3 and then nothing")
    assert is_tflite_file(path) and not is_tflite_file(__file__)
    with pytest.raises(ValueError, match="fake.tflite.*not a readable TensorFlow Lite"):
        read_tflite_convolutions(path)


# ------------------------------------------------------- Keras' MobileNetV2
def test_every_layer_reproduces_the_interpreter(mobilenet, mobilenet_v2_tflite, chips):
    # Fed the interpreter's own (uint8) input, every convolution with its
    # batch normalisation and ReLU6 gives the interpreter's output within one
    # quantization step: the weights, their layout and the folded biases are
    # those the file computes with.
    interpreter = _interpreter(mobilenet_v2_tflite, experimental_preserve_all_tensors=True)
    resized = np.asarray(keras.ops.image.resize(chips[:1].astype("float32"), (224, 224)))
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"],
                           np.round(resized).astype(np.uint8))
    interpreter.invoke()
    details = {detail["index"]: detail for detail in interpreter.get_tensor_details()}
    ops = [op for op in interpreter._get_ops_details()
           if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    layers = mobilenet.layers
    convs = [index for index, layer in enumerate(layers)
             if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D))]
    assert len(convs) == 52
    for op, index in zip(ops[:len(convs)], convs, strict=True):  # not the logits
        x = _dequantized_tensor(interpreter, details[op["inputs"][0]])
        if isinstance(layers[index - 1], keras.layers.ZeroPadding2D):
            x = layers[index - 1](x)
        x = layers[index + 1](layers[index](x), training=False)
        if isinstance(layers[index + 2], keras.layers.ReLU):
            x = layers[index + 2](x)
        output = details[op["outputs"][0]]
        steps = np.abs(np.asarray(x) - _dequantized_tensor(interpreter, output))
        assert steps.max() / output["quantization"][0] < 1.0, layers[index].name


class _RoundedLike(keras.layers.Layer):
    """A layer whose output is rounded to 8 bits as the interpreter rounds its tensor."""

    def __init__(self, inner, scale, zero_point):
        super().__init__(name=f"{inner.name}_rounded")
        self.inner, self.scale, self.zero_point = inner, float(scale), float(zero_point)

    def call(self, inputs, mask=None):
        steps = keras.ops.round(self.inner(inputs) / self.scale) + self.zero_point
        return (keras.ops.clip(steps, 0, 255) - self.zero_point) * self.scale


def _rounded_like_the_interpreter(mobilenet, interpreter):
    """``mobilenet`` with every activation the file quantizes rounded as it is.

    The interpreter's tensors after each convolution (and its batch norm and
    ReLU6) and after each residual addition are uint8; the float network's
    are not.
    """
    details = {detail["index"]: detail for detail in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()
    layers = mobilenet.layers
    convs = [index for index, layer in enumerate(layers)
             if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D))]
    conv_ops = [op for op in ops if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    rounded = {}
    for op, index in zip(conv_ops[:len(convs)], convs, strict=True):  # not the logits
        last = index + 2 if isinstance(layers[index + 2], keras.layers.ReLU) else index + 1
        rounded[layers[last].name] = details[op["outputs"][0]]["quantization"]
    adds = [layer for layer in layers if isinstance(layer, keras.layers.Add)]
    add_ops = [op for op in ops if op["op_name"] == "ADD"]
    for op, layer in zip(add_ops, adds, strict=True):
        rounded[layer.name] = details[op["outputs"][0]]["quantization"]
    return keras.models.clone_model(mobilenet, clone_function=lambda layer: (
        _RoundedLike(layer, *rounded[layer.name]) if layer.name in rounded else layer))


def test_pooled_features_match_the_interpreter(mobilenet, mobilenet_v2_tflite, chips):
    # The same 224-px uint8 chips through Keras and through the interpreter as
    # it runs by default (XNNPACK's kernels; the reference kernels round some
    # steps otherwise and agree less with any float network: 0.983 in 1.).
    interpreter = _interpreter(mobilenet_v2_tflite, xnnpack=True)
    pixels = np.round(np.asarray(
        keras.ops.image.resize(chips.astype("float32"), (224, 224)))).astype(np.uint8)
    pooled = next(detail for detail in interpreter.get_tensor_details()
                  if detail["name"] == FEATURES)
    reference = []
    for chip in pixels:
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], chip[None])
        interpreter.invoke()
        reference.append(_dequantized_tensor(interpreter, pooled).ravel())
    reference = np.array(reference)

    def correlations(features):
        return np.corrcoef(features, reference)[:len(pixels), len(pixels):]

    # 1. The weights: Keras' network with the file's weights, its activations
    # rounded to 8 bits as the interpreter's are, on the interpreter's input
    # scale ((q - 128) / 128). Measured on the 32 real chips: at least 0.994
    # per chip, mean 0.998.
    rounded = _rounded_like_the_interpreter(mobilenet, interpreter)
    own = np.diag(correlations(rounded.predict((pixels - 128.0) / 128.0, verbose=0)))
    assert own.min() >= 0.99
    # 2. What sklship runs: the float network behind sklship's preprocessing
    # (BackbonePreprocessing: MobileNetV2's preprocess_input, q / 127.5 - 1).
    # Without the rounding of 52 layers' activations, measured 0.927 to 0.99
    # per chip, mean 0.979; each chip's features are nearest to its own.
    preprocess = BackbonePreprocessing("mobilenetv2")
    features = mobilenet.predict(np.asarray(preprocess(pixels)), verbose=0)
    between = correlations(features)
    assert np.diag(between).min() >= 0.92
    assert np.diag(between).mean() >= 0.97
    np.testing.assert_array_equal(between.argmax(axis=1), np.arange(len(pixels)))
    np.testing.assert_allclose(features.mean(), reference.mean(), rtol=0.05)


def test_file_of_another_architecture(tiny, mobilenet_v2_tflite):
    model, path = tiny
    mobilenet = keras.applications.MobileNetV2(include_top=False, weights=None,
                                               input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match="tiny.tflite' has 2 convolutions.*52 .*"
                                         "another architecture"):
        load_tflite_weights(mobilenet, path)
    narrow = keras.applications.MobileNetV2(include_top=False, weights=None, alpha=0.5,
                                            input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match=r"convolution 0 \(conv, kernel \(3, 3, 3, 32\)\) "
                                         r"does not fit layer 'Conv1'.*\(3, 3, 3, 16\)"):
        load_tflite_weights(narrow, mobilenet_v2_tflite)
    with pytest.raises(ValueError, match="'conv' of 'tiny' must have no bias"):
        load_tflite_weights(model, path)


# ------------------------------------------------- PretrainedShipClassifier
def _small(weights, **params):
    return PretrainedShipClassifier("mobilenetv2", weights=weights, **{
        "epochs": 2, "batch_size": 16, "random_state": 0, **params})


@pytest.mark.slow
def test_estimator_fit_predict_save_load(mobilenet_v2_tflite, tmp_path, monkeypatch):
    data = make_ships(64, image_size=32, random_state=0)
    X, y = data.images, data.target
    reads = []
    load = backbones.load_tflite_weights

    def counting(model, path):
        reads.append(path)
        return load(model, path)

    monkeypatch.setattr(backbones, "load_tflite_weights", counting)
    monkeypatch.setattr(backbones, "_LOADED_WEIGHTS", {})  # no earlier test's load
    clf = _small(str(mobilenet_v2_tflite), fine_tune_epochs=1, fine_tune_layers=10)
    clf.fit(X, y)
    again = _small(mobilenet_v2_tflite, epochs=1).fit(X, y)  # a path object too
    assert len(reads) == 1  # read once per process
    assert backbones.clear_weights_cache() == 1 and not backbones._LOADED_WEIGHTS
    _small(mobilenet_v2_tflite, epochs=1).fit(X[:16], y[:16])
    assert len(reads) == 2  # read again after clearing
    expected = load(keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(32, 32, 3)), mobilenet_v2_tflite)
    for mine, theirs in zip(again.model_.get_layer("backbone").get_weights(),
                            expected.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    tuned = clf.model_.get_layer("backbone").get_weights()  # fine-tuning moved it
    assert not all(np.array_equal(a, b)
                   for a, b in zip(tuned, expected.get_weights(), strict=True))
    proba = clf.predict_proba(X)
    save_model(clf, tmp_path / "ships.sklship")
    np.testing.assert_allclose(load_model(tmp_path / "ships.sklship").predict_proba(X),
                               proba, atol=1e-6)
    joblib.dump(clf, tmp_path / "ships.joblib")
    np.testing.assert_allclose(joblib.load(tmp_path / "ships.joblib").predict_proba(X),
                               proba, atol=1e-6)


def test_estimator_errors(tiny, tmp_path):
    _, path = tiny
    X, y = make_ships(16, image_size=32, random_state=0, return_X_y=True)
    with pytest.raises(ValueError, match="tiny.tflite' is a TensorFlow Lite file.*"
                                         "'mobilenetv2'.*backbone='resnet50'"):
        PretrainedShipClassifier("resnet50", weights=str(path), epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="tiny.tflite' has 2 convolutions"):
        _small(str(path)).fit(X, y)
    with pytest.raises(FileNotFoundError, match="missing.tflite.*no such weights file"):
        _small(str(tmp_path / "missing.tflite")).fit(X, y)
