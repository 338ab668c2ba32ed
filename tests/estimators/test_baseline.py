"""make_baseline: logistic regression on standardised pixels."""

import numpy as np
from sklearn.model_selection import cross_val_score

from sklship import make_baseline, make_ships
from sklship.estimators.baseline import flatten_images


def test_flatten_images_keeps_rows_and_flattens_images():
    images = np.arange(2 * 4 * 4 * 3).reshape(2, 4, 4, 3)
    assert flatten_images(images).shape == (2, 48)
    np.testing.assert_array_equal(flatten_images(images)[1], images[1].ravel())
    rows = np.ones((5, 7))
    assert flatten_images(rows).shape == (5, 7)


def test_baseline_beats_the_majority_class():
    data = make_ships(300, image_size=16, random_state=0)
    pipeline = make_baseline()
    assert [name for name, _ in pipeline.steps] == ["flatten", "scale", "logistic"]
    scores = cross_val_score(pipeline, data.images, data.target, cv=3)
    majority = 1 - data.target.mean()
    assert scores.mean() > majority + 0.02
