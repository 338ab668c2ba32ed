"""The scan's defaults, each with the measurement behind it.

:func:`resolve_defaults` turns the ``None`` settings of
:func:`~sklship.scenes.scan.scan_scene` into the values a scan uses, for the
scan itself and for the record of how it was made (``run.json``).
"""

import numpy as np

from ..estimators.unwrap import decision_threshold, fitted_network, probability_estimator
from .suppression import default_min_distance

__all__ = ["check_window", "default_candidate_threshold", "default_smoothing",
           "default_stride", "fitted_dtype", "model_read_options", "record_read_options",
           "resolve_defaults"]

#: Labels that say "ship": a model whose classes_[0] is one of them has its
#: classes the wrong way round for a scan.
_SHIP_LABELS = ("ship", "ships", "vessel", "vessels")


def resolve_defaults(estimator, window=None, stride=None, threshold=None,
                     min_distance=None, min_neighbors=None, smoothing=None,
                     saddle=None, candidate_threshold=None):
    """The scan settings :func:`~sklship.scenes.scan.scan_scene` uses where given None.

    Parameters
    ----------
    estimator : fitted classifier
        The model to scan with (its window size, threshold and training).
    window, stride, threshold, min_distance, min_neighbors, smoothing, saddle, \
candidate_threshold
        As for :func:`~sklship.scenes.scan.scan_scene`.

    Returns
    -------
    settings : dict
        ``window``, ``stride``, ``threshold``, ``min_distance``,
        ``min_neighbors``, ``smoothing``, ``saddle`` and
        ``candidate_threshold``, every one resolved.
    """
    if threshold is None:
        threshold = decision_threshold(estimator)
    window = check_window(probability_estimator(estimator), window)[0]
    stride = default_stride(window) if stride is None else stride
    min_distance = default_min_distance(window) if min_distance is None else min_distance
    if smoothing is None:
        smoothing = default_smoothing(fitted_network(estimator), window, stride)
    if min_neighbors is None:
        min_neighbors = int(stride <= window / 8 and smoothing == 1)
    if candidate_threshold is None:
        candidate_threshold = default_candidate_threshold(smoothing, threshold)
    return {"window": window, "stride": stride, "threshold": float(threshold),
            "min_distance": float(min_distance), "min_neighbors": min_neighbors,
            "smoothing": smoothing, "saddle": float(saddle or 0.0),
            "candidate_threshold": float(candidate_threshold)}


def model_read_options(estimator):
    """The ``bands`` and ``scale`` a model asks its scenes to be read with, and its ``saddle``.

    A model that reads reflectance (``sentinel2-10m``, and a model adapted
    from it with :func:`sklship.adapt_model`) records them in its network's
    ``read_options_`` (:func:`record_read_options`), so that it and its file
    scan scenes as it was trained on them, without ``bands`` and ``scale``
    being given. A model measured with a ``saddle`` of its own (see
    :func:`~sklship.scenes.suppression.non_max_suppression`) records it there
    too.

    Parameters
    ----------
    estimator : fitted classifier
        The model to scan with.

    Returns
    -------
    options : dict
        ``bands``, ``scale`` and ``saddle`` where the model records them;
        empty for models that take 8-bit RGB as scenes come and merge every
        ridge (every model but these).
    """
    return dict(getattr(fitted_network(estimator), "read_options_", None) or {})


def record_read_options(estimator, options):
    """Record in a model the ``bands`` and ``scale`` its scenes are read with, and its ``saddle``.

    They go to its network's ``read_options_`` (see
    :func:`model_read_options`), as lists and text, so that saved files keep
    them. The shipped models get theirs when loaded, and models adapted from
    them inherit them.

    Parameters
    ----------
    estimator : fitted classifier
        Changed in place.
    options : dict
        ``bands``, ``scale`` and/or ``saddle``, as
        :func:`~sklship.scenes.scan.scan_scene` takes them; empty records
        nothing.

    Returns
    -------
    estimator : fitted classifier
        The same object.
    """
    if options:
        fitted_network(estimator).read_options_ = {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in options.items()}
    return estimator


