"""Hard-negative mining in marked scenes, and refitting with the mined chips."""

import numpy as np
import pytest
from sklearn.base import clone

from sklship import CNNShipClassifier, make_ships
from sklship.datasets import make_scene
from sklship.evaluation.mining import fit_with_hard_negatives, mine_hard_negatives

WINDOW = 32


@pytest.fixture(scope="module")
def chips():
    return make_ships(400, image_size=WINDOW, random_state=3, return_X_y=True)


@pytest.fixture(scope="module")
def cnn():
    return CNNShipClassifier(epochs=6, random_state=0)


@pytest.fixture(scope="module")
def fitted(cnn, chips):
    return clone(cnn).fit(*chips)


@pytest.fixture(scope="module")
def marked_scene():
    # Bright hazy distractors among the ships: what a weak detector calls ships.
    scene, ships = make_scene(256, 320, n_ships=4, n_distractors=12, chip_size=WINDOW,
                              random_state=7)
    return scene, ships[["col", "row"]].to_numpy()


def test_mined_windows_are_scored_high_and_far_from_every_vessel(fitted, marked_scene):
    scene, vessels = marked_scene
    mined = mine_hard_negatives(fitted, scene, vessels, threshold=0.2, stride=4)
    assert len(mined.images) > 0
    assert mined.images.shape[1:] == (WINDOW, WINDOW, 3)
    assert mined.images.dtype == scene.dtype
    assert (mined.probability >= 0.2).all()
    assert (np.diff(mined.probability) <= 0).all()
    distance = np.hypot(mined.col[:, None] - vessels[None, :, 0],
                        mined.row[:, None] - vessels[None, :, 1])
    assert distance.min() > WINDOW
    top, left = int(mined.row[0] - WINDOW / 2), int(mined.col[0] - WINDOW / 2)
    np.testing.assert_array_equal(mined.images[0], scene[top:top + WINDOW, left:left + WINDOW])
    np.testing.assert_allclose(fitted.predict_proba(mined.images)[:, 1], mined.probability,
                               atol=1e-5)
    # Without the exclusion zone the ships' own windows are mined too.
    everything = mine_hard_negatives(fitted, scene, vessels, threshold=0.2, stride=4,
                                     exclusion=0)
    assert len(everything.images) > len(mined.images)
    assert len(mine_hard_negatives(fitted, scene, [vessels[:2], vessels[2:]], threshold=0.2,
                                   stride=4, max_chips=2).images) == min(2, len(mined.images))


def test_refit_with_hard_negatives_lowers_their_scores(cnn, fitted, chips, marked_scene):
    scene, vessels = marked_scene
    mined = mine_hard_negatives(fitted, scene, vessels, threshold=0.2, stride=4)
    refitted = fit_with_hard_negatives(cnn, *chips, [(scene, vessels)], threshold=0.2,
                                       repeat=8, stride=4)
    assert refitted.hard_negatives_ == len(mined.images)
    before = fitted.predict_proba(mined.images)[:, 1].mean()
    after = refitted.predict_proba(mined.images)[:, 1].mean()
    assert after < before - 0.1, (before, after)


def test_bad_input(fitted, chips, cnn, marked_scene):
    scene, vessels = marked_scene
    with pytest.raises(ValueError, match=r"vessels must be a list of \[col, row\] pairs"):
        mine_hard_negatives(fitted, scene, [[1, 2, 3]])
    with pytest.raises(ValueError, match="'threshold' parameter"):
        mine_hard_negatives(fitted, scene, vessels, threshold=2)
    X, y = chips
    with pytest.raises(ValueError, match=r"y must hold labels 0 \(no ship\) and 1"):
        fit_with_hard_negatives(cnn, X, y + 1, [(scene, vessels)])
