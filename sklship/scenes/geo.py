"""Ships on the map: pixel to CRS to lon/lat, and areas of interest.

The pixel-to-map step is the scene's affine transform applied to continuous
pixel coordinates (:meth:`sklship.scenes.grid.WindowGrid.to_map`) followed by
``pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)``. Areas of
interest (AOIs, e.g. the water of ports) are polygons in lon/lat, read by
:func:`read_aoi` and brought to a scene's pixel space by
:func:`aoi_to_pixels` (pyproj, then the inverse affine transform), where
windows and detections are tested against them with shapely. Pixel space
here is shapely's (x, y) = (column, row), pixel ``(row, col)`` covering
``[col, col + 1) x [row, row + 1)``.
"""

import json
import warnings
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from .grid import WindowGrid

__all__ = ["aoi_to_pixels", "aois_in_pixels", "count_in_aois", "georeference", "read_aoi"]


def georeference(detections, crs, transform):
    """Add map coordinates to detections of a georeferenced scene.

    Parameters
    ----------
    detections : pandas.DataFrame
        With pixel columns ``row`` and ``col``.
    crs : str or pyproj.CRS
        The scene's CRS.
    transform : affine.Affine
        The scene's pixel-to-CRS transform.

    Returns
    -------
    detections : pandas.DataFrame
        A copy with ``x``, ``y`` (the detection's position in ``crs``, see
        :mod:`sklship.scenes.grid` for the pixel convention) and ``lon``,
        ``lat`` (WGS84, EPSG:4326).
    """
    from pyproj import Transformer

    x, y = WindowGrid.to_map(detections["row"], detections["col"], transform)
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    return detections.assign(x=x, y=y, lon=np.asarray(lon, dtype=float),
                             lat=np.asarray(lat, dtype=float))


def read_aoi(aoi, *, kind="aoi"):
    """Areas of interest as a dict name -> shapely (Multi)Polygon in lon/lat.

    Parameters
    ----------
    aoi : str, os.PathLike, shapely geometry, sequence of them, or dict
        A GeoJSON file (a FeatureCollection, a Feature or a bare geometry) of
        Polygons / MultiPolygons in lon/lat (RFC 7946), each named by its
        ``name`` property; one geometry or a sequence of them; or a dict
        ``{name: geometry}``. Unnamed areas are called ``"aoi-1"``,
        ``"aoi-2"``, ... in their order.
    kind : {"aoi", "mask"}, default="aoi"
        What the polygons are, named in errors ("AOI file ports.json is not
        GeoJSON", "mask file clouds.json is not GeoJSON").

    Returns
    -------
    aois : dict of str to shapely geometry

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not GeoJSON, holds something other than polygons, or
        coordinates outside lon/lat range; the message names the file.
    TypeError
        If ``aoi`` is none of the accepted types.
    """
    import shapely
    from shapely.geometry import shape

    if isinstance(aoi, (str, PathLike)):
        path = Path(aoi)
        what = f"{kind.upper() if kind == 'aoi' else kind} file {path}"
        if not path.is_file():
            raise FileNotFoundError(f"{what} does not exist.")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{what} is not GeoJSON: {exc}.") from None
        if isinstance(data, dict) and data.get("type") == "FeatureCollection":
            features = data.get("features") or []
        elif isinstance(data, dict) and data.get("type") == "Feature":
            features = [data]
        else:
            features = [{"geometry": data, "properties": {}}]
        items = []
        for feature in features:
            try:
                geometry = shape(feature["geometry"])
            except (KeyError, TypeError, AttributeError, ValueError,
                    shapely.errors.GeometryTypeError) as exc:
                raise ValueError(f"{what} is not GeoJSON polygons: a feature has no "
                                 f"valid geometry ({exc!r}).") from None
            items.append(((feature.get("properties") or {}).get("name"), geometry))
    elif isinstance(aoi, dict):
        what, items = kind, list(aoi.items())
    elif isinstance(aoi, shapely.Geometry):
        what, items = kind, [(None, aoi)]
    elif isinstance(aoi, (list, tuple)):
        what, items = kind, [(None, geometry) for geometry in aoi]
    else:
        raise TypeError(f"{kind} must be a GeoJSON file path, a shapely geometry, a list "
                        f"of them or a dict name -> geometry; got {type(aoi).__name__}.")
    if not items:
        raise ValueError(f"{what} holds no area.")
    aois = {}
    for index, (name, geometry) in enumerate(items, start=1):
        kind = getattr(geometry, "geom_type", type(geometry).__name__)
        if kind not in ("Polygon", "MultiPolygon"):
            raise ValueError(f"{what} is not GeoJSON polygons: area {index} is a "
                             f"{kind}; expected Polygon or MultiPolygon in lon/lat.")
        west, south, east, north = geometry.bounds
        if not (-180 <= west and east <= 180 and -90 <= south and north <= 90):
            raise ValueError(f"{what}: area {index} has coordinates outside lon/lat "
                             f"range (bounds {geometry.bounds}); areas of interest are "
                             "in longitude, latitude (EPSG:4326).")
        name = f"aoi-{index}" if name is None else str(name)
        if name in aois:
            raise ValueError(f"{what}: two areas are named {name!r}; names must be "
                             "unique.")
        aois[name] = geometry
    return aois