def default_stride(window: int) -> int:
    """The default scan stride: the largest power of two not above ``window / 8``."""
    return 1 << max(0, (window // 8).bit_length() - 1)


def default_candidate_threshold(smoothing: int, threshold: float) -> float:
    """From which single-pass probability a scan adds test-time augmentation.

    A window (and the neighbourhood its smoothed value reads) gets the 8
    symmetries when its single-pass probability, smoothed as the decision
    is, reaches this. What matters is how far the single pass can fall
    below a symmetric value that reaches the decision ``threshold``.
    Measured with the recommended model on the three shared PlanetScope
    scenes (each cropped by 0, 3 and 6 pixels) and a 16 MP port tiled from
    lb_wide, over thresholds 0.1 to 0.8: at most 0.19 with the 3x3 mean
    (0.188 at 0.5), so ``threshold - 0.35`` (0.15 at 0.5) keeps a margin of
    0.16; below a threshold of 0.35 every window is augmented. Unsmoothed,
    single windows fall much further (0.45 under a symmetric 0.5): 0.01.
    On the 16 MP port, 0.15 and 0.2 both gave the detections of the full
    symmetric scan in 1.5 and 1.4 times a single pass (the full scan: 8).

    Parameters
    ----------
    smoothing : int
        The scan's smoothing (1: none).
    threshold : float
        The scan's decision threshold.

    Returns
    -------
    threshold : float
        0 means every window.
    """
    if smoothing == 1:
        return 0.01
    return max(0.0, round(threshold - 0.35, 6))


def default_smoothing(estimator, window: int, stride: int) -> int:
    """The default ``smoothing`` of :func:`~sklship.scenes.scan.scan_scene`: 3 or 1 grid steps.

    3 (average each window's probability with its 8 grid neighbours') when
    the estimator was trained with the ``"shift"`` augmentation (up to
    ``0.075 * window`` pixels) and ``stride`` is at most ``window / 8`` (the
    default stride): such a network still fires when a ship is about one
    stride off the window centre, so a ship keeps a high mean over the 3x3
    windows around it wherever the grid falls, while land that fools it at
    one position rarely does at the next ones. On three real PlanetScope
    scenes (lb_3, sfbay_4, lb_wide: 14 marked big ships; each scene also
    cropped by 1..7 pixels), the recommended model with the 3x3 mean found
    every ship at every crop with 1 false alarm (a bridge over a channel, p
    0.73 after the mean) and a count that did not change with the crop; the
    same model with ``min_neighbors=1`` made 3 false alarms, and the model
    trained without shifts 5 (count range 3). A network trained without
    shifts fires on few windows around a ship, and the mean dilutes its
    ships (2 of 14 found): 1.
    """
    augmentation = getattr(estimator, "augmentation", None) or ()
    return 3 if "shift" in augmentation and stride <= window / 8 else 1


def check_window(estimator, window):
    """Window side and channel count, from the estimator where it knows them.

    Parameters
    ----------
    estimator : fitted classifier
        The probability estimator (wrappers unwrapped).
    window : int or None
        The window side asked for; None takes the estimator's.

    Returns
    -------
    window : int
    channels : int or None
        None when the estimator does not say.
    """
    input_shape = getattr(fitted_network(estimator), "input_shape_", None)
    if input_shape is None:
        if window is None:
            raise ValueError(
                f"window must be given: {type(estimator).__name__} has no "
                "input_shape_ to take the window size from."
            )
        return int(window), None
    if len(input_shape) != 3 or input_shape[0] != input_shape[1]:
        raise ValueError(
            f"scan_scene needs an estimator fitted on square images (height, "
            f"width, channels); {type(estimator).__name__} was fitted on inputs "
            f"of shape {tuple(input_shape)}."
        )
    if window is not None and window != input_shape[0]:
        raise ValueError(
            f"window={window} does not match the estimator, which was fitted on "
            f"{input_shape[0]}x{input_shape[1]} chips; pass window={input_shape[0]} "
            "or None (command line: leave out --window)."
        )
    classes = getattr(estimator, "classes_", None)
    if classes is not None and len(classes) != 2:
        raise ValueError(
            f"scan_scene needs a binary (ship / no ship) classifier; the estimator "
            f"has {len(classes)} classes: {list(classes)}."
        )
    if classes is not None and str(classes[0]).strip().lower() in _SHIP_LABELS:
        labels = np.asarray(classes).tolist()
        raise ValueError(
            f"the estimator's classes are {labels}: scan_scene counts the "
            f"second, {labels[1]!r}, as ships (scikit-learn's positive class, classes_[1]); "
            "label ships so that they sort last, e.g. 1 and 0, or 'ship' and 'no ship'."
        )
    return int(input_shape[0]), int(input_shape[2])


def fitted_dtype(estimator):
    """The dtype the estimator was fitted on (``X_dtype_``), or None."""
    dtype = getattr(estimator, "X_dtype_", None)
    return None if dtype is None else np.dtype(dtype)
