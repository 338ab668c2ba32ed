"""WideDeepClassifier / WideDeepRegressor: the old DNNLinearCombined estimators."""

import joblib
import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.compose import make_column_selector
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from sklship import (
    ChipMetadataEncoder,
    WideDeepClassifier,
    WideDeepRegressor,
    load_shipsnet,
    make_ships,
)
from sklship.estimators.layers import WideDeepOptimizer


@pytest.fixture(scope="module")
def table():
    """A fixed effect of 5 groups (one-hot, wide) plus 2 continuous columns (deep)."""
    rng = np.random.RandomState(0)
    group = rng.randint(5, size=240)
    effect = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])[group]
    x = rng.normal(size=(240, 2))
    y = (effect + 2 * x[:, 0] + 0.3 * rng.normal(size=240) > 0).astype(int)
    frame = pd.DataFrame(np.eye(5)[group], columns=[f"group_{g}" for g in range(5)])
    frame[["x0", "x1"]] = x
    return frame, y


@pytest.fixture(scope="module")
def chips():
    return make_ships(120, image_size=16, n_scenes=4, random_state=0, as_frame=True)


def small(**params):
    return WideDeepClassifier(**{"dnn_hidden_units": (8,), "epochs": 3, "batch_size": 16,
                                 "random_state": 0, **params})


WIDE = [f"group_{g}" for g in range(5)]


def layer_names(model):
    return [layer.name for layer in model.layers]


def test_defaults_are_the_old_estimators():
    clf = WideDeepClassifier()
    assert (clf.wide_optimizer, clf.wide_learning_rate) == ("ftrl", "auto")
    assert (clf.dnn_optimizer, clf.dnn_learning_rate) == ("adagrad", 0.05)
    assert is_classifier(clf) and is_regressor(WideDeepRegressor())
    assert WideDeepRegressor().get_params() == {
        k: v for k, v in clf.get_params().items() if k != "class_weight"
    }


def test_two_optimizers_each_on_its_own_part(table):
    X, y = table
    clf = small(wide_columns=WIDE, dnn_optimizer="adam", dnn_learning_rate=0.05).fit(X, y)
    assert clf.score(X, y) > 0.85
    optimizer = clf.model_.optimizer
    assert isinstance(optimizer, WideDeepOptimizer)
    assert isinstance(optimizer.wide_optimizer, keras.optimizers.Ftrl)
    assert isinstance(optimizer.deep_optimizer, keras.optimizers.Adam)
    # "auto": the old estimator's min(0.2, 1 / sqrt(number of wide columns))
    auto = min(0.2, 1 / np.sqrt(5))
    assert float(optimizer.wide_optimizer.learning_rate) == pytest.approx(auto)
    assert float(optimizer.deep_optimizer.learning_rate) == pytest.approx(0.05)
    steps = 3 * int(np.ceil(len(X) / 16))
    assert int(optimizer.wide_optimizer.iterations) == steps
    assert int(optimizer.deep_optimizer.iterations) == steps
    assert sorted(v.path for v in optimizer.wide_optimizer._trainable_variables) == [
        "wide_logits/bias", "wide_logits/kernel"]
    assert not any(v.path.startswith("wide") for v in
                   optimizer.deep_optimizer._trainable_variables)
    assert {"wide_logits", "deep_logits", "logits", "output"} <= set(
        layer_names(clf.model_))


def test_each_part_has_its_own_learning_rate(table):
    X, y = table
    clf = small(wide_columns=WIDE, wide_optimizer="sgd", wide_learning_rate=1e-12,
                dnn_optimizer="sgd", dnn_learning_rate=0.1).fit(X, y)
    # Both biases start at zero: only the deep one may move.
    assert np.abs(clf.model_.get_layer("wide_logits").bias.numpy()).max() < 1e-9
    assert np.abs(clf.model_.get_layer("deep_logits").bias.numpy()).max() > 1e-3


def test_wide_only_is_a_linear_model(table):
    X, y = table
    clf = small(wide_columns=WIDE, deep_columns=[]).fit(X, y)
    assert "deep_logits" not in layer_names(clf.model_)
    assert isinstance(clf.model_.optimizer, keras.optimizers.Ftrl)
    kernel, bias = clf.model_.get_layer("wide_logits").get_weights()
    logit = X[WIDE].to_numpy() @ kernel[:, 0] + bias[0]
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], 1 / (1 + np.exp(-logit)),
                               rtol=1e-5)


