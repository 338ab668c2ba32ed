"""Scans with a cascade: the detector proposes, the verifier scores the proposed windows."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from sklship.estimators.cascade import VerifiedShipClassifier
from sklship.scenes.scan import scan_scene

from ..conftest import BrightCentre


class Bright(ClassifierMixin, BaseEstimator):
    """Stand-in detector: the conftest's BrightCentre, fitted by fit."""

    def fit(self, X, y):
        self.classes_, self.input_shape_, self.X_dtype_ = np.array([0, 1]), (16, 16, 3), \
            np.dtype(np.uint8)
        return self

    def predict_proba(self, X):
        return BrightCentre.predict_proba(self, X)


class LeftHull(ClassifierMixin, BaseEstimator):
    """Stand-in verifier: ship probability is the bright share of the chip's left half."""

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        p = (np.asarray(X)[:, :, :8, 0] > 128).mean(axis=(1, 2)) * 4
        p = np.clip(p, 0, 1)
        return np.column_stack([1 - p, p])


@pytest.fixture
def cascade():
    chips = np.zeros((2, 16, 16, 3), np.uint8)
    return VerifiedShipClassifier(Bright(), LeftHull(),
                                  proposal_threshold=0.05).fit(chips, [0, 1])


@pytest.mark.parametrize(("threshold", "kept"), [(0.3, 3), (0.6, 1)])
def test_detections_are_the_proposals_the_verifier_confirms(cascade, ship_scene, threshold,
                                                            kept):
    scene, _ = ship_scene
    proposals = scan_scene(cascade.detector_, scene, stride=4, threshold=0.05).detections
    assert len(proposals) == 3
    windows = np.stack([scene[int(r) - 8:int(r) + 8, int(c) - 8:int(c) + 8]
                        for r, c in zip(proposals["row"], proposals["col"], strict=True)])
    combined = np.sqrt(proposals["probability"] * LeftHull().predict_proba(windows)[:, 1])
    expected = proposals.assign(probability=combined)
    expected = expected[expected["probability"] >= threshold]
    assert len(expected) == kept  # at 0.6, the verifier doubts two hulls
    found = scan_scene(cascade, scene, stride=4, threshold=threshold)
    np.testing.assert_allclose(
        found.detections[["row", "col", "probability"]].to_numpy(),
        expected.sort_values("probability", ascending=False)[
            ["row", "col", "probability"]].to_numpy())
    # The grid is the detector's: the verifier only saw the proposed windows.
    np.testing.assert_array_equal(
        found.probabilities, scan_scene(cascade.detector_, scene, stride=4).probabilities)


def test_nothing_proposed_nothing_verified(cascade):
    water = np.full((64, 64, 3), 30, np.uint8)
    assert scan_scene(cascade, water, stride=4).detections.empty


def test_a_cascade_scan_at_a_higher_threshold_keeps_the_verified_detections_above_it(
        cascade, ship_scene):
    scene, _ = ship_scene
    low, high = (scan_scene(cascade, scene, stride=4, threshold=t) for t in (0.3, 0.6))
    assert (low.count, high.count) == (3, 1)
    pd.testing.assert_frame_equal(low.at_threshold(0.6).detections, high.detections)
