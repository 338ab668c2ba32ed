"""recommended_model: the configuration chosen by group cross-validation."""

import numpy as np
from sklearn.base import clone

from sklship import CNNShipClassifier, make_ships, recommended_model


def test_returns_an_unfitted_cnn_with_the_chosen_parameters():
    model = recommended_model(random_state=3)
    assert isinstance(model, CNNShipClassifier)
    assert not hasattr(model, "model_") and not getattr(model, "initialized_", False)
    params = model.get_params()
    assert params["random_state"] == 3
    assert tuple(params["filters"]) == (16, 32, 64, 128)
    assert params["first_stride"] == 2
    assert params["batch_norm"] and params["pooling"] == "max" and params["global_pool"]
    assert set(params["augmentation"]) == {"flip", "rot90", "brightness", "shift"}
    assert params["test_time_augmentation"] and params["lr_schedule"] == "cosine"
    assert params["epochs"] == 30 and params["batch_size"] == 64
    assert recommended_model().get_params()["random_state"] is None
    assert clone(model).get_params() == params


def test_fits_small_chips_reproducibly():
    data = make_ships(64, image_size=32, random_state=0)
    X, y = data.images, data.target
    first = recommended_model(random_state=0).set_params(epochs=2).fit(X, y)
    proba = first.predict_proba(X)
    assert proba.shape == (64, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    second = recommended_model(random_state=0).set_params(epochs=2).fit(X, y)
    np.testing.assert_array_equal(proba, second.predict_proba(X))
    assert set(first.predict(X)) <= {0, 1}
