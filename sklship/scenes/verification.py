"""Verifying a scan's candidate detections with the second classifier of a cascade.

A :class:`~sklship.estimators.cascade.VerifiedShipClassifier` scans with its
detector, and its verifier, too slow for every window, scores the windows of
the detections the detector proposes (:func:`verify_detections`).
"""

import numpy as np

from ..estimators.cascade import VerifiedShipClassifier
from ..estimators.unwrap import probability_estimator

__all__ = ["detection_windows", "split_cascade", "verify_detections"]


def split_cascade(estimator):
    """The estimator that scans every window, and the cascade that verifies, if any.

    Parameters
    ----------
    estimator : fitted classifier
        What gives the scan's probabilities (threshold wrappers unwrapped).

    Returns
    -------
    scanner : fitted classifier
        ``estimator``, or the detector of a cascade (wrappers unwrapped).
    cascade : VerifiedShipClassifier or None
        The cascade whose verifier confirms the scanner's detections.
    """
    if isinstance(estimator, VerifiedShipClassifier):
        return probability_estimator(estimator.detector_), estimator
    return estimator, None


def detection_windows(detections, read, grid):
    """The window of each detection, as the verifier sees it.

    Parameters
    ----------
    detections : pandas.DataFrame
        Not empty; ``row``, ``col`` of window centres in ``grid`` pixels.
    read : callable
        ``read(rows, cols)`` -> the pixels of those slices (rows, cols, channels).
    grid : sklship.scenes.grid.WindowGrid
        The scan's grid.

    Returns
    -------
    windows : ndarray of shape (n_detections, window, window, channels)
    """
    i, j = grid.nearest(detections["row"].to_numpy(), detections["col"].to_numpy())
    return np.stack([read(*grid.window_pixels(a, b)) for a, b in zip(i, j, strict=True)])


def verify_detections(detections, cascade, read, grid, threshold):
    """The proposed detections the cascade confirms, with its probability.

    Parameters
    ----------
    detections : pandas.DataFrame
        The detector's detections (``row``, ``col`` of window centres in
        ``grid`` pixels, ``probability`` as the scan smoothed it).
    cascade : VerifiedShipClassifier
        Fitted; :meth:`~sklship.estimators.cascade.VerifiedShipClassifier.combine`
        gives the probability of each detection from the detector's and the
        verifier's on its window.
    read : callable
        ``read(rows, cols)`` -> the pixels of those slices (rows, cols, channels).
    grid : sklship.scenes.grid.WindowGrid
        The scan's grid.
    threshold : float
        Combined probability from which a detection is kept.

    Returns
    -------
    detections : pandas.DataFrame
        Those reaching ``threshold``, with the combined ``probability``,
        highest first.
    """
    if detections.empty:
        return detections
    chips = detection_windows(detections, read, grid)
    probability = cascade.combine(detections["probability"].to_numpy(), chips)
    verified = detections.assign(probability=probability)[probability >= threshold]
    return verified.sort_values("probability", ascending=False, kind="stable").reset_index(
        drop=True)
