"""Synthetic scenes: water with ships at known positions, to scan and score.
"""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from .._validation import Interval, validate_params
from .synthetic_chips import _draw_blobs, _draw_hulls, _draw_scenes

__all__ = ["make_scene"]

# --------------------------------------------------------------------------
# make_scene
# --------------------------------------------------------------------------


@validate_params(
    {
        "height": [Interval(Integral, 1, None, closed="left")],
        "width": [Interval(Integral, 1, None, closed="left")],
        "n_ships": [Interval(Integral, 0, None, closed="left")],
        "chip_size": [Interval(Integral, 16, None, closed="left")],
        "chips": ["array-like", None],
        "n_distractors": [Interval(Integral, 0, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_scene(height=1000, width=1000, *, n_ships=10, chip_size=80, chips=None,
               n_distractors=0, noise=0.04, random_state=None):
    """Draw a synthetic scene of water with ships at known positions.

    The water has the colour, brightness and sea state of one
    :func:`make_ships` scene; ships are :func:`make_ships` hulls
    (or the given real ship chips) placed so that no two are closer than
    ``chip_size`` pixels and none is cut by the border.

    Parameters
    ----------
    height, width : int, default=1000
        Scene size in pixels, at least ``chip_size``.
    n_ships : int, default=10
        Number of ships.
    chip_size : int, default=80
        Size of the chips the hulls are drawn in (hull length scales with it,
        as in ``make_ships(image_size=chip_size)``); with ``chips``, their size.
    chips : array-like of shape (n, chip_size, chip_size, 3) or None, default=None
        Real ship chips (uint8) to paste instead of drawn hulls, picked at
        random (with replacement when ``n_ships > n``); their position is the
        chip centre. Their border is feathered into the water over 8 pixels.
    n_distractors : int, default=0
        Hazy bright patches (glint, cloud, sandbar; the ``make_ships``
        distractors) placed among the ships, not overlapping them.
    noise : float, default=0.04
        Standard deviation of the sensor noise, as in ``make_ships``.
    random_state : int, RandomState instance or None, default=None
        Determines all random draws.

    Returns
    -------
    scene : ndarray of shape (height, width, 3), dtype uint8
        The image.
    ships : pandas.DataFrame
        One row per ship: ``row``, ``col`` (centre, in pixels, float; pixel
        ``k`` covers [k, k + 1)).

    Examples
    --------
    >>> from sklship.datasets import make_scene
    >>> scene, ships = make_scene(200, 300, n_ships=3, chip_size=32, random_state=0)
    >>> scene.shape, scene.dtype, len(ships)
    ((200, 300, 3), dtype('uint8'), 3)
    """
    if chips is not None:
        chips = np.asarray(chips)
        if chips.ndim != 4 or chips.shape[3] != 3 or chips.shape[1] != chips.shape[2] \
                or len(chips) == 0:
            raise ValueError(
                "chips must be square RGB chips of shape (n, size, size, 3); got "
                f"shape {chips.shape}."
            )
        chip_size = chips.shape[1]
        if chip_size < 16:
            raise ValueError(f"chips must be at least 16 pixels a side; got {chip_size}.")
    if height < chip_size or width < chip_size:
        raise ValueError(
            f"the scene ({height}x{width}) must be at least chip_size={chip_size} "
            "pixels a side."
        )
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    rng = np.random.default_rng(seed)

    look = _draw_scenes(1, rng)
    corners = _place(n_ships + n_distractors, height, width, chip_size, rng)
    cells = (max(2, round(4 * height / chip_size)), max(2, round(4 * width / chip_size)))
    image = _water(look.water[0], look.sea_state[0], height, width, cells, rng)

    ship_corners, distractor_corners = corners[:n_ships], corners[n_ships:]
    patches = _patches(image, ship_corners, chip_size)
    if chips is None:
        patches, centres = _draw_hulls(patches, chip_size, rng, cut_by_border=False,
                                          return_centres=True)
    else:
        picked = chips[rng.integers(len(chips), size=n_ships)]
        patches = _feathered(patches, picked, chip_size)
        centres = np.full((n_ships, 2), chip_size / 2)
    _paste(image, ship_corners, patches)
    if n_distractors:
        patches = _patches(image, distractor_corners, chip_size)
        _paste(image, distractor_corners, _draw_blobs(patches, chip_size, rng))

    image *= np.float32(look.brightness[0])
    image += np.float32(noise * 12**0.5) * (rng.random(image.shape, np.float32) - 0.5)
    np.clip(image, 0, 1, out=image)
    image *= 255
    image += 0.5
    scene = image.astype(np.uint8).transpose(1, 2, 0)
    # Hull centres are (x, y) within the chip: x is the column, y the row.
    ships = pd.DataFrame({
        "row": ship_corners[:, 0] + centres[:, 1],
        "col": ship_corners[:, 1] + centres[:, 0],
    })
    return scene, ships


def _place(n, height, width, size, rng, max_tries=200):
    """Top-left corners (n, 2) of non-overlapping size x size squares."""
    corners = np.empty((n, 2), dtype=np.int64)
    for k in range(n):
        for _ in range(max_tries):
            corner = rng.integers(0, [height - size + 1, width - size + 1])
            if np.all(np.abs(corners[:k] - corner).max(axis=1) >= size):
                corners[k] = corner
                break
        else:
            raise ValueError(
                f"cannot place {n} non-overlapping chips of {size} pixels in a "
                f"{height}x{width} scene; use fewer ships or a larger scene."
            )
    return corners


def _water(colour, sea_state, height, width, cells, rng):
    """Float32 water (3, height, width): the scene colour, smoothly shaded."""
    def weights(size, n_cells):
        knots = np.linspace(0, n_cells - 1, size, dtype=np.float32)
        return np.maximum(0, 1 - np.abs(knots[:, None] - np.arange(n_cells)))

    grid = rng.standard_normal(cells, dtype=np.float32)
    shade = 1 + np.float32(sea_state) * (weights(height, cells[0]) @ grid
                                         @ weights(width, cells[1]).T)
    return colour.astype(np.float32)[:, None, None] * shade[None]


def _patches(image, corners, size):
    """Copies (n, 3, size, size) of the image squares at ``corners``."""
    return np.stack([image[:, r:r + size, c:c + size] for r, c in corners]) \
        if len(corners) else np.empty((0, 3, size, size), np.float32)


def _paste(image, corners, patches):
    for (r, c), patch in zip(corners, patches, strict=True):
        image[:, r:r + patch.shape[1], c:c + patch.shape[2]] = patch


def _feathered(water, chips, size, feather=8):
    """Real chips (n, size, size, 3) blended into water patches at their border."""
    ramp = np.minimum(np.arange(size) + 0.5, size - np.arange(size) - 0.5) / feather
    alpha = np.clip(np.minimum(ramp[:, None], ramp[None, :]), 0, 1).astype(np.float32)
    paint = chips.transpose(0, 3, 1, 2).astype(np.float32) / 255
    return water + alpha * (paint - water)
