"""ImageNet features as a transformer, the converged logistic head, and
augmentation for transfer learning (issue: transfer learning that beats a
logistic regression on its own features)."""

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklship import make_ships
from sklship.estimators.features import ImageNetFeatures, logistic_head
from sklship.estimators.layers import ChipAugmentation
from sklship.estimators.pretrained import PretrainedShipClassifier

SIZE = 32


@pytest.fixture(scope="module")
def chips():
    data = make_ships(48, image_size=SIZE, random_state=0)
    return data.images, data.target


@pytest.fixture(scope="module")
def features(chips):
    return ImageNetFeatures(weights=None).fit(chips[0])


def test_transform_gives_pooled_features_with_names(chips, features):
    X, _ = chips
    out = features.transform(X)
    assert out.shape == (len(X), 1280) and out.dtype == np.float32
    assert features.n_features_in_ == SIZE * SIZE * 3
    names = features.get_feature_names_out()
    assert len(names) == 1280 and names[0] == "mobilenetv2_0"
    # Floats in [0, 1] are the same chips as uint8: the same features.
    again = ImageNetFeatures(weights=None).fit(X / 255.0)
    again.extractor_.set_weights(features.extractor_.get_weights())
    np.testing.assert_allclose(again.transform(X / 255.0), out, rtol=0, atol=1e-3)
    rows = ImageNetFeatures(weights=None, image_shape=(SIZE, SIZE, 3)).fit(
        X.reshape(len(X), -1))
    assert rows.transform(X.reshape(len(X), -1)).shape == (len(X), 1280)


def test_memory_caches_the_features(chips, features, tmp_path):
    X, _ = chips
    cached = clone(features).set_params(memory=str(tmp_path)).fit(X)
    cached.extractor_.set_weights(features.extractor_.get_weights())
    np.testing.assert_array_equal(cached.transform(X), features.transform(X))
    assert any(tmp_path.rglob("output.pkl"))


def test_bad_input_names_the_problem(chips, features):
    X, _ = chips
    with pytest.raises(ValueError, match="needs RGB images"):
        ImageNetFeatures(weights=None).fit(X.reshape(len(X), -1))
    with pytest.raises(ValueError, match="at least 32x32"):
        ImageNetFeatures(weights=None).fit(X[:, :16, :16])
    with pytest.raises(ValueError, match="was fitted on"):
        features.transform(X[:, :30, :30])


@pytest.mark.slow
def test_pipeline_works_in_grid_search_cross_validation_and_joblib(chips, tmp_path):
    X, y = chips
    model = make_pipeline(ImageNetFeatures(weights=None, memory=str(tmp_path)),
                          StandardScaler(), LogisticRegression(max_iter=2000))
    scores = cross_val_score(model, X, y, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    search = GridSearchCV(model, {"logisticregression__C": [0.1, 1.0]}, cv=2).fit(X, y)
    joblib.dump(search.best_estimator_, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_allclose(loaded.predict_proba(X), search.predict_proba(X), atol=1e-6)


def test_logistic_head_reproduces_the_regression():
    rng = np.random.default_rng(0)
    features = rng.normal(3.0, 2.0, (80, 6))
    labels = (features[:, 0] + rng.normal(0, 1, 80) > 3).astype(int)
    kernel, bias, loss = logistic_head(features, labels, C=0.5)
    scaler = StandardScaler().fit(features)
    regression = LogisticRegression(C=0.5, max_iter=5000).fit(
        scaler.transform(features), labels)
    logit = features @ kernel[:, 0] + bias[0]
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)),
                               regression.predict_proba(scaler.transform(features))[:, 1],
                               rtol=0, atol=1e-5)
    assert 0 < loss < np.log(2)


def test_default_frozen_head_is_the_converged_logistic_regression(chips):
    X, y = chips
    clf = PretrainedShipClassifier("mobilenetv2", weights=None, random_state=0).fit(X, y)
    assert clf.history_["loss"] and len(clf.history_["loss"]) == 1  # no epochs
    # The same backbone weights through the transformer, then scikit-learn.
    own = ImageNetFeatures(weights=None).fit(X)
    own.extractor_.set_weights(clf._feature_extractor().get_weights())
    reference = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    reference.fit(own.transform(X), y)
    np.testing.assert_allclose(clf.predict_proba(X),
                               reference.predict_proba(own.transform(X)),
                               rtol=0, atol=1e-4)
    with pytest.raises(ValueError, match="head_solver='lbfgs' fits the output layer"):
        PretrainedShipClassifier("mobilenetv2", weights=None, dense_units=(4,),
                                 head_solver="lbfgs").fit(X, y)


def test_fine_tuning_augments_and_prediction_averages_the_symmetries(chips):
    X, y = chips
    clf = PretrainedShipClassifier(
        "mobilenetv2", weights=None, augmentation=("flip", "rot90", "brightness"),
        fine_tune_epochs=1, fine_tune_layers=5, batch_size=16, random_state=0).fit(X, y)
    assert any(isinstance(layer, ChipAugmentation) for layer in clf.model_.layers)
    plain = clf.predict_proba(X[:8])
    clf.set_params(test_time_augmentation=True)
    views = [X[:8], X[:8, ::-1], X[:8, :, ::-1], X[:8, ::-1, ::-1]]
    views += [np.swapaxes(v, 1, 2) for v in views]
    expected = np.mean([clf.set_params(test_time_augmentation=False).predict_proba(v)
                        for v in views], axis=0)
    clf.set_params(test_time_augmentation=True)
    np.testing.assert_allclose(clf.predict_proba(X[:8]), expected, rtol=0, atol=1e-5)
    assert not np.allclose(plain, expected)


def test_the_shipped_verifier_recipe_and_a_weights_file_saved_by_name(tmp_path):
    from sklearn.preprocessing import FunctionTransformer

    from sklship.estimators.features import forget_weights_path, imagenet_verifier, true_colour

    weights = tmp_path / "weights" / "mobilenet.tflite"
    verifier = imagenet_verifier(weights, input_size=96, C=0.5,
                                 prepare=FunctionTransformer(true_colour))
    assert [name for name, _ in verifier.steps] == [
        "functiontransformer", "imagenetfeatures", "standardscaler", "logisticregression"]
    params = verifier.get_params()
    assert (params["imagenetfeatures__input_size"], params["logisticregression__C"],
            params["logisticregression__class_weight"]) == (96, 0.5, "balanced")
    assert forget_weights_path(verifier) is verifier
    assert verifier.get_params()["imagenetfeatures__weights"] == "mobilenet.tflite"
    keras_weights = imagenet_verifier("imagenet", input_size=160)
    assert forget_weights_path(keras_weights).get_params()["imagenetfeatures__weights"] == \
        "imagenet"
