"""Copy-paste: ships cut out of labelled chips and pasted onto other backgrounds.

ShipsNet's ships lie at anchor on the dark water of two Californian bays.
Ships elsewhere lie on green or hazy water, beside quays and container
yards. Cutting each ship out of its chip (:func:`ship_cutouts`) and pasting
it, turned and resized, onto the water of other chips or scenes
(:func:`paste_ships`) teaches a network the ship itself rather than the
water around it: the same background is seen with and without a ship.
"""

import numpy as np
from scipy import ndimage
from sklearn.utils import check_random_state

__all__ = ["paste_ships", "ship_cutouts"]

#: Largest difference from the water's colour (8-bit, any band) of a pixel
#: still counted as water when cutting a ship out.
WATER_TOLERANCE = 30


def ship_cutouts(images, *, tolerance=WATER_TOLERANCE, min_pixels=150, max_fraction=0.4):
    """Cut the ship out of chips centred on one ship on open water.

    The water's colour is the median of the chip's border pixels; the ship
    is the connected region of pixels that differ from it by more than
    ``tolerance`` in some band nearest the chip's centre (after a 1-pixel
    opening; holes filled, grown by 2 pixels to keep its outline). Chips
    whose region touches the border (ships cut by the chip, ships at berth)
    or is smaller than ``min_pixels`` or larger than ``max_fraction`` of the
    chip are left out.

    Parameters
    ----------
    images : ndarray of shape (n, side, side, channels), uint8
        Chips each centred on one ship.
    tolerance : float, default=WATER_TOLERANCE
        See above.
    min_pixels : int, default=150
        Smallest ship kept, in pixels.
    max_fraction : float, default=0.4
        Largest ship kept, as a share of the chip.

    Returns
    -------
    cutouts : list of (pixels, mask)
        Each kept ship's chip and its boolean mask, cropped to the mask's
        bounding box.
    """
    images = np.asarray(images)
    side = images.shape[1]
    cutouts = []
    for image in images:
        pixels = image.astype(np.float32)
        border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
        differs = np.abs(pixels - np.median(border, axis=0)).max(axis=2) > tolerance
        labels, n = ndimage.label(ndimage.binary_opening(differs))
        if n == 0:
            continue
        centres = ndimage.center_of_mass(differs, labels, range(1, n + 1))
        sizes = ndimage.sum(differs, labels, range(1, n + 1))
        # Nearest the centre, larger regions slightly preferred.
        cost = [np.hypot(r - side / 2, c - side / 2) - 0.02 * size
                for (r, c), size in zip(centres, sizes, strict=True)]
        mask = ndimage.binary_fill_holes(labels == 1 + int(np.argmin(cost)))
        mask = ndimage.binary_dilation(mask, iterations=2)
        edge = mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()
        if edge or not min_pixels <= mask.sum() <= max_fraction * side * side:
            continue
        rows, cols = ndimage.find_objects(mask.astype(int))[0]
        cutouts.append((image[rows, cols], mask[rows, cols]))
    return cutouts


def paste_ships(cutouts, backgrounds, n_samples, *, scale=(0.9, 1.6), max_offset=6,
                water_share=0.7, tries=10, random_state=None):
    """Chips with a ship pasted onto a background's water.

    Each sample draws a background and a ship, turns the ship by one of the
    eight flips and right-angle rotations, resizes it by a factor drawn from
    ``scale`` and pastes it with a feathered edge so that its centre is at
    most ``max_offset`` pixels from the chip's centre, at a place where at
    least ``water_share`` of it covers water. Water is taken to be the
    background's pixels close to its darkest smooth colour: a ship is put
    on the water beside a quay, not on the quay. Backgrounds with no such
    place after ``tries`` draws are skipped, so fewer than ``n_samples``
    chips may come back.

    Parameters
    ----------
    cutouts : list of (pixels, mask)
        From :func:`ship_cutouts`.
    backgrounds : ndarray of shape (m, side, side, channels), uint8
        Chips without a ship.
    n_samples : int
        Chips to make.
    scale : (float, float), default=(0.9, 1.6)
        Range of the resizing factor; above 1 the ships grow towards the
        longer hulls of container ships and tankers elsewhere.
    max_offset : int, default=6
        Largest distance of the ship's centre from the chip's, per axis.
    water_share : float, default=0.7
        Smallest share of the ship's pixels that must fall on water.
    tries : int, default=10
        Placements tried per sample.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Returns
    -------
    images : ndarray of shape (k, side, side, channels), uint8
        The chips, k <= ``n_samples``.
    """
    from PIL import Image

    rng = check_random_state(random_state)
    backgrounds = np.asarray(backgrounds)
    side = backgrounds.shape[1]
    made = []
    for _ in range(n_samples):
        background = backgrounds[rng.randint(len(backgrounds))]
        pixels, mask = cutouts[rng.randint(len(cutouts))]
        k, flip = rng.randint(4), rng.rand() < 0.5
        pixels, mask = np.rot90(pixels, k), np.rot90(mask, k)
        if flip:
            pixels, mask = pixels[:, ::-1], mask[:, ::-1]
        factor = rng.uniform(*scale)
        height = min(side, max(2, round(pixels.shape[0] * factor)))
        width = min(side, max(2, round(pixels.shape[1] * factor)))
        pixels = np.asarray(Image.fromarray(np.ascontiguousarray(pixels)).resize(
            (width, height), Image.BILINEAR), dtype=np.float32)
        alpha = np.asarray(Image.fromarray(np.ascontiguousarray(mask).astype(np.uint8) * 255)
                           .resize((width, height), Image.BILINEAR), dtype=np.float32) / 255
        alpha = ndimage.gaussian_filter(alpha, 0.7)
        water = _water(background)
        for _ in range(tries):
            top = side // 2 - height // 2 + rng.randint(-max_offset, max_offset + 1)
            left = side // 2 - width // 2 + rng.randint(-max_offset, max_offset + 1)
            top, left = np.clip(top, 0, side - height), np.clip(left, 0, side - width)
            under = water[top:top + height, left:left + width]
            if (under * alpha).sum() >= water_share * alpha.sum():
                chip = background.astype(np.float32)
                box = chip[top:top + height, left:left + width]
                box += alpha[..., None] * (pixels - box)
                made.append(np.clip(np.rint(chip), 0, 255).astype(np.uint8))
                break
    return np.stack(made) if made else np.empty((0, *backgrounds.shape[1:]), np.uint8)


def _water(image):
    """Boolean mask of the pixels that look like the chip's water.

    Water is smooth and dark: pixels whose 5x5 neighbourhood varies little
    (standard deviation of brightness under 6) and whose brightness lies
    within 25 of the median of such smooth pixels among the darker half.
    """
    grey = image.astype(np.float32).mean(axis=2)
    mean = ndimage.uniform_filter(grey, 5)
    spread = np.sqrt(np.maximum(ndimage.uniform_filter(grey ** 2, 5) - mean ** 2, 0))
    smooth = spread < 6
    dark = grey <= np.median(grey)
    if not (smooth & dark).any():
        return np.zeros(grey.shape, bool)
    level = np.median(grey[smooth & dark])
    return smooth & (np.abs(grey - level) < 25)
