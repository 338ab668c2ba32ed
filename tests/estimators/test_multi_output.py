"""MultiOutputShipClassifier: one CNN, a label head and a location head."""

import inspect
import pickle

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.base import clone, is_classifier
from sklearn.model_selection import cross_validate

from sklship import MultiOutputShipClassifier, make_ships
from sklship.estimators.symmetry import symmetric_views


@pytest.fixture(scope="module")
def chips():
    # Three scenes, each with its own colour and place: location is learnable.
    data = make_ships(200, image_size=16, n_scenes=3, random_state=0)
    return data.images, data.target, np.column_stack([data.longitude, data.latitude])


def small(**params):
    return MultiOutputShipClassifier(**{"filters": (4,), "learning_rate": 0.01,
                                        "epochs": 5, "random_state": 0, **params})


@pytest.fixture(scope="module")
def fitted(chips):
    X, y, location = chips
    return small().fit(X[:150], y[:150], location=location[:150])


def test_one_network_learns_label_and_location(chips, fitted):
    X, y, location = chips
    assert is_classifier(fitted)
    assert [layer.name for layer in fitted.model_.layers[-3:]] == [
        "label", "location", "output"]
    assert fitted.predict(X[150:]).shape == (50,)
    assert fitted.score(X[150:], y[150:]) >= 0.7
    predicted = fitted.predict_location(X[150:])
    error = np.abs(predicted - location[150:]).mean(axis=0)
    guess_the_mean = np.abs(location[150:] - location[:150].mean(axis=0)).mean(axis=0)
    # After 5 epochs the error is 0.36 to 0.80 times the guess's for
    # random_state 0 to 3 (latitude is the harder one).
    assert np.all(error < 0.85 * guess_the_mean)
    np.testing.assert_allclose(fitted.location_mean_, location[:150].mean(axis=0))


def test_joblib_round_trip(chips, fitted, tmp_path):
    X = chips[0]
    joblib.dump(fitted, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict_location(X), fitted.predict_location(X))
    assert clone(fitted).get_params() == fitted.get_params()


def test_location_travels_with_the_rows_through_sklearn_tools(chips):
    X, y, location = chips
    assert "location" in inspect.signature(small().set_fit_request).parameters
    with sklearn.config_context(enable_metadata_routing=True):
        routed = cross_validate(small(epochs=1).set_fit_request(location=True), X, y,
                                params={"location": location}, cv=2)
    plain = cross_validate(small(epochs=1), X, y, params={"location": location}, cv=2)
    np.testing.assert_array_equal(routed["test_score"], plain["test_score"])


def test_zero_weights_leave_out_labels_and_locations(chips):
    X, y, location = chips
    weight = (np.arange(len(y)) % 4 > 0).astype(float)
    kept = weight > 0
    weighted = small(epochs=2).fit(X, y, location=location, sample_weight=weight)
    subset = small(epochs=2).fit(X[kept], y[kept], location=location[kept])
    np.testing.assert_array_equal(weighted.predict_location(X), subset.predict_location(X))


def test_three_classes(chips):
    X, _, location = chips
    y = np.arange(len(X)) % 3
    clf = small(epochs=1, validation_split=0.2).fit(X, y, location=location)
    proba = clf.predict_proba(X[:4])
    assert proba.shape == (4, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert clf.predict_location(X[:4]).shape == (4, 2)


@pytest.mark.parametrize("location, message", [
    (None, r"needs location.*got None. Use CNNShipClassifier"),
    (np.zeros((200, 3)), r"location must have 2 columns.*shape \(200, 3\)"),
    (np.zeros((10, 2)), "inconsistent numbers of samples"),
    (np.full((200, 2), np.nan), "location contains NaN"),
])
def test_bad_location_is_named(chips, location, message):
    X, y, _ = chips
    with pytest.raises(ValueError, match=message):
        small().fit(X, y, location=location)


def test_first_stride_strides_the_shared_body(chips, fitted):
    X, y, location = chips
    strided = small(first_stride=2).fit(X[:150], y[:150], location=location[:150])
    # 16x16 chips, 3x3 kernel: 14x14 feature maps at stride 1, 7x7 at stride 2.
    assert fitted.model_.layers[2].output.shape[1:3] == (14, 14)
    assert strided.model_.layers[2].output.shape[1:3] == (7, 7)
    assert strided.model_.count_params() < fitted.model_.count_params()


def test_lr_schedule_decays_the_learning_rate(chips):
    X, y, location = chips
    clf = small(epochs=4, lr_schedule="cosine").fit(X, y, location=location)
    # The last of 4 epochs trains at 0.01 * (1 + cos(3 pi / 4)) / 2.
    np.testing.assert_allclose(float(np.asarray(clf.model_.optimizer.learning_rate)),
                               0.01 * (1 + np.cos(3 * np.pi / 4)) / 2, rtol=1e-6)
    constant = small(epochs=4).fit(X, y, location=location)
    np.testing.assert_allclose(float(np.asarray(constant.model_.optimizer.learning_rate)), 0.01)


def test_test_time_augmentation_averages_labels_and_locations(chips, fitted):
    X = chips[0][150:]
    views = [X] + list(symmetric_views(X))
    assert len(views) == 8
    plain_proba = np.mean([fitted.predict_proba(view) for view in views], axis=0)
    plain_location = np.mean([fitted.predict_location(view) for view in views], axis=0)
    averaging = pickle.loads(pickle.dumps(fitted)).set_params(test_time_augmentation=True)
    np.testing.assert_allclose(averaging.predict_proba(X), plain_proba, rtol=1e-5)
    np.testing.assert_allclose(averaging.predict_location(X), plain_location, rtol=1e-5)
    assert not np.allclose(fitted.predict_proba(X), plain_proba)
