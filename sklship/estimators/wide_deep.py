"""Wide & deep networks: the replacement for ``tf.estimator.DNNLinearCombined*``.

A linear (wide) part reads some columns of X, a deep part (a dense network,
or a CNN when the deep columns are image pixels) reads the others; their
logits are summed. Each part has its own optimizer, as in the old
estimators (Ftrl for the wide part, Adagrad for the deep part): Keras 3 has
no multi-optimizer, so :class:`WideDeepOptimizer` applies two optimizers to
the two sets of variables and saves both states with the model.
"""

from numbers import Integral, Real

import keras
import numpy as np
from sklearn_compat.utils.validation import check_array, validate_data

from .base import ACTIVATIONS, Interval, StrOptions
from .columns import column_labels, listed, numeric_block, select_columns
from .inputs import check_image_shape, check_input_spec, check_units, dense_input
from .layers import WideDeepOptimizer
from .networks import cnn_body, dense_body, wide_deep_network
from .tasks import ShipClassifierBase, ShipRegressorBase
from .training import OPTIMIZERS, make_optimizer

__all__ = ["WideDeepClassifier", "WideDeepRegressor"]

# The old estimators' learning rates: Ftrl min(0.2, 1/sqrt(n)), Adagrad 0.05.
_WIDE_MAX_LEARNING_RATE = 0.2


class _WideDeepMixin:
    """Column selection, input packing and the two-part network."""

    _wide_deep_constraints = {
        "wide_columns": ["array-like", str, Integral, callable, None],
        "deep_columns": ["array-like", str, Integral, callable, None],
        "dnn_hidden_units": ["array-like"],
        "dnn_activation": [StrOptions(ACTIVATIONS), callable],
        "dnn_dropout": [Interval(Real, 0, 1, closed="left"), None],
        "batch_norm": ["boolean"],
        "filters": ["array-like"],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "pooling": [StrOptions({"max", "avg"}), None],
        "wide_optimizer": [StrOptions(set(OPTIMIZERS)), keras.optimizers.Optimizer],
        "wide_learning_rate": [Interval(Real, 0, None, closed="neither"),
                               StrOptions({"auto"}), None],
        "dnn_optimizer": [StrOptions(set(OPTIMIZERS)), keras.optimizers.Optimizer],
        "dnn_learning_rate": [Interval(Real, 0, None, closed="neither"), None],
    }

    @classmethod
    def _constraints(cls, base):
        """The base's constraints without its single optimizer, plus ours."""
        shared = {key: value for key, value in base._parameter_constraints.items()
                  if key not in ("optimizer", "learning_rate")}
        return {**shared, **cls._wide_deep_constraints}

    # -------------------------------------------------------- input validation
    def _validate_X(self, X, reset):
        """The wide columns then the deep columns of X, packed in one array."""
        name = type(self).__name__
        X = dense_input(self, X, images=False)
        if not hasattr(X, "iloc"):
            # 2-D, at least one sample and one feature; values are checked below.
            X = check_array(X, dtype=None, ensure_all_finite=False, input_name="X")
        X = validate_data(self, X, reset=reset, skip_check_array=True)
        if reset:
            self.wide_columns_, self.deep_columns_ = self._resolve_columns(X)
        wide = numeric_block(X, self.wide_columns_, name)
        deep = numeric_block(X, self.deep_columns_, name)
        deep_is_uint8 = deep.dtype == np.uint8
        if reset:
            self.deep_scale_ = 1.0 / 255.0 if deep_is_uint8 else 1.0
        elif deep_is_uint8 != (self.deep_scale_ != 1.0):
            fitted = "uint8" if self.deep_scale_ != 1.0 else "non-uint8"
            raise ValueError(
                f"The deep columns of X have dtype {deep.dtype}, but {name} was "
                f"fitted on {fitted} deep columns. uint8 columns are rescaled by "
                "1/255 inside the model and others are not, so pass them in the "
                "form used for fitting."
            )
        dtype = np.uint8 if wide.dtype == deep.dtype == np.uint8 else np.float32
        packed = np.hstack([wide.astype(dtype, copy=False), deep.astype(dtype, copy=False)])
        if reset:
            self._set_input_spec(packed)
        else:
            check_input_spec(self, packed)
        return packed

    def _resolve_columns(self, X):
        """Positions of the wide and deep columns, checked."""
        names = getattr(self, "feature_names_in_", None)
        wide = select_columns("wide_columns", self.wide_columns, X, names)
        if self.deep_columns is None:
            deep = np.setdiff1d(np.arange(X.shape[1]), wide)
        else:
            deep = select_columns("deep_columns", self.deep_columns, X, names)
            overlap = np.intersect1d(wide, deep)
            if overlap.size:
                raise ValueError(
                    "wide_columns and deep_columns must not share columns; both "
                    f"hold {listed(column_labels(overlap, names))}."
                )
        if wide.size + deep.size == 0:
            raise ValueError(
                "wide_columns and deep_columns select no column of X: there is "
                "nothing to train on."
            )
        if self.image_shape is not None:
            check_image_shape(self.image_shape, deep.size, "deep columns of")
        return wide, deep

    # ----------------------------------------------------------------- network
    def _build_body(self, x, seeds):
        """The deep part: the dense network, or the CNN when the deep columns are images."""
        if self.image_shape is None:
            return dense_body(x, seeds, hidden_units=self.dnn_hidden_units,
                              activation=self.dnn_activation, dropout=self.dnn_dropout,
                              batch_norm=self.batch_norm)
        x = keras.layers.Reshape(tuple(int(d) for d in self.image_shape))(x)
        return cnn_body(x, seeds, filters=self.filters, kernel_size=self.kernel_size,
                        activation=self.dnn_activation, pooling=self.pooling,
                        batch_norm=self.batch_norm, dense_units=self.dnn_hidden_units,
                        dropout=self.dnn_dropout)

    def _wide_learning_rate(self):
        if self.wide_learning_rate != "auto":
            return self.wide_learning_rate
        return min(_WIDE_MAX_LEARNING_RATE, 1.0 / np.sqrt(len(self.wide_columns_)))

    def _build_network(self, seeds):
        """Wide logits + deep logits (:meth:`_build_body`) -> output; uncompiled."""
        check_units("dnn_hidden_units", self.dnn_hidden_units)
        n_wide, n_deep = len(self.wide_columns_), len(self.deep_columns_)
        units, activation = self._output_units()
        return wide_deep_network(
            n_wide, n_deep, seeds, units=units, activation=activation,
            dtype="uint8" if self.X_dtype_ == np.uint8 else "float32",
            deep_scale=self.deep_scale_, deep_body=self._build_body,
            name=type(self).__name__,
        )

    def _make_optimizer(self):
        """The wide part's, the deep part's, or both in a WideDeepOptimizer."""
        n_wide, n_deep = len(self.wide_columns_), len(self.deep_columns_)
        wide = make_optimizer(self.wide_optimizer, self._wide_learning_rate()) \
            if n_wide else None
        deep = make_optimizer(self.dnn_optimizer, self.dnn_learning_rate) \
            if n_deep else None
        if wide is None or deep is None:
            return wide or deep
        return WideDeepOptimizer(wide, deep)


