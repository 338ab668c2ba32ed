"""PretrainedShipClassifier: preprocessing, cached features, weights, fine-tuning.

ImageNet weights cannot be downloaded here, so the mechanics are tested with
``weights=None`` and with weights files the tests save themselves; the test
with Keras' ImageNet files reads ``$SKLSHIP_WEIGHTS_DIR`` and skips when it
is unset (the ImageNet MobileNetV2 TFLite file is tested in
``test_tflite_weights.py``). Chips are 32x32 (the backbones' minimum) and
fits are 1-2 epochs.
"""

import os
import pickle

import joblib
import keras
import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV, cross_val_score

from sklship import make_ships
from sklship.estimators import backbones
from sklship.estimators.base import LayerSeeds, fit_rng
from sklship.estimators.layers import PREPROCESS_MODULES, BackbonePreprocessing
from sklship.estimators.pretrained import BACKBONES, PretrainedShipClassifier, imagenet_weights_file

SIZE = 32


@pytest.fixture(scope="module")
def chips():
    data = make_ships(48, image_size=SIZE, random_state=0)
    return data.images, data.target


def small(backbone="mobilenetv2", **params):
    """A small estimator whose head Keras trains (the tests of the training runtime)."""
    return PretrainedShipClassifier(backbone, **{
        "weights": None, "epochs": 2, "batch_size": 16, "random_state": 0,
        "head_solver": "keras", **params})


def slow_way(estimator):
    """The book's way: the whole model, backbone frozen, images every epoch."""
    estimator._head_on_features = False
    return estimator


@pytest.fixture(scope="module")
def fitted(chips):
    X, y = chips
    return small(dense_units=(8,), dropout=0.2).fit(X, y)


@pytest.fixture
def count_extractions(monkeypatch):
    calls = []
    run = backbones.run_extractor

    def counting(extractor, X):
        calls.append(len(X))
        return run(extractor, X)

    monkeypatch.setattr(backbones, "run_extractor", counting)
    return calls


# ------------------------------------------------------------- preprocessing
def _documented(backbone, x):
    """What the Keras documentation says each backbone's preprocessing does."""
    if backbone == "resnet50":  # caffe: RGB -> BGR, minus ImageNet BGR means
        return x[..., ::-1] - np.array([103.939, 116.779, 123.68], dtype=np.float32)
    if backbone == "mobilenetv2":  # tf: to [-1, 1]
        return x / 127.5 - 1.0
    if backbone == "efficientnetb0":  # none: normalisation is in the network
        return x
    raise AssertionError(backbone)


@pytest.mark.parametrize("backbone", sorted(BACKBONES))
def test_preprocessing_is_the_backbones_own(backbone):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(4, 8, 8, 3), dtype=np.uint8)
    pixels = images.astype(np.float32)
    module = getattr(keras.applications, PREPROCESS_MODULES[backbone])
    keras_result = module.preprocess_input(pixels.copy())
    uint8_layer = np.asarray(BackbonePreprocessing(backbone)(images))
    float_layer = np.asarray(BackbonePreprocessing(backbone, scale=255.0)(pixels / 255.0))
    np.testing.assert_allclose(uint8_layer, keras_result, atol=1e-5)
    np.testing.assert_allclose(uint8_layer, _documented(backbone, pixels), atol=1e-4)
    np.testing.assert_allclose(float_layer, uint8_layer, atol=1e-3)


def test_model_layout_and_resizing(chips, fitted):
    X, _ = chips
    model = fitted.model_
    assert is_classifier(fitted)
    assert model.inputs[0].dtype == "uint8"  # no float copy of the chips
    assert "rescale" not in [layer.name for layer in model.layers]  # no 1/255
    assert model.get_layer("preprocess").get_config()["scale"] == 1.0
    assert tuple(model.get_layer("backbone").inputs[0].shape[1:]) == (SIZE, SIZE, 3)
    resized = PretrainedShipClassifier("mobilenetv2", weights=None, input_size=40)
    resized._set_input_spec(X)
    resized.X_dtype_, resized.input_shape_ = np.dtype("float32"), X.shape[1:]
    inputs = keras.Input(X.shape[1:], dtype="float32")
    features = resized._build_body(inputs, LayerSeeds(fit_rng(0)))
    assert features.shape[-1] == 1280
    body = keras.Model(inputs, features)
    assert tuple(body.get_layer("backbone").inputs[0].shape[1:]) == (40, 40, 3)
    assert body.get_layer("preprocess").get_config()["scale"] == 255.0


def test_float_chips_in_unit_range_give_the_uint8_model(chips, fitted):
    X, y = chips
    floats = small(dense_units=(8,), dropout=0.2).fit(X / 255.0, y)
    np.testing.assert_allclose(floats.predict_proba(X / 255.0), fitted.predict_proba(X),
                               atol=1e-4)