def test_all_deep_is_the_dense_network(table):
    X, y = table
    clf = small(dnn_hidden_units=(8, 4), dnn_dropout=0.2, batch_norm=True,
                epochs=1).fit(X, y)
    assert isinstance(clf.model_.optimizer, keras.optimizers.Adagrad)
    assert clf.wide_columns_.size == 0 and clf.deep_columns_.tolist() == list(range(7))
    types = [type(layer).__name__ for layer in clf.model_.layers]
    assert types.count("Dropout") == 2 and types.count("BatchNormalization") == 2
    dense = [layer.units for layer in clf.model_.layers
             if isinstance(layer, keras.layers.Dense)]
    assert dense == [8, 4, 1]


def test_image_plus_metadata_is_one_model(chips):
    wide = ChipMetadataEncoder(n_bins=3).fit_transform(chips.frame)
    X = np.hstack([wide, chips.images.reshape(len(wide), -1)])
    assert X.dtype == np.uint8  # one-hot and pixels: the input stays uint8
    clf = small(wide_columns=np.arange(wide.shape[1]), image_shape=(16, 16, 3),
                dnn_hidden_units=(), epochs=2).fit(X, chips.target)
    model = clf.model_
    assert model.inputs[0].dtype == "uint8"
    assert clf.deep_scale_ == pytest.approx(1 / 255)
    # The deep part is the book's CNN body: Conv2D 8 -> Conv2D 4 -> Flatten.
    convolutions = [layer for layer in model.layers
                    if isinstance(layer, keras.layers.Conv2D)]
    assert [layer.filters for layer in convolutions] == [8, 4]
    assert model.get_layer("wide_logits").kernel.shape == (wide.shape[1], 1)
    assert model.get_layer("deep_logits").kernel.shape == (12 * 12 * 4, 1)
    assert clf.predict_proba(X).shape == (len(X), 2)
    with pytest.raises(ValueError, match="deep columns of X have dtype float32"):
        clf.predict(X.astype(np.float32))


def test_columns_by_name_position_and_selector(table):
    X, y = table
    by_name = small(wide_columns=WIDE, deep_columns=["x0"], epochs=1).fit(X, y)
    assert by_name.wide_columns_.tolist() == [0, 1, 2, 3, 4]
    assert by_name.deep_columns_.tolist() == [5]  # x1 is in neither part
    assert by_name.model_.input_shape == (None, 6)
    by_position = small(wide_columns=[-7, 1, 2, 3, 4], deep_columns=5, epochs=1).fit(
        X.to_numpy(), y)
    np.testing.assert_array_equal(by_position.predict_proba(X.to_numpy()),
                                  by_name.predict_proba(X))
    by_selector = small(wide_columns=make_column_selector(pattern="^group_"),
                        epochs=1).fit(X, y)
    assert by_selector.wide_columns_.tolist() == [0, 1, 2, 3, 4]
    assert by_selector.feature_names_in_.tolist() == list(X.columns)


def test_sample_weight_zero_is_leaving_rows_out(table):
    """Also shows reproducibility: two fits with one seed, identical numbers."""
    X, y = table
    weight = (np.arange(len(y)) % 3 > 0).astype(float)
    kept = weight > 0
    weighted = small(wide_columns=WIDE, epochs=2).fit(X, y, sample_weight=weight)
    subset = small(wide_columns=WIDE, epochs=2).fit(X[kept], y[kept])
    np.testing.assert_array_equal(weighted.predict_proba(X), subset.predict_proba(X))


