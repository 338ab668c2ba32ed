"""Two classifiers in a cascade: a fast detector, and a verifier of its likely ships.

A small convolutional network scans a whole scene cheaply, but it learns
what ships look like in the ports it was trained on, and elsewhere it
either misses ships or, at a lower threshold, also fires on piers, roofs and
shorelines. A classifier on ImageNet features (a frozen backbone and a
logistic head) is too slow to run on every window of a scene, and it
carries what a network learns from a million photographs. In a cascade the
detector proposes the windows it finds at all likely (``proposal_threshold``),
and the verifier scores only those.
"""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted

__all__ = ["VerifiedShipClassifier"]


class VerifiedShipClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """A ship detector whose candidates a second classifier verifies.

    The ship probability of a chip is the geometric mean of the two
    classifiers' ship probabilities, ``sqrt(p_detector * p_verifier)``: a
    window counts as a ship when both find it likely, and one sure
    classifier cannot outvote a doubtful other.

    :func:`~sklship.scenes.scan.scan_scene` runs the detector over every
    window (with its fast engine), keeps the detections it finds at
    ``proposal_threshold``, and runs the verifier on those windows only;
    a detection's probability is then the geometric mean, and the scan's
    ``threshold`` applies to it. Since the verifier's probability is at most
    1, a window whose mean reaches a threshold ``t`` has a detector
    probability of at least ``t ** 2``; at thresholds of
    ``sqrt(proposal_threshold)`` or more, no window the scan leaves
    unverified could have been a detection.

    Parameters
    ----------
    detector : classifier
        Binary classifier of image chips that the scan runs on every window,
        such as :func:`sklship.recommended_model`. Wrap a fitted one in
        ``sklearn.frozen.FrozenEstimator`` to keep it as it is.
    verifier : classifier
        Binary classifier of the same chips with the same classes, such as a
        pipeline of :class:`~sklship.estimators.features.ImageNetFeatures`
        and a logistic regression.
    proposal_threshold : float in [0, 1], default=0.02
        Detector probability from which a scan's detections are verified.

    Attributes
    ----------
    detector_, verifier_ : classifier
        The fitted clones (a ``FrozenEstimator`` stays as it was).
    classes_ : ndarray of shape (2,)
        The class labels; ``classes_[1]`` is "ship".
    n_features_in_ : int
        Features seen in ``fit``, where the detector records them.

    See Also
    --------
    sklship.estimators.features.ImageNetFeatures : Pooled ImageNet features of chips.

    Examples
    --------
    >>> from sklship import make_baseline, make_ships
    >>> from sklship.estimators.cascade import VerifiedShipClassifier
    >>> X, y = make_ships(100, image_size=16, random_state=0, return_X_y=True)
    >>> model = VerifiedShipClassifier(make_baseline(), make_baseline(C=0.1)).fit(X, y)
    >>> model.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints = {
        "detector": [HasMethods(["fit", "predict_proba"])],
        "verifier": [HasMethods(["fit", "predict_proba"])],
        "proposal_threshold": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, detector, verifier, *, proposal_threshold=0.02):
        self.detector = detector
        self.verifier = verifier
        self.proposal_threshold = proposal_threshold

    def fit(self, X, y, sample_weight=None):
        """Fit clones of the detector and of the verifier on the same chips.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width, channels) or (n_samples, n_features)
            Chips, in the form both classifiers take.
        y : array-like of shape (n_samples,)
            Two classes.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Passed to both ``fit`` calls.

        Returns
        -------
        self : object
            The fitted cascade.

        Raises
        ------
        ValueError
            If ``y`` does not hold exactly two classes.
        """
        self._validate_params()
        check_classification_targets(y)
        labels = np.unique(np.asarray(y))
        if type_of_target(np.asarray(y)) != "binary" or len(labels) != 2:
            raise ValueError("Only binary classification is supported: "
                             f"y holds {len(labels)} classes, a cascade needs ship "
                             "and no-ship.")
        weight = {} if sample_weight is None else {"sample_weight": sample_weight}
        self.detector_ = clone(self.detector).fit(X, y, **weight)
        self.verifier_ = clone(self.verifier).fit(X, y, **weight)
        self.classes_ = self.detector_.classes_
        if not np.array_equal(self.verifier_.classes_, self.classes_):
            raise ValueError(f"the detector's classes {list(self.classes_)} differ from "
                             f"the verifier's {list(self.verifier_.classes_)}.")
        if hasattr(self.detector_, "n_features_in_"):
            self.n_features_in_ = self.detector_.n_features_in_
        return self

    def predict_proba(self, X):
        """Class probabilities: the geometric mean of both ship probabilities.

        Parameters
        ----------
        X : array-like
            Chips, as in :meth:`fit`.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
        """
        check_is_fitted(self)
        ship = self.combine(self.detector_.predict_proba(X)[:, 1], X)
        return np.column_stack([1 - ship, ship])

    def combine(self, detector_probability, X):
        """Ship probability from the detector's and the verifier's on ``X``.

        Parameters
        ----------
        detector_probability : array-like of shape (n_samples,)
            The detector's ship probability of each chip (a scan's smoothed
            one of each detection).
        X : array-like
            The chips, as in :meth:`fit`.

        Returns
        -------
        probability : ndarray of shape (n_samples,)
            ``sqrt(detector_probability * verifier probability)``.
        """
        check_is_fitted(self)
        verified = self.verifier_.predict_proba(X)[:, 1]
        return np.sqrt(np.clip(np.asarray(detector_probability, float), 0, 1) * verified)

    def predict(self, X):
        """Class labels: ``classes_[1]`` where the ship probability is at least 0.5.

        Parameters
        ----------
        X : array-like
            The chips to label (as :meth:`predict_proba` takes them).

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            ``classes_[1]`` (ship) or ``classes_[0]``.
        """
        check_is_fitted(self)
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
