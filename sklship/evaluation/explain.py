"""Why does the model call a chip a ship? Grad-CAM heat maps for convolutional networks.

Grad-CAM (Selvaraju et al. 2017) weighs a convolutional feature map by the
gradient of the ship logit with respect to it, sums over the channels, keeps
the positive part and scales it up to the chip: the regions that raised the
ship score light up. A model that learnt ships looks at the hull; one that
learnt the water around it, or the scene's light, looks elsewhere.

The gradient weighs each position of the map, not the channel's average over
positions (the element-wise form, HiResCAM: Draelos & Carin 2020). For
networks that pool globally before their head (the recommended model,
pretrained backbones) the two are the same, since the gradient is equal at
every position. For the book's CNN, whose head flattens the map, the
element-wise form is the exact share of each position in the logit, while
averaged gradients mix positions: on synthetic ships they came out negative
for every channel and left the maps empty.

Works for every convolutional sklship classifier (``CNNShipClassifier``,
:func:`~sklship.recommended_model`, ``PretrainedShipClassifier``,
``MultiOutputShipClassifier``), also inside calibration and threshold
wrappers (see :mod:`sklship.evaluation.thresholds`): the heat map comes from the
network, the probability shown is the wrapper's.
"""

import numpy as np

from .._display import Display
from ..estimators.unwrap import fitted_network

__all__ = ["GradCAMDisplay", "grad_cam"]


def grad_cam(estimator, X, *, layer=None):
    """Grad-CAM heat maps of the ship class, one per chip, scaled to [0, 1].

    Parameters
    ----------
    estimator : fitted classifier
        A fitted binary convolutional sklship classifier, or a calibration
        or threshold wrapper around one.
    X : array-like of shape (n_samples, height, width, channels)
        Chips in the form the network was fitted on (uint8 for uint8 fits).
    layer : str or None, default=None
        Name of the layer of ``model_`` whose feature map is explained. None
        takes the last layer with a feature map of at least 2x2 after the
        first convolution (inside the backbone of a pretrained network: its
        last feature map before pooling).

    Returns
    -------
    heatmaps : ndarray of shape (n_samples, height, width)
        float32 in [0, 1], 1 at each chip's strongest evidence for a ship;
        all 0 where nothing raised the ship score.

    Raises
    ------
    ValueError
        If the estimator is not a fitted binary network with a
        convolutional feature map, ``layer`` is not such a layer, or ``X``
        does not fit it.

    Notes
    -----
    The gradient is taken of the logit (before the sigmoid), which does not
    vanish for confident predictions. With ``test_time_augmentation`` the
    map is that of the chip as it is (the probability averages 8 views).

    Examples
    --------
    >>> from sklship import CNNShipClassifier, make_ships
    >>> from sklship.evaluation.explain import grad_cam
    >>> X, y = make_ships(60, image_size=16, random_state=0, return_X_y=True)
    >>> cnn = CNNShipClassifier((4,), epochs=1, random_state=0).fit(X, y)
    >>> grad_cam(cnn, X[:2]).shape
    (2, 16, 16)
    """
    import keras
    import tensorflow as tf

    network = fitted_network(estimator)
    model = _keras_model(network)
    X = np.asarray(X)
    expected = tuple(model.inputs[0].shape[1:])
    if X.ndim != 4 or tuple(X.shape[1:]) != expected:
        raise ValueError(f"X must be chips of shape (n_samples, {', '.join(map(str, expected))}) "
                         f"for {type(network).__name__}; got X of shape {X.shape}.")
    features = _gradient_model(model, layer)
    label = _label_layer(model)
    inputs = tf.convert_to_tensor(X.astype(model.inputs[0].dtype, copy=False))
    with tf.GradientTape() as tape:
        maps, hidden = features(inputs, training=False)
        logit = keras.ops.matmul(hidden, label.kernel)[:, 0] + label.bias[0]
    gradients = tape.gradient(logit, maps)
    cam = tf.nn.relu(tf.reduce_sum(gradients * maps, axis=-1, keepdims=True))
    cam = tf.image.resize(cam, X.shape[1:3], method="bilinear")[..., 0].numpy()
    peak = cam.max(axis=(1, 2), keepdims=True)
    return np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0)


