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


def test_a_soft_vote_of_networks_scans_with_the_shared_engine_as_its_predict_proba():
    from sklearn.ensemble import VotingClassifier

    X, y = make_ships(80, image_size=16, random_state=0, return_X_y=True)
    scene, _ = make_scene(48, 56, n_ships=2, chip_size=16, random_state=1)
    windows = np.stack([scene[i:i + 16, j:j + 16] for i in range(0, 33, 4)
                        for j in range(0, 41, 4)])
    # Members with and without test-time augmentation, unequal weights and a dropped one.
    for augmented in ((True, True), (False, True), (False, False)):
        vote = VotingClassifier(
            [(f"m{k}", CNNShipClassifier((4,), epochs=1, random_state=k,
                                         test_time_augmentation=tta))
             for k, tta in enumerate(augmented)] + [("off", "drop")],
            voting="soft", weights=[3, 1, 5]).fit(X, y)
        expected = vote.predict_proba(windows)[:, 1]
        members = [member.predict_proba(windows)[:, 1] for member in vote.estimators_]
        assert np.abs(members[0] - members[1]).max() > 1e-3  # the mean is not one member's
        engine = make_engine(vote, 16, 4, engine="shared")
        assert engine.symmetric == any(augmented)
        np.testing.assert_allclose(engine(scene).ravel(), expected, atol=1e-5)
        # Test-time augmentation near candidates only: where refined, the same mean.
        engine = make_engine(vote, 16, 4, candidates=(0.0, 1))
        single = engine(scene)
        if any(augmented):
            boxes = [(r, c, slice(r.start * 4, (r.stop - 1) * 4 + 16),
                      slice(c.start * 4, (c.stop - 1) * 4 + 16))
                     for r, c in engine.candidate_boxes(single)]
            engine.refine(single, boxes, lambda rows, cols: scene[rows, cols])
        np.testing.assert_allclose(single.ravel(), expected, atol=1e-5)


def test_a_vote_with_a_member_the_shared_engine_cannot_run_is_batched_or_refused():
    import pytest
    from sklearn.ensemble import VotingClassifier

    from sklship import make_baseline

    X, y = make_ships(60, image_size=16, random_state=0, return_X_y=True)
    vote = VotingClassifier([("cnn", CNNShipClassifier((4,), epochs=1, random_state=0)),
                             ("logistic", make_baseline())], voting="soft").fit(X, y)
    assert make_engine(vote, 16, 4).name == "batched"
    with pytest.raises(ValueError, match="a member of the VotingClassifier: Pipeline"):
        make_engine(vote, 16, 4, engine="shared")
    hard = VotingClassifier([("a", CNNShipClassifier((4,), epochs=1, random_state=0)),
                             ("b", CNNShipClassifier((4,), epochs=1, random_state=1))],
                            voting="hard").fit(X, y)
    assert make_engine(hard, 16, 4).name == "batched"  # no probabilities to average
