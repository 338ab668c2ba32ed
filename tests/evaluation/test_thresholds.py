"""Calibration and threshold wrappers around every sklship classifier.

Each classifier is fitted once; ``FrozenEstimator`` keeps it as it is while
``CalibratedClassifierCV`` and ``TunedThresholdClassifierCV`` are fitted on
other chips. Every wrapper is saved and loaded in the native format,
predicts as before, and scans a scene with its own probabilities and
threshold.
"""

import joblib
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import FixedThresholdClassifier, TunedThresholdClassifierCV

from sklship import (
    CNNShipClassifier,
    DenseShipClassifier,
    MultiOutputShipClassifier,
    PretrainedShipClassifier,
    WideDeepClassifier,
    make_scene,
    make_ships,
    recommended_model,
)
from sklship.estimators.persistence import load_model, save_model
from sklship.evaluation.thresholds import (
    calibrated,
    decision_threshold,
    fitted_network,
    probability_estimator,
)
from sklship.scenes.scan import scan_scene


def _upsampled(X):
    return np.repeat(np.repeat(X, 2, axis=1), 2, axis=2)  # 16 -> 32 px


# name -> (unfitted classifier, chips of 16 px -> its input, fit keyword arguments)
MODELS = {
    "dense": (lambda: DenseShipClassifier((8,), epochs=2, random_state=0), None, {}),
    "cnn": (lambda: CNNShipClassifier((4,), epochs=2, random_state=0), None, {}),
    # Without test-time augmentation, which costs 8 predictions per chip.
    "recommended": (lambda: recommended_model(random_state=0).set_params(
        filters=(4, 8), epochs=1, test_time_augmentation=False), _upsampled, {}),
    "pretrained": (lambda: PretrainedShipClassifier(
        "mobilenetv2", weights=None, epochs=1, random_state=0), _upsampled, {}),
    "multi-output": (lambda: MultiOutputShipClassifier((4,), epochs=1, random_state=0),
                     None, {"location": True}),
    "wide-deep": (lambda: WideDeepClassifier(wide_columns=[0], dnn_hidden_units=(4,),
                                             epochs=1, random_state=0),
                  lambda X: np.hstack([X.reshape(len(X), -1)[:, :1],
                                       X.reshape(len(X), -1)]).astype(np.float32) / 255,
                  {}),
}


@pytest.fixture(scope="module")
def chips():
    return make_ships(120, image_size=16, random_state=0)


@pytest.fixture(scope="module")
def fitted(chips):
    """name -> (classifier fitted on the first 60 chips, the other 60 as it reads them)."""
    models = {}
    for name, (make, convert, fit_kwargs) in MODELS.items():
        X = chips.images if convert is None else convert(chips.images)
        kwargs = {"location": np.column_stack([chips.longitude, chips.latitude])[:60]} \
            if fit_kwargs else {}
        models[name] = make().fit(X[:60], chips.target[:60], **kwargs), X[60:]
    return models


WRAPPERS = {
    "isotonic": lambda frozen: CalibratedClassifierCV(frozen, method="isotonic", cv=2),
    "sigmoid-tuned": lambda frozen: TunedThresholdClassifierCV(
        CalibratedClassifierCV(frozen, method="sigmoid", cv=2),
        scoring="balanced_accuracy", cv=2),
}


def _windows(scene, window, stride):
    views = sliding_window_view(scene, (window, window, 3))[::stride, ::stride, 0]
    return views.reshape((-1,) + views.shape[2:]), views.shape[:2]


