"""The compatibility base: sklearn behaviour, seeding, inputs, errors."""

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import joblib
import keras
import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.model_selection import GridSearchCV, cross_validate
from tensorflow.python.framework import config as tf_config

from sklship import (
    CNNShipClassifier,
    DenseShipClassifier,
    DenseShipRegressor,
    make_baseline,
    make_ships,
)
from sklship.estimators import training

SIZE = 16  # small chips keep every fit here well under a second


@pytest.fixture(scope="module")
def chips():
    data = make_ships(160, image_size=SIZE, random_state=0)
    return data.images, data.target


def small_dense(**params):
    return DenseShipClassifier(**{"hidden_units": (8,), "epochs": 2, "random_state": 0,
                                  **params})


def small_cnn(**params):
    return CNNShipClassifier(**{"epochs": 2, "random_state": 0, **params})


def test_estimator_types():
    assert is_classifier(DenseShipClassifier())
    assert is_classifier(CNNShipClassifier())
    assert is_regressor(DenseShipRegressor())
    assert not is_classifier(DenseShipRegressor())


def test_cross_validation_stratifies(chips):
    X, y = chips
    order = np.argsort(y, kind="stable")  # all no-ship chips first
    result = cross_validate(small_dense(), X[order], y[order], cv=5,
                            return_indices=True)
    for test in result["indices"]["test"]:
        assert abs(y[order][test].mean() - y.mean()) < 0.05


def _global_draws():
    return np.random.rand(), random.random(), float(tf.random.uniform(()))


def _seed_globals(seed):
    np.random.seed(seed)
    random.seed(seed)
    tf.random.set_seed(seed)


def test_same_random_state_same_model_and_no_global_state_left(chips):
    X, y = chips
    determinism_before = tf_config.is_op_determinism_enabled()
    _seed_globals(123)
    expected = _global_draws()
    _seed_globals(123)
    first = small_cnn().fit(X, y).predict_proba(X)
    # The fit neither drew from nor reseeded Python's, NumPy's or TensorFlow's
    # global generators (TensorFlow's op seeds count from its global seed).
    assert _global_draws() == expected
    second = small_cnn().fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    assert tf_config.is_op_determinism_enabled() == determinism_before
    tf.random.uniform((2,))  # random ops keep working after a seeded fit
    other = small_cnn(random_state=1).fit(X, y).predict_proba(X)
    assert not np.array_equal(first, other)


def test_images_and_rows_give_the_same_model(chips):
    X, y = chips
    images = small_cnn().fit(X, y)
    rows = small_cnn(image_shape=(SIZE, SIZE, 3)).fit(X.reshape(len(X), -1), y)
    np.testing.assert_array_equal(images.predict_proba(X),
                                  rows.predict_proba(X.reshape(len(X), -1)))
    assert rows.n_features_in_ == images.n_features_in_ == SIZE * SIZE * 3


def test_float_images_work(chips):
    X, y = chips
    clf = small_cnn().fit(X.astype(np.float32) / 255, y)
    assert clf.input_scale_ == 1.0
    assert clf.predict_proba(X.astype(np.float32) / 255).shape == (len(X), 2)


def test_uint8_chips_reach_tensorflow_uncopied(chips, monkeypatch):
    # The training batches are gathered from the arrays handed to TensorFlow
    # once (as Keras does); those must be the caller's uint8 chips themselves.
    X, y = chips
    seen = []
    original = tf.data.Dataset.from_tensors

    def recording_from_tensors(tensors, name=None):
        seen.append(tensors)
        return original(tensors, name=name)

    monkeypatch.setattr(tf.data.Dataset, "from_tensors", recording_from_tensors)
    small_cnn().fit(X, y)
    assert seen[0][0].dtype == np.uint8
    assert np.shares_memory(seen[0][0], X)


@pytest.mark.slow
def test_fits_in_threads_equal_fits_in_sequence(chips):
    # Dropout, augmentation, the validation split and shuffling are all
    # random; other threads draw from every global generator meanwhile.
    X, y = chips[0][:80], chips[1][:80]

    def fit(random_state):
        clf = small_cnn(random_state=random_state, dense_units=(8,), dropout=0.2,
                        augmentation=("flip", "rot90", "brightness"),
                        validation_split=0.2)
        return clf.fit(X, y).predict_proba(X)

    sequential = [fit(seed) for seed in range(4)]
    stop = threading.Event()

    def draw_from_globals():
        while not stop.is_set():
            _global_draws()

    with ThreadPoolExecutor(5) as pool:
        noise = pool.submit(draw_from_globals)
        threaded = list(pool.map(fit, range(4)))
        stop.set()
        noise.result()
    for expected, got in zip(sequential, threaded, strict=True):
        np.testing.assert_array_equal(got, expected)
    assert not np.array_equal(sequential[0], sequential[1])


