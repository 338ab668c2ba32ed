"""Transfer learning from ``keras.applications`` backbones, done right and fast.

The backbone's own ``preprocess_input`` sits inside the model, chips are
resized where a backbone needs larger input, and while the backbone is frozen
its features are computed once per fit (optionally cached across fits with a
``joblib.Memory``), not once per epoch.
"""

import os
from collections import defaultdict
from numbers import Integral, Real

import joblib
import keras
import numpy as np
from sklearn.utils.validation import check_memory

from . import backbones
from .backbones import (  # noqa: F401 (imagenet_weights_file: documented here too)
    BACKBONE_BATCH_SIZE,
    BACKBONE_NAME,
    BACKBONES,
    clear_weights_cache,
    extract_features,
    imagenet_weights_file,
    load_backbone,
)
from .base import ACTIVATIONS, Interval, StrOptions
from .features import logistic_head
from .inputs import check_units
from .networks import backbone_body
from .symmetry import symmetric_mean
from .tasks import ShipClassifierBase
from .training import FitCall, predict_in_full_batches, validation_split_indices

__all__ = ["BACKBONES", "PretrainedShipClassifier", "clear_weights_cache"]

# Name of the preprocessing layer inside ``model_``.
_PREPROCESS = "preprocess"

class PretrainedShipClassifier(ShipClassifierBase):
    """Transfer learning from an ImageNet backbone of ``keras.applications``.

    The model is: input (uint8 kept uint8) -> :class:`BackbonePreprocessing`
    (to 0..255, resize to ``input_size``, the backbone's own
    ``preprocess_input``) -> backbone without its top, global average
    pooling, always called in inference mode -> head (optional dense layers
    and dropout) -> sigmoid (two classes) or softmax output.

    Fitting has two phases. First the head is trained with the backbone
    frozen: the backbone's features do not change, so they are computed once
    (inference mode, batches) and the head alone is trained on them for
    ``epochs`` epochs. This gives the same head as training the whole model
    with a frozen backbone, for a fraction of the work. With ``memory`` the
    features are also cached across fits, keyed by the data, the backbone,
    its weights and the input specification, so a grid search over head
    parameters extracts them once per fold; predictions then also go
    through the cache. Then, if ``fine_tune_epochs > 0``, the top
    ``fine_tune_layers`` layers of the backbone are unfrozen (batch
    normalisation layers stay frozen and in inference mode, as Keras
    recommends) and the whole model is trained on the images with Adam at
    ``fine_tune_learning_rate``.

    Pixel scale: uint8 chips are taken as 0..255 and float chips as [0, 1]
    (they are multiplied by 255 inside the model), since every
    ``keras.applications`` preprocessing expects 0..255. ResNet50 then
    subtracts the ImageNet channel means in BGR order (caffe style),
    MobileNetV2 maps to [-1, 1], EfficientNetB0 needs nothing (its
    normalisation is part of the network).

    Parameters
    ----------
    backbone : {"resnet50", "mobilenetv2", "efficientnetb0"}, default="resnet50"
        The ``keras.applications`` network, without its classification top.
    weights : "imagenet", None or path, default="imagenet"
        "imagenet" downloads Keras' ImageNet weights (or takes them from
        ``~/.keras/models``); None initialises randomly; a path loads a local
        weights file of this backbone without its top (a Keras ImageNet
        ``*_notop.h5`` file, or one saved by ``backbone.save_weights``),
        for machines without internet. With ``backbone="mobilenetv2"`` the
        path may also be a TensorFlow Lite file of MobileNetV2 (width 1.0),
        such as Google's quantized ImageNet
        ``mobilenet_v2_1.0_224_quant.tflite``: its weights are dequantized
        into Keras' network (see :func:`sklship.estimators.tflite_weights.load_tflite_weights`),
        for any ``input_size``. Loaded weights are kept in the
        process (the last two, by file path, size and modification time), so
        the fits of a grid search read the file once.
    input_size : int or None, default=None
        Side of the square images the backbone gets; chips are resized to
        it inside the model. None keeps the chip size. Every backbone needs
        at least 32 pixels; ImageNet features are best near 224 (MobileNetV2
        has weights for 96, 128, 160, 192 and 224).
    dense_units : sequence of int, default=()
        Hidden dense layers of the head, between pooling and the output.
    activation : str or callable, default="relu"
        Activation of the hidden dense layers.
    dropout : float in [0, 1) or None, default=None
        Dropout before each dense layer of the head (hidden and output).
    augmentation : sequence of {"flip", "rot90", "brightness"} or None, \
            default=None
        Random changes applied to training chips: flips, 90-degree
        rotations (square chips only), brightness within +-10 %. They act
        while fine-tuning; the frozen features the head learns from are
        those of the chips as they are.
    test_time_augmentation : bool, default=False
        Average the predicted probabilities over the eight flips and
        90-degree rotations of each chip (the four flips for non-square
        images): eight forward passes per prediction, no training cost.
    head_solver : {"auto", "lbfgs", "keras"}, default="auto"
        How the head is fitted on the frozen features. "lbfgs": the output
        layer is an L2-regularised logistic regression on the standardised
        features, fitted to convergence by scikit-learn's
        ``LogisticRegression`` (lbfgs) and written into the layer (the
        standardisation folded into its weights). "keras": the head is
        trained by ``optimizer`` for ``epochs`` epochs, the book's way; a
        sigmoid layer trained so for 10 epochs is a logistic regression that
        has not converged. "auto": "lbfgs" without ``dense_units``, else
        "keras". ``partial_fit`` always takes one "keras" epoch.
    head_C : float, default=1.0
        Inverse L2 regularisation strength of the "lbfgs" head (scikit-learn's
        ``C``, on standardised features).
    memory : str, joblib.Memory or None, default=None
        Cache of the backbone features (a directory or a ``joblib.Memory``),
        as in ``sklearn.pipeline.Pipeline``. None computes them once per fit
        and does not cache predictions.
    fine_tune_epochs : int, default=0
        Epochs of fine-tuning after the head is trained; 0 skips it.
    fine_tune_learning_rate : float, default=1e-5
        Adam learning rate of fine-tuning (the book's).
    fine_tune_layers : int or None, default=None
        How many of the backbone's top layers (counted in
        ``backbone.layers``) are unfrozen for fine-tuning; None unfreezes
        all. Batch normalisation layers stay frozen.
    optimizer : {"adagrad", "adam", "ftrl", "rmsprop", "sgd"} or \
            keras.optimizers.Optimizer, default="adam"
        Optimizer of the head phase; an instance is copied at each fit.
    learning_rate : float or None, default=None
        Learning rate of the head phase; None keeps the optimizer's own.
    epochs : int, default=10
        Epochs of head training on the features (``head_solver="keras"``).
    batch_size : int, default=32
        Samples per gradient step (both phases).
    validation_split : float in [0, 1), default=0.0
        Fraction held out, shuffled and stratified, for ``val_loss`` and
        early stopping; the same samples in both phases.
    early_stopping : bool, default=False
        Stop each phase when the monitored loss stops improving; keep the
        best weights.
    patience : int, default=5
        Epochs without improvement before early stopping.
    image_shape : tuple of 3 int or None, default=None
        (height, width, channels) to reshape 2-D rows into images; rows
        need it.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``; the book's
        are ``{0: y.mean(), 1: 1 - y.mean()}``.
    callbacks : list of keras.callbacks.Callback or None, default=None
        Extra Keras callbacks for training (both phases). Without them the
        head trains on the features a whole epoch per TensorFlow call, which
        is faster; with them one batch per call, so they see every batch.
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
        The whole network (preprocessing, backbone, head, output); layers
        ``"preprocess"`` and ``"backbone"`` can be taken with ``get_layer``.
    history_ : dict of list
        Loss (and ``val_loss``) per epoch: head epochs, then fine-tuning
        epochs.
    n_features_in_ : int
        Pixels times channels of one image.
    input_shape_ : tuple of int
        Shape of one image as the model receives it (before resizing).

    See Also
    --------
    CNNShipClassifier : Convolutional network trained from scratch.
    DenseShipClassifier : Fully connected network.

    Notes
    -----
    ``partial_fit`` trains the head for one epoch on the features (no
    fine-tuning).

    Examples
    --------
    >>> from sklship import make_ships
    >>> from sklship.estimators.pretrained import PretrainedShipClassifier
    >>> X, y = make_ships(40, image_size=32, random_state=0, return_X_y=True)
    >>> clf = PretrainedShipClassifier("mobilenetv2", weights=None, epochs=2,
    ...                                random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints = {
        **ShipClassifierBase._parameter_constraints,
        "backbone": [StrOptions(set(BACKBONES))],
        "weights": [str, os.PathLike, None],
        "input_size": [Interval(Integral, 1, None, closed="left"), None],
        "dense_units": ["array-like"],
        "activation": [StrOptions(ACTIVATIONS), callable],
        "dropout": [Interval(Real, 0, 1, closed="left"), None],
        "augmentation": ["array-like", None],
        "test_time_augmentation": ["boolean"],
        "head_solver": [StrOptions({"auto", "lbfgs", "keras"})],
        "head_C": [Interval(Real, 0, None, closed="neither")],
        "memory": [str, joblib.Memory, None],
        "fine_tune_epochs": [Interval(Integral, 0, None, closed="left")],
        "fine_tune_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "fine_tune_layers": [Interval(Integral, 1, None, closed="left"), None],
    }

    # Train the head on extracted features (True) or, the slow way, the whole
    # model with a frozen backbone on the images (False; benchmarks and tests).
    _head_on_features = True
    # Rows per prediction batch: a backbone's activations are large.
    _predict_batch_size = BACKBONE_BATCH_SIZE

    def __init__(
        self,
        backbone="resnet50",
        *,
        weights="imagenet",
        input_size=None,
        dense_units=(),
        activation="relu",
        dropout=None,
        augmentation=None,
        test_time_augmentation=False,
        head_solver="auto",
        head_C=1.0,
        memory=None,
        fine_tune_epochs=0,
        fine_tune_learning_rate=1e-5,
        fine_tune_layers=None,
        optimizer="adam",
        learning_rate=None,
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
        self.backbone = backbone
        self.weights = weights
        self.input_size = input_size
        self.dense_units = dense_units
        self.activation = activation
        self.dropout = dropout
        self.augmentation = augmentation
        self.test_time_augmentation = test_time_augmentation
        self.head_solver = head_solver
        self.head_C = head_C
        self.memory = memory
        self.fine_tune_epochs = fine_tune_epochs
        self.fine_tune_learning_rate = fine_tune_learning_rate
        self.fine_tune_layers = fine_tune_layers
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

    # ------------------------------------------------------------ the network
    def _set_input_spec(self, X):
        # keras.applications preprocessing expects 0..255: uint8 as it is,
        # float [0, 1] times 255 (inside BackbonePreprocessing, so the base
        # adds no Rescaling layer).
        super()._set_input_spec(X)
        self.input_scale_ = 1.0

    def _rows_without_image_shape(self, X):
        raise ValueError(
            f"{type(self).__name__} needs RGB images: pass X as (n_samples, "
            "height, width, 3) or set image_shape=(height, width, 3) for 2-D "
            f"rows; got rows of {X.shape[1]} features and image_shape=None."
        )

    def _build_body(self, x, seeds):
        dense_units = check_units("dense_units", self.dense_units)
        spec = BACKBONES[self.backbone]
        height, width, channels = x.shape[1:]
        if channels != 3:
            raise ValueError(
                f"backbone {self.backbone!r} needs RGB images with 3 channels; "
                f"got images of shape {tuple(x.shape[1:])}."
            )
        size = (self.input_size, self.input_size) if self.input_size else (height, width)
        if min(size) < spec.min_size:
            got = (f"input_size={self.input_size}" if self.input_size
                   else f"{height}x{width} chips and input_size=None")
            raise ValueError(
                f"backbone {self.backbone!r} needs input of at least "
                f"{spec.min_size}x{spec.min_size} pixels; got {got}. Set "
                f"input_size to {spec.min_size} or more to resize the chips."
            )
        return backbone_body(
            x, seeds, self._load_backbone(size + (3,)), backbone=self.backbone,
            scale=1.0 if self.X_dtype_ == np.uint8 else 255.0, size=self.input_size,
            dense_units=dense_units, activation=self.activation, dropout=self.dropout,
            augmentation=self.augmentation, preprocess_name=_PREPROCESS,
        )

    def _load_backbone(self, input_shape):
        """The backbone with the requested weights, or an error that says why not."""
        return load_backbone(self.backbone, self.weights, input_shape)

    def _backbone_layer(self):
        return self.model_.get_layer(BACKBONE_NAME)

    def _feature_extractor(self):
        """Input -> preprocessing -> backbone (inference mode), sharing model_'s layers."""
        inputs = keras.Input(shape=self.input_shape_, dtype=self.model_.inputs[0].dtype)
        x = self.model_.get_layer(_PREPROCESS)(inputs)
        x = self._backbone_layer()(x, training=False)
        return keras.Model(inputs, x, name="feature_extractor")

    def _head_model(self):
        """Features -> head -> output, sharing model_'s layers after the backbone."""
        layers = self.model_.layers
        start = [layer.name for layer in layers].index(BACKBONE_NAME) + 1
        features = keras.Input(shape=(self._backbone_layer().output.shape[-1],))
        x = features
        for layer in layers[start:]:
            x = layer(x)
        return keras.Model(features, x, name="head")

    def _weights_digest(self):
        return joblib.hash([np.asarray(w) for w in self._backbone_layer().get_weights()])

    def _features(self, X):
        """Backbone features of X: computed, or taken from ``memory``."""
        extractor = self._feature_extractor()
        if self.memory is None:
            return backbones.run_extractor(extractor, X)
        cached = check_memory(self.memory).cache(extract_features, ignore=["extractor"])
        input_spec = (str(self.model_.inputs[0].dtype), self.input_shape_,
                      self.model_.get_layer(_PREPROCESS).get_config()["scale"],
                      self.input_size)
        return cached(X, self.backbone, input_spec, self._weights_digest(),
                      extractor=extractor)

    # --------------------------------------------------------------- training
    def _fit_keras_model(self, X, y, sample_weight, call):
        """Head on features (backbone frozen), then fine-tuning unless ``call.partial``.

        Both phases hold out the same validation rows.
        """
        split = None
        if self.validation_split > 0:
            split = validation_split_indices(
                len(X), self.validation_split, call.rng,
                lambda n_val: self._stratify(y, n_val))
        self._backbone_layer().trainable = False
        if self._head_on_features and self._lbfgs_head() and not call.partial:
            rows = slice(None) if split is None else split[0]
            self._fit_logistic_head(self._features(X)[rows], y[rows],
                                    None if sample_weight is None else sample_weight[rows])
            self.model_.compile(optimizer=self._make_optimizer(), loss=self._loss())
        elif self._head_on_features:
            head = self._head_model()
            head.compile(optimizer=self._make_optimizer(), loss=self._loss())
            self._train(head, self._features(X), y, sample_weight, call, split=split)
            # model_ keeps the optimizer that trained its trainable weights.
            self.model_.compile(optimizer=head.optimizer, loss=self._loss())
        else:  # the slow way: the frozen backbone runs in every epoch
            self.model_.compile(optimizer=self._make_optimizer(), loss=self._loss())
            self._train(self.model_, X, y, sample_weight, call, split=split)
        if self.fine_tune_epochs and not call.partial:
            self._unfreeze()
            self.model_.compile(
                optimizer=keras.optimizers.Adam(self.fine_tune_learning_rate),
                loss=self._loss(),
            )
            fine_tune = FitCall(rng=call.rng, epochs=self.fine_tune_epochs,
                                initial_epoch=self.current_epoch, warm_start=True)
            self._train(self.model_, X, y, sample_weight, fine_tune, split=split)

    def _lbfgs_head(self):
        """Whether the head is fitted as a logistic regression (``head_solver``)."""
        if self.head_solver == "auto":
            return not check_units("dense_units", self.dense_units)
        if self.head_solver == "lbfgs" and check_units("dense_units", self.dense_units):
            raise ValueError(
                f"head_solver='lbfgs' fits the output layer alone, but dense_units="
                f"{self.dense_units!r} adds hidden layers; use head_solver='keras' "
                "or 'auto' with hidden layers."
            )
        return self.head_solver == "lbfgs"

    def _fit_logistic_head(self, features, y, sample_weight):
        """The output layer as a converged L2 logistic regression (:func:`logistic_head`)."""
        labels = np.asarray(y).reshape(len(y), -1)[:, 0].astype(int)
        kernel, bias, loss = logistic_head(features, labels, sample_weight, C=self.head_C)
        self.model_.get_layer("output").set_weights([kernel, bias])
        self.history_ = defaultdict(list, loss=[loss])

    def _unfreeze(self):
        """Top ``fine_tune_layers`` backbone layers trainable, batch norm frozen."""
        backbone = self._backbone_layer()
        backbone.trainable = True
        layers = backbone.layers
        first = 0 if self.fine_tune_layers is None else max(
            len(layers) - self.fine_tune_layers, 0)
        for index, layer in enumerate(layers):
            layer.trainable = index >= first and not isinstance(
                layer, keras.layers.BatchNormalization)

    # -------------------------------------------------------------- prediction
    def _forward(self, X):
        if self.memory is None:
            predict = super()._forward
        else:
            head = self._head_model()

            def predict(images):
                return predict_in_full_batches(head, self._features(images),
                                               self._predict_batch_size)
        if not self.test_time_augmentation:
            return predict(X)
        return symmetric_mean(predict, X)
