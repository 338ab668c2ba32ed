"""The one compatibility layer between scikeras and scikit-learn.

Every sklearn concern of sklship's Keras estimators is solved here, once:
declared parameters and their validation, estimator tags, input validation
with clear errors, uint8 images kept uint8 until they are inside the model,
seeding that leaves no global TensorFlow state behind, class and sample
weights, a shuffled (stratified) validation split with early stopping, and
quiet training.

A family module (``dense.py``, ``cnn.py``, ...) only declares its parameters
and implements ``_build_body(inputs)``, which maps the rescaled input tensor
to a feature tensor; the base adds the input, rescaling, the output layer,
the loss and the optimizer.

scikit-learn private helpers are imported in this module only, so a change
in scikit-learn touches one file.
"""

import contextlib
import random
from collections import defaultdict
from numbers import Integral, Real

import keras
import numpy as np
import scipy.sparse as sp
import tensorflow as tf
from keras.src.backend.common import global_state
from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR
from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED
from scikeras.utils.transformers import ClassifierLabelEncoder
from scikeras.wrappers import BaseWrapper, KerasClassifier, KerasRegressor
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, compute_sample_weight
from ._validation import Interval, StrOptions, validate_params  # noqa: F401 (re-export)
from sklearn.utils._tags import ClassifierTags, RegressorTags
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    column_or_1d,
)
from sklearn_compat.utils.validation import (
    _check_feature_names,
    check_array,
    validate_data,
)
from tensorflow.python.eager import context as tf_context

__all__ = ["ShipClassifierBase", "ShipRegressorBase"]

OPTIMIZERS = {
    "adagrad": keras.optimizers.Adagrad,
    "adam": keras.optimizers.Adam,
    "ftrl": keras.optimizers.Ftrl,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
}

ACTIVATIONS = {"elu", "gelu", "leaky_relu", "linear", "relu", "selu", "sigmoid",
               "silu", "softplus", "swish", "tanh"}

# Rows per prediction batch; every batch is padded to it (see
# predict_in_full_batches). Large enough to amortise Keras' per-batch cost,
# small enough that padding a few rows costs little.
_PREDICT_BATCH_SIZE = 64


# scikeras 0.13 predates scikit-learn 1.6 tags: its BaseWrapper defines only
# ``_more_tags``, which scikit-learn >= 1.6 ignores. Declaring the tags it
# already inherits from BaseEstimator changes nothing for any estimator and
# records that tags are defined the new way; sklship's classes set their own.
if "__sklearn_tags__" not in vars(BaseWrapper):
    BaseWrapper.__sklearn_tags__ = BaseEstimator.__sklearn_tags__


@contextlib.contextmanager
def seeded(seed):
    """Seed Python, NumPy, TensorFlow and Keras inside a block, then restore them.

    Keras draws the seeds of initializers, dropout and shuffling from these
    generators, so a fit inside the block is reproducible on the CPU. Op
    determinism (``tf.config.experimental.enable_op_determinism``) is never
    switched on, and every global generator is restored on exit, so the rest
    of the process sees no difference.

    Parameters
    ----------
    seed : int or None
        The seed; None leaves everything as it is.
    """
    if seed is None:
        yield
        return
    saved_python = random.getstate()
    saved_numpy = np.random.get_state()
    saved_tf = tf_context.global_seed()
    saved_keras = {
        name: global_state.get_global_attribute(name)
        for name in (GLOBAL_RANDOM_SEED, GLOBAL_SEED_GENERATOR)
    }
    keras.utils.set_random_seed(int(seed))
    try:
        yield
    finally:
        random.setstate(saved_python)
        np.random.set_state(saved_numpy)
        tf.random.set_seed(saved_tf)
        for name, value in saved_keras.items():
            global_state.set_global_attribute(name, value)


