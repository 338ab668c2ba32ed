"""The window grid: where a scan's windows fall on a scene, stated once.

Pixel convention, for every table and map sklship writes: ``row`` and
``col`` are continuous pixel coordinates measured from the scene's top-left
corner. Pixel ``(r, c)`` covers ``[r, r + 1) x [c, c + 1)``, so its centre
is ``(r + 0.5, c + 0.5)``; a window's top-left corner is a whole pixel and
its centre is that corner plus ``window / 2``. Map coordinates are the
scene's affine transform applied to ``(col, row)`` as they are (rasterio's
``offset="ul"`` on continuous coordinates), so a detection lies on the map
exactly where it lies on the image. Scanning, suppression, mining, displays
and GeoJSON all ask a :class:`WindowGrid`, so they agree.

A scene whose ground resolution differs from the model's is scanned on a
resampled grid: ``scale`` is the number of scene pixels per grid pixel
(model metres per pixel over the scene's), so grid position ``(r, c)`` is
scene position ``(r * scale, c * scale)`` (:meth:`WindowGrid.to_scene`): both
are continuous coordinates from the same top-left corner.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["WindowGrid"]


@dataclass(frozen=True)
class WindowGrid:
    """Square windows ``stride`` pixels apart over a ``height x width`` scene.

    Window ``(i, j)`` has its top-left corner at pixel
    ``(i * stride, j * stride)``; only windows wholly inside the scene exist.

    Parameters
    ----------
    window : int
        Side of the windows, in pixels.
    stride : int
        Step between neighbouring windows, in pixels.
    height, width : int
        The scene's size in grid pixels (resampled to the model's resolution).
    scale : float, default=1.0
        Scene pixels per grid pixel (see the module); 1 when the scene is at
        the model's resolution.

    Examples
    --------
    >>> grid = WindowGrid(window=80, stride=8, height=200, width=100)
    >>> grid.shape
    (16, 3)
    >>> grid.centre(1, 2)
    (48.0, 56.0)
    >>> grid.nearest(48.0, 56.0)
    (1, 2)
    """

    window: int
    stride: int
    height: int
    width: int
    scale: float = 1.0

    def __post_init__(self):
        for name in ("window", "stride", "height", "width"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}.")
        if not self.scale > 0:
            raise ValueError(f"scale must be positive; got {self.scale!r}.")
        if self.height < self.window or self.width < self.window:
            raise ValueError(
                f"a {self.height}x{self.width} scene is smaller than the "
                f"{self.window}x{self.window} window."
            )

    @staticmethod
    def resampled_size(size, scale):
        """Grid pixels that ``size`` scene pixels make at ``scale`` scene pixels each."""
        return max(1, int(round(size / scale)))

    def to_scene(self, rows, cols):
        """Scene (row, col) of continuous grid positions (see the module)."""
        return (np.multiply(rows, self.scale, dtype=float),
                np.multiply(cols, self.scale, dtype=float))

    @staticmethod
    def count(size, window, stride):
        """Windows of side ``window``, ``stride`` apart, that fit in ``size`` pixels."""
        return (size - window) // stride + 1

    @property
    def shape(self):
        """(rows, cols) of windows."""
        return (self.count(self.height, self.window, self.stride),
                self.count(self.width, self.window, self.stride))

    def top_left(self, i, j):
        """Pixel (row, col) of the top-left corner of window(s) ``(i, j)``."""
        return np.multiply(i, self.stride), np.multiply(j, self.stride)

    def centre(self, i, j):
        """Continuous (row, col) of the centre of window(s) ``(i, j)``."""
        top, left = self.top_left(i, j)
        half = self.window / 2
        if np.ndim(top) == 0:
            return float(top + half), float(left + half)
        return top + half, left + half

    def nearest(self, row, col):
        """Grid index (i, j) of the window whose centre is nearest to ``(row, col)``.

        Positions off the grid are clipped to its border.
        """
        half = self.window / 2
        n_rows, n_cols = self.shape
        i = np.clip(np.rint((np.asarray(row) - half) / self.stride), 0, n_rows - 1)
        j = np.clip(np.rint((np.asarray(col) - half) / self.stride), 0, n_cols - 1)
        if np.ndim(i) == 0:
            return int(i), int(j)
        return i.astype(np.intp), j.astype(np.intp)

    def window_pixels(self, i, j):
        """The (rows, cols) slices of the scene that window ``(i, j)`` covers."""
        top, left = (int(v) for v in self.top_left(i, j))
        return slice(top, top + self.window), slice(left, left + self.window)

    def steps(self, distance):
        """Grid steps within ``distance`` pixels (for suppression radii)."""
        return int(np.floor(distance / self.stride))

    def tiles(self, tile_size, within=None):
        """Blocks of windows to evaluate together, each read as one tile.

        A tile holds up to ``per_tile`` windows a side, with ``per_tile`` the
        windows that fit in ``max(tile_size, window)`` pixels; consecutive
        tiles start ``per_tile * stride`` pixels apart and overlap by
        ``window - stride``, so every window lies wholly in one tile.

        Parameters
        ----------
        tile_size : int
            Approximate side of a tile in pixels.
        within : (slice, slice) or None, default=None
            Grid rows and columns to cover; None covers the whole grid.

        Yields
        ------
        block : tuple of slice
            ``(grid_rows, grid_cols, pixel_rows, pixel_cols)``: the windows
            of the block and the pixels they cover.
        """
        rows_in, cols_in = within or (slice(0, self.shape[0]), slice(0, self.shape[1]))
        per_tile = max(1, self.count(max(tile_size, self.window), self.window, self.stride))
        for i in range(rows_in.start, rows_in.stop, per_tile):
            for j in range(cols_in.start, cols_in.stop, per_tile):
                rows, cols = min(per_tile, rows_in.stop - i), min(per_tile, cols_in.stop - j)
                top, left = i * self.stride, j * self.stride
                yield (slice(i, i + rows), slice(j, j + cols),
                       slice(top, (i + rows - 1) * self.stride + self.window),
                       slice(left, (j + cols - 1) * self.stride + self.window))

    def window_means(self, mask):
        """Mean of a 2-D ``mask`` (the size of a tile) over each of its windows.

        Computed from a summed-area table, so it costs one pass over ``mask``.
        """
        table = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), dtype=np.int64)
        np.cumsum(np.cumsum(mask, axis=0), axis=1, out=table[1:, 1:])
        rows = np.arange(0, mask.shape[0] - self.window + 1, self.stride)
        cols = np.arange(0, mask.shape[1] - self.window + 1, self.stride)
        w = self.window
        sums = (table[np.ix_(rows + w, cols + w)] - table[np.ix_(rows, cols + w)]
                - table[np.ix_(rows + w, cols)] + table[np.ix_(rows, cols)])
        return sums / w**2

    @staticmethod
    def to_map(rows, cols, transform):
        """Map coordinates (x, y) of continuous pixel positions, by ``transform``.

        Parameters
        ----------
        rows, cols : array-like of float
            Continuous pixel coordinates (see the module's convention).
        transform : affine.Affine
            The scene's pixel-to-CRS transform.

        Returns
        -------
        x, y : ndarray of float
        """
        from rasterio.transform import xy

        rows, cols = np.asarray(rows, dtype=float), np.asarray(cols, dtype=float)
        if not rows.size:
            return np.empty(0), np.empty(0)
        x, y = xy(transform, rows, cols, offset="ul")
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)
