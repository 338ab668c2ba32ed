"""The eight flips and 90-degree rotations of square images, in NumPy.

Test-time augmentation averages a classifier over them, and the scan engine
applies them to whole tiles; this module imports no TensorFlow.
"""

from collections.abc import Iterator

import numpy as np

__all__ = ["symmetric_mean", "symmetric_view", "symmetric_views", "symmetries"]


def symmetries(square: bool = True) -> Iterator[tuple[bool, bool, bool]]:
    """The 7 other flips and 90-degree rotations of an image (3 if not square).

    Yields ``(transpose, flip_rows, flip_cols)``, to be applied in that
    order by :func:`symmetric_view`.
    """
    for transpose in (False, True) if square else (False,):
        for flip_rows in (False, True):
            for flip_cols in (False, True):
                if transpose or flip_rows or flip_cols:
                    yield transpose, flip_rows, flip_cols


def symmetric_view(images: np.ndarray, transpose: bool, flip_rows: bool,
                   flip_cols: bool) -> np.ndarray:
    """``images`` (..., height, width, channels) transposed, then flipped (a view)."""
    rows, cols = images.ndim - 3, images.ndim - 2
    if transpose:
        images = np.swapaxes(images, rows, cols)
    if flip_rows:
        images = np.flip(images, rows)
    if flip_cols:
        images = np.flip(images, cols)
    return images


def symmetric_views(X: np.ndarray) -> Iterator[np.ndarray]:
    """Yield copies of X in the 7 other flips and 90-degree rotations (3 if not square)."""
    for symmetry in symmetries(square=X.shape[1] == X.shape[2]):
        yield np.ascontiguousarray(symmetric_view(X, *symmetry))


def symmetric_mean(predict, X: np.ndarray, first: np.ndarray | None = None) -> np.ndarray:
    """Test-time augmentation: ``predict`` averaged over X and its symmetric views.

    Parameters
    ----------
    predict : callable
        Maps images (n, height, width, channels) to an array of n rows.
    X : ndarray
        The images.
    first : ndarray or None, default=None
        ``predict(X)`` when it is known already.

    Returns
    -------
    mean : ndarray
        The mean of ``predict`` over the 8 flips and 90-degree rotations of
        X (4 flips when not square); one view is copied at a time.
    """
    total = predict(X) if first is None else first
    n_views = 1
    for view in symmetric_views(X):
        total = total + predict(view)
        n_views += 1
    return total / n_views
