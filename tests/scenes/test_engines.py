"""The engines' model cache: kept per Keras model, rebuilt when training moves the weights."""

import numpy as np

from sklship import CNNShipClassifier, make_ships
from sklship.datasets import make_scene
from sklship.scenes.engines import _shared_run, forget_model, make_engine, weights_version


def test_the_shared_engine_cache_follows_training_without_hashing_weights():
    X, y = make_ships(60, image_size=16, random_state=0, return_X_y=True)
    model = CNNShipClassifier((4,), epochs=1, random_state=0).fit(X, y)
    run, reason = _shared_run(model, 16, 4)
    assert reason is None and _shared_run(model, 16, 4)[0] is run  # a cache hit
    version = weights_version(model.model_)
    assert weights_version(model.model_) == version  # reading it changes nothing

    # One more epoch moves the weights and the optimizer's step counter: the
    # copy is rebuilt and the engine matches predict_proba on every window.
    model.partial_fit(X, y)
    assert weights_version(model.model_) != version
    assert _shared_run(model, 16, 4)[0] is not run
    scene, _ = make_scene(32, 40, n_ships=1, chip_size=16, random_state=0)
    windows = np.stack([scene[i:i + 16, j:j + 16] for i in range(0, 17, 4)
                        for j in range(0, 25, 4)])
    np.testing.assert_allclose(make_engine(model, 16, 4)(scene).ravel(),
                               model.predict_proba(windows)[:, 1], atol=1e-5)

    # Weights written by hand: forget_model drops the stale copy.
    model.model_.set_weights([w * 0 for w in model.model_.get_weights()])
    forget_model(model.model_)
    np.testing.assert_allclose(make_engine(model, 16, 4)(scene), 0.5, atol=1e-6)
