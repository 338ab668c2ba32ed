"""Usable-data masks: clouds, haze, shadow and snow handled like nodata.

A mask says which parts of a scene are unusable. It is one of:

- a raster file (any format rasterio reads) whose band 1 is non-zero where
  the scene is unusable; it is reprojected and aligned to the scene's grid
  on the fly (``rasterio.vrt.WarpedVRT``, nearest neighbour). A raster
  without CRS must have the scene's size (pixel for pixel);
- a PlanetScope usable-data mask (UDM2, a file whose name holds ``udm2``):
  8 bands, 1 clear, 2 snow, 3 shadow, 4 light haze, 5 heavy haze, 6 cloud,
  7 confidence, 8 the legacy unusable-data bits. Pixels flagged snow, shadow,
  heavy haze or cloud (:data:`UDM2_UNUSABLE`) are unusable; light haze is not;
- a Sentinel-2 scene classification (SCL, a file whose name is ``SCL`` or
  holds ``_scl``/``scl_``, as Earth Search and ESA name it): pixels of the
  classes in :data:`SCL_UNUSABLE` (no data, saturated, cloud shadow, cloud
  of medium and high probability, cirrus, snow) are unusable. The 20 m
  classes are put on the 10 m grid by nearest neighbour;
- GeoJSON polygons in lon/lat (a ``.geojson`` / ``.json`` file, geometries,
  or a dict of them, as for areas of interest): inside is unusable.

A UDM2 lying beside a scene file is found by :func:`find_udm2` and used
when no mask is given. Unusable pixels count as not valid for the scan: a
window more than half unusable is not evaluated and never a detection. The
``clear_fraction`` of an area is its share that is both data and usable.
"""

import logging
import re
from os import PathLike
from pathlib import Path

import numpy as np

from .bands import PLANET_ASSET
from .sources import is_remote
from .stack import is_vrt_xml

__all__ = ["SCL_UNUSABLE", "UDM2_UNUSABLE", "UsableMask", "find_udm2", "is_scl",
           "usable_mask"]

log = logging.getLogger("sklship")

#: UDM2 bands (1-based) whose flag makes a pixel unusable: snow, shadow,
#: heavy haze, cloud.
UDM2_UNUSABLE = (2, 3, 5, 6)
#: Sentinel-2 SCL classes that make a pixel unusable: 0 no data, 1 saturated or
#: defective, 3 cloud shadow, 8 and 9 cloud (medium, high probability),
#: 10 thin cirrus, 11 snow or ice.
SCL_UNUSABLE = (0, 1, 3, 8, 9, 10, 11)
_SCL_NAME = re.compile(r"(^|[_\-.])scl($|[_\-.])", re.IGNORECASE)
_GEOJSON_SUFFIXES = (".geojson", ".json")


def find_udm2(scene):
    """The PlanetScope UDM2 file beside a scene file, or None.

    Looks for ``<stem>_udm2.tif``, then for the scene's name with its asset
    part (``_3B_AnalyticMS``, ``_AnalyticMS_SR``, ``_Visual``, ...) replaced
    by ``_udm2`` (``_clip`` kept), Planet's naming.

    Parameters
    ----------
    scene : str or os.PathLike or other
        Anything else than a path gives None.

    Returns
    -------
    path : pathlib.Path or None
    """
    if not isinstance(scene, (str, PathLike)) or is_vrt_xml(scene):
        return None
    path = Path(scene)
    candidates = [path.with_name(f"{path.stem}_udm2.tif")]
    if PLANET_ASSET.search(path.stem):
        candidates.append(path.with_name(PLANET_ASSET.sub("_udm2", path.stem) + ".tif"))
    return next((c for c in candidates if c.is_file() and c != path), None)


def is_scl(path):
    """Whether ``path`` names a Sentinel-2 scene classification (SCL) file."""
    return bool(_SCL_NAME.search(Path(str(path).split("?")[0]).stem))


def usable_mask(scene, mask):
    """The mask to scan ``scene`` with: ``mask``, else its UDM2 (logged), else None.

    Parameters
    ----------
    scene : path or array
    mask : path, polygons, bool or None
        None (or True) looks for a UDM2 beside a scene file; False: no mask.
    """
    if mask is False:
        return None
    if mask is None or mask is True:
        found = find_udm2(scene)
        if found is not None:
            log.info(f"{Path(scene).name}: using the usable-data mask {found.name} "
                     "(cloud, heavy haze, shadow, snow unusable).")
        return found
    return mask


