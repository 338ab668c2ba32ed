"""MultiOutputShipClassifier: one CNN, a label head and a location head."""

import inspect

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.base import clone, is_classifier
from sklearn.model_selection import cross_validate

from sklship import MultiOutputShipClassifier, make_ships


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
    assert np.all(error < 0.7 * guess_the_mean)
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