def check_units(name, units):
    """``units`` as a tuple of positive ints, or a ValueError naming ``name``."""
    values = tuple(np.ravel(units)) if units is not None else ()
    if not all(isinstance(u, Integral) and u > 0 for u in values):
        raise ValueError(
            f"{name} must be a sequence of positive integers; got {units!r}."
        )
    return tuple(int(u) for u in values)


def predict_in_full_batches(model, X, batch_size=_PREDICT_BATCH_SIZE):
    """``model.predict`` on batches of one fixed size, the last one padded.

    On the CPU a row's float32 result can depend in the last bits on where
    it sits in a batch (matrix kernels treat a short remainder differently).
    Padding every batch to the same size keeps each prediction independent
    of the other rows, so reordering or subsetting X gives the same numbers.
    """
    n_samples = len(X)
    padding = -n_samples % batch_size
    if padding:
        X = np.concatenate([X, np.zeros((padding,) + X.shape[1:], dtype=X.dtype)])
    raw = model.predict(X, batch_size=batch_size, verbose=0)
    return raw[:n_samples]


def build_optimizer(model):
    """Create the variables of ``model``'s optimizer before ``fit`` traces a step.

    Keras' TensorFlow trainer otherwise creates them (Adam's moments, for
    one) inside the first trace of the training step, and ``tf.function``
    then traces the step a second time; for a small model that second trace
    is about half the fit. Building first gives the same variables, values
    and training.
    """
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


class CosineEpochDecay(keras.callbacks.Callback):
    """Cosine decay of the learning rate from its initial value to 0, per epoch.

    Epoch ``e`` of ``epochs`` trains at ``initial * (1 + cos(pi * e / epochs)) / 2``;
    epochs past ``epochs`` (``partial_fit``) keep the last rate.

    Parameters
    ----------
    initial : float
        Learning rate of the first epoch.
    epochs : int
        Length of the decay in epochs.
    """

    def __init__(self, initial, epochs):
        super().__init__()
        self.initial = float(initial)
        self.epochs = int(epochs)

    def on_epoch_begin(self, epoch, logs=None):
        progress = min(epoch, self.epochs - 1) / self.epochs
        self.model.optimizer.learning_rate = (
            self.initial * 0.5 * (1.0 + np.cos(np.pi * progress))
        )


