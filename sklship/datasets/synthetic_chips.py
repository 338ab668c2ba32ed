"""Synthetic chips of ShipsNet's form, for demos, documentation and tests.

:func:`make_ships` draws water and land textures with bright elongated hulls
at random angles, partial ships and bright distractors among the negatives,
and returns the same :class:`~sklearn.utils.Bunch` as
:func:`~sklship.datasets.load_shipsnet`.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch, check_random_state

from .._validation import Interval, validate_params
from .shipsnet import CHIP_SIZE, _chip_filename, _make_bunch, _metadata

__all__ = ["make_ships"]

# --------------------------------------------------------------------------
# make_ships
# --------------------------------------------------------------------------

# Kinds of synthetic chip: ship chips, then the three kinds of no-ship chip.
_SHIP, _PLAIN, _PARTIAL, _DISTRACTOR = range(4)
_CHUNK_SIZE = 256  # chips rendered at once; bounds the float32 working memory


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "ship_fraction": [Interval(Real, 0, 1, closed="both")],
        "image_size": [Interval(Integral, 16, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "n_scenes": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "as_frame": ["boolean"],
        "return_X_y": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def make_ships(
    n_samples=1000,
    *,
    ship_fraction=0.25,
    image_size=80,
    noise=0.04,
    n_scenes=10,
    random_state=None,
    as_frame=False,
    return_X_y=False,
):
    """Draw synthetic satellite chips, with or without a ship.

    The chips have the form of :func:`load_shipsnet`'s: RGB uint8 images with
    scene ids, coordinates around San Francisco Bay and file names in the
    ShipsNet pattern. Ship chips hold one whole bright elongated hull at a
    random angle near the centre, some with a dark deck line or a wake. As in
    ShipsNet, the no-ship chips are in roughly equal thirds: plain water or
    land, partial ships cut by the chip border, and bright distractors (hazy
    bright patches near the centre, straight coastlines, small bright dots).
    Each scene has its own water and land colour, brightness and sea state,
    so group cross-validation by ``scene_id`` is meaningful.

    The task is learnable but not trivial: the hazy patches add as much light
    near the centre as a hull does, so a linear model on pixels confuses
    them with ships, while a small CNN tells the hull's sharp rim apart.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of chips.

    ship_fraction : float in [0, 1], default=0.25
        Fraction of ship chips; exactly ``round(n_samples * ship_fraction)``
        chips are ships, in shuffled order.

    image_size : int, default=80
        Chip height and width in pixels, at least 16.

    noise : float, default=0.04
        Standard deviation of the per-pixel (uniform) sensor noise, in units
        of the full intensity range (0.04 is about 10 grey levels).

    n_scenes : int, default=10
        Number of fake scenes (``synthetic_000``, ``synthetic_001``, ...)
        the chips are drawn from.

    random_state : int, RandomState instance or None, default=None
        Determines all random draws. Pass an int for reproducible output.

    as_frame : bool, default=False
        If True, the result also holds ``frame``, a pandas DataFrame of the
        chip metadata (filename, scene_id, longitude, latitude, target).

    return_X_y : bool, default=False
        If True, return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        The same fields as :func:`load_shipsnet`: ``images`` of shape
        (n_samples, image_size, image_size, 3) and dtype uint8, ``target``
        (int64, 1 for a ship), ``scene_id``, ``longitude``, ``latitude``,
        ``filenames``, ``target_names``, ``resolution`` (3.0 m per pixel,
        drawn to ShipsNet's scale), ``frame`` (None unless
        ``as_frame=True``) and ``DESCR``.

    (images, target) : tuple of ndarray
        If ``return_X_y`` is True.

    See Also
    --------
    load_shipsnet : The real ShipsNet chips.

    Examples
    --------
    >>> from sklship.datasets import make_ships
    >>> ships = make_ships(200, image_size=24, random_state=0)
    >>> ships.images.shape, ships.images.dtype, int(ships.target.sum())
    ((200, 24, 24, 3), dtype('uint8'), 50)
    """
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    rng = np.random.default_rng(seed)

    n_ships = round(n_samples * ship_fraction)
    kinds = _draw_kinds(n_samples, n_ships, rng)
    scenes = _draw_scenes(n_scenes, rng)
    scene_index = rng.integers(n_scenes, size=n_samples)
    images = np.empty((n_samples, image_size, image_size, 3), dtype=np.uint8)
    for start in range(0, n_samples, _CHUNK_SIZE):
        chunk = slice(start, start + _CHUNK_SIZE)
        images[chunk] = _render_chips(
            kinds[chunk], scenes, scene_index[chunk], image_size, noise, rng
        )

    target = (kinds == _SHIP).astype(np.int64)
    scene_id = np.array([f"synthetic_{i:03d}" for i in range(n_scenes)])[scene_index]
    longitude = scenes.longitude[scene_index] + rng.uniform(-0.02, 0.02, n_samples)
    latitude = scenes.latitude[scene_index] + rng.uniform(-0.02, 0.02, n_samples)
    names = [_chip_filename(*row)
             for row in zip(target, scene_id, longitude, latitude, strict=True)]
    metadata = _metadata(names, target, scene_id, longitude, latitude)
    descr = (
        f"Synthetic ship chips from sklship.datasets.make_ships: {n_samples} RGB "
        f"chips of {image_size}x{image_size} pixels, {n_ships} ships and "
        f"{n_samples - n_ships} no-ship, from {n_scenes} fake scenes. Ships are "
        "bright elongated hulls near the centre; no-ship chips are in equal "
        "thirds plain water or land, partial ships cut by the border, and bright "
        "distractors (hazy patches, coastlines, dots). Not real imagery."
    )
    return _make_bunch(images, metadata, descr, as_frame, return_X_y)


def _draw_kinds(n_samples, n_ships, rng):
    """Shuffled chip kinds: n_ships ships, the rest split in three no-ship kinds."""
    n_negatives = n_samples - n_ships
    thirds = [n_negatives // 3 + (i < n_negatives % 3) for i in range(3)]
    counts = [n_ships, *thirds]
    return rng.permutation(np.repeat([_SHIP, _PLAIN, _PARTIAL, _DISTRACTOR], counts))


def _draw_scenes(n_scenes, rng):
    """Per-scene colours, light, sea state and location."""
    water = rng.uniform(0.12, 0.30, (n_scenes, 1))  # grey, then a green-blue tint
    water = water + rng.uniform([-0.06, 0.0, -0.04], [0.0, 0.06, 0.08], (n_scenes, 3))
    land = rng.uniform(0.30, 0.50, (n_scenes, 1))  # grey, then a brown tint
    land = land + rng.uniform([0.0, -0.03, -0.10], [0.10, 0.05, 0.0], (n_scenes, 3))
    return Bunch(
        water=water,
        land=land,
        brightness=rng.uniform(0.75, 1.35, n_scenes),
        sea_state=rng.uniform(0.05, 0.30, n_scenes),
        longitude=rng.uniform(-122.50, -122.20, n_scenes),
        latitude=rng.uniform(37.50, 37.90, n_scenes),
    )


def _render_chips(kinds, scenes, scene_index, size, noise, rng):
    """Render chips of the given kinds as a uint8 array (n, size, size, 3).

    The work is done channels-first, (n, 3, size, size), where numpy
    broadcasts over whole rows instead of 3-value pixels (10x faster).
    """
    water = scenes.water[scene_index]
    images = _texture(water, scenes.sea_state[scene_index], 4, size, rng)
    on_land = (kinds == _PLAIN) & (rng.random(len(kinds)) < 0.5)
    images[on_land] = _land(scenes.land[scene_index[on_land]], size, rng)
    ships, partial = kinds == _SHIP, kinds == _PARTIAL
    images[ships] = _draw_hulls(images[ships], size, rng, cut_by_border=False)
    images[partial] = _draw_hulls(images[partial], size, rng, cut_by_border=True)
    distractor = kinds == _DISTRACTOR
    land = scenes.land[scene_index[distractor]]
    images[distractor] = _draw_distractors(images[distractor], land, size, rng)

    images *= scenes.brightness[scene_index, None, None, None].astype(np.float32)
    # Uniform noise of standard deviation `noise`: 4x faster to draw than Gaussian.
    images += np.float32(noise * 12**0.5) * (rng.random(images.shape, np.float32) - 0.5)
    np.clip(images, 0, 1, out=images)
    images *= 255
    images += 0.5  # round to nearest when truncating to uint8
    return images.astype(np.uint8).transpose(0, 2, 3, 1)


def _smooth_noise(n, size, cells, rng):
    """Smooth random fields (n, size, size): a cells x cells grid, upsampled."""
    knots = np.linspace(0, cells - 1, size, dtype=np.float32)
    weights = np.maximum(0, 1 - np.abs(knots[:, None] - np.arange(cells)))
    grid = rng.standard_normal((n, cells, cells), dtype=np.float32)
    return weights @ grid @ weights.T


def _texture(colour, roughness, cells, size, rng):
    """Float32 chips (n, 3, size, size) of the given (n, 3) colours, shaded."""
    shade = 1 + np.reshape(roughness, (-1, 1, 1)) * _smooth_noise(
        len(colour), size, cells, rng
    )
    return colour.astype(np.float32)[:, :, None, None] * shade[:, None]


def _land(colour, size, rng):
    """Land cover: coarse patches times finer detail."""
    coarse = _texture(colour, 0.3, 6, size, rng)
    return coarse * (1 + 0.2 * _smooth_noise(len(colour), size, 16, rng))[:, None]


def _bright_colours(n, rng):
    """Paint shaped (n, 3, 1, 1): light grey to white, one in four rust red."""
    grey = rng.uniform(0.65, 1.0, (n, 1)) + rng.normal(0, 0.04, (n, 3))
    rust = (rng.random((n, 1)) < 0.25) * np.array([0.0, -0.2, -0.25])
    return np.clip(grey + rust, 0, 1).astype(np.float32)[:, :, None, None]


def _blend(images, alpha, paint):
    """Paint over images with opacity alpha (n, size, size)."""
    return images + alpha[:, None] * (paint - images)


def _rotated_coordinates(centre, angle, size):
    """Pixel coordinates (n, size, size) along and across an axis.

    The axis goes through ``centre`` (n, 2), as (x, y), at ``angle`` (n,)
    radians from the x axis.
    """
    pixel = np.arange(size, dtype=np.float32) + 0.5
    centre = centre.astype(np.float32)
    dx = pixel[None, None, :] - centre[:, 0, None, None]
    dy = pixel[None, :, None] - centre[:, 1, None, None]
    cos = np.cos(angle).astype(np.float32)[:, None, None]
    sin = np.sin(angle).astype(np.float32)[:, None, None]
    return dx * cos + dy * sin, dy * cos - dx * sin


def _hull_alpha(along, across, half_length, half_width, power, edge=1):
    """Opacity of a superellipse (power 2 = ellipse, larger = boxier).

    The opacity ramps from 0 to 1 over about ``edge`` pixels across the rim.
    """
    half_length, half_width, power, edge = (
        np.reshape(value, (-1, 1, 1)).astype(np.float32)
        for value in (half_length, half_width, power, edge)
    )
    radius = (
        np.abs(along / half_length) ** power + np.abs(across / half_width) ** power
    ) ** (1 / power)
    return np.clip((1 - radius) * half_width / edge + 0.5, 0, 1)


def _centred(n, size, rng):
    """Centres within 12% of the chip size from the chip centre, shaped (n, 2)."""
    return size / 2 + rng.uniform(-0.12, 0.12, (n, 2)) * size


def _across_border(half_length, size, rng):
    """Centres and angles of hulls that a chip border cuts.

    The centre lies at most half a hull length inside a random border and
    the hull points at that border (within 45 degrees), so a part of it is
    always outside the chip.
    """
    n = len(half_length)
    side = rng.integers(4, size=n)  # left, right, top, bottom
    depth = rng.uniform(0, 0.5, n) * half_length
    across = np.where(side % 2 == 0, depth, size - depth)
    along = rng.uniform(0.2, 0.8, n) * size
    vertical_border = (side < 2)[:, None]
    centre = np.where(
        vertical_border, np.stack([across, along], 1), np.stack([along, across], 1)
    )
    angle = np.where(side < 2, 0, np.pi / 2) + rng.uniform(-np.pi / 4, np.pi / 4, n)
    return centre, angle


def _draw_hulls(images, size, rng, *, cut_by_border, return_centres=False):
    """Paint one bright hull per chip, some with a wake or a dark deck line.

    With ``return_centres``, also return the hull centres (n, 2) as (x, y).
    """
    n = len(images)
    half_length = rng.uniform(0.175, 0.30, n) * size
    half_width = np.maximum(1, half_length * rng.uniform(0.15, 0.30, n))  # pixels
    if cut_by_border:
        centre, angle = _across_border(half_length, size, rng)
    else:
        centre, angle = _centred(n, size, rng), rng.uniform(0, 2 * np.pi, n)
    along, across = _rotated_coordinates(centre, angle, size)
    hull = _hull_alpha(along, across, half_length, half_width, rng.uniform(2, 4, n))
    half_length, half_width = (
        np.reshape(v, (-1, 1, 1)).astype(np.float32) for v in (half_length, half_width)
    )
    wake = rng.random(n) < 0.3
    images[wake] = _blend(
        images[wake],
        _wake_alpha(along[wake], across[wake], half_length[wake], half_width[wake]),
        np.float32(1),
    )
    deck_width = np.maximum(0.6, 0.25 * half_width)
    deck = np.clip(deck_width - np.abs(across) + 0.5, 0, 1)
    deck *= (np.abs(along) < 0.6 * half_length) & (rng.random(n) < 0.5)[:, None, None]
    paint = _bright_colours(n, rng) * (1 - 0.4 * deck[:, None])
    images = _blend(images, hull, paint)
    return (images, centre) if return_centres else images


def _wake_alpha(along, across, half_length, half_width):
    """Faint widening trail behind the stern, fading over three half lengths."""
    behind = -along - half_length  # distance behind the stern
    width = half_width * (0.6 + 0.3 * behind / half_length)
    spread = np.clip(width - np.abs(across) + 0.5, 0, 1)
    fade = np.clip(1 - behind / (3 * half_length), 0, 1) * (behind > 0)
    return 0.3 * spread * fade


def _draw_distractors(images, land_colour, size, rng):
    """Paint a hazy patch (half), a straight coastline or bright dots on each chip."""
    kind = rng.choice(3, size=len(images), p=[0.5, 0.25, 0.25])
    blob, coast, dots = (kind == k for k in range(3))
    images[blob] = _draw_blobs(images[blob], size, rng)
    images[coast] = _draw_coasts(images[coast], land_colour[coast], size, rng)
    images[dots] = _draw_dots(images[dots], size, rng)
    return images


def _draw_blobs(images, size, rng):
    """Hazy bright patches (glint, cloud, sandbar) near the chip centre.

    A patch adds about as much light as a hull, so to a linear model on
    pixels it looks like a ship at a random angle; but it is wider, fainter
    and soft-rimmed, which local (convolutional) features tell apart.
    """
    n = len(images)
    radius = rng.uniform(0.11, 0.20, n) * size
    along, across = _rotated_coordinates(
        _centred(n, size, rng), rng.uniform(0, np.pi, n), size
    )
    aspect, softness = rng.uniform(1, 1.6, n), rng.uniform(0.4, 0.8, n)
    edge = np.maximum(1.5, softness * radius)  # in pixels; a hull's rim is 1 pixel
    alpha = _hull_alpha(along, across, radius * aspect, radius, 2, edge)
    alpha *= rng.uniform(0.3, 0.55, (n, 1, 1)).astype(np.float32)  # faint
    return _blend(images, alpha, _bright_colours(n, rng))


def _draw_coasts(images, land_colour, size, rng):
    """Land beyond a straight coastline, half of them with a bright beach line."""
    n = len(images)
    point_on_coast = size / 2 + rng.uniform(-0.3, 0.3, (n, 2)) * size
    along, across = _rotated_coordinates(
        point_on_coast, rng.uniform(0, 2 * np.pi, n), size
    )
    images = _blend(images, np.clip(across + 0.5, 0, 1), _land(land_colour, size, rng))
    beach_width = rng.uniform(0.5, 2.5, (n, 1, 1)) * size / CHIP_SIZE
    beach = np.clip(beach_width - np.abs(across) + 0.5, 0, 1)
    beach *= (rng.random(n) < 0.5)[:, None, None]
    return _blend(images, beach, _bright_colours(n, rng))


def _draw_dots(images, size, rng, max_dots=12):
    """Three to ``max_dots`` small bright dots anywhere on each chip."""
    n = len(images)
    pixel = np.arange(size, dtype=np.float32) + 0.5
    centre = rng.uniform(0, size, (n, max_dots, 2)).astype(np.float32)
    radius = np.maximum(0.6, rng.uniform(0.8, 2.0, (n, max_dots)) * size / CHIP_SIZE)
    shown = np.arange(max_dots) < rng.integers(3, max_dots + 1, (n, 1))
    distance = np.hypot(
        pixel[None, None, None, :] - centre[..., 0, None, None],
        pixel[None, None, :, None] - centre[..., 1, None, None],
    )
    alpha = np.clip((radius * shown)[..., None, None] - distance + 0.5, 0, 1)
    return _blend(images, alpha.max(axis=1), _bright_colours(n, rng))
