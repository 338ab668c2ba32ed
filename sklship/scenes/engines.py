"""Engines: the ship probability of every window of a tile.

An engine is a callable ``engine(tile) -> ndarray (rows, cols)`` with a
``name``; :func:`make_engine` chooses one for an estimator. Its interface says
the rest, and it keeps no state between calls:

- ``averages_symmetries``: whether its calls already average the 8 flips and
  rotations (test-time augmentation) of every window;
- ``candidate_boxes(probabilities)``: the grid boxes, of the whole scene's
  single-pass grid, where averaging the symmetries can change a detection
  (none when the engine refines nothing);
- ``refine(probabilities, boxes, read)``: averages the windows of those boxes
  over the symmetries in place and returns which windows it averaged.

``"shared"`` (:class:`SharedEngine`)
    For convolutional networks the windows overlap and share most of their
    work: the network, made fully convolutional
    (:func:`sklship.scenes.convolutional.fully_convolutional`), runs once
    over the whole tile. An estimator with ``test_time_augmentation`` gets
    the same average of 8 flips and rotations: the tile is flipped and
    rotated as a whole. A soft-voting ``VotingClassifier`` of such networks
    runs each member's copy and takes their weighted mean, as its
    ``predict_proba`` does.
``"batched"`` (:class:`BatchedEngine`)
    Anything else (pretrained backbones, pipelines, calibrated wrappers, other
    layers): the windows of a tile are viewed without copying
    (``sliding_window_view``) and classified in batches with
    ``estimator.predict_proba``.
"""

from __future__ import annotations

import weakref

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import binary_dilation, find_objects, label

from ..estimators.unwrap import averages_symmetries, soft_vote
from .grid import WindowGrid
from .suppression import neighbourhood_mean

__all__ = ["ENGINES", "BatchedEngine", "SharedEngine", "forget_model", "make_engine",
           "weights_version"]

ENGINES = ("auto", "shared", "batched")
#: Windows per ``predict_proba`` call of the batched engine (the scan's default).
BATCH_SIZE = 1024

# Pixels per call when refine() runs boxes and their symmetric views in
# batches (about 2 MP: small enough for the activations to stay in cache
# and memory, large enough to amortise the call).
_BATCH_PIXELS = 1 << 21

