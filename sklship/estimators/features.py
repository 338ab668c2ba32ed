"""ImageNet features of chips: a scikit-learn transformer, and a head fitted on them.

:class:`ImageNetFeatures` runs a frozen ``keras.applications`` backbone
(its own preprocessing, resizing, global average pooling) over chips and
returns the pooled features, so that any scikit-learn model can learn from
them in a ``Pipeline``: ``make_pipeline(ImageNetFeatures(...),
LogisticRegression())`` works in ``GridSearchCV`` and ``cross_val_score``.
It shares the weights cache and the feature cache (``memory``) of
:class:`~sklship.estimators.pretrained.PretrainedShipClassifier`.
"""

import os
from numbers import Integral

import joblib
import keras
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, check_memory

from .._validation import Interval, StrOptions
from .backbones import BACKBONES, extract_features, load_backbone, run_extractor
from .inputs import check_image_shape, images_or_rows
from .layers import BackbonePreprocessing

__all__ = ["ImageNetFeatures", "forget_weights_path", "imagenet_verifier", "logistic_head",
           "true_colour"]


class ImageNetFeatures(TransformerMixin, BaseEstimator):
    """Pooled features of a frozen ImageNet backbone, one row per chip.

    Parameters
    ----------
    backbone : {"resnet50", "mobilenetv2", "efficientnetb0"}, default="mobilenetv2"
        The ``keras.applications`` network, without its classification top.
    weights : "imagenet", None or path, default="imagenet"
        As for :class:`~sklship.estimators.pretrained.PretrainedShipClassifier`:
        Keras' ImageNet download, random weights, or a local weights file (a
        Keras ``.h5`` file, or for MobileNetV2 a TensorFlow Lite file).
    input_size : int or None, default=None
        Side the chips are resized to inside the model; None keeps theirs.
        Every backbone needs at least 32 pixels.
    memory : str, joblib.Memory or None, default=None
        Cache of the features, keyed by the chips, the backbone, its weights
        and the input form (as in ``sklearn.pipeline.Pipeline``); None
        computes them at every ``transform``.
    image_shape : tuple of 3 int or None, default=None
        (height, width, 3) to reshape 2-D rows into images; rows need it.

    Attributes
    ----------
    extractor_ : keras.Model
        Chips -> preprocessing -> backbone (inference mode) -> pooled features.
    input_shape_ : tuple of int
        (height, width, 3) of the chips seen in ``fit``.
    n_features_in_ : int
        Values per chip (height * width * 3).
    n_features_out_ : int
        Features per chip (1280 for MobileNetV2, 2048 for ResNet50).

    See Also
    --------
    PretrainedShipClassifier : The same backbone with a head, and fine-tuning.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklship import make_ships
    >>> from sklship.estimators.features import ImageNetFeatures
    >>> X, y = make_ships(40, image_size=32, random_state=0, return_X_y=True)
    >>> features = ImageNetFeatures(weights=None).fit(X)
    >>> features.transform(X[:2]).shape
    (2, 1280)
    >>> model = make_pipeline(ImageNetFeatures(weights=None),
    ...                       LogisticRegression(max_iter=1000)).fit(X, y)
    >>> model.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints = {
        "backbone": [StrOptions(set(BACKBONES))],
        "weights": [str, os.PathLike, None],
        "input_size": [Interval(Integral, 1, None, closed="left"), None],
        "memory": [str, joblib.Memory, None],
        "image_shape": ["array-like", None],
    }

    def __init__(self, backbone="mobilenetv2", *, weights="imagenet", input_size=None,
                 memory=None, image_shape=None):
        self.backbone = backbone
        self.weights = weights
        self.input_size = input_size
        self.memory = memory
        self.image_shape = image_shape

    def fit(self, X, y=None):
        """Check the chips and load the backbone with its weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width, 3) or (n_samples, n_features)
            Chips (uint8 0..255 or float [0, 1]), or rows with ``image_shape``.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        self._validate_params()
        X = self._images(X, reset=True)
        spec = BACKBONES[self.backbone]
        height, width = X.shape[1:3]
        size = (self.input_size,) * 2 if self.input_size else (height, width)
        if min(size) < spec.min_size:
            raise ValueError(
                f"backbone {self.backbone!r} needs input of at least {spec.min_size}x"
                f"{spec.min_size} pixels; got {height}x{width} chips and input_size="
                f"{self.input_size}. Set input_size to {spec.min_size} or more."
            )
        inputs = keras.Input(shape=self.input_shape_, dtype=str(X.dtype))
        x = BackbonePreprocessing(self.backbone, scale=self._scale, size=self.input_size,
                                  name="preprocess")(inputs)
        x = load_backbone(self.backbone, self.weights, size + (3,))(x, training=False)
        self.extractor_ = keras.Model(inputs, x, name="imagenet_features")
        self.n_features_out_ = int(x.shape[-1])
        return self

    def transform(self, X):
        """Pooled backbone features of the chips.

        Parameters
        ----------
        X : array-like of shape (n_samples, height, width, 3) or (n_samples, n_features)
            Chips in the form used for fitting.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features), float32
            The pooled backbone features; n_features is ``n_features_out_``.
        """
        check_is_fitted(self, "extractor_")
        X = self._images(X, reset=False)
        if self.memory is None:
            return run_extractor(self.extractor_, X)
        digest = joblib.hash([np.asarray(w) for w in self.extractor_.get_weights()])
        input_spec = (str(X.dtype), self.input_shape_, self._scale, self.input_size)
        cached = check_memory(self.memory).cache(extract_features, ignore=["extractor"])
        return cached(X, self.backbone, input_spec, digest, extractor=self.extractor_)

    def get_feature_names_out(self, input_features=None):
        """Names of the features: ``<backbone>_0``, ``<backbone>_1``, ...

        Parameters
        ----------
        input_features : None
            Ignored; the names come from the backbone.

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self, "extractor_")
        return np.array([f"{self.backbone}_{i}" for i in range(self.n_features_out_)],
                        dtype=object)

    @property
    def _scale(self):
        """Factor bringing the chips to 0..255 (uint8 as they are, floats x 255)."""
        return 1.0 if self.X_dtype_ == np.uint8 else 255.0

    def _rows_to_images(self, X):
        """2-D rows as (n, height, width, 3) images, by ``image_shape``."""
        if self.image_shape is None:
            raise ValueError(
                f"{type(self).__name__} needs RGB images: pass X as (n_samples, "
                "height, width, 3) or set image_shape=(height, width, 3) for 2-D "
                f"rows; got rows of {X.shape[1]} features and image_shape=None."
            )
        return X.reshape((len(X),) + check_image_shape(
            self.image_shape, X.shape[1], "features of each row in"))

    def _images(self, X, reset):
        """X as (n, height, width, 3) images, checked against the fitted form."""
        X = images_or_rows(self, X, reset=reset)
        if X.dtype != np.uint8:
            X = X.astype(np.float32, copy=False)
        if X.ndim == 2:
            X = self._rows_to_images(X)
        if X.shape[-1] != 3:
            raise ValueError(f"backbone {self.backbone!r} needs RGB images with 3 "
                             f"channels; got images of shape {X.shape[1:]}.")
        if reset:
            self.input_shape_, self.X_dtype_ = tuple(X.shape[1:]), np.dtype(X.dtype)
        elif tuple(X.shape[1:]) != self.input_shape_ or (
                (X.dtype == np.uint8) != (self.X_dtype_ == np.uint8)):
            raise ValueError(
                f"X has images of shape {X.shape[1:]} and dtype {X.dtype}, but "
                f"{type(self).__name__} was fitted on {self.input_shape_} "
                f"{self.X_dtype_} images."
            )
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = []
        return tags


def logistic_head(features, labels, sample_weight=None, *, C=1.0):
    """An output layer's weights: a converged L2 logistic regression on ``features``.

    The features are standardised for the regression (scikit-learn's
    ``LogisticRegression``, lbfgs, to convergence), and the standardisation
    is folded into the weights, so that ``sigmoid(features @ kernel + bias)``
    (softmax for more than two classes) gives the regression's probabilities.

    Parameters
    ----------
    features : ndarray of shape (n_samples, n_features)
        Frozen backbone features.
    labels : ndarray of shape (n_samples,)
        Encoded labels 0 .. n_classes - 1.
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Per-sample weights (class weights included).
    C : float, default=1.0
        Inverse regularisation strength.

    Returns
    -------
    kernel : ndarray of shape (n_features, 1 or n_classes), float32
    bias : ndarray of shape (1 or n_classes,), float32
    loss : float
        The regression's (weighted) log loss on the features.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    features = np.asarray(features, dtype=np.float64)
    mean, scale = features.mean(axis=0), features.std(axis=0)
    scale[scale == 0] = 1.0
    standardised = (features - mean) / scale
    regression = LogisticRegression(C=C, max_iter=5000).fit(
        standardised, labels, sample_weight=sample_weight)
    coef = regression.coef_ / scale
    bias = regression.intercept_ - coef @ mean
    loss = log_loss(labels, regression.predict_proba(standardised),
                    sample_weight=sample_weight, labels=regression.classes_)
    return coef.T.astype(np.float32), bias.astype(np.float32), float(loss)


