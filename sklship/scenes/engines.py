"""Engines: the ship probability of every window of a tile.

An engine is a callable ``engine(tile) -> ndarray (rows, cols)`` with a
``name``; :func:`make_engine` chooses one for an estimator.

``"shared"`` (:class:`SharedEngine`)
    For convolutional networks the windows overlap and share most of their
    work: the network, made fully convolutional
    (:func:`sklship.scenes.convolutional.fully_convolutional`), runs once
    over the whole tile. An estimator with ``test_time_augmentation`` gets
    the same average of 8 flips and rotations: the tile is flipped and
    rotated as a whole.
``"batched"`` (:class:`BatchedEngine`)
    Anything else (pretrained backbones, pipelines, calibrated wrappers, other
    layers): the windows of a tile are viewed without copying
    (``sliding_window_view``) and classified in batches with
    ``estimator.predict_proba``.
"""

from __future__ import annotations

import hashlib
import weakref

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import binary_dilation

from ..estimators.symmetry import symmetric_view, symmetries
from .grid import WindowGrid
from .suppression import neighbourhood_mean

__all__ = ["ENGINES", "BatchedEngine", "SharedEngine", "make_engine"]

ENGINES = ("auto", "shared", "batched")

# Fully convolutional versions of fitted models: model -> {stride: (fingerprint, run)}.
_FCN_CACHE = weakref.WeakKeyDictionary()