def _keras_model(network):
    import keras

    model = getattr(network, "model_", None)
    if not isinstance(model, keras.Model):
        raise ValueError(f"Grad-CAM needs a fitted sklship network (model_); got "
                         f"{type(network).__name__}.")
    return model


def _label_layer(model):
    """The Dense layer giving the ship probability: the last one of one sigmoid unit.

    Found by what it is, not by name: in a single-output network it is the
    output layer, in the multi-output one the label head beside the location.
    """
    import keras

    label = next((layer for layer in reversed(model.layers)
                  if isinstance(layer, keras.layers.Dense) and layer.units == 1
                  and layer.activation is keras.activations.sigmoid), None)
    if label is None:
        raise ValueError(f"Grad-CAM needs a binary (ship / no ship) network with one "
                         f"sigmoid output unit; {model.name} has none.")
    return label


def _gradient_model(model, layer):
    """A model: chips -> (explained feature map, input of the ship unit)."""
    import keras

    label = _label_layer(model)
    if layer is not None:
        try:
            target = model.get_layer(layer)
        except ValueError as exc:
            raise ValueError(f"layer={layer!r} is not a layer of {model.name}; it has "
                             f"{[lay.name for lay in model.layers]}.") from exc
        if len(target.output.shape) != 4:
            raise ValueError(f"layer={layer!r} has no feature map (its output has shape "
                             f"{tuple(target.output.shape)}); name a convolutional layer.")
        return keras.Model(model.inputs, [target.output, label.input])
    target = _last_feature_map(model.layers)
    if target is not None:
        return keras.Model(model.inputs, [target.output, label.input])
    backbones = [lay for lay in model.layers if isinstance(lay, keras.Model)]
    inner = None if len(backbones) != 1 else _last_feature_map(backbones[0].layers)
    if inner is None:
        raise ValueError(f"Grad-CAM needs a convolutional network; {model.name} has no "
                         "feature map of at least 2x2 after a convolution.")
    # A backbone (a model inside the model): rebuild the chain of layers with
    # the backbone also returning its last feature map. Layers are shared, so
    # the weights are those of the fitted network.
    backbone = backbones[0]
    opened = keras.Model(backbone.inputs, [inner.output, backbone.outputs[0]])
    inputs = keras.Input(shape=model.inputs[0].shape[1:], dtype=model.inputs[0].dtype)
    x = inputs
    for lay in model.layers[1:]:
        if lay is label:
            break
        if lay is backbone:
            maps, x = opened(x)
        else:
            x = lay(x)
    return keras.Model(inputs, [maps, x])


def _last_feature_map(layers):
    """The last layer after the first convolution with an output of 2x2 or more."""
    import keras

    found, convolved = None, False
    for layer in layers:
        convolved = convolved or isinstance(layer, keras.layers.Conv2D)
        shape = getattr(layer, "output", None)
        shape = None if shape is None else shape.shape
        if convolved and len(shape) == 4 and min(shape[1:3]) >= 2:
            found = layer
    return found


