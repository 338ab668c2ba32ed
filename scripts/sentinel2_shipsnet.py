"""ShipsNet's chips as 10 m Sentinel-2 reflectance, for ``scripts/train_sentinel2.py``.

Part of the configuration ``cnn24-neg-verified-saddle-shipsnet`` (red, green
and blue only). ShipsNet (CC BY-SA 4.0, Planet Labs / ShipsNet) holds 3,196
PlanetScope chips of 80 x 80 pixels at 3 m (240 m): at 10 m they are 24 x 24,
the window of the Sentinel-2 configurations, with the ship, if any, at the
centre. Its ships are mostly tankers and bulk carriers at anchor, the kind the
8 sen2ships ports have few of.

The chips are 8-bit visual pictures, not reflectance. Each band is mapped
linearly so that two levels meet the training ports' own: the water of
ShipsNet's ship chips (the median of their top and bottom rows) goes to the
median reflectance of the ports' water (NDWI above 0.2), and the hulls (the
median over ship chips of the 90th percentile of their central 10 x 10
pixels) to the median of the ports' marked vessels (the brightest pixel of
the 3 x 3 around each big mark). Values below 0 are clipped. The chips are
then shrunk to 10 m by averaging (a box filter), as coarser pixels would see
them. Ship chips go in at weight 1, no-ship chips at the background weight.
"""

import numpy as np

from sklship.scenes.resolution import SHIPSNET_RESOLUTION

#: Rows at the top and bottom of a ship chip taken as its water.
WATER_ROWS = 6
#: Side of the centre of a ship chip whose 90th percentile is its hull.
HULL_SIDE = 10
#: NDWI above which a port's pixel counts as water.
WATER_NDWI = 0.2


def port_levels(ports, keys):
    """(water, hull) reflectance of red, green and blue over the ports ``keys``.

    Each port's ``water`` (median red, green and blue where NDWI is above
    :data:`WATER_NDWI`) is :func:`train_sentinel2.load_ports`'s, from all four
    bands whatever bands the model takes.
    """
    hulls = []
    for key in keys:
        grid = ports[key]["grid"]
        for col, row in ports[key]["marks"]["big"]:
            r, c = int(row), int(col)
            patch = grid[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2, :3].reshape(-1, 3)
            hulls.append(patch[np.argmax(patch.sum(axis=1))])
    return np.median([ports[key]["water"] for key in keys], axis=0), np.median(hulls, axis=0)


def water_level(reflectance):
    """Median red, green and blue of a port's water: (height, width, 4) reflectance."""
    green, nir = reflectance[..., 1], reflectance[..., 3]
    ndwi = (green - nir) / (green + nir + 1e-6)
    return np.median(reflectance[ndwi > WATER_NDWI][:, :3], axis=0)


def shipsnet_levels(X, y):
    """(water, hull) 8-bit levels of red, green and blue in ShipsNet's ship chips."""
    ships = X[y == 1].astype(np.float32)
    rows = np.concatenate([ships[:, :WATER_ROWS], ships[:, -WATER_ROWS:]], axis=1)
    start = (ships.shape[1] - HULL_SIDE) // 2
    centre = ships[:, start:start + HULL_SIDE, start:start + HULL_SIDE].reshape(
        len(ships), -1, 3)
    return (np.median(rows.reshape(-1, 3), axis=0),
            np.median(np.percentile(centre, 90, axis=1), axis=0))


def shipsnet_chips(X, y, levels, window, resolution):
    """ShipsNet's chips as reflectance chips of ``window`` pixels at ``resolution``.

    Parameters
    ----------
    X, y : ndarray
        ShipsNet's chips (n, 80, 80, 3) uint8 and labels.
    levels : (ndarray, ndarray)
        The training ports' water and hull reflectance (:func:`port_levels`).
    window : int
        The model's window; it must be what 80 pixels at 3 m make at
        ``resolution``.
    resolution : float
        The model's metres per pixel.

    Returns
    -------
    chips : ndarray of shape (n, window, window, 3), float32
    """
    from PIL import Image

    side = round(X.shape[1] * SHIPSNET_RESOLUTION / resolution)
    if side != window:
        raise ValueError(f"ShipsNet's chips make {side} pixels at {resolution:g} m, "
                         f"not the window of {window}.")
    (water, hull), (dark, bright) = levels, shipsnet_levels(X, y)
    gain = (hull - water) / (bright - dark)
    reflectance = np.clip(water + (X.astype(np.float32) - dark) * gain, 0, None)
    return np.stack([np.stack([np.asarray(Image.fromarray(chip[..., band]).resize(
        (window, window), Image.BOX)) for band in range(3)], axis=-1)
        for chip in reflectance.astype(np.float32)]).astype(np.float32)