# Fully convolutional versions of fitted models: model -> {stride: (version, run)}.
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
    def averages_symmetries(self):
        """Whether the estimator's ``predict_proba`` averages the 8 symmetries."""
        return averages_symmetries(self.estimator)

    def candidate_boxes(self, probabilities):
        """No boxes: the batched engine refines nothing (see the module)."""
        return []

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
        The fully convolutional network as a ``tf.function`` of (n, h, w, c)
        tiles giving every window's ship probability, with ``run.others``;
        from :func:`make_engine`.
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

    @property
    def averages_symmetries(self):
        """Whether each call averages the 8 symmetries (symmetric, without candidates)."""
        return self.symmetric and self.candidates is None

    def _grid(self, view):
        """Single-pass ship probability of every window of one tile."""
        return np.asarray(self.run(view[None]), dtype=np.float64)[0]

    def _others(self, tiles):
        """Sum of the window probabilities of the 7 other flips and rotations of ``tiles``."""
        return np.asarray(self.run.others(tiles), dtype=np.float64)

    def __call__(self, tile):
        """Ship probability of every window of ``tile``.

        With ``candidates``, the single pass only: the scan then asks
        :meth:`candidate_boxes` where the symmetries matter and :meth:`refine` there.
        """
        single = self._grid(tile)
        if not self.averages_symmetries:
            return single
        return (single + self._others(tile[None])[0]) / 8

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

    def candidate_boxes(self, single):
        """Grid boxes that cover the windows :meth:`near` marks.

        One box per group of touching windows, its sides rounded up to an
        even number of windows (inside the grid) so that boxes share shapes
        and :meth:`refine` can batch them.

        Parameters
        ----------
        single : ndarray of shape (n_rows, n_cols)
            Single-pass probabilities of the whole scene's grid.

        Returns
        -------
        boxes : list of (slice, slice)
            Grid rows and columns of each box; none without ``candidates``.
        """
        if self.candidates is None:
            return []
        groups = label(self.near(single), structure=np.ones((3, 3)))[0]
        return [tuple(_rounded_up(side, size) for side, size in zip(box, single.shape, strict=True))
                for box in find_objects(groups)]

    def refine(self, probabilities, boxes, read):
        """Average the windows of ``boxes`` over the 8 symmetries, in place.

        The single pass in ``probabilities`` is the identity; the 7 other
        flips and rotations of every box are run in batches of views of
        the same shape, flipped and rotated inside the network's graph
        (small boxes one at a time would spend most of their time in
        per-call overhead). Windows that are NaN stay NaN.

        Parameters
        ----------
        probabilities : ndarray of shape (n_rows, n_cols)
            Single-pass probabilities of the whole scene's grid.
        boxes : list of (slice, slice, slice, slice)
            ``(grid_rows, grid_cols, pixel_rows, pixel_cols)`` of each box
            (see :meth:`~sklship.scenes.grid.WindowGrid.tiles`).
        read : callable
            ``read(pixel_rows, pixel_cols)`` -> the box's pixels
            (rows, cols, channels).

        Returns
        -------
        refined : ndarray of bool, shape of ``probabilities``
            The windows averaged over the symmetries (not NaN).
        """
        sums = [probabilities[grid_rows, grid_cols].copy()
                for grid_rows, grid_cols, _, _ in boxes]
        shapes = {}
        for index, (_, _, rows, cols) in enumerate(boxes):
            shapes.setdefault((rows.stop - rows.start, cols.stop - cols.start), []).append(index)
        for (height, width), indices in shapes.items():
            per_call = max(1, _BATCH_PIXELS // (7 * height * width))
            for start in range(0, len(indices), per_call):
                chunk = indices[start:start + per_call]
                tiles = np.stack([read(*boxes[index][2:]) for index in chunk])
                for index, other in zip(chunk, self._others(tiles), strict=True):
                    sums[index] += other
        refined = np.zeros(probabilities.shape, bool)
        for (grid_rows, grid_cols, _, _), total in zip(boxes, sums, strict=True):
            probabilities[grid_rows, grid_cols] = total / 8
            refined[grid_rows, grid_cols] = True
        return refined & np.isfinite(probabilities)


def make_engine(estimator, window, stride, *, engine="auto", batch_size=BATCH_SIZE,
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
            members = soft_vote(estimator) or [(estimator, 1.0)]
            symmetric = any(averages_symmetries(member) for member, _ in members)
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

    Of a soft-voting ensemble (:func:`~sklship.estimators.unwrap.soft_vote`),
    the weighted mean of its members' copies (:func:`_averaged`).

    The copy holds a snapshot of the weights, so it is cached per Keras model
    object (a weak reference: the cache dies with the model) and stride, under
    a cheap version of the weights (:func:`weights_version`) rather than a
    hash of every weight on every scan. A refit makes a new model; training
    it further (``partial_fit``, ``warm_start``) advances its optimizer's
    step counter; both rebuild the copy. Weights written by hand
    (``model_.set_weights``) change neither: call :func:`forget_model` after.
    """
    members = soft_vote(estimator)
    if members is not None:
        runs = []
        for member, _ in members:
            run, reason = _shared_run(member, window, stride)
            if run is None:
                return None, f"a member of the VotingClassifier: {reason}"
            runs.append(run)
        return _averaged(runs, [weight for _, weight in members],
                         [averages_symmetries(member) for member, _ in members]), None
    model = getattr(estimator, "model_", None)
    import keras

    if not isinstance(model, keras.Model):
        return None, (f"{type(estimator).__name__} has no fitted Keras model "
                      "(model_).")
    version = weights_version(model)
    cached = _FCN_CACHE.setdefault(model, {}).get(stride)
    if cached is not None and cached[0] == version:
        return cached[1], None
    from .convolutional import fully_convolutional

    fcn, reason = fully_convolutional(model, window, stride)
    if fcn is None:
        return None, reason
    run = _compiled(fcn, window, stride)
    _FCN_CACHE[model][stride] = (version, run)
    return run, None


def _averaged(runs, weights, symmetric):
    """The weighted mean of members' runs (see :func:`_compiled`), a run itself.

    ``others`` sums the 7 other flips and rotations of each member that
    averages them (``symmetric``), and 7 times the single pass of a member
    that does not, so that ``(run + others) / 8`` is the ensemble's
    ``predict_proba``, each member with or without test-time augmentation as
    it was fitted.
    """
    members = list(zip(runs, weights, symmetric, strict=True))

    def run(tiles):
        return sum(weight * np.asarray(member(tiles), np.float64)
                   for member, weight, _ in members)

    def others(tiles):
        return sum(weight * np.asarray(member.others(tiles) if augmented else 7 * member(tiles),
                                       np.float64)
                   for member, weight, augmented in members)

    run.others = others
    return run


def weights_version(model):
    """A cheap version of a Keras model's weights: its optimizer and training steps.

    Reads one counter instead of every weight: ``(id(optimizer),
    optimizer.iterations)``, which every training step advances, and the
    identity of the model's variables, which a rebuild replaces.

    Parameters
    ----------
    model : keras.Model

    Returns
    -------
    version : tuple
    """
    optimizer = getattr(model, "optimizer", None)
    steps = getattr(optimizer, "iterations", None)
    return (id(optimizer), None if steps is None else int(steps.numpy()),
            tuple(id(weight) for weight in model.weights))


def forget_model(model):
    """Drop the cached fully convolutional copies of ``model`` (after ``set_weights``)."""
    _FCN_CACHE.pop(model, None)


def _compiled(fcn, window, stride):
    """The fully convolutional network as a ``tf.function``, with ``others``.

    ``run(tiles)`` gives the ship probability of every window of (n, h, w,
    c) tiles, (n, rows, cols); ``run.others(tiles)`` its sum over the 7
    flips and rotations other than the identity: the views are made, run and
    mapped back inside one graph. A flipped or transposed tile holds every
    window flipped or transposed, at the mirrored position of the grid,
    which is flipped back; the tile's side minus the window is a multiple of
    the stride, so the mirrored positions fall on the same grid. One graph
    serves every tile shape; Grappler fuses convolution, bias and
    activation, which eager execution does not (about 1.3x faster).
    """
    import tensorflow as tf

    spec = tf.TensorSpec((None, None, None, fcn.inputs[0].shape[-1]), fcn.inputs[0].dtype)

    def probabilities(views, rows, cols):
        # The a trous form can also cover windows that stick out of the tile
        # but whose pixels the network ignores (floor division in strides);
        # only the windows inside the tile are kept.
        out = fcn(views, training=False)[:, :rows, :cols]
        if out.shape[-1] == 1:  # one sigmoid unit: P(classes_[1])
            return out[..., 0]
        return out[..., 1] / tf.reduce_sum(out, axis=-1)  # a softmax

    def grid_shape(tiles):
        return tuple(WindowGrid.count(tf.shape(tiles)[axis], window, stride)
                     for axis in (1, 2))

    @tf.function(input_signature=[spec])
    def run(tiles):
        return probabilities(tiles, *grid_shape(tiles))

    @tf.function(input_signature=[spec])
    def others(tiles):
        n = tf.shape(tiles)[0]
        rows, cols = grid_shape(tiles)
        flips = ([2], [1], [1, 2])
        # Flipped: windows come back flipped along the same axes.
        plain = probabilities(tf.concat([tf.reverse(tiles, axes) for axes in flips], 0),
                              rows, cols)
        total = tf.zeros((n, rows, cols), plain.dtype)
        for k, axes in enumerate(flips):
            total += tf.reverse(plain[k * n:(k + 1) * n], axes)
        # Transposed, then flipped: flipped back, then transposed back.
        swapped = tf.transpose(tiles, (0, 2, 1, 3))
        turned = probabilities(
            tf.concat([swapped] + [tf.reverse(swapped, axes) for axes in flips], 0),
            cols, rows)
        for k, axes in enumerate(((),) + flips):
            grid = turned[k * n:(k + 1) * n]
            total += tf.transpose(tf.reverse(grid, axes) if axes else grid, (0, 2, 1))
        return total

    run.others = others
    return run


def _rounded_up(side, size, quantum=2):
    """``side`` (a slice of 0..size) lengthened to a multiple of ``quantum``, inside 0..size."""
    length = min(size, -(-(side.stop - side.start) // quantum) * quantum)
    stop = min(size, side.start + length)
    return slice(stop - length, stop)
