"""Copy-paste for the Sentinel-2 recipe: marked vessels pasted onto other water.

Part of ``scripts/train_sentinel2.py`` (configuration
``cnn24-neg-verified-saddle-paste``). The sen2ships COCO files outline each
vessel (a run-length mask). Each vessel of the training ports is cut out of
its port's 10 m grid by that outline and pasted, turned by a right angle or
flipped, onto the water of a training port: half of the time beside the
shore (water within 4 pixels of land), where most vessels lie at berth, and
otherwise anywhere on water (NDWI = (green - nir) / (green + nir) above 0).
A place is taken when at least 85 % of the hull lies on water and no marked
vessel is within 6 pixels. Each pasted chip is a ship chip; the same window
before pasting is a no-ship chip at the background's half weight, so that
the network sees one background with and without a vessel.
"""

import ast
import json

import numpy as np
from scipy import ndimage

#: Share of pastes placed beside the shore rather than anywhere on water.
SHORE_SHARE = 0.5
#: Smallest share of a hull's pixels that must lie on water.
WATER_SHARE = 0.85
#: Pixels of water beside land counted as shore.
SHORE_WIDTH = 4
#: Pixels kept clear around every marked vessel.
CLEARANCE = 6
#: Largest shift of the vessel from the chip's centre, per axis.
MAX_OFFSET = 3


def outline(segmentation):
    """A COCO run-length mask (uncompressed: ``size`` and column-major ``counts``, or
    that dict written as a string) as a boolean image."""
    if isinstance(segmentation, str):
        segmentation = ast.literal_eval(segmentation)
    height, width = segmentation["size"]
    runs = np.repeat(np.arange(len(segmentation["counts"])) % 2, segmentation["counts"])
    return runs.astype(bool).reshape((height, width), order="F")


def add_vessels(port, coco_file, resample):
    """Store in ``port`` its vessels' cutouts and its water, shore and clear masks.

    Parameters
    ----------
    port : dict
        A port of ``train_sentinel2.load_ports`` (its ``grid``, reflectance at 10 m).
    coco_file : path
        The port's sen2ships COCO file (outlines on its GeoTIFF's pixel grid).
    resample : callable
        Takes an (h, w, 1) float image on the file's grid to the 10 m grid.
    """
    grid = port["grid"]
    height, width = grid.shape[:2]
    cutouts, near_vessel = [], np.zeros((height, width), bool)
    for annotation in json.loads(coco_file.read_text())["annotations"]:
        mask = outline(annotation["segmentation"]).astype(np.float32)
        hull = resample(mask[..., None])[:height, :width, 0] > 0.3
        if hull.sum() < 4:
            continue
        near_vessel |= ndimage.binary_dilation(hull, iterations=CLEARANCE)
        rows, cols = ndimage.find_objects(hull.astype(int))[0]
        box = (slice(max(rows.start - 1, 0), rows.stop + 1),
               slice(max(cols.start - 1, 0), cols.stop + 1))
        alpha = np.clip(ndimage.gaussian_filter(hull.astype(np.float32), 0.5)[box] * 1.3, 0, 1)
        cutouts.append((grid[box].copy(), alpha))
    green, nir = grid[..., 1], grid[..., 3]
    water = ndimage.binary_opening((green - nir) / (green + nir + 1e-6) > 0)
    port.update(cutouts=cutouts, clear=~near_vessel, water=water,
                shore=water & ndimage.binary_dilation(~water, iterations=SHORE_WIDTH))


def pasted_chips(ports, keys, n, window, rng):
    """Up to ``n`` ship chips pasted onto the water of ``keys``, and their bare windows.

    Returns
    -------
    ships, bare : ndarray of shape (k, window, window, bands), float32
    """
    pool = [cutout for key in keys for cutout in ports[key]["cutouts"]]
    ships, bare = [], []
    for _ in range(20 * n):
        if len(ships) == n or not pool:
            break
        port = ports[keys[rng.integers(len(keys))]]
        pixels, alpha = pool[rng.integers(len(pool))]
        turn = rng.integers(4)
        pixels, alpha = np.rot90(pixels, turn), np.rot90(alpha, turn)
        if rng.random() < 0.5:
            pixels, alpha = pixels[:, ::-1], alpha[:, ::-1]
        chip = _place(port, pixels, alpha, window, rng)
        if chip is not None:
            ships.append(chip[0])
            bare.append(chip[1])
    empty = np.empty((0, window, window, 4), np.float32)
    return (np.stack(ships), np.stack(bare)) if ships else (empty, empty)


def _place(port, pixels, alpha, window, rng):
    """(pasted, bare) windows of one place drawn on ``port``, or None if it does not fit."""
    rows, cols = np.nonzero(port["shore"] if rng.random() < SHORE_SHARE else port["water"])
    if not len(rows):
        return None
    pick = rng.integers(len(rows))
    height, width = alpha.shape
    top, left = rows[pick] - height // 2, cols[pick] - width // 2
    shift = rng.integers(-MAX_OFFSET, MAX_OFFSET + 1, 2)
    corner = np.array([rows[pick], cols[pick]]) + shift - window // 2
    limit = port["water"].shape
    if (min(top, left, *corner) < 0 or top + height > limit[0] or left + width > limit[1]
            or corner[0] + window > limit[0] or corner[1] + window > limit[1]):
        return None
    hull = (slice(top, top + height), slice(left, left + width))
    if (port["water"][hull][alpha > 0.5].mean() < WATER_SHARE
            or not port["clear"][hull].all()):
        return None
    bare = port["grid"][corner[0]:corner[0] + window, corner[1]:corner[1] + window]
    pasted = bare.copy()
    # The hull in the window's pixels, cut where it passes the window's edge.
    r0, c0 = top - corner[0], left - corner[1]
    inside = (slice(max(r0, 0), min(r0 + height, window)),
              slice(max(c0, 0), min(c0 + width, window)))
    part = (slice(inside[0].start - r0, inside[0].stop - r0),
            slice(inside[1].start - c0, inside[1].stop - c0))
    pasted[inside] += alpha[part][..., None] * (pixels[part] - pasted[inside])
    return pasted, bare.copy()
