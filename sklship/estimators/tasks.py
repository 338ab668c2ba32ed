"""The two tasks: the bases of sklship's Keras classifiers and regressors.

Each puts :class:`~sklship.estimators.base.ShipKerasMixin` before scikeras'
``KerasClassifier`` / ``KerasRegressor`` and adds what the task decides: the
output layer and loss, the target encoding and checks, class weights and
stratification, predictions, ``score`` and tags.
"""

import numpy as np
from scikeras.utils.transformers import ClassifierLabelEncoder
from scikeras.wrappers import KerasClassifier, KerasRegressor
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils import ClassifierTags, RegressorTags, compute_sample_weight
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import column_or_1d

from .._validation import StrOptions
from .base import ShipKerasMixin

__all__ = ["ShipClassifierBase", "ShipRegressorBase"]


class ShipClassifierBase(ShipKerasMixin, KerasClassifier):
    """Base of sklship's Keras classifiers.

    Binary targets get one sigmoid unit and binary cross-entropy, more
    classes a softmax layer and sparse categorical cross-entropy. Any
    labels work (strings included); ``classes_`` keeps them.

    ``class_weight`` (dict or "balanced") multiplies ``sample_weight``, as
    in scikit-learn; the book's weights are ``{0: mean(y), 1: 1 - mean(y)}``.
    """

    _parameter_constraints = {
        **ShipKerasMixin._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def _reset_target(self, classes=None):
        super()._reset_target(classes)
        self.classes_ = None if classes is None else np.unique(classes)

    @property
    def target_encoder(self):
        """Ordinal label encoder (scikeras'); ``classes_`` keeps any labels."""
        categories = "auto" if self.classes_ is None else [self.classes_]
        return ClassifierLabelEncoder(loss=None, categories=categories)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one more epoch, keeping the weights and the history.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width, channels) or \
                (n_samples, n_features)
            Images or rows, as in :meth:`fit`.
        y : array-like of shape (n_samples,)
            Labels.
        classes : array-like of shape (n_classes,), default=None
            All labels that will ever be seen; needed on the first call when
            its ``y`` does not hold every class.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : object
            The estimator.
        """
        return self._partial_fit(X, y, sample_weight, classes)

    def _validate_data(self, X=None, y=None, reset=False, y_numeric=False):
        if y is not None:
            y = column_or_1d(y, warn=True)
        return super()._validate_data(X, y, reset=reset, y_numeric=y_numeric)

    def _check_target(self, y):
        target_type = type_of_target(y, input_name="y", raise_unknown=True)
        if target_type not in ("binary", "multiclass"):
            raise ValueError(
                f"{type(self).__name__} supports binary and multiclass targets; "
                f"got a {target_type} y."
            )
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in y; "
                f"got one class only: {classes[0]!r}."
            )

    def _training_weights(self, X, y, sample_weight):
        sample_weight = super()._training_weights(X, y, sample_weight)
        if self.class_weight is None:
            return sample_weight
        weights = compute_sample_weight(self.class_weight, y)
        return weights if sample_weight is None else weights * sample_weight

    def _stratify(self, y, n_val):
        counts = np.unique(y, return_counts=True)[1]
        possible = counts.min() >= 2 and len(counts) <= min(n_val, len(y) - n_val)
        return y if possible else None

    score = ClassifierMixin.score

    def _output_units(self):
        """Units and activation of the output layer."""
        if self.n_classes_ == 2:
            return 1, "sigmoid"
        return self.n_classes_, "softmax"

    def _loss(self):
        if self.n_classes_ == 2:
            return "binary_crossentropy"
        return "sparse_categorical_crossentropy"

    def predict_proba(self, X):
        """Probability of each class in ``classes_`` order.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width, channels) or \
                (n_samples, n_features)
            Images or rows, in the form used for fitting.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities (float64, rows sum to one).
        """
        raw = self._predict_raw(X).astype(np.float64)
        if raw.shape[1] == 1:  # one sigmoid unit: P(classes_[1])
            raw = np.hstack([1.0 - raw, raw])
        return raw / raw.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width, channels) or \
                (n_samples, n_features)
            Images or rows, in the form used for fitting.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags(multi_label=False)
        tags.regressor_tags = None
        return tags


class ShipRegressorBase(ShipKerasMixin, KerasRegressor):
    """Base of sklship's Keras regressors: linear outputs, mean squared error."""

    score = RegressorMixin.score

    def _output_units(self):
        """Units and activation of the output layer."""
        return self.n_outputs_, None

    def _loss(self):
        return "mean_squared_error"

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width, channels) or \
                (n_samples, n_features)
            Images or rows, in the form used for fitting.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions, float64.
        """
        raw = self._predict_raw(X).astype(np.float64)
        return self.target_encoder_.inverse_transform(raw)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "regressor"
        tags.regressor_tags = RegressorTags()
        tags.classifier_tags = None
        tags.target_tags.multi_output = True
        return tags