class UsableMask:
    """What is unusable, on a scan's grid (see the module for the forms).

    Parameters
    ----------
    spec : str, os.PathLike, shapely geometry, list or dict of them
        The mask.
    source : sklship.scenes.resolution.ScanSource
        The scene as scanned (its grid: ``height``, ``width``, ``transform``,
        ``crs``; its file: ``scene_shape``, ``scene_transform``).

    Raises
    ------
    ValueError
        If the mask does not overlap the scene, is georeferenced while the
        scene is not (or polygons are given for a scene without CRS), or is
        a raster without CRS of another size than the scene.
    """

    def __init__(self, spec, source):
        self.reader = self.dataset = self.polygons = self.classes = None
        self.source = source
        if isinstance(spec, (str, PathLike)) and Path(spec).suffix.lower() not in \
                _GEOJSON_SUFFIXES:
            self._open_raster(spec if is_remote(spec) else Path(spec), source)
        else:
            self._polygons(spec, source)

    def _polygons(self, spec, source):
        import shapely

        from .geo import aoi_to_pixels, read_aoi

        self.what = f"mask file {spec}" if isinstance(spec, (str, PathLike)) else "mask"
        areas = read_aoi(spec, kind="mask")
        if source.crs is None:
            raise ValueError(f"{self.what} is polygons in lon/lat, but {source.what} has "
                             "no CRS; give a raster mask of the scene's size instead.")
        self.polygons = list(aoi_to_pixels(areas, source.crs, source.transform).values())
        union = shapely.union_all(self.polygons)
        if not union.intersects(shapely.box(0, 0, source.width, source.height)):
            raise ValueError(f"{self.what} does not overlap {source.what}.")

    def _open_raster(self, path, source):
        import rasterio
        from rasterio.enums import Resampling
        from rasterio.vrt import WarpedVRT
        from rasterio.warp import transform_bounds

        self.what = f"mask file {path}"
        if not is_remote(path) and not path.is_file():
            raise FileNotFoundError(f"{self.what} does not exist.")
        try:
            self.dataset = dataset = rasterio.open(path)
        except rasterio.errors.RasterioIOError as exc:
            raise ValueError(f"Cannot read {self.what} ({exc}).") from None
        try:
            udm2 = "udm2" in Path(path).name.lower()
            self.bands = list(UDM2_UNUSABLE if udm2 and dataset.count >= 6 else (1,))
            self.classes = SCL_UNUSABLE if is_scl(path) else None
            size = tuple(source.scene_shape[:2])
            own = {}
            if dataset.crs is None:
                if (dataset.height, dataset.width) != size:
                    raise ValueError(
                        f"{self.what} has no CRS and is {dataset.height}x{dataset.width} "
                        f"pixels, but {source.what} is {size[0]}x{size[1]}: a mask "
                        "without georeference must have the scene's size.")
                if source.crs is None:
                    self.reader = dataset  # pixel for pixel, resampled like the scene
                    return
                own = {"src_crs": source.crs, "src_transform": source.scene_transform}
            elif source.crs is None:
                raise ValueError(f"{self.what} has CRS {dataset.crs}, but {source.what} "
                                 "has none: the mask cannot be placed on it.")
            else:
                west, south, east, north = transform_bounds(dataset.crs, source.crs,
                                                            *dataset.bounds)
                left, top = source.transform @ (0, 0)
                right, bottom = source.transform @ (source.width, source.height)
                if (east <= min(left, right) or west >= max(left, right)
                        or north <= min(top, bottom) or south >= max(top, bottom)):
                    raise ValueError(f"{self.what} does not overlap {source.what}.")
            self.reader = WarpedVRT(dataset, crs=source.crs, transform=source.transform,
                                    width=source.width, height=source.height,
                                    resampling=Resampling.nearest, **own)
        except BaseException:
            dataset.close()
            raise

    def close(self):
        """Close the mask's files."""
        if self.reader is not None and self.reader is not self.dataset:
            self.reader.close()
        if self.dataset is not None:
            self.dataset.close()

    def read(self, rows, cols):
        """Unusable (bool) grid pixels ``[rows, cols]`` of the scan's grid."""
        shape = (rows.stop - rows.start, cols.stop - cols.start)
        if self.polygons is not None:
            from affine import Affine

            return self._rasterize(shape, Affine.translation(cols.start, rows.start))
        if self.reader is self.dataset:
            window = self.source.scene_window(rows, cols)
        else:
            from rasterio.windows import Window

            window = Window(cols.start, rows.start, shape[1], shape[0])
        return self._unusable(self.reader.read(self.bands, window=window,
                                               out_shape=(len(self.bands), *shape)))

    def overview(self, shape):
        """Unusable pixels of the whole grid decimated to ``shape``."""
        if self.polygons is not None:
            from affine import Affine

            return self._rasterize(shape, Affine.scale(self.source.width / shape[1],
                                                       self.source.height / shape[0]))
        return self._unusable(self.reader.read(self.bands,
                                               out_shape=(len(self.bands), *shape)))

    def _unusable(self, flags):
        """Unusable pixels from the mask bands read (flags, or SCL classes)."""
        if self.classes is not None:
            return np.isin(flags[0], self.classes)
        return (flags != 0).any(axis=0)

    def _rasterize(self, shape, transform):
        from rasterio.features import rasterize

        return rasterize(self.polygons, out_shape=shape, transform=transform,
                         dtype=np.uint8).astype(bool)