class GradCAMDisplay(Display):
    """Chips with their Grad-CAM heat maps overlaid and their ship probabilities.

    Parameters
    ----------
    images : ndarray of shape (n, height, width, 3)
        The chips.
    heatmaps : ndarray of shape (n, height, width)
        Their heat maps in [0, 1] (:func:`grad_cam`).
    proba : ndarray of shape (n,) or None, default=None
        Ship probability of each chip, shown above it.
    titles : list of str or None, default=None
        A name per chip (e.g. its file), shown above the probability.

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
    ax_ : ndarray of matplotlib.axes.Axes
        One axes per chip (row-major grid; extra ones hidden).
    overlays_ : list of matplotlib.image.AxesImage
        The heat-map images.

    See Also
    --------
    grad_cam : The heat maps.

    Examples
    --------
    >>> from sklship import CNNShipClassifier, make_ships
    >>> from sklship.evaluation.explain import GradCAMDisplay
    >>> X, y = make_ships(60, image_size=16, random_state=0, return_X_y=True)
    >>> cnn = CNNShipClassifier((4,), epochs=1, random_state=0).fit(X, y)
    >>> display = GradCAMDisplay.from_estimator(cnn, X[:3])
    >>> display.ax_.shape, len(display.overlays_)
    ((1, 3), 3)
    >>> display.savefig("grad_cam.png")  # doctest: +SKIP
    """

    def __init__(self, images, heatmaps, *, proba=None, titles=None):
        self.images = images
        self.heatmaps = heatmaps
        self.proba = proba
        self.titles = titles

    @classmethod
    def from_estimator(cls, estimator, X, *, layer=None, titles=None, n_cols=6,
                       alpha=0.45, cmap="jet", title=None, ax=None):
        """Compute the heat maps and probabilities of ``X`` and plot them.

        Parameters
        ----------
        estimator : fitted classifier
            As for :func:`grad_cam`; its ``predict_proba`` gives the
            probabilities (calibrated ones for a ``CalibratedClassifierCV``).
        X : array-like of shape (n_samples, height, width, channels)
            Chips.
        layer : str or None, default=None
            See :func:`grad_cam`.
        titles : list of str or None, default=None
            A name per chip.
        n_cols, alpha, cmap, title, ax
            See :meth:`plot`.

        Returns
        -------
        display : GradCAMDisplay
        """
        X = np.asarray(X)
        heatmaps = grad_cam(estimator, X, layer=layer)
        proba = estimator.predict_proba(X)[:, 1]
        display = cls(X, heatmaps, proba=proba, titles=titles)
        return display.plot(ax=ax, n_cols=n_cols, alpha=alpha, cmap=cmap, title=title)

    def plot(self, ax=None, *, n_cols=6, alpha=0.45, cmap="jet", title=None):
        """Draw each chip with its heat map on top.

        Parameters
        ----------
        ax : array-like of matplotlib Axes or None, default=None
            One axes per chip; None makes a grid of ``n_cols`` columns.
        n_cols : int, default=6
            Columns of a new grid.
        alpha : float, default=0.45
            Opacity of the heat map.
        cmap : str, default="jet"
            Colour map of the heat map (blue: no evidence, red: strongest).
        title : str or None, default=None
            Figure title; None gives "Grad-CAM: where the model sees a ship".

        Returns
        -------
        display : GradCAMDisplay
        """
        import matplotlib.pyplot as plt

        n = len(self.images)
        if ax is None:
            n_cols = max(1, min(n_cols, n))
            n_rows = max(1, -(-n // n_cols))
            _, ax = plt.subplots(n_rows, n_cols, figsize=(1.8 * n_cols + 0.3,
                                                          2.0 * n_rows + 0.5),
                                 squeeze=False, layout="constrained")
        axes = np.asarray(ax, dtype=object).ravel()
        if len(axes) < n:
            raise ValueError(f"ax must hold one axes per chip: {n} chips, "
                             f"{len(axes)} axes.")
        self.overlays_ = []
        for index, axis in enumerate(axes):
            axis.set_axis_off()
            if index >= n:
                continue
            axis.imshow(self.images[index], interpolation="nearest")
            self.overlays_.append(axis.imshow(self.heatmaps[index], cmap=cmap,
                                              alpha=alpha, vmin=0, vmax=1,
                                              interpolation="bilinear"))
            label = [] if self.titles is None else [str(self.titles[index])[-24:]]
            if self.proba is not None:
                label.append(f"p(ship) = {self.proba[index]:.2f}")
            axis.set_title("\n".join(label), fontsize=7)
        figure = axes[0].figure
        figure.suptitle(title or "Grad-CAM: where the model sees a ship", fontsize=9)
        self.figure_ = figure
        self.ax_ = np.asarray(ax, dtype=object)
        return self