def test_grid_search_cross_val_score_clone_joblib(table, tmp_path):
    X, y = table
    candidates = [{"dnn_hidden_units": [(4,)], "wide_columns": [WIDE[:2]]},
                  {"dnn_hidden_units": [(8,)], "wide_columns": [WIDE]}]
    grid = GridSearchCV(small(epochs=2), candidates, cv=2).fit(X, y)
    assert len(grid.cv_results_["params"]) == 2
    best = grid.best_estimator_
    assert best.wide_columns in (WIDE[:2], WIDE)
    assert clone(best).get_params() == best.get_params()
    scores = cross_val_score(small(wide_columns=WIDE, epochs=2), X, y, cv=2)
    assert scores.shape == (2,) and scores.min() > 0.6
    path = tmp_path / "wide_deep.joblib"
    joblib.dump(best, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), best.predict_proba(X))
    # Both optimizer states travel with the model, so training can go on.
    for part in ("wide_optimizer", "deep_optimizer"):
        assert int(getattr(loaded.model_.optimizer, part).iterations) == int(
            getattr(best.model_.optimizer, part).iterations)
    best.model_.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    rows = best._validate_data(X)[0]
    np.testing.assert_allclose(reloaded.predict(rows, verbose=0),
                               best.model_.predict(rows, verbose=0), rtol=1e-5)


def test_regressor_several_targets_with_wide_part(table):
    X, _ = table
    Y = np.column_stack([X[WIDE].to_numpy() @ np.arange(5.0), X["x0"] - X["x1"]])
    reg = WideDeepRegressor(wide_columns=WIDE, dnn_hidden_units=(16,),
                            wide_optimizer="adam", wide_learning_rate=0.1,
                            dnn_optimizer="adam", dnn_learning_rate=0.02, epochs=10,
                            batch_size=16, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (len(X), 2)
    assert reg.score(X, Y) > 0.9


@pytest.mark.parametrize("params, error, message", [
    ({"wide_columns": ["group_0", "harbour"]}, ValueError,
     r"wide_columns names columns that are not in X: \['harbour'\]"),
    ({"wide_columns": ["group_0", "x0"], "deep_columns": ["x0", "x1"]}, ValueError,
     r"must not share columns; both hold \['x0'\]"),
    ({"wide_columns": ["group_0", 1]}, TypeError, "not a mix"),
    ({"wide_columns": [0, 9]}, ValueError, r"positions \[9\] outside X, which has 8"),
    ({"wide_columns": ["group_0", "group_0"]}, ValueError, "more than once"),
    ({"wide_columns": WIDE}, TypeError,
     r"columns \['scene'\] of X are not numeric \(dtype (object|str)\).*ChipMetadataEnc"),
    ({"wide_columns": [], "deep_columns": []}, ValueError, "nothing to train on"),
    ({"image_shape": (2, 2, 3)}, ValueError, "equal to the 8 deep columns"),
    ({"wide_learning_rate": "fast"}, ValueError, "'wide_learning_rate' parameter"),
])
def test_bad_columns_are_named(table, params, error, message):
    X, y = table
    X = X.assign(scene=np.where(y, "sf", "la"))
    with pytest.raises(error, match=message):
        small(**params).fit(X, y)


def test_bad_array_input_is_named(table):
    X, y = table
    with pytest.raises(ValueError, match="selects columns by name.*no column names"):
        small(wide_columns=["group_0"]).fit(X.to_numpy(), y)
    objects = X.to_numpy().astype(object)
    objects[:, 6] = "harbour"
    with pytest.raises(TypeError,
                       match=r"columns \[6\] of X are not numeric \(could not convert"):
        small(wide_columns=[0]).fit(objects, y)
    with pytest.raises(ValueError, match="expects X as 2-D rows.*image_shape"):
        small().fit(np.zeros((4, 2, 2, 3)), [0, 1, 0, 1])


def test_location_features_carry_signal_to_unseen_scenes(shipsnet_dir):
    """Real chips, group CV by scene: the wide (Ftrl) part alone, on metadata only."""
    data = load_shipsnet(shipsnet_dir, as_frame=True)
    wide_only = make_pipeline(
        ChipMetadataEncoder(),
        WideDeepClassifier(wide_columns=make_column_selector(), deep_columns=[],
                           epochs=5, random_state=0),
    ).set_output(transform="pandas")
    auc = cross_val_score(wide_only, data.frame, data.target, groups=data.scene_id,
                          cv=StratifiedGroupKFold(3), scoring="roc_auc")
    # Test scenes are never seen, so their fixed effects are zero: what is left
    # is location. 0.5 would be no signal; logistic regression gets 0.83.
    assert auc.mean() > 0.75
