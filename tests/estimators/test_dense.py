"""DenseShipClassifier / DenseShipRegressor: the old DNNClassifier / DNNRegressor."""

import keras
import numpy as np
import pytest

from sklship import DenseShipClassifier, DenseShipRegressor, make_ships


@pytest.fixture(scope="module")
def chips():
    data = make_ships(120, image_size=16, random_state=1)
    return data.images, data.target


def layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


def test_defaults_are_the_old_estimators():
    clf = DenseShipClassifier()
    assert clf.hidden_units == (256, 128, 64, 32)
    assert clf.activation == "relu"
    assert clf.optimizer == "adagrad"
    assert clf.learning_rate == 0.05
    assert DenseShipRegressor().get_params() == {
        k: v for k, v in clf.get_params().items() if k != "class_weight"
    }


def test_default_network(chips):
    X, y = chips
    clf = DenseShipClassifier(epochs=1).fit(X, y)
    dense = [layer for layer in clf.model_.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [256, 128, 64, 32, 1]
    assert isinstance(clf.model_.optimizer, keras.optimizers.Adagrad)
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.05)
    assert layer_types(clf.model_)[:3] == ["InputLayer", "Rescaling", "Flatten"]


def test_book_dense_network_on_chips():
    X, y = make_ships(40, random_state=0, return_X_y=True)
    book = DenseShipClassifier(hidden_units=(4,), activation="sigmoid",
                               optimizer="adam", learning_rate=None, epochs=1,
                               class_weight={0: y.mean(), 1: 1 - y.mean()})
    book.fit(X, y)
    # Flatten(19200) -> Dense(4) -> Dense(1): 19200 * 4 + 4 + 4 + 1 weights
    assert book.model_.count_params() == 76_809


def test_dropout_and_batch_norm_layers(chips):
    X, y = chips
    clf = DenseShipClassifier(hidden_units=(8, 4), dropout=0.3, batch_norm=True,
                              activation="tanh", epochs=1, random_state=0).fit(X, y)
    types = layer_types(clf.model_)
    assert types.count("Dropout") == 2
    assert types.count("BatchNormalization") == 2
    assert [layer.activation.__name__ for layer in clf.model_.layers
            if isinstance(layer, keras.layers.Activation)] == ["tanh", "tanh"]


def test_three_classes_use_softmax(chips):
    X, y = chips
    y3 = np.arange(len(y)) % 3
    clf = DenseShipClassifier(hidden_units=(8,), epochs=1, random_state=0).fit(X, y3)
    assert clf.model_.layers[-1].units == 3
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1)


def test_regressor_several_targets():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4))
    Y = np.column_stack([X[:, 0] + X[:, 1], X[:, 2] - X[:, 3]])
    reg = DenseShipRegressor(hidden_units=(16,), optimizer="adam", learning_rate=0.02,
                             epochs=25, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (200, 2)
    assert reg.score(X, Y) > 0.9


def test_optimizer_instance_is_copied(chips):
    X, y = chips
    optimizer = keras.optimizers.SGD(learning_rate=0.1, momentum=0.5)
    clf = DenseShipClassifier(hidden_units=(4,), optimizer=optimizer,
                              learning_rate=None, epochs=1).fit(X, y)
    assert clf.model_.optimizer is not optimizer
    assert clf.model_.optimizer.momentum == 0.5
    assert int(optimizer.iterations) == 0


@pytest.mark.parametrize("params, message", [
    ({"hidden_units": (8, 0)}, "hidden_units must be a sequence of positive"),
    ({"optimizer": "adamm"}, "'optimizer' parameter"),
    ({"dropout": 1.5}, "'dropout' parameter"),
    ({"activation": "relux"}, "'activation' parameter"),
])
def test_bad_parameters_are_named(chips, params, message):
    X, y = chips
    with pytest.raises(ValueError, match=message):
        DenseShipClassifier(epochs=1, **params).fit(X, y)
