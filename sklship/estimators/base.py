"""The one compatibility layer between scikeras and scikit-learn.

Every sklearn concern of sklship's Keras estimators is solved here, once:
declared parameters and their validation, estimator tags, input validation
with clear errors, uint8 images kept uint8 until they are inside the model,
seeding that reads and changes no global random state, class and sample
weights, a shuffled (stratified) validation split with early stopping, and
quiet training.

A family module (``dense.py``, ``cnn.py``, ...) only declares its parameters
and implements ``_build_body(inputs, seeds)``, which maps the rescaled input
tensor to a feature tensor; the base adds the input, rescaling, the output
layer, the loss and the optimizer.

Seeding and threads: every random choice of a fit comes from one NumPy
generator made from ``random_state`` (:func:`fit_rng`). Layers get their
initializer and dropout seeds from it (:class:`LayerSeeds`), the validation
split its seed, and the training batches are shuffled by stateless
TensorFlow shuffles of that generator's seed (:func:`shuffled_batches`), not
by Keras' ``shuffle=True`` (which draws from TensorFlow's global seed). So a
fit neither reads nor changes Python's ``random``, ``np.random`` or
TensorFlow's global seed, and fits in threads of one process equal the same
fits run one after another. The one serialised piece: networks whose layers
cannot all take seeds (a ``keras.applications`` backbone takes none) are
built under a process-wide lock with Python's ``random`` seeded from the fit
and restored (:func:`default_keras_seeds`).

scikit-learn private helpers are imported in this module only, so a change
in scikit-learn touches one file.
"""

import contextlib
import random
import threading
from collections import defaultdict
from numbers import Integral, Real

import keras
import numpy as np
import scipy.sparse as sp
import tensorflow as tf
from scikeras.utils.transformers import ClassifierLabelEncoder
from scikeras.wrappers import BaseWrapper, KerasClassifier, KerasRegressor
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, compute_sample_weight
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

from ._validation import Interval, StrOptions, validate_params  # noqa: F401 (re-export)

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


# Seeds handed to Keras and TensorFlow lie in 1 .. 2**31 - 2 (positive int32).
_MAX_SEED = 2**31 - 1

# Held while a network whose layers draw Keras' default seeds is built.
_DEFAULT_SEEDS_LOCK = threading.Lock()


def fit_rng(random_state, initial_epoch=0):
    """The generator of all random choices of one fit.

    Parameters
    ----------
    random_state : int, RandomState instance or None
        The estimator's ``random_state``. An int gives the same generator
        every time; a RandomState gives one seed drawn from it (as
        scikit-learn does); None a generator seeded from fresh OS entropy,
        so no global generator is read.
    initial_epoch : int, default=0
        First epoch of the fit; ``partial_fit`` calls get different streams.

    Returns
    -------
    rng : numpy.random.Generator
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, Integral):
        seed = int(random_state)
    else:
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    return np.random.default_rng([seed, initial_epoch])


class LayerSeeds:
    """Seeds for the random layers of one network, drawn in turn from ``rng``.

    Keras layers and initializers built without a seed draw one from
    Python's global ``random``. Network bodies give each random layer one of
    these seeds instead (``kernel_initializer=seeds.kernel()``,
    ``Dropout(rate, seed=seeds())``), so the network depends on nothing but
    ``rng``: it is the same in any thread, whatever else the process draws.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the seeds.
    """

    def __init__(self, rng):
        self._rng = rng

    def __call__(self):
        """The next seed, an int for a ``seed=`` argument."""
        return int(self._rng.integers(1, _MAX_SEED))

    def kernel(self):
        """Keras' default kernel initializer (Glorot uniform), seeded."""
        return keras.initializers.GlorotUniform(seed=self())


@contextlib.contextmanager
def default_keras_seeds(seeds):
    """Keras' default seeds drawn from ``seeds`` inside the block, serialised.

    For networks with layers that take no seed (``keras.applications``
    backbones): such layers draw theirs from Python's global ``random``.
    Inside the block that generator is seeded from ``seeds`` and it is
    restored on exit, under a process-wide lock, so two such blocks never
    overlap and the rest of the process sees ``random`` as it was. A thread
    that draws from ``random`` outside sklship while the block runs would
    shift these seeds; layers seeded through :class:`LayerSeeds` are immune.

    Parameters
    ----------
    seeds : LayerSeeds
        Source of the seed of Python's ``random``.
    """
    seed = seeds()
    with _DEFAULT_SEEDS_LOCK:
        saved = random.getstate()
        random.seed(seed)
        try:
            yield
        finally:
            random.setstate(saved)


