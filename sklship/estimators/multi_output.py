"""The book's multi-output model: one CNN predicts the label and the location."""

from numbers import Real

import numpy as np
from sklearn.utils.validation import check_consistent_length
from sklearn_compat.utils.validation import check_array

from .base import Interval
from .cnn import CNNShipClassifier
from .layers import N_LOCATION, LabelLocationLoss
from .networks import label_location_output

__all__ = ["MultiOutputShipClassifier"]


class MultiOutputShipClassifier(CNNShipClassifier):
    """CNN that predicts whether a chip holds a ship, and where the chip is.

    The book's multi-output functional model as one scikit-learn
    classifier: a shared convolutional body (the parameters of
    :class:`CNNShipClassifier`) feeds two heads, the label (sigmoid or
    softmax) and the location (longitude, latitude; linear). Both are
    trained together on the sum of the label's cross-entropy and
    ``location_weight`` times the location's mean squared error (in
    standardised coordinates, so the weight does not depend on units).
    Sample and class weights weight both losses of a sample; augmentation
    and test-time augmentation leave the location as it is (flips and
    rotations do not move a chip).

    Design: the location is sample-aligned data passed to ``fit``, like
    ``sample_weight``, not part of ``y``. So ``y`` stays the labels and
    the estimator stays an ordinary classifier: ``predict``,
    ``predict_proba`` and ``score`` (accuracy) are about labels,
    cross-validation stratifies on them, and the location is predicted by
    :meth:`predict_location`. scikit-learn's tools split ``location`` with
    the rows: pass it as ``cross_validate(..., params={"location": loc})``
    or ``GridSearchCV.fit(X, y, location=loc)``; with metadata routing
    enabled (``sklearn.set_config(enable_metadata_routing=True)``) request
    it with ``set_fit_request(location=True)``, which also routes it
    through a ``Pipeline``. A 3-column ``y`` (label, longitude, latitude)
    would break the classifier contract (target type, stratification,
    accuracy), and two estimators would be two networks, not one body
    shared by two tasks.

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
    location_weight : float, default=1.0
        Weight of the location loss relative to the label loss.
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
        The fitted network; its output is the label probabilities followed
        by the standardised location.
    history_ : dict of list
        Combined loss (and ``val_loss``) per epoch.
    location_mean_, location_scale_ : ndarray of shape (2,)
        Mean and standard deviation of the training locations (kept by a
        warm start).
    n_features_in_ : int
        Pixels times channels of one image.
    input_shape_ : tuple of int
        Shape of one image as the model sees it.

    See Also
    --------
    CNNShipClassifier : The same network with the label head only.
    WideDeepClassifier : Location as an input instead of an output.

    Examples
    --------
    >>> import numpy as np
    >>> from sklship import MultiOutputShipClassifier, make_ships
    >>> data = make_ships(200, image_size=16, random_state=0)
    >>> location = np.column_stack([data.longitude, data.latitude])
    >>> clf = MultiOutputShipClassifier(epochs=2, random_state=0)
    >>> clf.fit(data.images, data.target, location=location).predict_location(
    ...     data.images[:3]).shape
    (3, 2)
    """

    _parameter_constraints = {
        **CNNShipClassifier._parameter_constraints,
        "location_weight": [Interval(Real, 0, None, closed="left")],
    }

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
        location_weight=1.0,
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
        super().__init__(
            filters, kernel_size=kernel_size, first_stride=first_stride,
            activation=activation, pooling=pooling, batch_norm=batch_norm,
            global_pool=global_pool, dense_units=dense_units, dropout=dropout,
            augmentation=augmentation, test_time_augmentation=test_time_augmentation,
            optimizer=optimizer, learning_rate=learning_rate, lr_schedule=lr_schedule,
            epochs=epochs, batch_size=batch_size, validation_split=validation_split,
            early_stopping=early_stopping, patience=patience, image_shape=image_shape,
            class_weight=class_weight, callbacks=callbacks, warm_start=warm_start,
            chip_resolution=chip_resolution, random_state=random_state,
            verbose=verbose,
        )
        self.location_weight = location_weight

    # ----------------------------------------------------------------- fitting
    def fit(self, X, y, location=None, sample_weight=None):
        """Fit the shared network to labels and locations.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width, channels) or \
                (n_samples, n_features)
            Images (uint8 or float) or rows reshaped with ``image_shape``.
        y : array-like of shape (n_samples,)
            Labels.
        location : array-like of shape (n_samples, 2)
            Longitude and latitude of each chip. Required.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of both losses.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_anew(X, y, sample_weight,
                              location=self._check_location(X, location))

    def partial_fit(self, X, y, classes=None, location=None, sample_weight=None):
        """Train one more epoch on labels and locations.

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
        location : array-like of shape (n_samples, 2)
            Longitude and latitude of each chip. Required.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : object
            The estimator.
        """
        return self._partial_fit(X, y, sample_weight, classes,
                                 location=self._check_location(X, location))

    def _check_location(self, X, location):
        name = type(self).__name__
        if location is None:
            raise ValueError(
                f"{name}.fit needs location, the (longitude, latitude) of each "
                "chip as an array of shape (n_samples, 2); got None. Use "
                "CNNShipClassifier to predict labels only."
            )
        location = check_array(location, dtype=np.float64, ensure_all_finite=True,
                               input_name="location")
        if location.shape[1] != N_LOCATION:
            raise ValueError(
                "location must have 2 columns (longitude, latitude); got an array "
                f"of shape {location.shape}."
            )
        check_consistent_length(X, location)
        return location

    def _reset_target(self, classes=None):
        # A fresh network needs a fresh location scaling, set in _fit_keras_model
        # from the rows actually trained on (rows of weight zero left out).
        super()._reset_target(classes)
        self.location_mean_ = self.location_scale_ = None

    def _fit_keras_model(self, X, y, sample_weight, call):
        """Train on targets made of the encoded label and the scaled location."""
        location = call.row_data["location"]
        if self.location_mean_ is None:
            self.location_mean_ = location.mean(axis=0)
            scale = location.std(axis=0)
            self.location_scale_ = np.where(scale > 0, scale, 1.0)
        location = (location - self.location_mean_) / self.location_scale_
        targets = np.column_stack([np.reshape(y, (len(y), -1)), location])
        self._train(self.model_, X, targets.astype(np.float32), sample_weight, call)

    def _stratify(self, y, n_val):
        return super()._stratify(y[:, 0], n_val)

    # ----------------------------------------------------------------- network
    def _output(self, x, seeds):
        """The label head and the location head, side by side in one output."""
        units, activation = self._output_units()
        return label_location_output(x, seeds, units=units, activation=activation)

    def _loss(self):
        return LabelLocationLoss(self._output_units()[0], float(self.location_weight))

    # -------------------------------------------------------------- prediction
    def _predict_raw(self, X):
        """Label probabilities only (what predict_proba expects)."""
        return super()._predict_raw(X)[:, :-N_LOCATION]

    def predict_location(self, X):
        """Predicted longitude and latitude of each chip.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width, channels) or \
                (n_samples, n_features)
            Images or rows, in the form used for fitting.

        Returns
        -------
        location : ndarray of shape (n_samples, 2)
            Longitude and latitude, float64; with ``test_time_augmentation``
            the mean over the same views as the label probabilities (flips
            and rotations do not move a chip).
        """
        raw = super()._predict_raw(X)[:, -N_LOCATION:].astype(np.float64)
        return raw * self.location_scale_ + self.location_mean_
