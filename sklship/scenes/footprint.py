"""The footprint of a scene image that has no alpha band and no nodata value.

A PNG or JPEG cut from an orthorectified scene fills the corners outside the
satellite's footprint with black. Left as pixels, the straight edge between
black and water fires a ship detector; :func:`footprint` finds those pixels
so that a scan treats them as nodata.
"""

import numpy as np

__all__ = ["BLACK_LEVEL", "footprint"]

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
