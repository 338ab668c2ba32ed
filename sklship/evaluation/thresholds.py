"""Calibrated probabilities and chosen decision thresholds around sklship classifiers.

A ship counter's errors are its users' measurement errors. scikit-learn's
meta-estimators answer the two questions an analyst asks of a classifier:

- how far to trust a probability: ``CalibratedClassifierCV`` (Platt's
  sigmoid or isotonic regression, fitted on out-of-fold probabilities);
- where to cut: ``FixedThresholdClassifier`` for a threshold chosen by hand,
  ``TunedThresholdClassifierCV`` for the threshold that maximises a score
  (balanced accuracy, F1, ...) on held-out folds.

:func:`calibrated` builds that stack around any sklship classifier. A fitted
stack is an ordinary estimator: ``save_model``/``load_model`` and
``joblib`` keep it, threshold included. :func:`decision_threshold` reads the
threshold back (for ``sklship predict`` and :func:`~sklship.scenes.scan.scan_scene`),
and :func:`fitted_network` finds the fitted sklship network inside, whose
input size and dtype a scan needs (both in :mod:`sklship.estimators.unwrap`,
importable from here too).
"""

from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import FixedThresholdClassifier, TunedThresholdClassifierCV

# The unwrapping helpers live with the estimators; imported here for their old home.
from ..estimators.unwrap import (
    DEFAULT_THRESHOLD,
    decision_threshold,
    fitted_network,
    probability_estimator,
)

__all__ = ["DEFAULT_THRESHOLD", "calibrated", "decision_threshold", "fitted_network",
           "probability_estimator"]


def calibrated(estimator, *, method=None, threshold=None, tune=None, cv=3,
               random_state=None):
    """Wrap a classifier for calibrated probabilities and a chosen threshold.

    Parameters
    ----------
    estimator : classifier
        An unfitted binary classifier with ``predict_proba`` (any sklship
        classifier, or a ``FrozenEstimator`` of a fitted one).
    method : {"sigmoid", "isotonic"} or None, default=None
        Calibrate the probabilities with ``CalibratedClassifierCV`` (Platt
        scaling or isotonic regression, on ``cv`` folds); None leaves them.
    threshold : float in [0, 1] or None, default=None
        Label a chip a ship when its (calibrated) probability is at least
        this: ``FixedThresholdClassifier``.
    tune : str or None, default=None
        A scikit-learn scorer name (``"balanced_accuracy"``, ``"f1"``, ...):
        choose the threshold that maximises it on ``cv`` held-out folds with
        ``TunedThresholdClassifierCV``. Not together with ``threshold``.
    cv : int or cross-validation splitter, default=3
        Folds of the calibration and of the threshold search.
    random_state : int or None, default=None
        Seed of ``TunedThresholdClassifierCV`` (used by float ``cv`` only).

    Returns
    -------
    estimator : classifier
        ``estimator`` itself when nothing is asked, else the wrapper
        (the threshold wrapper outside the calibrator); unfitted.

    Raises
    ------
    ValueError
        If both ``threshold`` and ``tune`` are given.

    Examples
    --------
    >>> from sklship import CNNShipClassifier, make_ships
    >>> from sklship.evaluation.thresholds import calibrated, decision_threshold
    >>> X, y = make_ships(120, image_size=16, random_state=0, return_X_y=True)
    >>> model = calibrated(CNNShipClassifier((4,), epochs=1, random_state=0),
    ...                    method="sigmoid", tune="balanced_accuracy", cv=2)
    >>> type(model).__name__, type(model.estimator).__name__
    ('TunedThresholdClassifierCV', 'CalibratedClassifierCV')
    >>> 0 <= decision_threshold(model.fit(X, y)) <= 1
    True
    """
    if threshold is not None and tune is not None:
        raise ValueError(f"give threshold or tune, not both; got threshold={threshold!r} "
                         f"and tune={tune!r}.")
    if method is not None:
        estimator = CalibratedClassifierCV(estimator, method=method, cv=cv)
    if threshold is not None:
        estimator = FixedThresholdClassifier(estimator, threshold=threshold,
                                             response_method="predict_proba")
    elif tune is not None:
        estimator = TunedThresholdClassifierCV(estimator, scoring=tune, cv=cv,
                                               response_method="predict_proba",
                                               random_state=random_state)
    return estimator
