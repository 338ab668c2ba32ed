"""The sklearn contract of sklship's Keras estimators, over scikeras.

Every sklearn concern of sklship's Keras estimators is solved here, once:
declared parameters and their validation, estimator tags, input validation
with clear errors, uint8 images kept uint8 until they are inside the model,
class and sample weights. Training itself (seeding, batches, the validation
split, schedules) is :mod:`sklship.estimators.training`.

The subclassing contract is :class:`ShipKerasMixin`'s docstring: the one
list of the hooks a family implements or may override (:data:`HOOKS`).

scikeras 0.13 is used as it is: nothing of it is patched. Where sklearn needs
something else, the classes here override scikeras' methods (declared
parameters instead of ``**kwargs``, one input door, no global determinism, a
shuffled validation split, sklearn's ``score``). scikit-learn private helpers
are imported in this module only, so a change in scikit-learn touches one file.
"""

from abc import ABCMeta, abstractmethod
from collections import defaultdict
from numbers import Integral, Real

import keras
import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
)

from .._validation import Interval, StrOptions, validate_params  # noqa: F401 (re-export)
from .inputs import check_image_shape, check_input_spec, images_or_rows
from .training import (
    OPTIMIZERS,
    PREDICT_BATCH_SIZE,
    FitCall,
    LayerSeeds,
    default_keras_seeds,
    fit_rng,
    make_optimizer,
    predict_in_full_batches,
    train_model,
)

__all__ = ["ACTIVATIONS", "HOOKS", "ShipKerasMixin"]

ACTIVATIONS = {"elu", "gelu", "leaky_relu", "linear", "relu", "selu", "sigmoid",
               "silu", "softplus", "swish", "tanh"}

#: The hooks of the subclassing contract (see :class:`ShipKerasMixin`): the
#: only members of the bases that a family may define again.
HOOKS = frozenset({
    "_build_body", "_body_seeds_every_layer", "_output", "_loss", "_build_network",
    "_make_optimizer", "_validate_X", "_rows_without_image_shape", "_set_input_spec",
    "_fit_keras_model", "_reset_target", "_stratify", "_schedule_callbacks", "fit",
    "partial_fit", "_forward", "_predict_raw", "_predict_batch_size",
})