# ------------------------------------------------------- fast head training
@pytest.mark.slow
def test_head_on_features_equals_the_slow_way(chips):
    X, y = chips
    weights = np.linspace(0.5, 2.0, len(y))
    params = dict(dense_units=(8,), dropout=0.2, validation_split=0.25,
                  early_stopping=True, patience=1, class_weight="balanced")
    fast = small(**params).fit(X, y, sample_weight=weights)
    slow = slow_way(small(**params)).fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(fast.predict_proba(X), slow.predict_proba(X), atol=1e-4)
    np.testing.assert_allclose(fast.history_["val_loss"], slow.history_["val_loss"],
                               atol=1e-4)


def test_features_are_extracted_once_per_fit(chips, count_extractions):
    X, y = chips
    small(epochs=3).fit(X, y)
    assert count_extractions == [len(X)]


@pytest.mark.slow
def test_memory_extracts_once_across_fits_and_predictions(chips, tmp_path,
                                                          count_extractions):
    X, y = chips
    first = small(memory=str(tmp_path)).fit(X, y)
    assert count_extractions == [len(X)]
    proba = first.predict_proba(X)  # same chips: from the cache
    other_head = small(memory=joblib.Memory(str(tmp_path), verbose=0), dense_units=(4,),
                       dropout=0.5).fit(X, y)
    other_head.predict(X[:10])  # new data: extracted
    assert count_extractions == [len(X), 10]
    small(memory=str(tmp_path), random_state=1).fit(X, y)  # other backbone weights
    assert count_extractions == [len(X), 10, len(X)]
    # Predictions through the cache are those of the whole model.
    np.testing.assert_allclose(proba, first.set_params(memory=None).predict_proba(X),
                               atol=1e-5)


