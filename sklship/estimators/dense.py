"""Dense networks: the replacement for ``tf.estimator.DNNClassifier`` / ``DNNRegressor``."""

from numbers import Real

from .base import ACTIVATIONS, Interval, StrOptions
from .networks import dense_body
from .tasks import ShipClassifierBase, ShipRegressorBase

__all__ = ["DenseShipClassifier", "DenseShipRegressor"]


class _DenseBody:
    """The dense network as the body of an estimator."""

    _dense_constraints = {
        "hidden_units": ["array-like"],
        "activation": [StrOptions(ACTIVATIONS), callable],
        "dropout": [Interval(Real, 0, 1, closed="left"), None],
        "batch_norm": ["boolean"],
    }
    _body_seeds_every_layer = True

    def _build_body(self, x, seeds):
        return dense_body(x, seeds, hidden_units=self.hidden_units,
                          activation=self.activation, dropout=self.dropout,
                          batch_norm=self.batch_norm)


class DenseShipClassifier(_DenseBody, ShipClassifierBase):
    """Dense neural network classifier (the old ``tf.estimator.DNNClassifier``).

    Images (4-D) are flattened inside the model; 2-D rows are used as they
    are. uint8 inputs are rescaled to [0, 1] by the model's first layer.
    The number of classes and their labels (the old ``n_classes`` and
    ``label_vocabulary``) come from ``y``; the old ``weight_column`` is
    ``sample_weight`` in :meth:`fit`.

    Parameters
    ----------
    hidden_units : sequence of int, default=(256, 128, 64, 32)
        Units of each hidden layer, input side first.
    activation : str or callable, default="relu"
        Activation of the hidden layers (a Keras activation name).
    dropout : float in [0, 1) or None, default=None
        Dropout rate after each hidden layer while training.
    batch_norm : bool, default=False
        Batch normalisation after each hidden layer, before its activation.
    optimizer : {"adagrad", "adam", "ftrl", "rmsprop", "sgd"} or \
            keras.optimizers.Optimizer, default="adagrad"
        Optimizer; an instance is copied at each fit.
    learning_rate : float or None, default=0.05
        Learning rate (0.05 is the old estimator's Adagrad default); None
        keeps the optimizer's own.
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
    image_shape : tuple of 3 int or None, default=None
        (height, width, channels) to reshape 2-D rows into images.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``; the
        book's are ``{0: y.mean(), 1: 1 - y.mean()}``.
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

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    model_ : keras.Model
        The fitted network.
    history_ : dict of list
        Loss (and ``val_loss``) per epoch.
    n_features_in_ : int
        Number of features (pixels times channels for images).
    feature_names_in_ : ndarray of str
        Column names, when X was a DataFrame with string column names.
    input_shape_ : tuple of int
        Shape of one input as the model sees it.

    See Also
    --------
    DenseShipRegressor : The same network for continuous targets.
    CNNShipClassifier : Convolutional network for chips.

    Examples
    --------
    >>> from sklship import DenseShipClassifier, make_ships
    >>> X, y = make_ships(200, image_size=16, random_state=0, return_X_y=True)
    >>> clf = DenseShipClassifier(hidden_units=(16,), random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints = {
        **ShipClassifierBase._parameter_constraints,
        **_DenseBody._dense_constraints,
    }

    def __init__(
        self,
        hidden_units=(256, 128, 64, 32),
        *,
        activation="relu",
        dropout=None,
        batch_norm=False,
        optimizer="adagrad",
        learning_rate=0.05,
        epochs=10,
        batch_size=32,
        validation_split=0.0,
        early_stopping=False,
        patience=5,
        image_shape=None,
        class_weight=None,
        callbacks=None,
        warm_start=False,
        chip_resolution=3.0,
        random_state=None,
        verbose=0,
    ):
        self.hidden_units = hidden_units
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.patience = patience
        self.image_shape = image_shape
        self.class_weight = class_weight
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.chip_resolution = chip_resolution
        self.random_state = random_state
        self.verbose = verbose


class DenseShipRegressor(_DenseBody, ShipRegressorBase):
    """Dense neural network regressor (the old ``tf.estimator.DNNRegressor``).

    Same network and parameters as :class:`DenseShipClassifier` with a
    linear output per target and mean squared error; several targets
    (2-D ``y``) are predicted jointly.

    Parameters
    ----------
    hidden_units : sequence of int, default=(256, 128, 64, 32)
        Units of each hidden layer, input side first.
    activation : str or callable, default="relu"
        Activation of the hidden layers (a Keras activation name).
    dropout : float in [0, 1) or None, default=None
        Dropout rate after each hidden layer while training.
    batch_norm : bool, default=False
        Batch normalisation after each hidden layer, before its activation.
    optimizer : {"adagrad", "adam", "ftrl", "rmsprop", "sgd"} or \
            keras.optimizers.Optimizer, default="adagrad"
        Optimizer; an instance is copied at each fit.
    learning_rate : float or None, default=0.05
        Learning rate (0.05 is the old estimator's Adagrad default); None
        keeps the optimizer's own.
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
    image_shape : tuple of 3 int or None, default=None
        (height, width, channels) to reshape 2-D rows into images.
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

    Attributes
    ----------
    model_ : keras.Model
        The fitted network.
    history_ : dict of list
        Loss per epoch.
    n_features_in_ : int
        Number of features.
    n_outputs_ : int
        Number of targets.

    See Also
    --------
    DenseShipClassifier : The same network for labels.

    Examples
    --------
    >>> import numpy as np
    >>> from sklship import DenseShipRegressor
    >>> X = np.random.RandomState(0).normal(size=(100, 3))
    >>> reg = DenseShipRegressor(hidden_units=(8,), random_state=0).fit(X, X.sum(1))
    >>> reg.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints = {
        **ShipRegressorBase._parameter_constraints,
        **_DenseBody._dense_constraints,
    }

    def __init__(
        self,
        hidden_units=(256, 128, 64, 32),
        *,
        activation="relu",
        dropout=None,
        batch_norm=False,
        optimizer="adagrad",
        learning_rate=0.05,
        epochs=10,
        batch_size=32,
        validation_split=0.0,
        early_stopping=False,
        patience=5,
        image_shape=None,
        callbacks=None,
        warm_start=False,
        chip_resolution=3.0,
        random_state=None,
        verbose=0,
    ):
        self.hidden_units = hidden_units
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.patience = patience
        self.image_shape = image_shape
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.chip_resolution = chip_resolution
        self.random_state = random_state
        self.verbose = verbose