class BatchedEngine:
    """Window probabilities by ``predict_proba`` on batches of windows.

    Parameters
    ----------
    estimator : classifier
        Gives ``predict_proba`` on (n, window, window, channels) chips.
    window, stride : int
        The grid's window side and step.
    batch_size : int
        Windows per ``predict_proba`` call.
    """

    name = "batched"

    def __init__(self, estimator, window, stride, batch_size):
        self.estimator, self.window, self.stride = estimator, window, stride
        self.batch_size = batch_size

    @property
    def augmented_fraction(self):
        """Share of the windows averaged over the 8 symmetries: all or none."""
        return float(bool(getattr(self.estimator, "test_time_augmentation", False)))

    def __call__(self, tile):
        channels = tile.shape[2]
        # (rows, cols, window, window, channels): a view, no copy.
        views = sliding_window_view(
            tile, (self.window, self.window, channels))[::self.stride, ::self.stride, 0]
        rows, cols = views.shape[:2]
        out = np.empty(rows * cols, dtype=np.float64)
        for start in range(0, rows * cols, self.batch_size):
            index = np.arange(start, min(start + self.batch_size, rows * cols))
            batch = views[index // cols, index % cols]  # copies only this batch
            out[index] = self.estimator.predict_proba(batch)[:, 1]
        return out.reshape(rows, cols)


class SharedEngine:
    """Window probabilities from the network run once over the whole tile.

    Parameters
    ----------
    run : callable
        The fully convolutional network (a ``tf.function`` of a (1, h, w, c)
        tile), from :func:`make_engine`.
    window, stride : int
        The grid's window side and step.
    symmetric : bool
        Average over the tile's 8 flips and 90-degree rotations (the
        estimator's test-time augmentation).
    candidates : (float, int) or None, default=None
        ``(threshold, smoothing)``: average over the symmetries only near
        windows whose smoothed single-pass probability reaches ``threshold``
        (see :meth:`__call__`); None averages every window.
    """

    name = "shared"

    def __init__(self, run, window, stride, symmetric, candidates=None):
        self.run, self.window, self.stride = run, window, stride
        self.symmetric, self.candidates = symmetric, candidates
        self._windows = self._augmented = 0

    @property
    def augmented_fraction(self):
        """Share of the windows evaluated so far that averaged the 8 symmetries."""
        return self._augmented / self._windows if self._windows else 0.0

    def _grid(self, view):
        # The a trous form can also cover windows that stick out of the tile
        # but whose pixels the network ignores (floor division in strides);
        # only the windows inside the tile are kept.
        rows, cols = (WindowGrid.count(size, self.window, self.stride)
                      for size in view.shape[:2])
        return np.asarray(self.run(view[None]))[0, :rows, :cols].astype(np.float64)

    def _symmetric_grid(self, tile):
        """Network outputs averaged over the tile's 8 flips and rotations.

        A flipped or transposed tile holds every window flipped or
        transposed, at the mirrored position of the grid, which is flipped
        back. The tile's side minus the window is a multiple of the stride,
        so the mirrored positions fall on the same grid.
        """
        out = self._grid(tile)
        for symmetry in symmetries(square=True):
            view = np.ascontiguousarray(symmetric_view(tile, *symmetry))
            out += _unmirror(self._grid(view), *symmetry)
        return out / 8

    def __call__(self, tile):
        """Ship probability of every window of ``tile``.

        With ``candidates``, the single pass only: the scan then asks
        :meth:`near` where the symmetries matter and :meth:`refine` there.
        """
        if not self.symmetric or self.candidates is not None:
            return self._count(_probability(self._grid(tile)), 0)
        out = _probability(self._symmetric_grid(tile))
        return self._count(out, out.size)

    def near(self, single):
        """Windows whose symmetric probability can change a detection.

        With ``candidates = (threshold, smoothing)``: the windows whose
        single-pass probability, averaged over the ``smoothing x smoothing``
        grid neighbourhood the scan's decision uses, reaches ``threshold``,
        grown by the neighbourhood's radius, so that every window their
        smoothed value reads is included.

        Parameters
        ----------
        single : ndarray of shape (n_rows, n_cols)
            Single-pass probabilities of the whole scene's grid (NaN where
            not evaluated).

        Returns
        -------
        near : ndarray of bool
        """
        threshold, smoothing = self.candidates
        near = neighbourhood_mean(single, smoothing) >= threshold
        if smoothing > 1 and near.any():
            near = binary_dilation(near, structure=np.ones((3, 3), bool),
                                   iterations=smoothing // 2)
        return near & np.isfinite(single)

    def refine(self, tile):
        """Symmetric (test-time augmented) probabilities of every window of ``tile``."""
        out = _probability(self._symmetric_grid(tile))
        self._augmented += out.size
        return out

    def _count(self, out, augmented):
        self._windows += out.size
        self._augmented += augmented
        return out


def make_engine(estimator, window, stride, *, engine="auto", batch_size=1024,
                candidates=None):
    """The engine for ``estimator`` on a grid of ``window`` and ``stride``.

    Parameters
    ----------
    estimator : classifier
        The probability estimator (wrappers already unwrapped where they
        pass probabilities through).
    window, stride : int
        The grid's window side and step.
    engine : {"auto", "shared", "batched"}, default="auto"
        "auto" takes the shared engine when it is exact for the estimator's
        network and stride, else the batched one; "shared" raises a
        ValueError saying why when it is not exact.
    batch_size : int, default=1024
        Windows per ``predict_proba`` call of the batched engine.
    candidates : (float, int) or None, default=None
        ``(threshold, smoothing)``: the shared engine runs test-time
        augmentation only near windows whose single-pass probability,
        smoothed as the scan's decision is, reaches ``threshold`` (see
        :class:`SharedEngine`); None runs it on every window.

    Returns
    -------
    engine : SharedEngine or BatchedEngine
    """
    if engine in ("auto", "shared"):
        run, reason = _shared_run(estimator, window, stride)
        if run is not None:
            symmetric = getattr(estimator, "test_time_augmentation", False)
            return SharedEngine(run, window, stride, symmetric,
                                candidates if symmetric else None)
        if engine == "shared":
            raise ValueError(
                f"engine='shared' is not exact for this estimator: {reason} "
                "Use engine='batched' or 'auto'."
            )
    return BatchedEngine(estimator, window, stride, batch_size)


def _shared_run(estimator, window, stride):
    """A fully convolutional copy of the estimator's network, or (None, reason).

    Cached per model and stride; rebuilt when the weights have changed
    (a refit, ``partial_fit`` or ``warm_start``).
    """
    model = getattr(estimator, "model_", None)
    import keras

    if not isinstance(model, keras.Model):
        return None, (f"{type(estimator).__name__} has no fitted Keras model "
                      "(model_).")
    fingerprint = _fingerprint(model)
    cached = _FCN_CACHE.setdefault(model, {}).get(stride)
    if cached is not None and cached[0] == fingerprint:
        return cached[1], None
    from .convolutional import fully_convolutional

    fcn, reason = fully_convolutional(model, window, stride)
    if fcn is None:
        return None, reason
    import tensorflow as tf

    # One graph for every tile shape: Grappler fuses convolution, bias and
    # activation, which eager execution does not (about 1.3x faster).
    spec = tf.TensorSpec((1, None, None, fcn.inputs[0].shape[-1]), fcn.inputs[0].dtype)
    run = tf.function(lambda tile: fcn(tile, training=False), input_signature=[spec])
    _FCN_CACHE[model][stride] = (fingerprint, run)
    return run, None


def _fingerprint(model):
    digest = hashlib.blake2b(digest_size=16)
    for weight in model.weights:
        digest.update(np.ascontiguousarray(weight.numpy()).tobytes())
    return digest.hexdigest()


def _probability(out):
    """P(ship) from a grid of network outputs: one sigmoid unit, or a softmax."""
    if out.shape[-1] == 1:  # one sigmoid unit: P(classes_[1])
        return out[..., 0]
    return out[..., 1] / out.sum(axis=-1)


def _unmirror(grid, transpose, flip_rows, flip_cols):
    """Undo :func:`~sklship.estimators.symmetry.symmetric_view` on a (rows, cols, units) grid."""
    if flip_cols:
        grid = np.flip(grid, 1)
    if flip_rows:
        grid = np.flip(grid, 0)
    return np.swapaxes(grid, 0, 1) if transpose else grid