def test_user_callbacks_see_every_batch_of_head_training(chips):
    # Without callbacks the head runs an epoch per TensorFlow call; a callback
    # the user passes still gets each batch.
    X, y = chips
    batches = []

    class Batches(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches.append(batch)

    small(epochs=2, batch_size=16, callbacks=[Batches()]).fit(X, y)
    assert batches == [0, 1, 2] * 2


def test_partial_fit_trains_the_head_one_epoch(chips):
    X, y = chips
    clf = small(fine_tune_epochs=1)
    clf.partial_fit(X, y, classes=[0, 1]).partial_fit(X, y)
    assert len(clf.history_["loss"]) == 2


# ------------------------------------------------------------------ weights
def test_local_weights_file_round_trip(chips, fitted, tmp_path):
    X, _ = chips
    path = tmp_path / "mobilenetv2.weights.h5"
    fitted.model_.get_layer("backbone").save_weights(path)
    other = small(weights=str(path), dense_units=(8,), dropout=0.2, random_state=1)
    # Same seed: same head; a different one: same backbone, another head.
    loaded = small(weights=path, dense_units=(8,), dropout=0.2).fit(*chips)
    np.testing.assert_allclose(loaded.predict_proba(X), fitted.predict_proba(X),
                               atol=1e-6)
    other.fit(*chips)
    for mine, theirs in zip(other.model_.get_layer("backbone").get_weights(),
                            fitted.model_.get_layer("backbone").get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)


@pytest.mark.slow
def test_weights_file_is_read_once_until_it_changes(chips, fitted, tmp_path,
                                                    monkeypatch):
    X, y = chips
    reads = []
    constructor = keras.applications.MobileNetV2

    def counting(**kwargs):
        if kwargs["weights"] is not None:
            reads.append(kwargs["weights"])
        return constructor(**kwargs)

    monkeypatch.setattr(keras.applications, "MobileNetV2", counting)
    path = tmp_path / "mobilenetv2.weights.h5"
    fitted.model_.get_layer("backbone").save_weights(path)
    first = small(weights=path, epochs=1).fit(X, y)
    again = small(weights=path, epochs=1).fit(X, y)
    assert len(reads) == 1
    np.testing.assert_array_equal(again.predict_proba(X), first.predict_proba(X))

    other = keras.applications.MobileNetV2(include_top=False, weights=None,
                                           input_shape=(SIZE, SIZE, 3), pooling="avg")
    other.save_weights(path)  # new contents, size or modification time
    status = os.stat(path)
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 10**9))
    changed = small(weights=path, epochs=1).fit(X, y)
    assert len(reads) == 2
    for mine, theirs in zip(changed.model_.get_layer("backbone").get_weights(),
                            other.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_weights_file_of_another_architecture(chips, fitted, tmp_path):
    path = tmp_path / "mobilenetv2.weights.h5"
    fitted.model_.get_layer("backbone").save_weights(path)
    with pytest.raises(ValueError, match="does not fit backbone 'resnet50'.*another"):
        small("resnet50", weights=str(path)).fit(*chips)


def test_missing_weights_file(chips, tmp_path):
    missing = tmp_path / "nowhere.h5"
    with pytest.raises(FileNotFoundError, match="nowhere.h5.*no such weights file"):
        small(weights=str(missing)).fit(*chips)


def test_imagenet_download_failure_says_to_pass_a_path(chips, monkeypatch):
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: no internet")

    monkeypatch.setattr(file_utils, "get_file", offline)
    with pytest.raises(OSError, match="mobilenet_v2_weights_tf_dim_ordering_tf_kernels"
                                      "_1.0_224_no_top.h5.*weights="):
        small(weights="imagenet").fit(*chips)


def test_imagenet_weights_file_names():
    assert imagenet_weights_file("resnet50") == (
        "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5")
    assert imagenet_weights_file("mobilenetv2", 96).endswith("_1.0_96_no_top.h5")
    assert imagenet_weights_file("efficientnetb0") == "efficientnetb0_notop.h5"


WEIGHTS_DIR = os.environ.get("SKLSHIP_WEIGHTS_DIR")


@pytest.mark.skipif(not WEIGHTS_DIR, reason="SKLSHIP_WEIGHTS_DIR is not set")
@pytest.mark.parametrize("backbone", sorted(BACKBONES))
def test_real_imagenet_weights(backbone, chips):
    size = 96
    path = os.path.join(WEIGHTS_DIR, imagenet_weights_file(backbone, size))
    if not os.path.isfile(path):
        pytest.skip(f"{path} not found")
    X, y = chips
    clf = small(backbone, weights=path, input_size=size, epochs=1).fit(X, y)
    constructor = getattr(keras.applications, BACKBONES[backbone].constructor)
    reference = constructor(include_top=False, weights=path, pooling="avg",
                            input_shape=(size, size, 3))
    module = getattr(keras.applications, PREPROCESS_MODULES[backbone])
    resized = keras.ops.image.resize(X.astype("float32"), (size, size))
    expected = reference.predict(module.preprocess_input(np.asarray(resized)), verbose=0)
    np.testing.assert_allclose(clf._features(X), expected, rtol=1e-3, atol=1e-3)


# ------------------------------------------------------------- bad inputs
def test_unknown_backbone(chips):
    with pytest.raises(ValueError, match="backbone.*resnet50"):
        small("resnet18").fit(*chips)


def test_input_too_small(chips):
    X, y = chips
    with pytest.raises(ValueError, match="at least 32x32.*16x16 chips.*input_size"):
        small().fit(X[:, :16, :16], y)
    with pytest.raises(ValueError, match="at least 32x32.*input_size=24"):
        small(input_size=24).fit(X, y)


def test_rows_need_image_shape_and_images_rgb(chips):
    X, y = chips
    with pytest.raises(ValueError, match="image_shape"):
        small().fit(X.reshape(len(X), -1), y)
    with pytest.raises(ValueError, match="3 channels"):
        small().fit(X[..., :1], y)


# ---------------------------------------------------------- fine-tuning
def test_fine_tuning_trains_the_backbone_but_not_batch_norm(chips, fitted):
    X, y = chips
    tuned = small(dense_units=(8,), dropout=0.2, fine_tune_epochs=1,
                  fine_tune_learning_rate=1e-2, fine_tune_layers=20).fit(X, y)
    assert len(tuned.history_["loss"]) == 3
    before = fitted.model_.get_layer("backbone")  # same seed: same start
    after = tuned.model_.get_layer("backbone")
    n_layers = len(after.layers)
    changed = []
    for index, (old, new) in enumerate(zip(before.layers, after.layers, strict=True)):
        same = all(np.array_equal(a, b) for a, b in zip(old.get_weights(),
                                                        new.get_weights(), strict=True))
        if isinstance(new, keras.layers.BatchNormalization):
            assert same, f"batch norm {new.name} changed"
        elif not same:
            changed.append(index)
    assert changed and min(changed) >= n_layers - 20
    assert isinstance(tuned.model_.optimizer, keras.optimizers.Adam)


# ------------------------------------------------- sklearn tools, persistence
@pytest.mark.slow
def test_grid_search_cross_val_score_clone_and_joblib(chips, tmp_path, count_extractions):
    X, y = chips
    search = GridSearchCV(
        small(memory=str(tmp_path / "cache")),
        {"dense_units": [(), (4,)]}, cv=2,
    ).fit(X, y)
    # Features are extracted once per distinct set of chips, not per
    # candidate: with 2 folds one fold's training chips are the other's test
    # chips, so 2 sets for the 2 candidates x 2 folds, plus the refit.
    assert count_extractions == [len(X) // 2, len(X) // 2, len(X)]
    # cross_val_score on the same folds finds every feature in the cache.
    scores = cross_val_score(search.best_estimator_, X, y, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    assert len(count_extractions) == 3
    best = search.best_estimator_
    twin = clone(best)
    assert twin.get_params() == best.get_params() and not hasattr(twin, "model_")
    path = tmp_path / "best.joblib"
    joblib.dump(best, path)
    np.testing.assert_array_equal(joblib.load(path).predict_proba(X),
                                  best.predict_proba(X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(best)).predict(X),
                                  best.predict(X))


def test_repr_and_params():
    clf = PretrainedShipClassifier()
    assert clf.get_params()["backbone"] == "resnet50"
    assert clf.get_params()["weights"] == "imagenet"
    assert clf.get_params()["fine_tune_learning_rate"] == 1e-5
    with pytest.raises(TypeError):
        PretrainedShipClassifier(hiden=3)
