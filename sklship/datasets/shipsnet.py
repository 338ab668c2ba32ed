"""Load the ShipsNet satellite chips: a folder or zip of PNGs, or ``shipsnet.json``.

:func:`load_shipsnet` and :func:`~sklship.datasets.make_ships` return a
:class:`sklearn.utils.Bunch` with the same fields, so everything downstream
works on real and synthetic chips alike.
"""

import json
import os
import zipfile
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from .._io import read_rgb

__all__ = ["load_shipsnet"]

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
        resolution : float
            Metres per pixel of the chips: 3.0 (PlanetScope). Pass it as an
            estimator's ``chip_resolution`` (3.0 is already the default), so
            that scans resample scenes to it.
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
        resolution=3.0,
        frame=frame,
        DESCR=descr,
    )