def shuffled_batches(arrays, batch_size, epochs, seed):
    """``epochs`` passes over ``arrays`` in batches, each pass in its own order.

    The order of pass ``e`` is a stateless TensorFlow shuffle seeded by
    ``(seed, e)``, so it depends on nothing else in the process; Keras' own
    ``shuffle=True`` draws from TensorFlow's global seed. The batches are
    gathered from the arrays as Keras gathers them (arrays are not copied
    per batch), and floats are cast to float32 as Keras casts them.

    Parameters
    ----------
    arrays : tuple of ndarray
        Sample-aligned arrays (inputs, targets and maybe sample weights).
    batch_size : int
        Samples per batch; the last batch of a pass may be smaller.
    epochs : int
        Passes over the data.
    seed : int
        Seed of the shuffles.

    Returns
    -------
    dataset : tf.data.Dataset
        Tuples of batches, for ``model.fit(dataset, steps_per_epoch=...)``.
    steps_per_epoch : int
        Batches per pass.
    """
    arrays = tuple(np.asarray(a, dtype=np.float32) if a.dtype.kind == "f" else a
                   for a in arrays)
    n_samples = len(arrays[0])
    seed = tf.constant(seed, dtype=tf.int64)

    def order(epoch):
        return tf.random.experimental.stateless_shuffle(
            tf.range(n_samples, dtype=tf.int64), seed=tf.stack([seed, epoch]))

    def batches(indices):
        return tf.data.Dataset.from_tensor_slices(indices).batch(batch_size)

    def gather(indices, data):
        return tuple(tf.gather(values, indices) for values in data)

    indices = tf.data.Dataset.range(epochs).map(order).flat_map(batches)
    dataset = tf.data.Dataset.zip(
        (indices, tf.data.Dataset.from_tensors(arrays).repeat())
    ).map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    # As Keras: skip the default graph rewrites, whose cost dwarfs small fits.
    # Without autotuning: with it, some fits stalled about 2 s after their last
    # batch (1 or 2 of 3 in a row; none in 5 without it, bench_overhead.py).
    options = tf.data.Options()
    options.experimental_optimization.apply_default_optimizations = False
    options.autotune.enabled = False
    dataset = dataset.with_options(options).prefetch(tf.data.AUTOTUNE)
    return dataset, -(-n_samples // batch_size)


def make_optimizer(optimizer, learning_rate):
    """A fresh optimizer, so no state is shared between fits or clones.

    Parameters
    ----------
    optimizer : str or keras.optimizers.Optimizer
        A key of ``OPTIMIZERS`` or an instance, which is copied.
    learning_rate : float or None
        Learning rate; None keeps the optimizer's own.

    Returns
    -------
    optimizer : keras.optimizers.Optimizer
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        optimizer = type(optimizer).from_config(optimizer.get_config())
        if learning_rate is not None:
            optimizer.learning_rate = learning_rate
        return optimizer
    kwargs = {} if learning_rate is None else {"learning_rate": learning_rate}
    return OPTIMIZERS[optimizer](**kwargs)


def dense_input(estimator, X, *, images):
    """X as an array (DataFrames kept for their column names), or a clear error.

    Parameters
    ----------
    estimator : object
        The estimator, named in the errors.
    X : array-like
        The input.
    images : bool
        Whether 4-D images are accepted besides 2-D rows.

    Returns
    -------
    X : ndarray or DataFrame
        Not yet checked for values or sample counts.

    Raises
    ------
    TypeError
        For sparse X.
    ValueError
        For X of more dimensions than accepted.
    """
    name = type(estimator).__name__
    if sp.issparse(X):
        raise TypeError(
            f"{name} does not accept sparse input; got a {type(X).__name__}. "
            "Convert it to a dense array with X.toarray()."
        )
    if hasattr(X, "iloc"):
        return X
    X = np.asarray(X)
    if X.ndim > 2 and not (images and X.ndim == 4):
        expected = ("4-D images (n_samples, height, width, channels) or 2-D rows "
                    "(n_samples, n_features)" if images else
                    "2-D rows (n_samples, n_features)")
        advice = "" if images else (" Flatten images with X.reshape(len(X), -1) and "
                                    "pass image_shape.")
        raise ValueError(
            f"{name} expects X as {expected}; got X with {X.ndim} dimensions and "
            f"shape {X.shape}.{advice}"
        )
    return X


def check_image_shape(image_shape, n_values, values):
    """``image_shape`` as (height, width, channels) holding ``n_values`` values.

    Parameters
    ----------
    image_shape : array-like of int
        The parameter.
    n_values : int
        Values per sample that the images are made of.
    values : str
        What those values are, for the error ("deep columns", ...).

    Returns
    -------
    shape : tuple of 3 int
    """
    shape = tuple(int(d) for d in image_shape)
    if len(shape) != 3 or int(np.prod(shape)) != n_values:
        raise ValueError(
            f"image_shape={image_shape!r} must be (height, width, channels) with "
            f"height * width * channels equal to the {n_values} {values} X."
        )
    return shape


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
        return self._fit_anew(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def _fit_anew(self, X, y, sample_weight, **row_data):
        """``fit`` with the family's extra sample-aligned fit data (``row_data``)."""
        self._reset_target()
        self._fit(X, y, sample_weight, warm_start=self.warm_start, epochs=self.epochs,
                  initial_epoch=0, partial=False, **row_data)
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

    def _partial_fit(self, X, y, sample_weight, classes=None, **row_data):
        if not self.initialized_:
            self._validate_params()
            self._reset_target(classes)
        self._fit(X, y, sample_weight, warm_start=True, epochs=1,
                  initial_epoch=self.current_epoch, partial=True, **row_data)
        return self

    def _fit(self, X, y, sample_weight, warm_start, epochs, initial_epoch, partial,
             **row_data):
        """Validate, build the network if needed, drop zero weights, train.

        ``partial`` says whether the call comes from ``partial_fit``.
        ``row_data`` are the family's extra sample-aligned arrays (checked by
        the family); they lose the rows of weight zero with X and reach
        :meth:`_fit_keras_model` as keyword arguments.
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        rng = fit_rng(self.random_state, initial_epoch)
        if (self.warm_start or warm_start) and self.initialized_:
            X, y = self._validate_data(X, y)
        else:
            X, y = self._initialize(X, y, rng)
        sample_weight = self._training_weights(X, y, sample_weight)
        if sample_weight is not None:
            kept = sample_weight > 0
            X, y, sample_weight = X[kept], y[kept], sample_weight[kept]
            row_data = {name: values[kept] for name, values in row_data.items()}
        y = self.target_encoder_.transform(y)
        self._fit_keras_model(X, y, sample_weight, warm_start=warm_start, epochs=epochs,
                              initial_epoch=initial_epoch, rng=rng, partial=partial,
                              **row_data)

    def _initialize(self, X, y=None, rng=None):
        """Validate the data, fit the encoders and build the network.

        scikeras' ``_initialize`` without its TensorFlow seeding: the network
        takes its seeds from ``rng`` (a new :func:`fit_rng` when None, as for
        ``initialize``).
        """
        if rng is None:
            rng = fit_rng(self.random_state)
        X, y = self._validate_data(X, y, reset=True)
        self.target_encoder_ = self.target_encoder.fit(y)
        vars(self).update(getattr(self.target_encoder_, "get_metadata", dict)())
        self.feature_encoder_ = self.feature_encoder.fit(X)
        vars(self).update(getattr(self.feature_encoder, "get_metadata", dict)())
        self.model_ = self._build_keras_model(LayerSeeds(rng))
        self._initialize_callbacks()
        return X, y

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

    # Whether ``_build_body`` seeds every random layer from its ``seeds``. When
    # not (a keras.applications backbone takes no seeds), the body is built in
    # ``default_keras_seeds``: serialised across threads.
    _body_seeds_every_layer = False

    def _build_keras_model(self, seeds):
        """Input, rescaling, the family's body, the output layer; compiled.

        Parameters
        ----------
        seeds : LayerSeeds
            Seeds of the random layers.
        """
        # uint8 goes in as uint8 (Rescaling casts it); anything else as float32.
        dtype = "uint8" if self.X_dtype_ == np.uint8 else "float32"
        inputs = keras.Input(shape=self.input_shape_, dtype=dtype)
        x = inputs
        if self.input_scale_ != 1.0:
            x = keras.layers.Rescaling(self.input_scale_, name="rescale")(x)
        if self._body_seeds_every_layer:
            x = self._build_body(x, seeds)
        else:
            with default_keras_seeds(seeds):
                x = self._build_body(x, seeds)
        outputs = self._output(x, seeds)
        model = keras.Model(inputs, outputs, name=type(self).__name__)
        model.compile(optimizer=self._make_optimizer(), loss=self._loss())
        return model

    def _output(self, x, seeds):
        """The output layer on the body's features (hook)."""
        units, activation = self._output_units()
        return keras.layers.Dense(units, activation=activation, name="output",
                                  kernel_initializer=seeds.kernel())(x)

    def _make_optimizer(self):
        """A fresh optimizer from ``optimizer`` and ``learning_rate``."""
        return make_optimizer(self.optimizer, self.learning_rate)

    def _fit_keras_model(self, X, y, sample_weight, warm_start, epochs, initial_epoch,
                         rng, partial=False, *, model=None, split=None):
        """Train a Keras model with a shuffled validation split and early stopping.

        Parameters
        ----------
        X, y, sample_weight : ndarray
            The training data (rows of weight zero already left out).
        warm_start : bool
            Keep the training history of earlier calls.
        epochs, initial_epoch : int
            Epochs to train, and the number already trained.
        rng : numpy.random.Generator
            From :func:`fit_rng`: draws the validation split and the seed of
            the batches' order.
        partial : bool, default=False
            Whether the call comes from ``partial_fit`` (a hook for families
            that train in phases).
        model : keras.Model or None, default=None
            The model to train; None trains ``model_``.
        split : (ndarray, ndarray) or None, default=None
            Training and validation row indices, when ``validation_split``
            holds out rows; None draws them (:meth:`_validation_split`).
        """
        model = self.model_ if model is None else model
        callbacks = list(self._fit_callbacks)
        validation_data = None
        if self.validation_split > 0:
            train, val = self._validation_split(len(X), y, rng) if split is None else split
            parts = [X, y] + ([] if sample_weight is None else [sample_weight])
            validation_data = tuple(part[val] for part in parts)
            X, y = X[train], y[train]
            sample_weight = None if sample_weight is None else sample_weight[train]
        monitor = "val_loss" if validation_data is not None else "loss"
        callbacks += self._schedule_callbacks(monitor)
        if self.early_stopping:
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor=monitor, patience=self.patience, restore_best_weights=True,
            ))
        arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
        batches, steps_per_epoch = shuffled_batches(
            arrays, self.batch_size, epochs, seed=int(rng.integers(1, _MAX_SEED)))
        build_optimizer(model)
        history = model.fit(
            batches, steps_per_epoch=steps_per_epoch, shuffle=False,
            epochs=initial_epoch + epochs, initial_epoch=initial_epoch,
            validation_data=validation_data, validation_batch_size=self.batch_size,
            callbacks=callbacks, verbose=self.verbose,
        )
        if not warm_start or initial_epoch == 0 or not hasattr(self, "history_"):
            self.history_ = defaultdict(list)
        for key, values in history.history.items():
            self.history_[key] += values

    def _schedule_callbacks(self, monitor):
        """Learning-rate schedule callbacks for ``model_.fit`` (hook; none here)."""
        return []

    def _validation_split(self, n_samples, y, rng):
        """Training and validation row indices: a shuffled (for classifiers
        stratified) hold-out of ``validation_split`` of the rows.

        Keras' own ``validation_split`` takes the last rows, which for data
        sorted by label or scene is a biased hold-out. The split's seed is
        drawn from ``rng``.
        """
        n_val = int(np.ceil(self.validation_split * n_samples))
        if n_val >= n_samples:
            raise ValueError(
                f"validation_split={self.validation_split} leaves no training "
                f"samples out of {n_samples}."
            )
        return train_test_split(
            np.arange(n_samples), test_size=n_val,
            random_state=int(rng.integers(_MAX_SEED)),
            stratify=self._stratify(y, n_val),
        )

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
        X = dense_input(self, X, images=True)
        if X.ndim == 4:
            _check_feature_names(self, X, reset=reset)
            X = check_array(X, allow_nd=True, dtype="numeric", ensure_all_finite=True,
                            input_name="X")
            if reset:
                self.n_features_in_ = int(np.prod(X.shape[1:]))
        else:
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
        shape = check_image_shape(self.image_shape, X.shape[1], "features of each row in")
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


class ShipRegressorBase(_ShipKerasMixin, KerasRegressor):
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

