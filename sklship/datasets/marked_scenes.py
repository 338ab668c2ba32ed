"""Training chips from marked scenes: scenes plus ship marks to chips with groups.

The marks are the ``truth.json`` form of the shared scene folders::

    {"scene.tif": {"big": [[col, row], ...], "small": [[col, row], ...],
                   "boxes": [[x0, y0, x1, y1], ...], "negatives": [[col, row], ...]}}

in continuous pixel coordinates (pixel ``i`` spans ``i <= col < i + 1``),
scene paths relative to the JSON's folder. ``boxes`` and ``negatives`` are
optional; ``negatives`` (not in the shared files) lists places known to hold
no ship, such as checked false alarms of a first model.

What becomes a chip, and with which weight:

- **ship** (target 1, weight 1): each ``big`` mark, shifted by up to
  ``shift`` pixels and turned (one of the 8 flips and quarter turns),
  ``positives_per_ship`` times.
- **long ship** (target 1, weight 1): each box longer than the window, cropped
  whole (with a 10 % margin each side) and resized to the window, turned
  ``positives_per_ship`` times.
- **background** (target 0, weight ``background_weight``): windows drawn
  uniformly from the rest of the scene, every one at least ``clearance``
  pixels clear of every mark (big, small, box). Marks are usually incomplete,
  so an unmarked window is weak evidence of "no ship", not proof: it counts
  ``background_weight`` (default 0.5) of a marked chip, and an unmarked ship
  among the background pulls the model half as hard as a marked one.
- **negative** (target 0, weight 1): each ``negatives`` point, as marked.

``small`` marks are neither positives nor negatives: no chip is centred on
them and no background window comes near them.
"""

import os
from functools import partial
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch, check_random_state

from .._validation import Interval, validate_params
from .truth import read_truth

__all__ = ["load_marked_scenes"]

#: Kinds of chip, in the order of :data:`Bunch.kind` codes.
KINDS = ("ship", "long ship", "background", "negative")
#: Margin around a long ship's box when it is cropped whole (share of its long side).
LONG_SHIP_MARGIN = 0.1