@pytest.mark.parametrize("wrapper", WRAPPERS)
@pytest.mark.parametrize("name", MODELS)
def test_wrapped_classifier_saves_loads_predicts_and_scans(name, wrapper, fitted, chips,
                                                           tmp_path):
    network, X = fitted[name]
    y = chips.target[60:]
    model = WRAPPERS[wrapper](FrozenEstimator(network))
    # (A random frozen MobileNetV2 gives nearly the same features for every chip;
    # its converged logistic head still separates them enough to tune.)
    model.fit(X, y)
    threshold = decision_threshold(model)
    if wrapper == "isotonic":
        assert threshold == 0.5
    else:
        assert threshold == model.best_threshold_ and 0 <= threshold <= 1

    loaded = load_model(save_model(model, tmp_path / "model.sklship"))
    assert type(loaded) is type(model)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert decision_threshold(loaded) == threshold
    assert fitted_network(loaded).get_params() == network.get_params()
    if wrapper != "isotonic":  # (isotonic ties at 0.5 go to class 0 in predict)
        proba = model.predict_proba(X)[:, 1]
        np.testing.assert_array_equal(model.predict(X), (proba >= threshold).astype(int))

    if name == "wide-deep":  # rows of metadata and pixels: no scene to slide over
        return
    window = fitted_network(loaded).input_shape_[0]
    scene, _ = make_scene(2 * window, 3 * window, n_ships=1, chip_size=window,
                          random_state=0)
    result = scan_scene(loaded, scene, stride=window // 4)
    assert result.window == window and result.threshold == threshold
    windows, grid = _windows(scene, window, window // 4)
    expected = loaded.predict_proba(windows)[:, 1].reshape(grid)
    np.testing.assert_allclose(result.probabilities, expected, atol=1e-5)
    assert (result.detections["probability"] >= threshold).all()
    assert result.engine == "batched"  # calibrated: predict_proba of the wrapper


def test_calibrated_builds_the_stack_and_fits_inside_cross_validation(chips, tmp_path):
    model = calibrated(CNNShipClassifier((4,), epochs=1, random_state=0),
                       method="sigmoid", tune="balanced_accuracy", cv=2, random_state=0)
    assert isinstance(model, TunedThresholdClassifierCV)
    assert isinstance(model.estimator, CalibratedClassifierCV)
    assert model.estimator.method == "sigmoid" and model.scoring == "balanced_accuracy"
    model.fit(chips.images, chips.target)
    # Two calibrated folds; each holds its own network.
    assert len(model.estimator_.calibrated_classifiers_) == 2
    assert fitted_network(model).input_shape_ == (16, 16, 3)
    assert probability_estimator(model) is model.estimator_

    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    again = joblib.load(path)
    np.testing.assert_allclose(again.predict_proba(chips.images),
                               model.predict_proba(chips.images))
    assert decision_threshold(again) == model.best_threshold_


def test_fixed_threshold_is_used_by_predict_and_scan(fitted, tmp_path):
    network, _ = fitted["cnn"]
    model = calibrated(FrozenEstimator(network), threshold=0.2)
    assert isinstance(model, FixedThresholdClassifier)
    scene, _ = make_scene(32, 48, n_ships=1, chip_size=16, random_state=1)
    model.fit(*make_ships(20, image_size=16, random_state=1, return_X_y=True))
    loaded = load_model(save_model(model, tmp_path / "fixed.sklship"))
    assert decision_threshold(loaded) == 0.2
    result = scan_scene(loaded, scene, stride=4)
    assert result.threshold == 0.2 and result.engine == "shared"
    assert scan_scene(loaded, scene, stride=4, threshold=0.9).threshold == 0.9
    assert decision_threshold(FixedThresholdClassifier(network).fit(
        *make_ships(20, image_size=16, random_state=1, return_X_y=True))) == 0.5


def test_at_threshold_wraps_a_fitted_model_without_refitting_it(fitted):
    from sklship.estimators.unwrap import at_threshold

    network, X = fitted["recommended"]
    weights = [w.copy() for w in network.model_.get_weights()]
    model = at_threshold(network, 0.7)
    assert decision_threshold(model) == 0.7 and probability_estimator(model) is network
    assert all(np.array_equal(a, b) for a, b in zip(weights, network.model_.get_weights(),
                                                       strict=True))
    proba = network.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(model.predict(X), network.classes_[(proba >= 0.7) * 1])


def test_errors_name_the_problem(fitted):
    network, X = fitted["cnn"]
    with pytest.raises(ValueError, match="give threshold or tune, not both"):
        calibrated(network, threshold=0.3, tune="f1")
    margin = FixedThresholdClassifier(FrozenEstimator(network), threshold=0.0,
                                      response_method="decision_function")
    with pytest.raises(ValueError, match="must threshold probabilities"):
        decision_threshold(margin)


def test_unwrapping_helpers_live_with_the_estimators_and_keep_their_old_home():
    from sklship.estimators import unwrap
    from sklship.evaluation import thresholds

    for name in ("decision_threshold", "fitted_network", "probability_estimator",
                 "DEFAULT_THRESHOLD"):
        assert getattr(thresholds, name) is getattr(unwrap, name)


def test_thresholded_labels_cut_where_the_model_says_or_where_asked():
    from sklearn.dummy import DummyClassifier
    from sklearn.model_selection import FixedThresholdClassifier

    from sklship.estimators.unwrap import thresholded_labels

    X, y = np.zeros((4, 1)), np.array(["no", "ship", "no", "ship"])
    proba = np.array([[0.9, 0.1], [0.35, 0.65], [0.5, 0.5], [0.2, 0.8]])
    cut = FixedThresholdClassifier(DummyClassifier(), threshold=0.7).fit(X, y)
    probability, labels = thresholded_labels(cut, proba)
    np.testing.assert_array_equal(probability, [0.1, 0.65, 0.5, 0.8])
    assert labels.tolist() == ["no", "no", "no", "ship"]
    assert thresholded_labels(cut, proba, 0.5)[1].tolist() == ["no", "ship", "ship", "ship"]
    three = DummyClassifier().fit(np.zeros((3, 1)), ["a", "b", "c"])
    probability, labels = thresholded_labels(three, np.array([[0.2, 0.5, 0.3]]))
    assert probability.tolist() == [0.5] and labels.tolist() == ["b"]
    with pytest.raises(ValueError, match="threshold needs a binary model; this one has 3"):
        thresholded_labels(three, np.array([[0.2, 0.5, 0.3]]), 0.5)


def test_a_soft_vote_of_networks_as_a_cascade_detector_saves_and_scans(fitted, tmp_path):
    from sklearn.ensemble import VotingClassifier

    from sklship import make_baseline
    from sklship.estimators.cascade import VerifiedShipClassifier
    from sklship.estimators.unwrap import averages_symmetries, soft_vote

    network, _ = fitted["cnn"]
    other = CNNShipClassifier((4,), epochs=1, random_state=1, test_time_augmentation=True)
    X, y = make_ships(40, image_size=16, random_state=2, return_X_y=True)
    vote = VotingClassifier([("a", FrozenEstimator(network)), ("b", other)],
                            voting="soft", weights=[1, 3]).fit(X, y)
    assert fitted_network(vote) is network  # the members share their input form
    assert [(member, weight) for member, weight in soft_vote(vote)] == [
        (network, 0.25), (vote.estimators_[1], 0.75)]
    assert not averages_symmetries(vote) and averages_symmetries(vote.estimators_[1])
    cascade = VerifiedShipClassifier(FrozenEstimator(vote), make_baseline(),
                                     proposal_threshold=0.05).fit(X, y)
    loaded = load_model(save_model(cascade, tmp_path / "cascade.sklship"))
    np.testing.assert_allclose(loaded.predict_proba(X), cascade.predict_proba(X), atol=1e-6)
    scene, _ = make_scene(48, 64, n_ships=2, chip_size=16, random_state=1)
    before, result = (scan_scene(model, scene, stride=4, threshold=0.05)
                      for model in (cascade, loaded))
    assert result.engine == before.engine == "shared" and len(result.detections) > 0
    # The detector's probabilities are the vote's predict_proba on every window.
    windows = sliding_window_view(scene, (16, 16, 3))[::4, ::4, 0]
    np.testing.assert_allclose(
        result.probabilities,
        vote.predict_proba(windows.reshape(-1, 16, 16, 3))[:, 1].reshape(windows.shape[:2]),
        atol=1e-5)
    np.testing.assert_allclose(result.detections["probability"],
                               before.detections["probability"], atol=1e-6)
