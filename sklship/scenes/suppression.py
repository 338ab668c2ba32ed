"""Suppression: from a grid of window probabilities to one detection per ship.

A window is a candidate when its probability reaches the threshold (and
enough of its grid neighbours do too); greedily, the most probable
remaining candidate is kept and every candidate within the suppression
radius of it is dropped. Detections joined by a ridge of windows above the
threshold are one hull, unless the ridge dips to a saddle (``saddle``).
"""

import numpy as np
import pandas as pd
from scipy.ndimage import convolve, uniform_filter

from .grid import WindowGrid

__all__ = ["SUPPRESSION", "default_min_distance", "neighbourhood_mean",
           "non_max_suppression"]

#: The scan settings that :func:`non_max_suppression` takes, by name.
SUPPRESSION = ("min_distance", "min_neighbors", "smoothing", "saddle")


#: Farthest apart that two detections of one hull may lie, as a multiple of
#: the suppression radius: 140 px (1.75 windows, 420 m at 3 m per pixel) at the
#: default radius of 0.75 windows. A radius of 0 keeps every window.
RIDGE_REACH = 7 / 3


def default_min_distance(window: int) -> float:
    """The default non-maximum suppression radius: ``0.75 * window`` pixels."""
    return 0.75 * window


def non_max_suppression(probabilities, *, window, stride, threshold=0.5,
                        min_distance=None, min_neighbors=0, smoothing=1, saddle=0.0):
    """Merge overlapping positive windows into single detections.

    With ``smoothing`` above 1, each window's probability is first replaced
    by the mean over the ``smoothing x smoothing`` windows centred on it
    (windows outside the grid or NaN left out). Windows with a
    (smoothed) probability of at least ``threshold``, and at least
    ``min_neighbors`` of their 8 grid neighbours too, are candidates.
    Greedily, the most probable remaining candidate is kept and every
    candidate whose centre lies within ``min_distance`` pixels of it is
    dropped. Last, a kept detection is dropped when a stronger one lies within
    ``RIDGE_REACH * min_distance`` pixels and every window on the straight grid
    line between them reaches ``threshold`` (and ``saddle`` times the weaker
    one's probability): a hull longer than the window, counted once.

    Parameters
    ----------
    probabilities : ndarray of shape (n_rows, n_cols)
        Window probabilities; window (i, j) has its top-left corner at
        (i * stride, j * stride).
    window, stride : int
        Window side and step, in pixels.
    threshold : float, default=0.5
        Smallest probability of a candidate.
    min_distance : float or None, default=None
        Suppression radius in pixels; None means :func:`default_min_distance`.
    min_neighbors : int, default=0
        Neighbouring windows (of the 8 around it on the grid) that must reach
        ``threshold`` too for a window to be a candidate; 0 keeps lone windows.
    smoothing : int, default=1
        Side of the grid neighbourhood averaged; 1 averages nothing.
    saddle : float in [0, 1], default=0.0
        Two detections on a ridge of windows above ``threshold`` stay two
        when a window on the line between them falls below ``saddle`` times
        the weaker one's probability: ships moored end to end, whose windows
        between them also look like a ship, dip there; one long hull does
        not. 0 merges every ridge.

    Returns
    -------
    detections : pandas.DataFrame
        Columns ``row``, ``col`` (the window's centre, in the continuous
        pixel coordinates of :mod:`sklship.scenes.grid`) and
        ``probability`` (smoothed, with ``smoothing``), highest probability
        first.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if smoothing > 1:
        probabilities = neighbourhood_mean(probabilities, smoothing)
    if min_distance is None:
        min_distance = default_min_distance(window)
    above = probabilities >= threshold
    if min_neighbors:
        ring = np.ones((3, 3), dtype=np.int64)
        ring[1, 1] = 0
        above &= convolve(above.astype(np.int64), ring, mode="constant") >= min_neighbors
    candidates = np.flatnonzero(above)
    order = candidates[np.argsort(-probabilities.ravel()[candidates], kind="stable")]
    n_rows, n_cols = probabilities.shape
    grid = WindowGrid(window, stride, (n_rows - 1) * stride + window,
                      (n_cols - 1) * stride + window)
    reach = grid.steps(min_distance)
    offsets = np.arange(-reach, reach + 1)
    disk = (offsets[:, None] ** 2 + offsets[None, :] ** 2) * stride**2 <= min_distance**2
    suppressed = np.zeros((n_rows + 2 * reach, n_cols + 2 * reach), dtype=bool)
    kept = []
    for flat in order:
        i, j = divmod(int(flat), n_cols)
        if suppressed[i + reach, j + reach]:
            continue
        kept.append(flat)
        suppressed[i:i + 2 * reach + 1, j:j + 2 * reach + 1] |= disk
    kept = _one_per_ridge(np.asarray(kept, dtype=np.intp), probabilities, threshold,
                          grid.steps(RIDGE_REACH * min_distance), saddle)
    rows, cols = grid.centre(*np.divmod(kept, n_cols))
    return pd.DataFrame({
        "row": np.asarray(rows, dtype=float),
        "col": np.asarray(cols, dtype=float),
        "probability": probabilities.ravel()[kept],
    })


def _one_per_ridge(kept, probabilities, threshold, reach, saddle):
    """Drop a detection joined to a stronger one by a ridge of windows above threshold.

    A ship longer than the window lights windows all along its hull, and the
    greedy suppression can keep two of them more than ``min_distance``
    apart. A kept detection is dropped when a stronger one lies within
    ``reach`` grid steps and every window on the straight grid line between
    the two reaches ``threshold``, and ``saddle`` times the weaker one's
    probability: one hull, counted once. Two ships with water between them
    keep both, and with ``saddle``, two whose ridge dips between them.
    """
    cells = np.column_stack(np.divmod(kept, probabilities.shape[1]))

    def joined(a, b):
        """Whether cells ``a`` and ``b`` lie within reach on a line above threshold."""
        steps = int(np.abs(b - a).max())
        if steps > reach:
            return False
        line = np.rint(a + np.linspace(0.0, 1.0, steps + 1)[:, None] * (b - a)).astype(int)
        level = max(threshold, saddle * min(probabilities[tuple(a)], probabilities[tuple(b)]))
        return bool(np.all(probabilities[line[:, 0], line[:, 1]] >= level))

    survivors = []
    for k, cell in enumerate(cells):
        if not any(joined(cell, cells[s]) for s in survivors):
            survivors.append(k)
    return kept[survivors]


def neighbourhood_mean(probabilities, size):
    """Mean of the finite values over each ``size x size`` grid neighbourhood.

    Windows outside the grid and NaN (not evaluated) windows are left out of
    the mean; a NaN window stays NaN.
    """
    valid = np.isfinite(probabilities)
    total = uniform_filter(np.where(valid, probabilities, 0.0), size, mode="constant")
    # Counts of at most size**2 windows: exact in float32, half the memory of a
    # scene-sized grid (a Sentinel-2 tile's has 30 million windows).
    count = uniform_filter(valid.astype(np.float32), size, mode="constant")
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(total, count, out=total)
    total[~valid] = np.nan
    return total
