"""The footprint of a scene image that has no alpha band and no nodata value.

A PNG or JPEG cut from an orthorectified scene fills the corners outside the
satellite's footprint with black. Left as pixels, the straight edge between
black and water fires a ship detector; :func:`footprint` finds those pixels
so that a scan treats them as nodata. An 8-bit GeoTIFF without nodata, mask
or alpha band (a visual scene whose alpha band was dropped) is read window
by window: :class:`WindowFootprint` finds the outside on its decimated
overview and, in each window, takes the black pixels there as outside.
"""

import numpy as np

__all__ = ["BLACK_LEVEL", "WindowFootprint", "footprint"]

#: Largest 8-bit value of every band of a pixel outside a PNG's or JPEG's
#: footprint; JPEG compression leaves a little noise.
BLACK_LEVEL = 8


def footprint(pixels, black=BLACK_LEVEL):
    """Pixels inside the scene's footprint of an image that has no alpha or nodata.

    A PNG or JPEG cut from an orthorectified scene fills the corners outside
    the satellite's footprint with black. Those pixels are the black ones
    (every band at most ``black``: JPEG leaves a little noise) that are
    connected to the image's border; dark water inside the scene is kept.

    Parameters
    ----------
    pixels : ndarray of shape (height, width, bands)
        8-bit pixels.
    black : int, default=BLACK_LEVEL
        Largest value of a band that still counts as black.

    Returns
    -------
    valid : ndarray of shape (height, width), dtype bool, or None
        False outside the footprint; None when every pixel is inside.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.full((4, 5, 3), 90, np.uint8)
    >>> image[:, :2] = 0       # outside, along the left edge
    >>> image[2, 3] = 0        # a black pixel inside the scene
    >>> footprint(image).astype(int)
    array([[0, 0, 1, 1, 1],
           [0, 0, 1, 1, 1],
           [0, 0, 1, 1, 1],
           [0, 0, 1, 1, 1]])
    """
    from scipy import ndimage

    dark = (pixels <= black).all(axis=2)
    if not dark.any():
        return None
    labels, _ = ndimage.label(dark)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    outside = np.isin(labels, edge[edge > 0])
    return None if not outside.any() else ~outside


class WindowFootprint:
    """The footprint of a raster read window by window, from its overview.

    A pixel of a window is outside when it is black (every band at most
    ``black``) and its place on the overview is outside the overview's
    :func:`footprint` or next to it (one overview pixel more, for the
    pixels that the decimation rounds inside); dark water in the scene is
    kept.

    Parameters
    ----------
    overview : ndarray of shape (oh, ow, bands)
        The raster decimated, 8-bit.
    shape : (int, int)
        The raster's full height and width.
    black : int, default=BLACK_LEVEL
        Largest value of a band that still counts as black.

    Attributes
    ----------
    overview_valid : ndarray of shape (oh, ow), dtype bool, or None
        :func:`footprint` of the overview; None when all of it is inside.
    """

    def __init__(self, overview, shape, black=BLACK_LEVEL):
        from scipy import ndimage

        self.shape, self.black = shape, black
        self.overview_valid = footprint(overview, black)
        self._outside = None if self.overview_valid is None else ndimage.binary_dilation(
            ~self.overview_valid)

    def valid(self, pixels, window=None):
        """Pixels of a window inside the footprint, or None when all of them are.

        ``pixels``, of shape (h, w, bands), cover ``window`` (a rasterio
        Window of the full raster; None: all of it), resampled to h x w if
        they were.
        """
        if self._outside is None:
            return None
        (height, width), (oh, ow) = pixels.shape[:2], self._outside.shape
        row_off, col_off, rows, cols = (0, 0, *self.shape) if window is None else (
            window.row_off, window.col_off, window.height, window.width)
        rows = (row_off + (np.arange(height) + 0.5) * rows / height) * oh
        cols = (col_off + (np.arange(width) + 0.5) * cols / width) * ow
        rows = np.clip((rows / self.shape[0]).astype(int), 0, oh - 1)
        cols = np.clip((cols / self.shape[1]).astype(int), 0, ow - 1)
        black = (pixels <= self.black).all(axis=2)
        return ~(black & self._outside[np.ix_(rows, cols)])
