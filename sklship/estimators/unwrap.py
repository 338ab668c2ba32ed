"""Unwrapping fitted estimators: the threshold, the probabilities and the network inside.

scikit-learn's meta-estimators (``CalibratedClassifierCV``,
``TunedThresholdClassifierCV``, ``FixedThresholdClassifier``,
``FrozenEstimator``) can wrap any sklship classifier. Whoever uses a fitted
model (a scan, ``sklship predict``, explanations) needs three answers from
such a stack: where it cuts (:func:`decision_threshold`), which estimator
gives the same probabilities (:func:`probability_estimator`) and which
sklship network sits at the bottom (:func:`fitted_network`), whose input size
and dtype a scan needs; :func:`thresholded_labels` cuts probabilities where
the stack says. They live with the estimators so that scenes and
evaluation both import them from below.
"""

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import VotingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import FixedThresholdClassifier, TunedThresholdClassifierCV

from .cascade import VerifiedShipClassifier

__all__ = ["DEFAULT_THRESHOLD", "at_threshold", "averages_symmetries", "decision_threshold",
           "fitted_network", "probability_estimator", "soft_vote", "thresholded_labels"]

#: Threshold of an estimator that chose none: the most probable class.
DEFAULT_THRESHOLD = 0.5

_THRESHOLD_CLASSIFIERS = (FixedThresholdClassifier, TunedThresholdClassifierCV)


def decision_threshold(estimator):
    """The probability at or above which a fitted estimator labels a chip a ship.

    Parameters
    ----------
    estimator : fitted classifier
        A ``TunedThresholdClassifierCV`` (its ``best_threshold_``), a
        ``FixedThresholdClassifier`` (its ``threshold``; ``"auto"`` is 0.5),
        a ``FrozenEstimator`` of one of them, or any other classifier
        (:data:`DEFAULT_THRESHOLD`).

    Returns
    -------
    threshold : float

    Raises
    ------
    ValueError
        If the threshold is one of ``decision_function`` scores, not of
        probabilities.
    """
    while isinstance(estimator, FrozenEstimator):
        estimator = estimator.estimator
    if not isinstance(estimator, _THRESHOLD_CLASSIFIERS):
        return DEFAULT_THRESHOLD
    if estimator.response_method not in ("auto", "predict_proba") or not hasattr(
            estimator.estimator_, "predict_proba"):
        raise ValueError(
            f"{type(estimator).__name__} must threshold probabilities "
            f"(response_method='predict_proba'); got response_method="
            f"{estimator.response_method!r} around {type(estimator.estimator).__name__}."
        )
    if isinstance(estimator, TunedThresholdClassifierCV):
        return float(estimator.best_threshold_)
    return DEFAULT_THRESHOLD if estimator.threshold == "auto" else float(estimator.threshold)


def at_threshold(estimator, threshold):
    """A fitted classifier, unchanged, that labels a chip a ship from ``threshold`` on.

    Parameters
    ----------
    estimator : fitted classifier
        An sklship network or any wrapper of one (:func:`fitted_network`
        gives its chip shape).
    threshold : float in [0, 1]

    Returns
    -------
    classifier : FixedThresholdClassifier
        Around a ``FrozenEstimator`` of ``estimator``, fitted: its fit only
        records the classes, from two blank chips.
    """
    shape = fitted_network(estimator).input_shape_
    return FixedThresholdClassifier(FrozenEstimator(estimator), threshold=threshold).fit(
        np.zeros((2, *shape), np.float32), estimator.classes_)


def probability_estimator(estimator):
    """The innermost estimator with the same ``predict_proba`` as ``estimator``.

    Threshold classifiers and ``FrozenEstimator`` pass their estimator's
    probabilities through unchanged, so a scan can use that estimator's
    network directly (and its shared-computation engine); a
    ``CalibratedClassifierCV`` changes them and is kept.

    Parameters
    ----------
    estimator : fitted classifier

    Returns
    -------
    estimator : fitted classifier
    """
    while True:
        if isinstance(estimator, _THRESHOLD_CLASSIFIERS):
            estimator = estimator.estimator_
        elif isinstance(estimator, FrozenEstimator):
            estimator = estimator.estimator
        else:
            return estimator


