"""Grad-CAM heat maps: on the hull for a trained CNN, for every convolutional network."""

import time

import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from sklship import (
    CNNShipClassifier,
    DenseShipClassifier,
    MultiOutputShipClassifier,
    PretrainedShipClassifier,
    make_ships,
    recommended_model,
)
from sklship.evaluation.explain import GradCAMDisplay, grad_cam


@pytest.fixture(scope="module")
def trained():
    """The book CNN trained on synthetic 80-pixel chips, and unseen chips."""
    data = make_ships(360, random_state=0)
    cnn = CNNShipClassifier(epochs=5, class_weight="balanced", random_state=0)
    cnn.fit(data.images[:300], data.target[:300])
    return cnn, data.images[300:], data.target[300:]


def test_heat_map_of_ships_lies_on_the_hull_not_the_water(trained):
    cnn, X, y = trained
    ships = X[y == 1]
    heatmaps = grad_cam(cnn, ships)
    assert heatmaps.shape == ships.shape[:3] and heatmaps.dtype == np.float32
    assert heatmaps.min() >= 0 and np.allclose(heatmaps.max(axis=(1, 2)), 1)
    # make_ships centres each hull near the chip centre: the central
    # 40x40 pixels (a quarter of the chip) hold the hull, the rest is water.
    centre = np.zeros((80, 80), bool)
    centre[20:60, 20:60] = True
    share = heatmaps[:, centre].sum(axis=1) / heatmaps.reshape(len(ships), -1).sum(axis=1)
    assert share.min() > 0.6 and share.mean() > 0.8  # against 0.25 for a flat map
    rows, cols = np.unravel_index(heatmaps.reshape(len(ships), -1).argmax(axis=1),
                                  (80, 80))
    assert centre[rows, cols].all()  # every peak on the hull region


def test_one_chip_takes_well_under_a_second(trained):
    cnn, X, _ = trained
    grad_cam(cnn, X[:1])  # builds the gradient model once
    start = time.perf_counter()
    for chip in X[:5]:
        grad_cam(cnn, chip[None])
    assert (time.perf_counter() - start) / 5 < 1.0


@pytest.mark.parametrize("name", ["recommended", "pretrained", "multi-output"])
def test_every_convolutional_network(name):
    X, y = make_ships(40, image_size=32, random_state=0, return_X_y=True)
    if name == "recommended":
        model = recommended_model(random_state=0).set_params(filters=(4, 8), epochs=1)
        model.fit(X, y)
    elif name == "pretrained":  # the feature map is inside the backbone
        model = PretrainedShipClassifier("mobilenetv2", weights=None, epochs=1,
                                         random_state=0).fit(X, y)
    else:
        location = np.column_stack([np.linspace(0, 1, len(y)), y])
        model = MultiOutputShipClassifier((4,), epochs=1, random_state=0)
        model.fit(X, y, location=location)
    heatmaps = grad_cam(model, X[:3])
    assert heatmaps.shape == (3, 32, 32)
    assert np.isfinite(heatmaps).all() and 0 <= heatmaps.min() <= heatmaps.max() <= 1


def test_display_overlays_maps_with_the_wrappers_probability(trained):
    cnn, X, y = trained
    calibrated = CalibratedClassifierCV(FrozenEstimator(cnn), method="sigmoid").fit(X, y)
    display = GradCAMDisplay.from_estimator(calibrated, X[:4], titles=list("abcd"),
                                            n_cols=2)
    assert display.ax_.shape == (2, 2) and len(display.overlays_) == 4
    np.testing.assert_allclose(display.proba, calibrated.predict_proba(X[:4])[:, 1])
    np.testing.assert_array_equal(display.heatmaps, grad_cam(cnn, X[:4]))
    assert display.ax_[0, 1].get_title() == f"b\np(ship) = {display.proba[1]:.2f}"
    plt.close(display.figure_)

    _, axes = plt.subplots(1, 3)
    again = GradCAMDisplay(X[:3], display.heatmaps[:3]).plot(ax=axes)
    assert again.figure_ is axes[0].figure and list(again.ax_) == list(axes)
    with pytest.raises(ValueError, match="one axes per chip: 4 chips, 3 axes"):
        display.plot(ax=axes)
    plt.close("all")


def test_errors(trained):
    cnn, X, y = trained
    dense = DenseShipClassifier((4,), epochs=1, random_state=0).fit(X[:20], y[:20])
    with pytest.raises(ValueError, match="needs a convolutional network"):
        grad_cam(dense, X[:1])
    with pytest.raises(ValueError, match="chips of shape \\(n_samples, 80, 80, 3\\)"):
        grad_cam(cnn, X[:1, :40])
    with pytest.raises(ValueError, match="layer='nope' is not a layer"):
        grad_cam(cnn, X[:1], layer="nope")
    # Keras numbers layer names per process (flatten, flatten_1, ...)
    flatten = next(layer.name for layer in cnn.model_.layers
                   if type(layer).__name__ == "Flatten")
    with pytest.raises(ValueError, match="has no feature map"):
        grad_cam(cnn, X[:1], layer=flatten)
    with pytest.raises(ValueError, match="fitted sklship network"):
        grad_cam(FrozenEstimator(CNNShipClassifier()), X[:1])