_SHARED_PARAMETERS_DOC = """\
    wide_columns : str, int, array-like of str or int, callable or None, \
            default=None
        Columns of the linear (wide) part: names when X is a DataFrame,
        positions otherwise, or a callable taking X and returning them
        (e.g. :func:`sklearn.compose.make_column_selector`). None: no wide
        part. One-hot fixed effects and crossed location bins from
        :class:`ChipMetadataEncoder` are the usual wide features.
    deep_columns : str, int, array-like of str or int, callable or None, \
            default=None
        Columns of the deep part; None takes every column that is not
        wide. Columns in neither are ignored.
    dnn_hidden_units : sequence of int, default=(256, 128, 64, 32)
        Hidden dense layers of the deep part, input side first (with
        ``image_shape``: after the convolutions).
    dnn_activation : str or callable, default="relu"
        Activation of the deep part's hidden and convolutional layers.
    dnn_dropout : float in [0, 1) or None, default=None
        Dropout in the deep part while training.
    batch_norm : bool, default=False
        Batch normalisation in the deep part, before each activation.
    image_shape : tuple of 3 int or None, default=None
        (height, width, channels): the deep columns are the pixels of an
        image (row-major, channels last, as ``images.reshape(n, -1)``
        gives them) and the deep part is a CNN (``filters``,
        ``kernel_size``, ``pooling``) followed by ``dnn_hidden_units``.
    filters : sequence of int, default=(8, 4)
        Filters of each convolutional layer when ``image_shape`` is set.
    kernel_size : int, default=3
        Side of the convolution kernels when ``image_shape`` is set.
    pooling : {"max", "avg"} or None, default=None
        2x2 pooling after each convolution when ``image_shape`` is set.
    wide_optimizer : {"adagrad", "adam", "ftrl", "rmsprop", "sgd"} or \
            keras.optimizers.Optimizer, default="ftrl"
        Optimizer of the wide part; an instance is copied at each fit.
    wide_learning_rate : float, "auto" or None, default="auto"
        Learning rate of the wide part; "auto" is the old estimator's
        ``min(0.2, 1 / sqrt(n_wide_columns))``, None the optimizer's own.
    dnn_optimizer : {"adagrad", "adam", "ftrl", "rmsprop", "sgd"} or \
            keras.optimizers.Optimizer, default="adagrad"
        Optimizer of the deep part; an instance is copied at each fit.
    dnn_learning_rate : float or None, default=0.05
        Learning rate of the deep part (0.05 is the old Adagrad default);
        None keeps the optimizer's own.
    epochs : int, default=10
        Passes over the training data.
    batch_size : int, default=32
        Samples per gradient step.
    validation_split : float in [0, 1), default=0.0
        Fraction held out, shuffled (and stratified for classifiers), for
        ``val_loss`` and early stopping.
    early_stopping : bool, default=False
        Stop when the monitored loss (``val_loss`` with a validation split,
        else ``loss``) has not improved for ``patience`` epochs; keep the
        best weights.
    patience : int, default=5
        Epochs without improvement before early stopping.
"""

