"""Convolutional networks for ship chips; the default is the book's network."""

from numbers import Integral, Real

import keras

from .base import ACTIVATIONS, Interval, StrOptions
from .networks import cnn_body
from .symmetry import symmetric_mean
from .tasks import ShipClassifierBase
from .training import schedule_callbacks

__all__ = ["CNNShipClassifier"]

class CNNShipClassifier(ShipClassifierBase):
    """Convolutional neural network classifier for image chips.

    With the defaults this is the book's network: Conv2D(8, 3, relu) ->
    Conv2D(4, 3, relu) -> Flatten -> Dense(1, sigmoid), trained with Adam
    for 10 epochs; on 80x80x3 chips it has 23,621 parameters. The other
    parameters describe a family of architectures for ``GridSearchCV``.

    Kernels and pooling windows are clipped to the size of what they are
    applied to, so the network is defined for any image size. 2-D rows
    without ``image_shape`` are taken as 1x1 images with one channel per
    feature (every convolution is then 1x1), which keeps the estimator
    usable on tabular data; pass ``image_shape`` for flattened chips.

    Parameters
    ----------
    filters : sequence of int, default=(8, 4)
        Filters of each convolutional layer (valid padding; stride 1
        after the first, see ``first_stride``).
    kernel_size : int, default=3
        Side of the square convolution kernels.
    first_stride : int, default=1
        Stride of the first convolution; 2 computes it on every other
        pixel, which quarters the work of every layer after it.
    activation : str or callable, default="relu"
        Activation of convolutional and hidden dense layers.
    pooling : {"max", "avg"} or None, default=None
        2x2 pooling after each convolutional layer.
    batch_norm : bool, default=False
        Batch normalisation after each convolution, before its activation.
    global_pool : bool, default=False
        Global average pooling instead of flattening the last feature maps.
    dense_units : sequence of int, default=()
        Hidden dense layers between the convolutional part and the output.
    dropout : float in [0, 1) or None, default=None
        Dropout before each dense layer (hidden and output) while training.
    augmentation : sequence of {"flip", "rot90", "brightness", "shift", \
            "scale", "haze", "contrast", "blur"} or None, default=None
        Random changes applied to training chips: flips, 90-degree
        rotations (square chips only), brightness within +-10 %, shifts by
        up to 7.5 % of the side (reflected border), zoom within +-10 %, an
        offset of up to 0.1 of the rescaled input ("haze", each band 0.5 to
        1 of it), contrast about the chip's mean within +-30 % and a blur
        of up to 1 pixel (a random share of a Gaussian blur of sigma 1).
        With "shift", :func:`~sklship.scenes.scan.scan_scene` at a stride up to the
        shift averages each window with its grid neighbours by default.
    test_time_augmentation : bool, default=False
        Average the predicted probabilities over the eight flips and
        90-degree rotations of each chip (the four flips for non-square
        images): eight forward passes per prediction, no training cost.
    optimizer : {"adagrad", "adam", "ftrl", "rmsprop", "sgd"} or \
            keras.optimizers.Optimizer, default="adam"
        Optimizer; an instance is copied at each fit.
    learning_rate : float or None, default=None
        Learning rate; None keeps the optimizer's own (Adam: 0.001).
    lr_schedule : {"cosine", "plateau"} or None, default=None
        Learning-rate schedule: "cosine" decays it per epoch from
        ``learning_rate`` to 0 over ``epochs``; "plateau" divides it by 5
        when the monitored loss (``val_loss`` with a validation split) has
        not improved for ``max(1, patience // 2)`` epochs; None keeps it fixed.
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
        Pixels times channels of one image.
    input_shape_ : tuple of int
        Shape of one image as the model sees it.

    See Also
    --------
    DenseShipClassifier : Fully connected network.
    make_baseline : Logistic regression on pixels.

    Examples
    --------
    >>> from sklship import CNNShipClassifier, make_ships
    >>> X, y = make_ships(200, image_size=16, random_state=0, return_X_y=True)
    >>> cnn = CNNShipClassifier(epochs=2, random_state=0).fit(X, y)
    >>> cnn.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        **ShipClassifierBase._parameter_constraints,
        "filters": ["array-like"],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "first_stride": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(ACTIVATIONS), callable],
        "pooling": [StrOptions({"max", "avg"}), None],
        "batch_norm": ["boolean"],
        "global_pool": ["boolean"],
        "dense_units": ["array-like"],
        "dropout": [Interval(Real, 0, 1, closed="left"), None],
        "augmentation": ["array-like", None],
        "test_time_augmentation": ["boolean"],
        "lr_schedule": [StrOptions({"cosine", "plateau"}), None],
    }
    _body_seeds_every_layer = True

    def __init__(
        self,
        filters=(8, 4),
        *,
        kernel_size=3,
        first_stride=1,
        activation="relu",
        pooling=None,
        batch_norm=False,
        global_pool=False,
        dense_units=(),
        dropout=None,
        augmentation=None,
        test_time_augmentation=False,
        optimizer="adam",
        learning_rate=None,
        lr_schedule=None,
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
        self.filters = filters
        self.kernel_size = kernel_size
        self.first_stride = first_stride
        self.activation = activation
        self.pooling = pooling
        self.batch_norm = batch_norm
        self.global_pool = global_pool
        self.dense_units = dense_units
        self.dropout = dropout
        self.augmentation = augmentation
        self.test_time_augmentation = test_time_augmentation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
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

    def _schedule_callbacks(self, monitor):
        if self.lr_schedule is None:
            return []
        initial = float(keras.ops.convert_to_numpy(self._make_optimizer().learning_rate))
        return schedule_callbacks(self.lr_schedule, initial, self.epochs, monitor,
                                  self.patience)

    def _forward(self, X):
        if not self.test_time_augmentation:
            return super()._forward(X)
        return symmetric_mean(super()._forward, X)

    def _rows_without_image_shape(self, X):
        return X.reshape(X.shape[0], 1, 1, X.shape[1])

    def _build_body(self, x, seeds):
        return cnn_body(
            x, seeds, filters=self.filters, kernel_size=self.kernel_size,
            first_stride=self.first_stride, activation=self.activation,
            pooling=self.pooling, batch_norm=self.batch_norm,
            global_pool=self.global_pool, dense_units=self.dense_units,
            dropout=self.dropout, augmentation=self.augmentation,
        )