def true_colour(X, gain=4.0):
    """Reflectance chips as the true-colour pictures an ImageNet backbone expects.

    Surface reflectance of water and land lies mostly below 0.25; a picture
    of it is nearly black. The first three channels (red, green, blue) are
    multiplied by ``gain`` and clipped to [0, 1], the float range
    :class:`ImageNetFeatures` reads as 0..255, so that
    ``make_pipeline(FunctionTransformer(true_colour), ImageNetFeatures(...),
    ...)`` learns from 4-band Sentinel-2 chips.

    Parameters
    ----------
    X : array-like of shape (n_samples, height, width, channels), channels >= 3
        Reflectance chips, red, green and blue first.
    gain : float, default=4.0
        Factor before clipping: reflectance 0.25 becomes white.

    Returns
    -------
    pictures : ndarray of shape (n_samples, height, width, 3), float32

    Raises
    ------
    ValueError
        If the chips are not 4-dimensional with at least 3 channels.

    Examples
    --------
    >>> import numpy as np
    >>> true_colour(np.full((1, 2, 2, 4), 0.1)).ravel()[:3]
    array([0.4, 0.4, 0.4], dtype=float32)
    """
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 4 or X.shape[-1] < 3:
        raise ValueError("true_colour needs chips of shape (n_samples, height, width, "
                         f"channels >= 3), red, green, blue first; got shape {X.shape}.")
    return np.clip(X[..., :3] * np.float32(gain), 0.0, 1.0)


