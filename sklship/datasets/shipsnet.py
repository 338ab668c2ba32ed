"""Load the ShipsNet satellite chips and draw synthetic chips of the same form.

Both loaders return a :class:`sklearn.utils.Bunch` with the same fields, so
everything downstream works on real and synthetic chips alike.
"""

import json
import os
import zipfile
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from numbers import Integral, Real
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
from sklearn.utils import Bunch, check_random_state

from ._io import read_rgb
from ._validation import Interval, validate_params

__all__ = ["load_shipsnet", "make_scene", "make_ships"]

CHIP_SIZE = 80
FILENAME_PATTERN = "{label}__{scene_id}__{longitude}_{latitude}.png"
FILENAME_EXAMPLE = "1__20170705_180818_1041__-118.2248_33.7352.png"
TARGET_NAMES = ("no-ship", "ship")
DATA_ENV_VAR = "SKLSHIP_DATA"
DEFAULT_DATA_DIR = Path("~") / "sklship_data" / "shipsnet"
JSON_KEYS = ("data", "labels", "scene_ids", "locations")

_LICENCE = (
    'Licence: CC BY-SA 4.0. Credit "Planet Labs / ShipsNet" when showing these '
    "images (imagery from Planet's Open California data)."
)


# --------------------------------------------------------------------------
# load_shipsnet
# --------------------------------------------------------------------------


def load_shipsnet(path=None, *, as_frame=False, return_X_y=False):
    """Load the ShipsNet chips: 80x80 RGB PlanetScope images, ship or no ship.

    Parameters
    ----------
    path : str or path-like, default=None
        Where the chips are. One of:

        - a folder of PNG chips named ``{label}__{scene_id}__{lon}_{lat}.png``,
          e.g. ``1__20170705_180818_1041__-118.2248_33.7352.png``;
        - a ``.zip`` file of such PNG chips (in any subfolder of the zip);
        - a ``shipsnet.json`` file (planar RGB rows of 19,200 integers with
          parallel ``labels``, ``scene_ids`` and ``locations`` lists);
        - a folder holding a ``shipsnet`` subfolder or a ``shipsnet.json``.

        If None, use ``$SKLSHIP_DATA`` if it exists, else
        ``~/sklship_data/shipsnet``.

    as_frame : bool, default=False
        If True, the result also holds ``frame``, a pandas DataFrame of the
        chip metadata (filename, scene_id, longitude, latitude, target), one
        row per chip. The pixels stay in ``images``.

    return_X_y : bool, default=False
        If True, return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        images : ndarray of shape (n_chips, 80, 80, 3), dtype uint8
            The RGB chips, sorted by file name.
        target : ndarray of shape (n_chips,), dtype int64
            1 for a ship, 0 for no ship.
        scene_id : ndarray of shape (n_chips,), dtype str
            PlanetScope scene each chip was cut from; use it as ``groups``
            in group cross-validation.
        longitude, latitude : ndarray of shape (n_chips,), dtype float64
            Chip centre.
        filenames : ndarray of shape (n_chips,), dtype str
            File names (synthesised in the same pattern for JSON rows).
        target_names : ndarray of shape (2,)
            ``["no-ship", "ship"]``.
        frame : pandas.DataFrame or None
            Metadata table, only when ``as_frame=True``.
        DESCR : str
            Description of the chips loaded, with licence and credit.

    (images, target) : tuple of ndarray
        If ``return_X_y`` is True.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist, or ``path=None`` and neither default
        location exists.
    ValueError
        If there are no chips, or a chip is unreadable, not 80x80, or badly
        named, or the JSON file is malformed.

    See Also
    --------
    make_ships : Synthetic chips of the same form.

    Examples
    --------
    >>> from sklship.datasets import load_shipsnet
    >>> ships = load_shipsnet("../shared/data/shipsnet")  # doctest: +SKIP
    >>> ships.images.shape, ships.target.mean().round(3)  # doctest: +SKIP
    ((3196, 80, 80, 3), 0.247)
    """
    source = _default_data_path() if path is None else Path(path).expanduser()
    if not source.exists():
        raise FileNotFoundError(
            f"ShipsNet data not found: {source} does not exist. Expected a folder "
            "of PNG chips, a .zip of them or a shipsnet.json."
        )
    images, metadata = _read_chips(source)
    n_ships = int(metadata["target"].sum())
    descr = (
        f"ShipsNet chips loaded from {source}: {len(images)} RGB chips of "
        f"{CHIP_SIZE}x{CHIP_SIZE} pixels (3 m per pixel), {n_ships} ships and "
        f"{len(images) - n_ships} no-ship, from "
        f"{len(np.unique(metadata['scene_id']))} PlanetScope scenes over San "
        "Francisco Bay and San Pedro Bay, California. Chips of one scene share "
        "light and sea state: cross-validate with groups=scene_id.\n" + _LICENCE
    )
    return _make_bunch(images, metadata, descr, as_frame, return_X_y)


