"""The example scene that ships with sklship: a real PlanetScope crop of the Port of Long Beach.

A 915 x 620 pixel, 3 m RGB GeoTIFF (UTM zone 11N) cut from the ShipsNet release's
``lb_3`` scene (Planet Labs / ShipsNet, CC BY-SA 4.0): four ships at anchor, a
container terminal with cranes and the end of a pier. ``scripts/make_example_scene.py``
builds it; ``sklship/datasets/data/ATTRIBUTION.md`` says how.
"""

import atexit
import contextlib
import functools
import json
from importlib import resources

import numpy as np

__all__ = ["load_example_scene"]

_PACKAGE = "sklship.datasets"
_FILE = ("data", "long_beach.tif")
#: The GeoTIFF tag holding the marked ships (JSON, ``{"big": [[col, row], ...], ...}``).
_MARKS_TAG = "SHIP_MARKS"
#: Files extracted from a zipped install stay until the interpreter exits.
_KEEP = contextlib.ExitStack()
atexit.register(_KEEP.close)


@functools.cache
def _scene_path():
    """The scene's path on disk (extracted once if the package is zipped)."""
    return _KEEP.enter_context(resources.as_file(resources.files(_PACKAGE).joinpath(*_FILE)))


def load_example_scene(*, return_marks=False):
    """Path of the example scene: the Port of Long Beach seen by PlanetScope at 3 m.

    A real satellite picture to try a ship counter on, with no download: a
    915 x 620 pixel RGB GeoTIFF (uint8, 2.7 x 1.9 km) in UTM zone 11N
    (EPSG:32611), north up, 3 m pixels. It shows four ships at anchor, a container
    terminal with cranes and the end of a pier. Its georeference was fitted to
    the positions of ShipsNet chips found in the same imagery (residuals about
    1 m), so detections get real longitudes and latitudes.

    Imagery: Planet Labs / ShipsNet, CC BY-SA 4.0. Credit "Planet Labs /
    ShipsNet" when you show it.

    Parameters
    ----------
    return_marks : bool, default=False
        Also return the vessels marked by eye in the scene.

    Returns
    -------
    path : pathlib.Path
        The GeoTIFF, readable with :func:`rasterio.open` and by
        :func:`sklship.scan_scene`.
    marks : dict of str to ndarray of shape (n, 2)
        Only when ``return_marks=True``. Pixel ``[col, row]`` (int) of each
        marked hull centre, in the marks convention of the ShipsNet scenes:
        ``"big"`` ships (about 40 pixels long or more, clearly on the water) a
        ship counter must find, and ``"small"`` vessels (boats, ships moored at
        piers) where a detection is neither a hit nor a false alarm.

    Examples
    --------
    >>> import rasterio
    >>> from sklship.datasets import load_example_scene
    >>> path, marks = load_example_scene(return_marks=True)
    >>> with rasterio.open(path) as src:
    ...     print(src.count, src.height, src.width, src.crs.to_epsg(), src.res)
    3 620 915 32611 (3.0, 3.0)
    >>> marks["big"].shape
    (4, 2)
    """
    if not isinstance(return_marks, (bool, np.bool_)):
        raise TypeError(f"return_marks must be True or False, got {return_marks!r}")
    path = _scene_path()
    if not return_marks:
        return path
    return path, _read_marks(path)


def _read_marks(path):
    """The marks stored in the scene's tags, as int arrays of shape (n, 2)."""
    import rasterio  # only when asked: rasterio is slow to import

    with rasterio.open(path) as src:
        marks = json.loads(src.tags()[_MARKS_TAG])
    return {kind: np.asarray(points, dtype=int).reshape(-1, 2)
            for kind, points in marks.items()}
