"""VerifiedShipClassifier: a detector and a verifier, fitted, combined and saved."""

import zipfile

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression

from sklship import DenseShipClassifier, load_model, make_baseline, make_ships, save_model
from sklship.estimators.cascade import VerifiedShipClassifier
from sklship.estimators.unwrap import fitted_network


@pytest.fixture(scope="module")
def chips():
    return make_ships(120, image_size=16, random_state=0, return_X_y=True)


def test_probability_is_the_geometric_mean_of_both(chips):
    X, y = chips
    model = VerifiedShipClassifier(make_baseline(C=0.01), make_baseline(C=1.0)).fit(X, y)
    detector = make_baseline(C=0.01).fit(X, y).predict_proba(X)[:, 1]
    verifier = make_baseline(C=1.0).fit(X, y).predict_proba(X)[:, 1]
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], np.sqrt(detector * verifier))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(X), (proba[:, 1] >= 0.5).astype(int))
    # A verifier sure of "no ship" vetoes whatever the detector says.
    veto = VerifiedShipClassifier(make_baseline(), DummyClassifier(strategy="constant",
                                                                   constant=0)).fit(X, y)
    assert not veto.predict_proba(X)[:, 1].any()


def test_a_frozen_detector_is_kept_and_its_network_is_the_scans(chips):
    X, y = chips
    detector = LogisticRegression(max_iter=500).fit(X.reshape(len(X), -1), y)
    frozen = FrozenEstimator(detector)
    model = VerifiedShipClassifier(frozen, LogisticRegression(max_iter=500))
    model.fit(X.reshape(len(X), -1)[:20], y[:20])
    assert model.detector_ is frozen and fitted_network(model) is detector


def test_multiclass_targets_are_refused(chips):
    X, _ = chips
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        VerifiedShipClassifier(make_baseline(), make_baseline()).fit(X, np.arange(len(X)) % 3)


def test_saved_with_its_frozen_network_once_and_loaded_with_the_same_predictions(
        chips, tmp_path):
    X, y = chips
    dense = DenseShipClassifier((4,), epochs=2, random_state=0).fit(X, y)
    model = VerifiedShipClassifier(FrozenEstimator(dense), make_baseline()).fit(X, y)
    path = save_model(model, tmp_path / "cascade.sklship")
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: info.compress_type for info in archive.infolist()}
    # The frozen network is the parameter and the fitted detector: one file.
    assert sorted(members) == ["model_0.keras", "sklship.json"]
    assert members["model_0.keras"] == zipfile.ZIP_DEFLATED
    loaded = load_model(path)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)
    assert loaded.detector.estimator.model_ is loaded.detector_.estimator.model_