def _default_data_path():
    """Return the first existing default location, or explain where to put data."""
    env_value = os.environ.get(DATA_ENV_VAR)
    candidates = [Path(env_value).expanduser()] if env_value else []
    candidates.append(DEFAULT_DATA_DIR.expanduser())
    for candidate in candidates:
        if candidate.exists():
            return candidate
    env_state = f"{env_value!r}, which does not exist" if env_value else "not set"
    raise FileNotFoundError(
        f"ShipsNet data not found: looked in ${DATA_ENV_VAR} ({env_state}) and in "
        f"{candidates[-1]} (does not exist). Download ShipsNet "
        "(https://www.kaggle.com/datasets/rhammell/ships-in-satellite-imagery), "
        f"then unpack the PNG chips (or shipsnet.json) into {candidates[-1]}, or "
        f"set ${DATA_ENV_VAR} to their folder, zip or JSON file, or pass path=."
    )


def _read_chips(path):
    """Read images and metadata from a PNG folder, a zip or a JSON file."""
    if path.is_dir():
        return _read_folder(path)
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return _read_zip(path)
    if suffix == ".json":
        return _read_json(path)
    raise ValueError(
        f"Cannot read ShipsNet chips from {path}: expected a folder of PNG chips, "
        "a .zip of PNG chips or a shipsnet.json file."
    )


def _is_chip_name(name):
    """PNG files, skipping hidden files such as macOS '._' resource forks."""
    return name.lower().endswith(".png") and not name.startswith(".")


def _read_folder(folder):
    """Read the PNG chips of a folder, or its shipsnet/ or shipsnet.json."""
    paths = sorted(
        (p for p in folder.iterdir() if _is_chip_name(p.name)), key=lambda p: p.name
    )
    if paths:
        names = [p.name for p in paths]
        sources = [(str(p), p.read_bytes) for p in paths]
        return _decode_chips(sources), _parse_filenames(names)
    for nested in (folder / "shipsnet", folder / "shipsnet.json"):
        if nested.exists():
            return _read_chips(nested)
    raise ValueError(
        f"No PNG chips found in folder {folder}: expected files named "
        f"{FILENAME_PATTERN}, a 'shipsnet' subfolder or a 'shipsnet.json'."
    )