_SHARED_TAIL_DOC = """\
    callbacks : list of keras.callbacks.Callback or None, default=None
        Extra Keras callbacks for training.
    warm_start : bool, default=False
        Continue from the previous fit's weights instead of starting anew.
    chip_resolution : float > 0 or None, default=3.0
        Metres per pixel of the training chips (ShipsNet's PlanetScope chips
        are 3 m). Scans resample scenes to it (see
        :mod:`sklship.scenes.resolution`); None: unknown, scenes are scanned
        as they are. Models saved before this parameter existed load with 3.
    random_state : int, RandomState instance or None, default=None
        Seed of everything random in a fit: initial weights, dropout,
        augmentation, the validation split and the order of the batches.
        The same int gives the same fitted model. No global random state
        is read or changed, so fits in threads do not disturb each other.
    verbose : int, default=0
        Keras' progress output (0 silent, 1 progress bar, 2 one line per epoch).
"""

_SHARED_ATTRIBUTES_DOC = """\
    model_ : keras.Model
        The fitted network; its input is the wide columns followed by the
        deep columns.
    history_ : dict of list
        Loss (and ``val_loss``) per epoch.
    n_features_in_ : int
        Number of columns of X.
    feature_names_in_ : ndarray of str
        Column names, when X was a DataFrame with string column names.
    wide_columns_, deep_columns_ : ndarray of int
        Positions in X of the wide and the deep columns.
    deep_scale_ : float
        Factor applied to the deep columns inside the model: 1/255 when
        they were uint8 in ``fit``, else 1.
"""