class ShipKerasMixin(metaclass=ABCMeta):
    """Behaviour shared by sklship classifiers and regressors; the subclassing contract.

    Placed before scikeras' ``KerasClassifier``/``KerasRegressor`` in the
    bases, so its methods replace scikeras' where sklearn needs something
    else: declared parameters instead of ``**kwargs``, one input door, no
    global determinism, and a validation split that is shuffled.

    The task bases (:class:`~sklship.estimators.tasks.ShipClassifierBase`,
    :class:`~sklship.estimators.tasks.ShipRegressorBase`) complete it with
    the output units, the loss, the target's encoding and checks, and
    ``predict``/``predict_proba``/``score``. A family (dense, CNN,
    pretrained, wide & deep, multi-output) subclasses one of them and
    defines ``__init__`` (storing its declared parameters), extends
    ``_parameter_constraints``, adds private helpers of its own, and
    overrides nothing but the hooks below (:data:`HOOKS`; a test holds every
    family to it).

    Required (abstract):

    ``_build_body(self, x, seeds) -> tensor``
        The rescaled input tensor to a feature tensor (``seeds``: a
        :class:`~sklship.estimators.training.LayerSeeds`); the base adds the
        input, the rescaling, the output, the loss and the optimizer.

    Optional, the network:

    ``_body_seeds_every_layer`` (class attribute, default False)
        True when ``_build_body`` seeds every random layer from ``seeds``;
        else the body is built inside ``default_keras_seeds`` (serialised
        across threads), as a ``keras.applications`` backbone needs.
    ``_output(self, x, seeds) -> tensor``
        The output on the body's features (default: one Dense layer of the
        task's ``_output_units()``).
    ``_loss(self)``
        The Keras loss (default: the task's).
    ``_build_network(self, seeds) -> keras.Model``
        The whole network, uncompiled (default: input, rescaling,
        ``_build_body``, ``_output``). Only for a network that is not one
        body on one input: wide & deep sums a linear part and a deep part
        (its ``_build_body``) on their own columns.
    ``_make_optimizer(self)``
        A fresh optimizer (default: from ``optimizer`` and ``learning_rate``).

    Optional, inputs:

    ``_validate_X(self, X, reset) -> ndarray``
        X as the network takes it; sets (``reset``) or checks
        ``n_features_in_`` and the input spec. The default takes images or
        rows (reshaped by ``image_shape``, else by
        ``_rows_without_image_shape``); wide & deep selects and packs
        columns instead.
    ``_rows_without_image_shape(self, X) -> ndarray``
        2-D rows when ``image_shape`` is None (default: as they are).
    ``_set_input_spec(self, X)``
        Records ``input_shape_``, ``X_dtype_`` and ``input_scale_`` (the
        base rescales uint8 by 1/255) from the validated training X.

    Optional, fitting:

    ``_fit_keras_model(self, X, y, sample_weight, call) -> None``
        Trains ``model_`` on validated, encoded data; ``call`` is a
        :class:`~sklship.estimators.training.FitCall` (epochs, generator,
        whether the call is partial, the family's extra sample-aligned
        arrays in ``call.row_data``). The default trains once with
        :meth:`_train`, which families that train in phases (pretrained) or
        build composite targets (multi-output) call.
    ``_reset_target(self, classes=None)``
        Forgets what a previous fit learnt about the target; called when
        a fit starts anew (not a warm start, not a later ``partial_fit``),
        before the network is built. Families that learn more of the
        target (multi-output's location scaling) extend it and call
        ``super()``.
    ``_stratify(self, y, n_val)``
        Labels to stratify a validation split of ``n_val`` rows by, or None.
    ``_schedule_callbacks(self, monitor) -> list``
        Learning-rate schedule callbacks (default: none).
    ``fit``, ``partial_fit``
        Overridden only by a family whose fit takes more sample-aligned
        data (multi-output's ``location``): they check it and pass it by
        keyword to ``_fit_anew`` / ``_partial_fit``, which drop its rows
        of weight zero with X and hand it to ``_fit_keras_model``.

    Optional, prediction:

    ``_forward(self, X) -> ndarray``
        The network's outputs for validated X (default: ``model_`` in full
        batches of ``_predict_batch_size`` rows). Families change the pass
        here: test-time augmentation, cached backbone features.
    ``_predict_batch_size`` (class attribute)
        Rows per prediction batch (smaller for heavy backbones).
    ``_predict_raw(self, X) -> ndarray``
        What ``predict``/``predict_proba`` read, for X as the caller passes
        it (default: checks the fit, validates X, ``_forward``). Multi-output
        keeps the label columns of its outputs.
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
        "chip_resolution": [Interval(Real, 0, None, closed="neither"), None],
        "callbacks": [list, None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": [Interval(Integral, 0, 2, closed="both")],
    }

    # Metres per pixel of the training chips, for models pickled before the
    # parameter existed (ShipsNet's 3 m); see sklship.scenes.resolution.
    chip_resolution = 3.0

    # Rows per prediction batch (see predict_in_full_batches; hook).
    _predict_batch_size = PREDICT_BATCH_SIZE

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
        if not (self.warm_start and self.initialized_):
            self._reset_target()
        self._fit(X, y, sample_weight, warm_start=self.warm_start, epochs=self.epochs,
                  initial_epoch=0, partial=False, **row_data)
        return self

    def _reset_target(self, classes=None):  # noqa: B027 (optional hook, no-op default)
        """Forget what a previous fit learnt about the target (hook).

        Called when a fit starts anew, before the network is built;
        ``classes`` are ``partial_fit``'s.
        """

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
        :meth:`_fit_keras_model` in ``call.row_data``.
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
        call = FitCall(rng=rng, epochs=epochs, initial_epoch=initial_epoch,
                       warm_start=warm_start, partial=partial, row_data=row_data)
        self._fit_keras_model(X, y, sample_weight, call)

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

    # Whether ``_build_body`` seeds every random layer from its ``seeds`` (hook).
    _body_seeds_every_layer = False

    @abstractmethod
    def _build_body(self, x, seeds):
        """The rescaled input tensor to a feature tensor (required hook).

        Parameters
        ----------
        x : tensor
            The input after rescaling.
        seeds : LayerSeeds
            Seeds of the random layers.

        Returns
        -------
        features : tensor
            What :meth:`_output` reads.
        """

    def _build_keras_model(self, seeds):
        """The network (:meth:`_build_network`), compiled with its optimizer and loss.

        Parameters
        ----------
        seeds : LayerSeeds
            Seeds of the random layers.
        """
        model = self._build_network(seeds)
        model.compile(optimizer=self._make_optimizer(), loss=self._loss())
        return model

    def _build_network(self, seeds):
        """Input, rescaling, the family's body, the output layer; uncompiled (hook).

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
        return keras.Model(inputs, outputs, name=type(self).__name__)

    def _output(self, x, seeds):
        """The output layer on the body's features (hook)."""
        units, activation = self._output_units()
        return keras.layers.Dense(units, activation=activation, name="output",
                                  kernel_initializer=seeds.kernel())(x)

    def _make_optimizer(self):
        """A fresh optimizer from ``optimizer`` and ``learning_rate`` (hook)."""
        return make_optimizer(self.optimizer, self.learning_rate)

    def _fit_keras_model(self, X, y, sample_weight, call):
        """Train ``model_`` on validated, encoded data (hook).

        Parameters
        ----------
        X, y, sample_weight : ndarray
            The training data (rows of weight zero already left out; y
            encoded by ``target_encoder_``).
        call : FitCall
            What this ``fit`` or ``partial_fit`` call asks for, with the
            family's extra sample-aligned arrays in ``call.row_data``.
        """
        self._train(self.model_, X, y, sample_weight, call)

    def _train(self, model, X, y, sample_weight, call, *, split=None):
        """Train ``model`` with this estimator's training parameters.

        A shuffled (for classifiers stratified) validation split when
        ``validation_split`` is set, the schedule's callbacks, early stopping,
        the user's callbacks; the history lands in ``history_``
        (see :func:`~sklship.estimators.training.train_model`).

        Parameters
        ----------
        model : keras.Model
            A compiled model.
        X, y, sample_weight : ndarray
            Its training data.
        call : FitCall
            Epochs and generator of this call.
        split : (ndarray, ndarray) or None, default=None
            Training and validation row indices, for families that train in
            phases on the same hold-out; None draws them from ``call.rng``.
        """
        history = train_model(
            model, X, y, sample_weight, call, batch_size=self.batch_size,
            validation_split=self.validation_split, stratify=self._stratify,
            split=split, early_stopping=self.early_stopping, patience=self.patience,
            callbacks=self._fit_callbacks, schedule=self._schedule_callbacks,
            verbose=self.verbose,
        )
        if not call.warm_start or call.initial_epoch == 0 or not hasattr(self, "history_"):
            self.history_ = defaultdict(list)
        for key, values in history.items():
            self.history_[key] += values

    def _schedule_callbacks(self, monitor):
        """Learning-rate schedule callbacks for ``model_.fit`` (hook; none here)."""
        return []

    def _stratify(self, y, n_val):
        """Labels to stratify a validation split of ``n_val`` by, or None (hook)."""
        return None

    # -------------------------------------------------------------- prediction
    def _predict_raw(self, X):
        """What ``predict`` and ``predict_proba`` read, for X as passed (hook)."""
        if not self.initialized_:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' "
                "with appropriate arguments before using this estimator."
            )
        X, _ = self._validate_data(X)
        return self._forward(X)

    def _forward(self, X):
        """The network's outputs for validated X, in full batches (hook)."""
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
        """X as the network takes it: images, or rows reshaped (hook)."""
        X = images_or_rows(self, X, reset=reset)
        if X.ndim == 2:
            X = self._reshape_rows(X)
        if reset:
            self._set_input_spec(X)
        else:
            check_input_spec(self, X)
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
        """``input_shape_``, ``X_dtype_`` and ``input_scale_`` from training X (hook)."""
        self.input_shape_ = tuple(X.shape[1:])
        self.X_dtype_ = np.dtype(X.dtype)
        self.input_scale_ = 1.0 / 255.0 if X.dtype == np.uint8 else 1.0

    def _check_target(self, y):  # noqa: B027 (optional hook, no-op default)
        """Checks of y that only apply when fitting (hook)."""

    # -------------------------------------------------------------------- tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