@validate_params(
    {
        "truth": [str, os.PathLike, dict],
        "window": [Interval(Integral, 4, None, closed="left")],
        "read": [callable, None],
        "bands": ["array-like", None],
        "scale": [tuple, list, str, None],
        "resolution": [Interval(Real, 0, None, closed="neither"), None],
        "scene_resolution": [Interval(Real, 0, None, closed="neither"), None],
        "positives_per_ship": [Interval(Integral, 1, None, closed="left")],
        "negatives_per_scene": [Interval(Integral, 0, None, closed="left")],
        "shift": [Interval(Integral, 0, None, closed="left"), None],
        "clearance": [Interval(Integral, 0, None, closed="left"), None],
        "background_weight": [Interval(Real, 0, 1, closed="both")],
        "root": [str, os.PathLike, None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def load_marked_scenes(truth, *, window=80, read=None, bands=None, scale=None,
                       reflectance=None, resolution=None, scene_resolution=None,
                       positives_per_ship=8, negatives_per_scene=200, shift=None,
                       clearance=None, background_weight=0.5, root=None,
                       random_state=None):
    """Cut training chips from scenes with marked ships.

    See the module for what becomes a chip and with which weight.

    Parameters
    ----------
    truth : str, path or dict
        A ``truth.json`` file (scene paths relative to its folder; read by
        :func:`~sklship.datasets.read_truth`) or its
        content as a dict (scene paths relative to ``root``).
    window : int, default=80
        Chip side in pixels (of the ``resolution`` grid when given).
    read : callable or None, default=None
        ``read(path) -> ndarray (height, width[, channels])``. None reads with
        :func:`sklship.scenes.sources.read_scene` and ``bands``, ``scale``,
        ``reflectance``.
    bands, scale, reflectance : optional
        Passed to ``read_scene`` when ``read`` is None.
    resolution : float or None, default=None
        Metres per pixel of the chips: each scene is resampled from its own
        (its georeference, see :func:`sklship.scenes.scene_resolution`, else
        ``scene_resolution``) before chips are cut. None: scene pixels as they
        are.
    scene_resolution : float or None, default=None
        Metres per pixel of scenes without georeference (PNG, JPEG).
    positives_per_ship : int, default=8
        Chips per big mark (and per long ship), shifted and turned.
    negatives_per_scene : int, default=200
        Background windows per scene (fewer when the scene has no more room).
    shift : int or None, default=None
        Largest shift of a ship from the chip centre, in chip pixels
        (None: ``window // 8``).
    clearance : int or None, default=None
        Pixels between a background window's edge and any mark or box
        (None: ``window // 4``).
    background_weight : float in [0, 1], default=0.5
        ``sample_weight`` of background windows.
    root : str, path or None, default=None
        Folder of the scenes when ``truth`` is a dict (None: the working folder).
    random_state : int, RandomState instance or None, default=None
        Determines shifts, turns and background windows.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images`` (n, window, window, channels) in the dtype ``read`` returns,
        ``target`` (n,) int (1 ship), ``groups`` (n,) the scene key of each
        chip, ``sample_weight`` (n,) float, ``scene``, ``row``, ``col`` (n,)
        where each chip's centre lies in its scene's own pixels, ``kind`` (n,)
        one of ``"ship"``, ``"long ship"``, ``"background"``, ``"negative"``,
        and ``resolution`` (n,) the scene's metres per pixel (NaN: unknown).

    Raises
    ------
    ValueError
        For an empty or malformed truth, a scene file that is not there, a mark
        outside its image (the message names the scene and the mark), or a
        scene whose resolution is unknown when ``resolution`` is given.

    Examples
    --------
    >>> import numpy as np
    >>> from sklship.datasets import load_marked_scenes
    >>> scene = np.zeros((64, 64, 3), np.uint8)
    >>> scene[30:34, 20:28] = 255
    >>> truth = {"a.png": {"big": [[24, 32]], "small": []}}
    >>> data = load_marked_scenes(truth, window=16, read=lambda path: scene,
    ...                           negatives_per_scene=4, random_state=0)
    >>> data.images.shape, data.target.tolist()
    ((12, 16, 16, 3), [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0])
    """
    from ..scenes.sources import read_scene

    marks = read_truth(truth)
    if isinstance(truth, dict):
        folder = Path(root if root is not None else ".")
    else:
        folder = Path(truth).parent
    if read is None:
        read = partial(read_scene, bands=bands, scale=scale, reflectance=reflectance)
    shift = window // 8 if shift is None else shift
    clearance = window // 4 if clearance is None else clearance
    rng = check_random_state(random_state)
    parts = []
    for key, scene_marks in marks.items():
        path = folder / key
        pixels = _read(read, path, key)
        factor, scene_res = _grid_factor(path, key, pixels.shape[:2], resolution,
                                         scene_resolution)
        _check_inside(scene_marks, pixels.shape[:2], key)
        grid = _resampled(pixels, factor)
        scaled = {name: points * np.tile(factor, points.shape[1] // 2)
                  for name, points in scene_marks.items()}
        chips = _scene_chips(grid, scaled, window, positives_per_ship,
                             negatives_per_scene, shift, clearance, rng)
        images, centres, kinds = chips
        weights = np.where(kinds == KINDS.index("background"), background_weight, 1.0)
        parts.append(dict(images=images, row=centres[:, 0] / factor[1],
                          col=centres[:, 1] / factor[0], kind=kinds, weight=weights,
                          scene=np.full(len(kinds), key, dtype=object),
                          resolution=np.full(len(kinds), scene_res, float)))
    images = np.concatenate([p["images"] for p in parts])
    kind = np.concatenate([p["kind"] for p in parts])
    scene = np.concatenate([p["scene"] for p in parts])
    return Bunch(
        images=images, target=(kind < KINDS.index("background")).astype(np.int64),
        groups=scene, sample_weight=np.concatenate([p["weight"] for p in parts]),
        scene=scene, row=np.concatenate([p["row"] for p in parts]),
        col=np.concatenate([p["col"] for p in parts]),
        kind=np.asarray(KINDS, dtype=object)[kind],
        resolution=np.concatenate([p["resolution"] for p in parts]),
    )


def _read(read, path, key):
    """The scene's pixels as (height, width, channels); clear errors for bad files."""
    if not path.exists() and _reads_files(read):
        raise ValueError(f"scene {key!r} of the truth is not there: {str(path)!r} does "
                         "not exist.")
    pixels = np.asarray(read(path))
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.ndim != 3 or min(pixels.shape) == 0:
        raise ValueError(f"read must return an image (height, width[, channels]); for "
                         f"scene {key!r} it returned shape {pixels.shape}.")
    return pixels


def _reads_files(read):
    """Whether ``read`` is sklship's own reader (which needs the file)."""
    from ..scenes.sources import read_scene

    return getattr(read, "func", None) is read_scene


def _grid_factor(path, key, shape, resolution, scene_resolution):
    """Grid pixels per scene pixel (x, y) and the scene's metres per pixel (or NaN)."""
    from ..scenes.resolution import scene_resolution as georeferenced

    own = None
    if path.exists():
        own = georeferenced(*_georeference(path), shape)
    scene_res = own if own is not None else scene_resolution
    if resolution is None:
        return np.ones(2), np.nan if scene_res is None else scene_res
    if scene_res is None:
        raise ValueError(f"scene {key!r} has no georeference: pass scene_resolution "
                         f"(metres per pixel) to resample it to resolution={resolution}.")
    from ..scenes.grid import WindowGrid

    scale = resolution / scene_res
    size = np.array([WindowGrid.resampled_size(shape[1], scale),
                     WindowGrid.resampled_size(shape[0], scale)])
    return size / np.array([shape[1], shape[0]]), scene_res


def _georeference(path):
    """(crs, transform) of a raster file, (None, None) when it has none."""
    from ..scenes.sources import raster_header

    header = raster_header(path)
    return (None, None) if header is None else header[:2]


def _check_inside(marks, shape, key):
    """A ValueError naming the scene and the first mark outside its image."""
    height, width = shape
    for name, points in marks.items():
        if name == "boxes":  # a ship cut by the image's edge: its box may stick out
            outside = ((points[:, 2] <= 0) | (points[:, 0] >= width)
                       | (points[:, 3] <= 0) | (points[:, 1] >= height))
        else:
            outside = ((points[:, 0] < 0) | (points[:, 0] > width)
                       | (points[:, 1] < 0) | (points[:, 1] > height))
        if outside.any():
            mark = points[np.flatnonzero(outside)[0]].tolist()
            raise ValueError(f"scene {key!r}: {name} mark {mark} lies outside the "
                             f"image of {width} x {height} pixels (col, row).")


def _resampled(pixels, factor):
    """``pixels`` resized by ``factor`` (x, y) with sklship's scene resampling."""
    if np.allclose(factor, 1):
        return pixels
    from ..scenes.resolution import _pillow_resize

    shape = (round(pixels.shape[0] * factor[1]), round(pixels.shape[1] * factor[0]))
    return _pillow_resize(pixels, shape, down=factor.mean() < 1)


def _scene_chips(grid, marks, window, per_ship, n_background, shift, clearance, rng):
    """Chips of one scene on its grid: images, centres (row, col) and kind codes."""
    from ..scenes.resolution import _pillow_resize

    images, centres, kinds = [], [], []

    def add(chip, row, col, kind):
        images.append(chip)
        centres.append((row, col))
        kinds.append(kind)

    for col, row in marks["big"]:
        offsets = rng.randint(-shift, shift + 1, size=(per_ship, 2))
        for turn, (dr, dc) in zip(_turns(per_ship, rng), offsets, strict=True):
            add(_turn(_crop(grid, row + dr, col + dc, window), turn), row + dr, col + dc,
                KINDS.index("ship"))
    for x0, y0, x1, y1 in marks["boxes"]:
        long = max(x1 - x0, y1 - y0)
        if long <= window:
            continue
        row, col = (y0 + y1) / 2, (x0 + x1) / 2
        crop = _crop(grid, row, col, round(long * (1 + 2 * LONG_SHIP_MARGIN)))
        crop = _pillow_resize(crop, (window, window), down=True)
        for turn in _turns(per_ship, rng):
            add(_turn(crop, turn), row, col, KINDS.index("long ship"))
    for col, row in marks["negatives"]:
        add(_crop(grid, row, col, window), row, col, KINDS.index("negative"))
    for row, col in _background(grid.shape[:2], marks, window, clearance, n_background,
                                rng):
        add(_crop(grid, row, col, window), row, col, KINDS.index("background"))
    empty = np.empty((0, window, window, grid.shape[2]), grid.dtype)
    return (np.stack(images) if images else empty,
            np.asarray(centres, float).reshape(-1, 2), np.asarray(kinds, np.int64))


def _crop(grid, row, col, side):
    """The ``side`` x ``side`` square of ``grid`` centred at (row, col), mirrored at edges."""
    top = int(np.floor(row - side / 2 + 0.5))
    left = int(np.floor(col - side / 2 + 0.5))
    height, width = grid.shape[:2]
    inside = grid[max(top, 0):max(min(top + side, height), 0),
                  max(left, 0):max(min(left + side, width), 0)]
    if inside.shape[:2] == (side, side):
        return inside
    if inside.size == 0:
        raise ValueError(f"a chip at row {row:g}, col {col:g} lies outside the scene.")
    pads = ((max(-top, 0), side - inside.shape[0] - max(-top, 0)),
            (max(-left, 0), side - inside.shape[1] - max(-left, 0)), (0, 0))
    return np.pad(inside, pads, mode="symmetric")


def _turns(n, rng):
    """``n`` of the 8 flips and quarter turns, each used once before any repeats."""
    order = rng.permutation(8)
    return order[np.arange(n) % 8]


def _turn(chip, turn):
    """``chip`` under dihedral element ``turn`` (0-7): quarter turns, then a flip."""
    chip = np.rot90(chip, turn % 4)
    return np.ascontiguousarray(chip[:, ::-1] if turn >= 4 else chip)


def _background(shape, marks, window, clearance, n, rng):
    """Up to ``n`` window centres (row, col) inside the scene and clear of every mark."""
    height, width = shape
    if n == 0 or height < window or width < window:
        return np.empty((0, 2))
    half = window / 2
    inside = np.zeros(shape, bool)
    inside[int(np.ceil(half)):height - int(np.ceil(half)) + 1,
           int(np.ceil(half)):width - int(np.ceil(half)) + 1] = True
    candidates = np.flatnonzero(inside & clear_of_marks(shape, marks, half + clearance))
    picked = rng.choice(candidates, size=min(n, len(candidates)), replace=False) \
        if len(candidates) else candidates
    rows, cols = np.divmod(np.sort(picked), width)
    return np.column_stack([rows, cols]).astype(float)


def clear_of_marks(shape, marks, reach):
    """Which pixels of a scene lie more than ``reach`` pixels, across or down, from
    every mark and box: the centres of windows clear of them.

    Parameters
    ----------
    shape : (int, int)
        The scene's height and width, in the pixels of ``marks``.
    marks : dict
        ``big``, ``small``, ``negatives`` (n, 2) ``[col, row]`` and ``boxes``
        (n, 4) ``[x0, y0, x1, y1]``, as :func:`~sklship.datasets.read_truth`
        gives them.
    reach : float
        Pixels: half a window plus the clearance wanted between its edge and
        a mark.

    Returns
    -------
    clear : ndarray of shape ``shape``, bool
    """
    clear = np.ones(shape, bool)
    points = np.concatenate([marks["big"], marks["small"], marks["negatives"]])
    for x0, y0, x1, y1 in np.concatenate([marks["boxes"], np.hstack([points, points])]):
        clear[max(0, int(np.floor(y0 - reach))):max(0, int(np.ceil(y1 + reach)) + 1),
              max(0, int(np.floor(x0 - reach))):max(0, int(np.ceil(x1 + reach)) + 1)] = False
    return clear