def aoi_to_pixels(aois, crs, transform):
    """Areas of interest (lon/lat) in a scene's pixel space (x = column, y = row).

    Parameters
    ----------
    aois : dict of str to shapely geometry
        As returned by :func:`read_aoi`.
    crs, transform : pyproj.CRS (or str) and affine.Affine
        The scene's CRS and pixel-to-CRS transform, as in :func:`georeference`.

    Returns
    -------
    pixels : dict of str to shapely geometry
    """
    import shapely
    from pyproj import Transformer

    to_crs = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    inverse = ~transform

    def project(coords):
        x, y = to_crs.transform(coords[:, 0], coords[:, 1])
        cols, rows = inverse @ (np.asarray(x), np.asarray(y))
        return np.column_stack([cols, rows])

    # Densify first: a straight edge in lon/lat is curved in the scene's CRS.
    return {name: shapely.transform(shapely.segmentize(geometry, 0.001), project)
            for name, geometry in aois.items()}


def aois_in_pixels(source, aois):
    """The areas of interest in the pixel space of ``source``, or None without areas.

    Parameters
    ----------
    source : scene source
        From :func:`sklship.scenes.sources.open_scene`.
    aois : dict of str to shapely geometry, or None
        Areas in lon/lat, from :func:`read_aoi`.

    Returns
    -------
    pixel_aois : dict of str to shapely geometry, or None
    """
    if aois is None:
        return None
    if source.crs is None:
        raise ValueError(
            f"aoi needs a georeferenced scene, but {source.what} has no CRS (PNG and "
            "JPEG never have one); scan it without aoi, or give a GeoTIFF."
        )
    return aoi_to_pixels(aois, source.crs, source.transform)


def count_in_aois(detections, pixel_aois, source, valid, clear=None):
    """Detections inside any area (with its name), and counts per area.

    Each area's valid fraction is the share of its pixels that lie in the scene
    and hold valid data, measured on the decimated validity mask.

    Parameters
    ----------
    detections : pandas.DataFrame
        With continuous pixel ``row`` and ``col``.
    pixel_aois : dict of str to shapely geometry
        From :func:`aois_in_pixels`.
    source : scene source
        The scene (its shape and name).
    valid : ndarray of bool or None
        The decimated validity mask of the scene (None: all valid).
    clear : ndarray of bool or None, default=None
        The decimated mask of data that is also usable (not clouds, ...);
        None: ``valid``.

    Returns
    -------
    detections : pandas.DataFrame
        Those inside an area, with its name in ``aoi``.
    counts : pandas.DataFrame
        Columns ``aoi``, ``count``, ``valid_fraction``, ``clear_fraction``.
    """
    import shapely
    from affine import Affine
    from rasterio.features import rasterize

    height, width = source.shape[:2]
    if valid is None:
        valid = np.ones((height, width), dtype=bool) if clear is None else \
            np.ones(clear.shape, dtype=bool)
    clear = valid if clear is None else clear
    scene_box = shapely.box(0, 0, width, height)
    # Overview pixel -> scene pixel.
    to_scene = Affine.scale(width / valid.shape[1], height / valid.shape[0])
    x, y = detections["col"].to_numpy(), detections["row"].to_numpy()
    names = np.full(len(detections), None, dtype=object)
    kept = np.zeros(len(detections), dtype=bool)
    rows = []
    for name, geometry in pixel_aois.items():
        inside = shapely.contains_xy(geometry, x, y)
        names[inside & ~kept] = name
        kept |= inside
        fraction = clear_fraction = 0.0
        if geometry.intersects(scene_box):
            area = geometry.area / (to_scene.a * to_scene.e)  # in overview pixels
            mask = rasterize([geometry], out_shape=valid.shape, transform=to_scene,
                             dtype=np.uint8).astype(bool)
            fraction = min(1.0, float((mask & valid).sum() / area))
            clear_fraction = min(1.0, float((mask & clear).sum() / area))
        else:
            warnings.warn(f"area of interest {name!r} does not overlap "
                          f"{source.what}: count 0, valid fraction 0.", UserWarning,
                          stacklevel=3)
        rows.append({"aoi": name, "count": int(inside.sum()), "valid_fraction": fraction,
                     "clear_fraction": clear_fraction})
    return (detections[kept].assign(aoi=names[kept]).reset_index(drop=True),
            pd.DataFrame(rows))