def test_training_step_is_traced_once_per_fit(chips, monkeypatch):
    # Keras creates Adam's variables inside the first trace of the step when
    # they do not exist yet, and TensorFlow then traces it again; the
    # estimator builds the optimizer first. 160 chips in batches of 32.
    X, y = chips
    traces = []
    original_step = keras.Model.train_step

    def recording_step(model, data):
        traces.append(model.name)
        return original_step(model, data)

    monkeypatch.setattr(keras.Model, "train_step", recording_step)
    small_dense(optimizer="adam", batch_size=32).fit(X, y)
    assert traces == ["DenseShipClassifier"]


def test_whole_epochs_per_call_train_the_same_network(chips, monkeypatch):
    # Without user callbacks an epoch runs in one TensorFlow call (from
    # WHOLE_EPOCH_MIN_STEPS steps on; lowered here); with one (which expects
    # every batch) a step per call. Same weights, history and predictions, also
    # when the steps of an epoch (124 training rows in batches of 32: 4, the
    # last one short) do not divide the call.
    X, y = chips
    monkeypatch.setattr(training, "WHOLE_EPOCH_MIN_STEPS", 12)

    class Nothing(keras.callbacks.Callback):
        pass

    params = dict(batch_size=32, epochs=3, validation_split=0.2, early_stopping=True,
                  patience=5)
    whole, stepwise = (small_cnn(**params, callbacks=callbacks).fit(X[:155], y[:155])
                       for callbacks in (None, [Nothing()]))
    assert whole.model_._sklship_steps_per_call == 4
    assert stepwise.model_._sklship_steps_per_call == 1
    for a, b in zip(whole.model_.get_weights(), stepwise.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert dict(whole.history_) == dict(stepwise.history_)
    np.testing.assert_array_equal(whole.predict_proba(X), stepwise.predict_proba(X))
    assert whole.model_.steps_per_execution == 1  # prediction: a batch per call


def test_short_fits_take_a_step_per_call(chips):
    # 3 epochs of 4 steps: tracing the loop of steps would cost more than it saves.
    X, y = chips
    clf = small_cnn(batch_size=32, epochs=3).fit(X[:128], y[:128])
    assert 3 * 4 < training.WHOLE_EPOCH_MIN_STEPS
    assert clf.model_._sklship_steps_per_call == 1


def test_string_labels_are_kept(chips):
    X, y = chips
    labels = np.where(y == 1, "ship", "no-ship")
    clf = small_dense().fit(X, labels)
    assert list(clf.classes_) == ["no-ship", "ship"]
    assert set(clf.predict(X)) <= {"ship", "no-ship"}


def test_class_weight_equals_sample_weight(chips):
    X, y = chips
    book_weights = {0: y.mean(), 1: 1 - y.mean()}
    by_class = small_dense(class_weight=book_weights).fit(X, y)
    weights = np.where(y == 1, 1 - y.mean(), y.mean())
    by_sample = small_dense().fit(X, y, sample_weight=weights.copy())
    np.testing.assert_allclose(by_class.predict_proba(X), by_sample.predict_proba(X),
                               atol=1e-6)
    balanced = small_dense(class_weight="balanced").fit(X, y)
    assert not np.allclose(balanced.predict_proba(X), by_sample.predict_proba(X))


def test_sample_weight_is_not_modified(chips):
    X, y = chips
    weights = np.ones(len(y))
    small_dense(class_weight="balanced").fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(weights, np.ones(len(y)))


def test_early_stopping_on_validation_split(chips):
    X, y = chips
    clf = DenseShipClassifier(hidden_units=(8,), epochs=100, validation_split=0.25,
                              early_stopping=True, patience=1, random_state=0)
    clf.fit(X, np.random.RandomState(0).permutation(y))  # nothing to learn
    assert "val_loss" in clf.history_
    assert len(clf.history_["loss"]) < 100


def test_validation_split_too_large_for_data(chips):
    X, y = chips
    with pytest.raises(ValueError, match="validation"):
        small_dense(validation_split=0.999).fit(X[:20], y[:20])


def test_callbacks_warm_start_and_partial_fit(chips):
    X, y = chips

    class CountEpochs(keras.callbacks.Callback):
        epochs_seen = 0

        def on_epoch_end(self, epoch, logs=None):
            CountEpochs.epochs_seen += 1

    clf = small_dense(callbacks=[CountEpochs()], warm_start=True).fit(X, y)
    assert CountEpochs.epochs_seen == 2
    model, weights = clf.model_, clf.model_.get_weights()
    clf.fit(X, y)
    assert clf.model_ is model  # warm start continues the same network
    assert not np.allclose(weights[0], clf.model_.get_weights()[0])
    partial = small_dense()
    partial.partial_fit(X, y, classes=[0, 1]).partial_fit(X, y)
    assert len(partial.history_["loss"]) == 2


def test_quiet_by_default(chips, capsys):
    X, y = chips
    small_dense().fit(X, y).predict(X)
    captured = capsys.readouterr()
    assert captured.out == ""


def test_misspelt_parameter_fails_at_once():
    with pytest.raises(TypeError, match="hiden_units"):
        DenseShipClassifier(hiden_units=(3,))


@pytest.mark.parametrize("value, message", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_non_finite_pixels(chips, value, message):
    X, y = chips
    X = X.astype(np.float32)
    X[3, 1, 1, 0] = value
    with pytest.raises(ValueError, match=message):
        small_cnn().fit(X, y)


def test_input_errors_name_the_problem(chips):
    X, y = chips
    with pytest.raises(ValueError, match="4-D images .* got X with 3 dimensions"):
        small_cnn().fit(X[..., 0], y)
    with pytest.raises(ValueError, match="one class"):
        small_cnn().fit(X, np.zeros_like(y))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        small_cnn().fit(X, y[:-1])
    with pytest.raises(TypeError, match="sparse"):
        small_dense().fit(sp.csr_matrix(X.reshape(len(X), -1)), y)
    with pytest.raises(ValueError, match="image_shape"):
        small_cnn(image_shape=(5, 5, 3)).fit(X.reshape(len(X), -1), y)
    fitted = small_cnn().fit(X, y)
    with pytest.raises(ValueError, match=r"images of shape \(10, 10, 3\).*\(16, 16, 3\)"):
        fitted.predict(X[:, :10, :10])
    with pytest.raises(ValueError, match="dtype float32.*uint8"):
        fitted.predict(X.astype(np.float32) / 255)


@pytest.mark.slow
def test_grid_search_same_result_in_parallel(chips):
    # Processes (loky) and threads (fits in one process at once) give the
    # scores of one job.
    X, y = chips
    grid = {"filters": [(4,), (8, 4)]}
    cnn = small_cnn(dense_units=(8,), dropout=0.3)
    sequential = GridSearchCV(cnn, grid, cv=2, n_jobs=1).fit(X, y)
    for backend in ("loky", "threading"):
        with joblib.parallel_config(backend=backend):
            parallel = GridSearchCV(cnn, grid, cv=2, n_jobs=2).fit(X, y)
        assert parallel.best_params_ == sequential.best_params_
        for key in ("split0_test_score", "split1_test_score"):
            np.testing.assert_array_equal(parallel.cv_results_[key],
                                          sequential.cv_results_[key])


def test_clone_fitted_and_unfitted(chips):
    X, y = chips
    fitted = small_cnn(pooling="max").fit(X, y)
    for estimator in (fitted, small_cnn(pooling="max")):
        copy = clone(estimator)
        assert copy.get_params() == estimator.get_params()
        assert not hasattr(copy, "model_")


@pytest.mark.parametrize("make", [
    small_dense, small_cnn,
    lambda: small_cnn(augmentation=("flip", "rot90", "brightness"), batch_norm=True),
    make_baseline,
])
def test_joblib_round_trip(chips, tmp_path, make):
    X, y = chips
    estimator = make().fit(X, y)
    joblib.dump(estimator, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))


def test_regressor_joblib_round_trip(chips, tmp_path):
    X, y = chips
    reg = DenseShipRegressor(hidden_units=(8,), epochs=2, random_state=0)
    reg.fit(X, y.astype(float))
    joblib.dump(reg, tmp_path / "reg.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "reg.joblib").predict(X),
                                  reg.predict(X))