def imagenet_verifier(weights, *, input_size, C=0.01, prepare=None):
    """A cascade's verifier, unfitted: ImageNet features and a logistic regression.

    The verifier of the shipped cascades
    (:class:`~sklship.estimators.cascade.VerifiedShipClassifier`):
    ``planetscope-3m`` with ``input_size=160``; ``sentinel2-10m`` with
    ``input_size=96`` and ``prepare=FunctionTransformer(true_colour)``.

    Parameters
    ----------
    weights : "imagenet", None or path
        As for :class:`ImageNetFeatures` (MobileNetV2).
    input_size : int
        Side the chips are enlarged to.
    C : float, default=0.01
        Inverse regularisation of the logistic regression (balanced classes).
    prepare : transformer or None, default=None
        A first step that makes the chips pictures (e.g. from reflectance).

    Returns
    -------
    verifier : sklearn.pipeline.Pipeline
        ``[prepare,] ImageNetFeatures, StandardScaler, LogisticRegression``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    steps = [] if prepare is None else [prepare]
    return make_pipeline(*steps, ImageNetFeatures(weights=weights, input_size=input_size),
                         StandardScaler(),
                         LogisticRegression(C=C, class_weight="balanced", max_iter=3000))


def forget_weights_path(pipeline):
    """Keep only the file name of the weights of a pipeline's ImageNet feature steps.

    A fitted step holds its network, so a saved model needs no weights file;
    the path would be the training machine's.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Changed in place.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
    """
    for name, step in pipeline.steps:
        if isinstance(step, ImageNetFeatures) and isinstance(step.weights, str | os.PathLike) \
                and step.weights != "imagenet":
            pipeline.set_params(**{f"{name}__weights": os.path.basename(step.weights)})
    return pipeline