def _read_zip(path):
    """Read the PNG chips anywhere inside a zip file."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"Cannot read {path}: not a valid zip file.") from exc
    with archive:
        entries = sorted(
            (e for e in archive.namelist() if _is_chip_name(PurePosixPath(e).name)),
            key=lambda e: (PurePosixPath(e).name, e),
        )
        if not entries:
            raise ValueError(
                f"No PNG chips found in zip file {path}: expected entries named "
                f"{FILENAME_PATTERN}."
            )
        sources = [(f"{path}:{e}", partial(archive.read, e)) for e in entries]
        images = _decode_chips(sources)
    return images, _parse_filenames([PurePosixPath(e).name for e in entries])


def _decode_chips(sources):
    """Decode PNG chips into one preallocated uint8 array, in threads.

    ``sources`` holds ``(name, read)`` pairs, ``read()`` returning the bytes.
    """
    images = np.empty((len(sources), CHIP_SIZE, CHIP_SIZE, 3), dtype=np.uint8)

    def decode_into(i):
        name, read = sources[i]
        images[i] = _decode_chip(read(), name)

    with ThreadPoolExecutor() as pool:
        list(pool.map(decode_into, range(len(sources))))
    return images


def _decode_chip(data, name):
    """Return one PNG chip as an (80, 80, 3) RGB array."""
    return read_rgb(data, name=f"chip {name}", size=CHIP_SIZE)


def _parse_filenames(names):
    """Parse ``{label}__{scene_id}__{lon}_{lat}.png`` names into metadata."""
    rows = [_parse_filename(name) for name in names]
    labels, scene_ids, longitudes, latitudes = zip(*rows, strict=True)
    return _metadata(names, labels, scene_ids, longitudes, latitudes)


def _parse_filename(name):
    """Return (label, scene_id, longitude, latitude) of one chip file name.

    Scene ids may contain single underscores (``20150830_000652_1_0b07``), so
    the parts are split on double underscores, and longitude from latitude on
    the last single underscore.
    """
    parts = PurePosixPath(name).stem.split("__")
    if len(parts) == 3:
        label, scene_id, location = parts
        longitude, _, latitude = location.rpartition("_")
        try:
            label, longitude, latitude = int(label), float(longitude), float(latitude)
        except ValueError:
            pass
        else:
            if label in (0, 1) and scene_id:
                return label, scene_id, longitude, latitude
    raise ValueError(
        f"Cannot parse chip file name {name!r}: expected {FILENAME_PATTERN} with "
        f"label 0 or 1, e.g. {FILENAME_EXAMPLE!r}."
    )


def _read_json(path):
    """Read a ``shipsnet.json`` file of planar RGB rows."""
    try:
        content = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"Cannot read {path}: not valid JSON ({exc}).") from exc
    _check_json(content, path)
    try:
        planes = np.array(content["data"], dtype=np.uint8)
    except (OverflowError, ValueError, TypeError) as exc:
        raise ValueError(
            f"Malformed ShipsNet JSON {path}: 'data' must hold integers 0..255."
        ) from exc
    n_chips = len(planes)
    images = np.ascontiguousarray(
        planes.reshape(n_chips, 3, CHIP_SIZE, CHIP_SIZE).transpose(0, 2, 3, 1)
    )
    labels = np.asarray(content["labels"])
    locations = np.asarray(content["locations"], dtype=np.float64).reshape(n_chips, 2)
    names = [
        _chip_filename(label, scene_id, longitude, latitude)
        for label, scene_id, (longitude, latitude) in zip(
            labels, content["scene_ids"], locations, strict=True
        )
    ]
    metadata = _metadata(names, labels, content["scene_ids"], *locations.T)
    return images, metadata


def _check_json(content, path):
    """Check keys, list lengths, row lengths, labels and locations of the JSON."""
    if not isinstance(content, dict) or not set(JSON_KEYS) <= content.keys():
        found = sorted(content) if isinstance(content, dict) else type(content).__name__
        raise ValueError(
            f"Malformed ShipsNet JSON {path}: expected an object with keys "
            f"{list(JSON_KEYS)}, got {found}."
        )
    lengths = {key: len(content[key]) for key in JSON_KEYS}
    if len(set(lengths.values())) != 1:
        raise ValueError(
            f"Malformed ShipsNet JSON {path}: 'data', 'labels', 'scene_ids' and "
            f"'locations' must have the same length, got {lengths}."
        )
    if not content["data"]:
        raise ValueError(f"Malformed ShipsNet JSON {path}: it holds no chips.")
    row_length = 3 * CHIP_SIZE * CHIP_SIZE
    for i, row in enumerate(content["data"]):
        if len(row) != row_length:
            raise ValueError(
                f"Malformed ShipsNet JSON {path}: row {i} of 'data' has {len(row)} "
                f"values; expected {row_length} (80x80 red, then green, then blue)."
            )
    if not set(content["labels"]) <= {0, 1}:
        raise ValueError(
            f"Malformed ShipsNet JSON {path}: 'labels' must be 0 or 1, got "
            f"{sorted(set(content['labels']) - {0, 1})[:5]}."
        )
    if any(len(location) != 2 for location in content["locations"]):
        raise ValueError(
            f"Malformed ShipsNet JSON {path}: 'locations' must be [longitude, "
            "latitude] pairs."
        )


# --------------------------------------------------------------------------
# Shared Bunch construction
# --------------------------------------------------------------------------


def _chip_filename(label, scene_id, longitude, latitude):
    return FILENAME_PATTERN.format(
        label=int(label), scene_id=scene_id, longitude=longitude, latitude=latitude
    )


def _metadata(filenames, target, scene_id, longitude, latitude):
    """Typed metadata columns, in the order of the ``frame`` columns."""
    return {
        "filename": np.asarray(filenames, dtype=str),
        "scene_id": np.asarray(scene_id, dtype=str),
        "longitude": np.asarray(longitude, dtype=np.float64),
        "latitude": np.asarray(latitude, dtype=np.float64),
        "target": np.asarray(target, dtype=np.int64),
    }


def _make_bunch(images, metadata, descr, as_frame, return_X_y):
    if return_X_y:
        return images, metadata["target"]
    frame = None
    if as_frame:
        frame = pd.DataFrame(metadata)
    return Bunch(
        images=images,
        target=metadata["target"],
        scene_id=metadata["scene_id"],
        longitude=metadata["longitude"],
        latitude=metadata["latitude"],
        filenames=metadata["filename"],
        target_names=np.array(TARGET_NAMES),
        frame=frame,
        DESCR=descr,
    )


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
        ``filenames``, ``target_names``, ``frame`` (None unless
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