def schedule_callbacks(schedule, initial, epochs, monitor, patience):
    """Callbacks for a named learning-rate schedule.

    Parameters
    ----------
    schedule : {"cosine", "plateau"} or None
        "cosine" decays the rate from ``initial`` to 0 over ``epochs``;
        "plateau" divides it by 5 when ``monitor`` has not improved for
        ``max(1, patience // 2)`` epochs; None adds nothing.
    initial : float
        Initial learning rate.
    epochs : int
        Epochs of the fit.
    monitor : str
        Quantity watched by "plateau" ("val_loss" or "loss").
    patience : int
        Early-stopping patience; "plateau" reacts after half of it.

    Returns
    -------
    callbacks : list of keras.callbacks.Callback
    """
    if schedule == "cosine":
        return [CosineEpochDecay(initial, epochs)]
    if schedule == "plateau":
        return [keras.callbacks.ReduceLROnPlateau(
            monitor=monitor, factor=0.2, patience=max(1, patience // 2),
            min_lr=initial * 1e-3,
        )]
    return []


def _draw_seed(random_state):
    """An int seed from ``random_state`` (None stays None), as sklearn does."""
    if random_state is None:
        return None
    if isinstance(random_state, Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


class _ShipKerasMixin:
    """Behaviour shared by sklship classifiers and regressors.

    Placed before scikeras' ``KerasClassifier``/``KerasRegressor`` in the
    bases, so its methods replace scikeras' where sklearn needs something
    else: declared parameters instead of ``**kwargs``, one input door, no
    global determinism, and a validation split that is shuffled.
    """

    _parameter_constraints = {
        "optimizer": [StrOptions(set(OPTIMIZERS)), keras.optimizers.Optimizer],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "validation_split": [Interval(Real, 0, 1, closed="left")],
        "early_stopping": ["boolean"],
        "patience": [Interval(Integral, 0, None, closed="left")],
        "image_shape": ["array-like", None],
        "callbacks": [list, None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": [Interval(Integral, 0, 2, closed="both")],
    }

    # Rows per prediction batch (see predict_in_full_batches).
    _predict_batch_size = _PREDICT_BATCH_SIZE

    # sklearn's parameter handling (signature based), not scikeras' (__dict__ based):
    # every parameter is declared in ``__init__``, so a misspelt one fails at once.
    _get_param_names = classmethod(BaseEstimator._get_param_names.__func__)
    set_params = BaseEstimator.set_params
    __repr__ = BaseEstimator.__repr__

    # ----------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to images or feature rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width, channels) or \
                (n_samples, n_features)
            Images (uint8 or float) or rows; rows are reshaped to
            ``image_shape`` when it is set. uint8 images are rescaled to
            [0, 1] inside the model, so they are never copied to float.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights (the old ``weight_column``). Rows with weight
            zero are left out.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._reset_target()
        self._fit(X, y, sample_weight, warm_start=self.warm_start, epochs=self.epochs,
                  initial_epoch=0)
        return self

    def _reset_target(self, classes=None):
        """Forget what a previous fit learnt about the target (hook)."""

    def partial_fit(self, X, y, sample_weight=None):
        """Train one more epoch, keeping the weights and the history.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width, channels) or \
                (n_samples, n_features)
            Images or rows, as in :meth:`fit`.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : object
            The estimator.
        """
        return self._partial_fit(X, y, sample_weight)

    def _partial_fit(self, X, y, sample_weight, classes=None):
        if not self.initialized_:
            self._validate_params()
            self._reset_target(classes)
        self._fit(X, y, sample_weight, warm_start=True, epochs=1,
                  initial_epoch=self.current_epoch)
        return self

    def _fit(self, X, y, sample_weight, warm_start, epochs, initial_epoch):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        seed = _draw_seed(self.random_state)
        # A different seed per epoch start keeps partial_fit from replaying one shuffle.
        with seeded(None if seed is None else seed + initial_epoch):
            if (self.warm_start or warm_start) and self.initialized_:
                X, y = self._validate_data(X, y)
            else:
                X, y = self._initialize(X, y)
            sample_weight = self._training_weights(X, y, sample_weight)
            if sample_weight is not None:
                kept = sample_weight > 0
                X, y, sample_weight = X[kept], y[kept], sample_weight[kept]
            y = self.target_encoder_.transform(y)
            self._fit_keras_model(X, y, sample_weight, warm_start=warm_start,
                                  epochs=epochs, initial_epoch=initial_epoch)

    def _training_weights(self, X, y, sample_weight):
        """Validated sample weights (None when all are one)."""
        if sample_weight is None:
            return None
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if np.any(sample_weight < 0):
            raise ValueError("sample_weight must be non-negative; got negative weights.")
        if not np.any(sample_weight > 0):
            raise ValueError("sample_weight is zero for every sample: nothing to train on.")
        return sample_weight

    def _build_keras_model(self):
        """Input, rescaling, the family's body, the output layer; compiled."""
        # uint8 goes in as uint8 (Rescaling casts it); anything else as float32.
        dtype = "uint8" if self.X_dtype_ == np.uint8 else "float32"
        inputs = keras.Input(shape=self.input_shape_, dtype=dtype)
        x = inputs
        if self.input_scale_ != 1.0:
            x = keras.layers.Rescaling(self.input_scale_, name="rescale")(x)
        x = self._build_body(x)
        outputs = self._output_layer()(x)
        model = keras.Model(inputs, outputs, name=type(self).__name__)
        model.compile(optimizer=self._make_optimizer(), loss=self._loss())
        return model

    def _make_optimizer(self):
        """A fresh optimizer, so no state is shared between fits or clones."""
        if isinstance(self.optimizer, keras.optimizers.Optimizer):
            optimizer = type(self.optimizer).from_config(self.optimizer.get_config())
            if self.learning_rate is not None:
                optimizer.learning_rate = self.learning_rate
            return optimizer
        kwargs = {} if self.learning_rate is None else {"learning_rate": self.learning_rate}
        return OPTIMIZERS[self.optimizer](**kwargs)

    def _fit_keras_model(self, X, y, sample_weight, warm_start, epochs, initial_epoch):
        """``model_.fit`` with a shuffled validation split and early stopping."""
        callbacks = list(self._fit_callbacks)
        validation_data = None
        if self.validation_split > 0:
            (X, y, sample_weight), validation_data = self._split_validation(
                X, y, sample_weight
            )
        callbacks += self._schedule_callbacks(
            "val_loss" if validation_data is not None else "loss"
        )
        if self.early_stopping:
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor="val_loss" if validation_data is not None else "loss",
                patience=self.patience, restore_best_weights=True,
            ))
        build_optimizer(self.model_)
        history = self.model_.fit(
            X, y, sample_weight=sample_weight, batch_size=self.batch_size,
            epochs=initial_epoch + epochs, initial_epoch=initial_epoch,
            validation_data=validation_data, callbacks=callbacks,
            verbose=self.verbose,
        )
        if not warm_start or initial_epoch == 0 or not hasattr(self, "history_"):
            self.history_ = defaultdict(list)
        for key, values in history.history.items():
            self.history_[key] += values

    def _schedule_callbacks(self, monitor):
        """Learning-rate schedule callbacks for ``model_.fit`` (hook; none here)."""
        return []

    def _split_validation(self, X, y, sample_weight):
        """Hold out a shuffled (for classifiers stratified) validation part.

        Keras' own ``validation_split`` takes the last rows, which for data
        sorted by label or scene is a biased hold-out.
        """
        n_val = int(np.ceil(self.validation_split * len(X)))
        if n_val >= len(X):
            raise ValueError(
                f"validation_split={self.validation_split} leaves no training "
                f"samples out of {len(X)}."
            )
        train, val = train_test_split(
            np.arange(len(X)), test_size=n_val,
            random_state=np.random.randint(np.iinfo(np.int32).max),
            stratify=self._stratify(y, n_val),
        )
        parts = [X, y] + ([] if sample_weight is None else [sample_weight])
        training = [p[train] for p in parts] + ([None] if sample_weight is None else [])
        return training, tuple(p[val] for p in parts)

    def _stratify(self, y, n_val):
        """Labels to stratify a validation split of ``n_val`` by, or None (hook)."""
        return None

    # -------------------------------------------------------------- prediction
    def _predict_raw(self, X):
        if not self.initialized_:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' "
                "with appropriate arguments before using this estimator."
            )
        X, _ = self._validate_data(X)
        return predict_in_full_batches(self.model_, X, self._predict_batch_size)

    # -------------------------------------------------------- input validation
    def _validate_data(self, X=None, y=None, reset=False, y_numeric=False):
        """The one door for inputs: images, rows, targets and their checks.

        Sets ``input_shape_``, ``input_scale_``, ``X_dtype_``,
        ``n_features_in_`` and ``feature_names_in_`` when ``reset``; checks
        against them otherwise.
        """
        if X is not None:
            X = self._validate_X(X, reset)
        if y is not None:
            _, y = super()._validate_data(X=None, y=y, reset=reset, y_numeric=y_numeric)
            if X is not None:
                check_consistent_length(X, y)
            if reset:
                self._check_target(y)
        return X, y

    def _validate_X(self, X, reset):
        name = type(self).__name__
        if sp.issparse(X):
            raise TypeError(
                f"{name} does not accept sparse input; got a {type(X).__name__}. "
                "Convert it to a dense array with X.toarray()."
            )
        if not hasattr(X, "iloc"):  # keep DataFrames for their column names
            X = np.asarray(X)
        if X.ndim == 4:
            _check_feature_names(self, X, reset=reset)
            X = check_array(X, allow_nd=True, dtype="numeric", ensure_all_finite=True,
                            input_name="X")
            if reset:
                self.n_features_in_ = int(np.prod(X.shape[1:]))
        else:
            if X.ndim > 2:
                raise ValueError(
                    f"{name} expects X as 4-D images (n_samples, height, width, "
                    f"channels) or 2-D rows (n_samples, n_features); got X with "
                    f"{X.ndim} dimensions and shape {X.shape}."
                )
            # validate_data rejects 1-D X with sklearn's "Reshape your data" advice.
            X = validate_data(self, X, reset=reset, dtype="numeric",
                              ensure_all_finite=True, skip_check_array=False)
            X = self._reshape_rows(X)
        if reset:
            self._set_input_spec(X)
        else:
            self._check_input_spec(X)
        return X

    def _reshape_rows(self, X):
        """Rows to images when ``image_shape`` is set; else as the family needs."""
        if self.image_shape is None:
            return self._rows_without_image_shape(X)
        shape = tuple(int(d) for d in self.image_shape)
        if len(shape) != 3 or int(np.prod(shape)) != X.shape[1]:
            raise ValueError(
                f"image_shape={self.image_shape!r} must be (height, width, channels) "
                f"with height * width * channels equal to the {X.shape[1]} features "
                "of each row in X."
            )
        return X.reshape((X.shape[0],) + shape)

    def _rows_without_image_shape(self, X):
        """Rows with no ``image_shape`` go to the model as they are (hook)."""
        return X

    def _set_input_spec(self, X):
        self.input_shape_ = tuple(X.shape[1:])
        self.X_dtype_ = np.dtype(X.dtype)
        self.input_scale_ = 1.0 / 255.0 if X.dtype == np.uint8 else 1.0

    def _check_input_spec(self, X):
        name = type(self).__name__
        if tuple(X.shape[1:]) != self.input_shape_:
            what = "images of shape" if X.ndim == 4 else "inputs of shape"
            raise ValueError(
                f"X has {what} {tuple(X.shape[1:])}, but {name} was fitted on "
                f"inputs of shape {self.input_shape_}."
            )
        if (X.dtype == np.uint8) != (self.X_dtype_ == np.uint8):
            raise ValueError(
                f"X has dtype {X.dtype}, but {name} was fitted on {self.X_dtype_} "
                "inputs. uint8 images are rescaled by 1/255 inside the model and "
                "others are not, so pass images in the form used for fitting."
            )

    def _check_target(self, y):
        """Checks of y that only apply when fitting (hook)."""

    # -------------------------------------------------------------------- tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


class ShipClassifierBase(_ShipKerasMixin, KerasClassifier):
    """Base of sklship's Keras classifiers.

    Binary targets get one sigmoid unit and binary cross-entropy, more
    classes a softmax layer and sparse categorical cross-entropy. Any
    labels work (strings included); ``classes_`` keeps them.

    ``class_weight`` (dict or "balanced") multiplies ``sample_weight``, as
    in scikit-learn; the book's weights are ``{0: mean(y), 1: 1 - mean(y)}``.
    """

    _parameter_constraints = {
        **_ShipKerasMixin._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def _reset_target(self, classes=None):
        if not (self.warm_start and self.initialized_):
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

    def _output_layer(self):
        if self.n_classes_ == 2:
            return keras.layers.Dense(1, activation="sigmoid", name="output")
        return keras.layers.Dense(self.n_classes_, activation="softmax", name="output")

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


class ShipRegressorBase(_ShipKerasMixin, KerasRegressor):
    """Base of sklship's Keras regressors: linear outputs, mean squared error."""

    score = RegressorMixin.score

    def _output_layer(self):
        return keras.layers.Dense(self.n_outputs_, name="output")

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