def fitted_network(estimator):
    """The fitted estimator at the bottom of calibration and threshold wrappers.

    Parameters
    ----------
    estimator : fitted classifier
        An sklship classifier, or ``CalibratedClassifierCV``,
        ``TunedThresholdClassifierCV``, ``FixedThresholdClassifier`` or
        ``FrozenEstimator`` around one (nested in any order). The members of
        a calibrated ensemble and of a ``VotingClassifier`` share their
        input form; the first is returned, and of a
        :class:`~sklship.estimators.cascade.VerifiedShipClassifier` its
        detector's network (the verifier takes the same chips).

    Returns
    -------
    estimator : fitted estimator
        The innermost one; it has ``input_shape_`` and ``X_dtype_`` when it
        is an sklship network.
    """
    while True:
        estimator = probability_estimator(estimator)
        if isinstance(estimator, VerifiedShipClassifier):
            estimator = estimator.detector_
        elif isinstance(estimator, CalibratedClassifierCV):
            estimator = estimator.calibrated_classifiers_[0].estimator
        elif isinstance(estimator, VotingClassifier):
            estimator = estimator.estimators_[0]
        else:
            return estimator


def soft_vote(estimator):
    """The members and weights of a fitted soft-voting ensemble, or None.

    ``VotingClassifier(voting="soft")``'s probability is the weighted mean of
    its members' probabilities (members with ``"drop"`` left out), so a scan
    can run each member's network and average them.

    Parameters
    ----------
    estimator : fitted classifier

    Returns
    -------
    members : list of (estimator, float) or None
        Each member's probability estimator (:func:`probability_estimator`)
        and its weight, the weights summing to 1; None for anything but a
        soft ``VotingClassifier``.
    """
    if not isinstance(estimator, VotingClassifier) or estimator.voting != "soft":
        return None
    weights = estimator.weights
    if weights is None:
        weights = [1.0] * len(estimator.estimators_)
    else:  # a member given as "drop" has no fitted copy and its weight no part
        weights = [weight for (_, member), weight in zip(estimator.estimators, weights,
                                                          strict=True) if member != "drop"]
    total = float(sum(weights))
    return [(probability_estimator(member), float(weight) / total)
            for member, weight in zip(estimator.estimators_, weights, strict=True)]


def averages_symmetries(estimator):
    """Whether ``predict_proba`` averages each chip's 8 flips and rotations.

    True for an sklship network with ``test_time_augmentation`` and for a
    soft-voting ensemble (:func:`soft_vote`) whose every member is one.

    Parameters
    ----------
    estimator : fitted classifier
        The probability estimator (wrappers unwrapped).

    Returns
    -------
    augmented : bool
    """
    members = soft_vote(estimator)
    if members is not None:
        return all(averages_symmetries(member) for member, _ in members)
    return bool(getattr(estimator, "test_time_augmentation", False))


def thresholded_labels(estimator, proba, threshold=None):
    """Labels from probabilities, cut where the estimator (or ``threshold``) says.

    Parameters
    ----------
    estimator : fitted classifier
        Gives ``classes_`` and, through :func:`decision_threshold`, the
        threshold of a binary model.
    proba : ndarray of shape (n_samples, n_classes)
        ``estimator.predict_proba(X)``.
    threshold : float in [0, 1] or None, default=None
        Label a sample ``classes_[1]`` from this probability on; None takes
        :func:`decision_threshold`. Binary models only.

    Returns
    -------
    probability : ndarray of shape (n_samples,)
        Of ``classes_[1]`` for a binary model, else of the label.
    labels : ndarray of shape (n_samples,)

    Raises
    ------
    ValueError
        If ``threshold`` is given for a model of more than two classes.
    """
    import numpy as np

    classes = estimator.classes_
    if proba.shape[1] == 2:
        threshold = decision_threshold(estimator) if threshold is None else threshold
        return proba[:, 1], classes[(proba[:, 1] >= threshold).astype(int)]
    if threshold is not None:
        raise ValueError(f"threshold needs a binary model; this one has "
                         f"{proba.shape[1]} classes.")
    return proba.max(axis=1), classes[np.argmax(proba, axis=1)]