class WideDeepClassifier(_WideDeepMixin, ShipClassifierBase):
    __doc__ = f"""Wide & deep classifier (the old ``DNNLinearCombinedClassifier``).

    The logit is the sum of a linear model on the wide columns and a deep
    network on the deep columns; both are trained together, each part by
    its own optimizer (by default Ftrl and Adagrad, as the old estimator).
    With ``image_shape`` the deep columns are chip pixels read by a CNN, so
    image plus metadata (the book's multi-input model) is one estimator.

    X is 2-D: a DataFrame (columns chosen by name) or an array (columns
    chosen by position). Columns must be numeric: encode scene ids and
    other categories first (:class:`ChipMetadataEncoder`, ``OneHotEncoder``).
    Deep columns that are all uint8 (pixels) are divided by 255 inside the
    model and kept uint8 in memory when X is uint8; other values are used
    as they are. The wide part sees the values as they are.

    Parameters
    ----------
{_SHARED_PARAMETERS_DOC}    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``; the
        book's are ``{{0: y.mean(), 1: 1 - y.mean()}}``.
{_SHARED_TAIL_DOC}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
{_SHARED_ATTRIBUTES_DOC}
    See Also
    --------
    WideDeepRegressor : The same network for continuous targets.
    ChipMetadataEncoder : Wide features from chip metadata.
    DenseShipClassifier : The deep part alone.

    Examples
    --------
    >>> import numpy as np
    >>> from sklship import ChipMetadataEncoder, WideDeepClassifier, make_ships
    >>> data = make_ships(200, image_size=16, random_state=0, as_frame=True)
    >>> wide = ChipMetadataEncoder(n_bins=4).fit_transform(data.frame)
    >>> X = np.hstack([wide, data.images.reshape(200, -1)])
    >>> clf = WideDeepClassifier(wide_columns=np.arange(wide.shape[1]),
    ...                          image_shape=(16, 16, 3), dnn_hidden_units=(),
    ...                          epochs=2, random_state=0).fit(X, data.target)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints = _WideDeepMixin._constraints(ShipClassifierBase)

    def __init__(
        self,
        wide_columns=None,
        deep_columns=None,
        *,
        dnn_hidden_units=(256, 128, 64, 32),
        dnn_activation="relu",
        dnn_dropout=None,
        batch_norm=False,
        image_shape=None,
        filters=(8, 4),
        kernel_size=3,
        pooling=None,
        wide_optimizer="ftrl",
        wide_learning_rate="auto",
        dnn_optimizer="adagrad",
        dnn_learning_rate=0.05,
        epochs=10,
        batch_size=32,
        validation_split=0.0,
        early_stopping=False,
        patience=5,
        class_weight=None,
        callbacks=None,
        warm_start=False,
        chip_resolution=3.0,
        random_state=None,
        verbose=0,
    ):
        self.wide_columns = wide_columns
        self.deep_columns = deep_columns
        self.dnn_hidden_units = dnn_hidden_units
        self.dnn_activation = dnn_activation
        self.dnn_dropout = dnn_dropout
        self.batch_norm = batch_norm
        self.image_shape = image_shape
        self.filters = filters
        self.kernel_size = kernel_size
        self.pooling = pooling
        self.wide_optimizer = wide_optimizer
        self.wide_learning_rate = wide_learning_rate
        self.dnn_optimizer = dnn_optimizer
        self.dnn_learning_rate = dnn_learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.patience = patience
        self.class_weight = class_weight
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.chip_resolution = chip_resolution
        self.random_state = random_state
        self.verbose = verbose


class WideDeepRegressor(_WideDeepMixin, ShipRegressorBase):
    __doc__ = f"""Wide & deep regressor (the old ``DNNLinearCombinedRegressor``).

    Same network and parameters as :class:`WideDeepClassifier` with a
    linear output per target and mean squared error; several targets
    (2-D ``y``) are predicted jointly.

    Parameters
    ----------
{_SHARED_PARAMETERS_DOC}{_SHARED_TAIL_DOC}
    Attributes
    ----------
    n_outputs_ : int
        Number of targets.
{_SHARED_ATTRIBUTES_DOC}
    See Also
    --------
    WideDeepClassifier : The same network for labels.

    Examples
    --------
    >>> import numpy as np
    >>> from sklship import WideDeepRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = np.column_stack([rng.randint(2, size=100), rng.normal(size=(100, 3))])
    >>> reg = WideDeepRegressor(wide_columns=[0], dnn_hidden_units=(8,),
    ...                         random_state=0).fit(X, X[:, 0] + X[:, 1:].sum(1))
    >>> reg.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints = _WideDeepMixin._constraints(ShipRegressorBase)

    def __init__(
        self,
        wide_columns=None,
        deep_columns=None,
        *,
        dnn_hidden_units=(256, 128, 64, 32),
        dnn_activation="relu",
        dnn_dropout=None,
        batch_norm=False,
        image_shape=None,
        filters=(8, 4),
        kernel_size=3,
        pooling=None,
        wide_optimizer="ftrl",
        wide_learning_rate="auto",
        dnn_optimizer="adagrad",
        dnn_learning_rate=0.05,
        epochs=10,
        batch_size=32,
        validation_split=0.0,
        early_stopping=False,
        patience=5,
        callbacks=None,
        warm_start=False,
        chip_resolution=3.0,
        random_state=None,
        verbose=0,
    ):
        self.wide_columns = wide_columns
        self.deep_columns = deep_columns
        self.dnn_hidden_units = dnn_hidden_units
        self.dnn_activation = dnn_activation
        self.dnn_dropout = dnn_dropout
        self.batch_norm = batch_norm
        self.image_shape = image_shape
        self.filters = filters
        self.kernel_size = kernel_size
        self.pooling = pooling
        self.wide_optimizer = wide_optimizer
        self.wide_learning_rate = wide_learning_rate
        self.dnn_optimizer = dnn_optimizer
        self.dnn_learning_rate = dnn_learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.patience = patience
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.chip_resolution = chip_resolution
        self.random_state = random_state
        self.verbose = verbose
