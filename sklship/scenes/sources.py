"""Reading scenes as analysts get them: GeoTIFF, Cloud-Optimized GeoTIFF, PNG, JPEG.

:func:`open_scene` opens a scene file (or wraps an in-memory array) as a
source that :func:`sklship.scenes.scan.scan_scene` reads window by window, so that a
scene larger than memory is scanned with memory bounded by the tile size:

- GeoTIFF and Cloud-Optimized GeoTIFF (and anything else GDAL reads) go
  through rasterio, one window at a time (``DatasetReader.read(window=...)``);
  the scene's CRS, affine transform, nodata mask (``dataset_mask``: the
  nodata value, an internal mask or an alpha band; else, in an 8-bit file,
  the black outside the footprint, :mod:`~sklship.scenes.footprint`) and tags.
- PNG and JPEG go through Pillow (:func:`sklship._io.read_rgb`), as 8-bit RGB
  without georeference; a grey one needs ``bands=(1, 1, 1)``, as a grey GeoTIFF
  does, and a 16-bit one goes through rasterio (it then needs a ``scale``).

The chips' three channels are chosen with ``bands`` (1-based, in rasterio's
convention; ``(3, 2, 1)`` for a 4-band PlanetScope analytic scene in blue,
green, red, NIR order). Without ``bands``, a file gives the bands its
descriptions call red, green and blue, or a Planet analytic asset's (by its
file name), else bands 1 to 3 (:func:`~sklship.scenes.bands.default_bands`);
a stack of band files (STAC assets, a Sentinel-2 product's bands) gives those
described red, green and blue, else every file.
A scene that is not 8-bit needs an explicit
``scale``: ``(low, high)`` maps low..high linearly to 0..255 and clips the
rest, or ``"percentile"`` takes low and high as the 2nd and 98th percentiles
(:data:`PERCENTILES`) of the valid pixels of all chosen bands in a decimated
overview of the scene (at most :data:`OVERVIEW_SIDE` pixels a side, read with
rasterio's ``out_shape``). One (low, high) for all bands keeps the colour
balance. Nothing is clipped silently: a non-8-bit scene without ``scale`` is a
ValueError that gives the file, its dtype, its data range and what to pass.

Sentinel-2 as it comes (:mod:`sklship.scenes.bands`): ``bands`` may name
bands by their descriptions (``("red", "green", "blue", "nir")``, also
``B04``...), and ``scale="reflectance"`` returns float32 surface reflectance
(value x scale + offset, from ``reflectance=``, the file or its product's
tags). A scene may also be several single-band files (a list of paths, or a
STAC item's band assets; :mod:`sklship.scenes.stack`) or an xarray
``DataArray`` with dims (band, y, x) (:mod:`sklship.scenes.dataarray`).

The acquisition time (:func:`scene_datetime`) comes from the file's tags or
its name, or is missing (NaT); it is never guessed.
"""

import logging
import os
import re
import warnings
from collections.abc import Sequence
from contextlib import nullcontext
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import GREY_MODES, HIGH_BIT_MODES, image_mode, read_rgb
from .bands import (
    REFLECTANCE,
    REFLECTANCE_SCALES,
    band_indexes,
    check_band_range,
    check_bands,
    check_reflectance_scale,
    default_bands,
    described_rgb,
    is_band_names,
    too_few_bands,
)
from .dates import _compile_date_pattern, scene_datetime
from .footprint import WindowFootprint, footprint
from .source_base import OVERVIEW_SIDE, PERCENTILES, _Source
from .stack import is_file_list, is_vrt_xml, vrt_name

log = logging.getLogger("sklship")

__all__ = ["GDAL_CACHE", "OVERVIEW_SIDE", "PERCENTILES", "PILLOW_SUFFIXES", "REFLECTANCE",
           "bounded_gdal_cache", "is_remote", "open_checked", "open_scene", "raster_header",
           "read_scene", "scene_datetime"]

#: File endings read with Pillow; every other file goes through rasterio.
PILLOW_SUFFIXES = (".png", ".jpg", ".jpeg")

#: GDAL's block cache while a scan reads a file, in bytes (GDAL's own default
#: is 5 % of the machine's memory). A scan reads each tile once and keeps the
#: decimated overview it reads, so it needs little cache: a synthetic
#: Sentinel-2 tile (10,980 px a side, 4 bands) peaked at 2.69 GiB in 35 s with
#: GDAL's default on a 24 GB machine, 1.95 GiB in 39 to 42 s with 256 MB and
#: 1.82 GiB in 38 s with 128 MB.
GDAL_CACHE = 128 * 2**20



# --------------------------------------------------------------------------
# Opening
# --------------------------------------------------------------------------


def bounded_gdal_cache(scene):
    """A context in which reading ``scene`` keeps GDAL's block cache to :data:`GDAL_CACHE`.

    Only for scene files (arrays and DataArrays need no GDAL cache), and only
    when the user has not set ``GDAL_CACHEMAX`` in the environment or in an
    enclosing ``rasterio.Env``: theirs wins. The cache is as it was afterwards.

    Parameters
    ----------
    scene : array-like, path or list of paths
        What a scan reads.

    Returns
    -------
    context : rasterio.Env or contextlib.nullcontext
    """
    if not (isinstance(scene, str | PathLike) or is_file_list(scene)) \
            or "GDAL_CACHEMAX" in os.environ:
        return nullcontext()
    import rasterio
    from rasterio.env import getenv, hasenv

    if hasenv() and "GDAL_CACHEMAX" in getenv():
        return nullcontext()
    return rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE)


def open_scene(scene, *, bands=None, scale=None, date_pattern=None, reflectance=None):
    """Open a scene for window-by-window reading.

    Parameters
    ----------
    scene : str, os.PathLike, sequence of them, xarray.DataArray or ndarray
        A GeoTIFF / COG (or any raster rasterio reads), a PNG or JPEG file,
        several single-band files (one per band, stacked as one scene; or
        the VRT text of :func:`sklship.scenes.stack.stack_vrt`), a
        ``DataArray`` with dims (band, y, x) and a CRS through rioxarray
        (:mod:`sklship.scenes.dataarray`), or an image of shape (height,
        width, channels) already in memory.
    bands : sequence of int, sequence of str or None, default=None
        The bands that make the chips' channels, in that order: 1-based
        numbers, e.g. ``(3, 2, 1)`` for a PlanetScope analytic scene, or
        names matched to the band descriptions, e.g. ``("red", "green",
        "blue", "nir")`` (see :mod:`sklship.scenes.bands`). None takes a
        file's red, green and blue
        (:func:`~sklship.scenes.bands.default_bands`: by its band
        descriptions, or a Planet analytic asset's order, else bands 1 to
        3), a stack's files described red, green and blue (else every
        file), and every channel of an array.
    scale : (float, float), "percentile", "reflectance", "dark-object" or None, \
            default=None
        How to bring a scene that is not uint8 to 0..255: ``(low, high)``
        maps linearly and clips outside; ``"percentile"`` uses the
        :data:`PERCENTILES` of a decimated overview. Required for files whose
        bands are not uint8; an array without ``scale`` is passed unchanged.
        ``"reflectance"`` returns float32 surface reflectance instead, and
        ``"dark-object"`` the same less each band's dark level (a haze
        correction; see :mod:`sklship.scenes.bands`).
    date_pattern : str or None, default=None
        A regular expression with named groups ``year``, ``month``, ``day``
        (and optionally ``hour``, ``minute``, ``second``) that finds the
        acquisition time in the file name; see :func:`scene_datetime`.
    reflectance : (float, float), sequence of them or None, default=None
        ``(scale, offset)`` with reflectance = value x scale + offset, for
        all bands or one pair per band; implies ``scale="reflectance"``.
        None takes them from the file (see :mod:`sklship.scenes.bands`).

    Returns
    -------
    source : scene source
        A context manager with ``name``, ``shape`` (height, width, channels),
        ``dtype`` (of the pixels it returns), ``crs`` (str or None),
        ``transform`` (affine.Affine or None), ``datetime`` (pandas.Timestamp
        or NaT), ``scale`` ((low, high), a name or None), ``dark_level``
        (with ``scale="dark-object"``, the reflectance subtracted from each
        band; else None), ``read(rows, cols)`` ->
        (pixels, valid mask or None) and ``overview(max_side)``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is a folder or not an image, a band number is out of range, a named
        band is missing, the file has fewer than 3 bands and no ``bands`` are
        given, it is not uint8 and no ``scale`` is given, or the scale of its
        reflectance is unknown. The message names the file.
    """
    pattern = _compile_date_pattern(date_pattern)
    bands = check_bands(bands)
    scale = check_reflectance_scale(scale, reflectance)
    if is_file_list(scene):
        from .stack import stack_vrt

        scene = stack_vrt(scene, name=Path(scene[0]).parent.name or None)
    if is_remote(scene) or is_vrt_xml(scene):  # URLs, /vsi paths, VRT text: GDAL's
        return _RasterioSource(scene, bands, scale, pattern, reflectance)
    if _is_dataarray(scene):
        from .dataarray import DataArraySource

        return DataArraySource(scene, bands, scale, reflectance)
    if isinstance(scene, (str, PathLike)):
        path = Path(scene)
        if not path.exists():
            raise FileNotFoundError(f"scene file {path} does not exist.")
        if path.is_dir():
            raise ValueError(f"scene {path} is a folder; give the scene files in it "
                             f"(e.g. {path / '*.tif'}).")
        mode = image_mode(path) if path.suffix.lower() in PILLOW_SUFFIXES else None
        if mode in HIGH_BIT_MODES:  # 16-bit PNG: GDAL's reader keeps its values
            return _RasterioSource(path, bands, scale, pattern, reflectance)
        if bands is None and mode in GREY_MODES:
            raise too_few_bands(1, f"scene file {path}")
        if path.suffix.lower() in PILLOW_SUFFIXES:
            pixels, alpha = read_rgb(path, name=f"scene file {path}", alpha=True)
            return _ArraySource(pixels, bands, scale, name=path.stem,
                                what=f"scene file {path}",
                                datetime=scene_datetime(path, date_pattern=pattern),
                                valid=footprint(pixels) if alpha is None else alpha > 0,
                                reflectance=reflectance)
        return _RasterioSource(path, bands, scale, pattern, reflectance)
    return _ArraySource(np.asarray(scene), bands, scale, name=None, what="scene",
                        datetime=pd.NaT, reflectance=reflectance)


def raster_header(path):
    """A raster file's georeference and tags, without its pixels.

    Returns
    -------
    header : (crs, transform, tags) or None
        ``crs`` and ``transform`` None for a file without georeference; None
        when rasterio cannot read the file.
    """
    import rasterio

    try:
        with warnings.catch_warnings():  # a missing CRS is the caller's to tell
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with rasterio.open(path) as dataset:
                crs = dataset.crs
                return crs, dataset.transform if crs is not None else None, dataset.tags()
    except rasterio.errors.RasterioIOError:
        return None


def _is_dataarray(scene):
    return type(scene).__name__ == "DataArray" and type(scene).__module__.startswith(
        "xarray")


def is_remote(href):
    """Whether ``href`` is a URL or GDAL virtual path that rasterio reads itself."""
    return isinstance(href, str) and bool(re.match(r"^([a-z][a-z0-9+.-]*://|/vsi)", href))


class _ArraySource(_Source):
    """An image in memory (an array, or a PNG/JPEG read whole by Pillow).

    ``valid`` is the mask of pixels with data (alpha > 0 in a PNG), or None
    when every pixel has data.
    """

    def __init__(self, pixels, bands, scale, *, name, what, datetime, valid=None,
                 reflectance=None):
        self.name, self.what, self.datetime = name, what, datetime
        self.valid = None if valid is None or valid.all() else valid
        self.path = None if name is None else what
        if pixels.ndim == 3 and bands is not None:
            if is_band_names(bands):
                raise ValueError(f"{what} has no band descriptions to find bands="
                                 f"{bands!r} in; pass 1-based band numbers.")
            check_band_range(bands, pixels.shape[2], what)
            pixels = pixels[..., [b - 1 for b in bands]]
        self.pixels = pixels
        self.height, self.width = pixels.shape[:2]
        self.channels = pixels.shape[2] if pixels.ndim == 3 else 0
        self.scale = (None if scale is None or pixels.ndim != 3 else
                      self._check_scale(scale, pixels, None, pixels.dtype))
        if self.scale in REFLECTANCE_SCALES:
            self._set_reflectance(reflectance, pixels.dtype, sample=lambda: pixels)
            self._subtract_dark(lambda: (pixels, self.valid))
        self.dtype = (pixels.dtype if self.scale is None else np.dtype(
            np.float32 if self.scale in REFLECTANCE_SCALES else np.uint8))

    def read(self, rows, cols):
        """Pixels of ``[rows, cols]`` (slices) and their valid mask (None: all valid)."""
        valid = None if self.valid is None else self.valid[rows, cols]
        raw = self.pixels[rows, cols]
        return self.convert(raw), self._valid(raw, valid)

    def overview(self, max_side=OVERVIEW_SIDE):
        """The whole image (small enough to plot) and its valid mask."""
        return self.convert(self.pixels), self._valid(self.pixels, self.valid)

    def valid_overview(self, max_side=OVERVIEW_SIDE):
        """The valid mask (alpha > 0), or None when every pixel has data."""
        return self._valid(self.pixels, self.valid)


class _RasterioSource(_Source):
    """A raster file read window by window through rasterio."""

    def __init__(self, path, bands, scale, pattern, reflectance=None):
        import rasterio
        from rasterio.enums import MaskFlags

        self.path, self.name, self.what = path, Path(path).stem, f"scene file {path}"
        self._overviews = {}  # max_side -> (raw pixels, valid mask or None)
        self.footprint = None  # an 8-bit file's black outside, with no nodata, mask, alpha
        if is_vrt_xml(path):
            self.name, files = vrt_name(path)
            self.what = f"scene {self.name} (band files {', '.join(files)})"
        try:
            with warnings.catch_warnings():  # the scan notes a missing CRS itself
                warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
                self.dataset = rasterio.open(path)
        except rasterio.errors.RasterioIOError as exc:
            raise ValueError(f"Cannot read {self.what}: not an image rasterio can "
                             f"read ({exc}).") from exc
        try:
            dataset = self.dataset
            if is_band_names(bands):
                bands = band_indexes(bands, dataset.descriptions, self.what)
            elif bands is None and is_vrt_xml(path):
                # A stack: the files described red, green and blue, else every file.
                bands = (described_rgb(dataset.descriptions)
                         or tuple(range(1, dataset.count + 1)))
            if bands is None:
                if dataset.count < 3:
                    raise too_few_bands(dataset.count, self.what)
                bands, why = default_bands(dataset.descriptions, self.name)
                if why is not None:
                    log.info(f"{self.what}: red, green and blue are bands "
                             f"{', '.join(map(str, bands))}, by {why}.")
            check_band_range(bands, dataset.count, self.what)
            self.bands = bands
            self.height, self.width, self.channels = (dataset.height, dataset.width,
                                                      len(bands))
            self.crs = dataset.crs.to_string() if dataset.crs else None
            self.transform = None if self.crs is None else dataset.transform
            self.has_mask = any(flags != [MaskFlags.all_valid]
                                for flags in dataset.mask_flag_enums)
            self.datetime = scene_datetime(self.name if is_vrt_xml(path) else path,
                                           tags=dataset.tags(), date_pattern=pattern)
            dtypes = {np.dtype(dataset.dtypes[b - 1]) for b in bands}
            raw_dtype = max(dtypes, key=lambda d: d.itemsize)
            if scale in REFLECTANCE_SCALES:
                self.scale = scale
                self._set_reflectance(
                    reflectance, raw_dtype, [dataset.scales[b - 1] for b in bands],
                    [dataset.offsets[b - 1] for b in bands],
                    [dataset.tags()] + [dataset.tags(b) for b in bands],
                    lambda: self._raw_overview(OVERVIEW_SIDE)[0])
                self._subtract_dark(lambda: self._raw_overview(OVERVIEW_SIDE))
                self.dtype = np.dtype(np.float32)
                return
            if not self.has_mask and raw_dtype == np.uint8:  # black outside, no mask?
                pixels = self._raw_overview(OVERVIEW_SIDE)[0]  # kept with the mask below
                self.footprint = WindowFootprint(pixels, (self.height, self.width))
                self._overviews[OVERVIEW_SIDE] = pixels, self.footprint.valid(pixels)
            needs = scale is not None or raw_dtype != np.uint8
            sample, valid = self._raw_overview(OVERVIEW_SIDE) if needs else (None, None)
            self.scale = self._check_scale(scale, sample, valid, raw_dtype)
            self.dtype = np.dtype(np.uint8)
        except BaseException:
            self.dataset.close()
            raise

    def close(self):
        """Close the file."""
        self.dataset.close()

    def read(self, rows, cols):
        """Pixels of ``[rows, cols]`` (slices) as (h, w, channels) and their valid mask."""
        from rasterio.windows import Window

        return self.read_window(Window.from_slices(rows, cols, height=self.height,
                                                   width=self.width))

    def read_window(self, window, out_shape=None, resampling=None):
        """Pixels of a rasterio ``window``, resampled to ``out_shape`` (h, w) if given.

        The valid mask (resampled by nearest neighbour) is None when the file
        declares no nodata, mask or alpha and the values are not reflectance.
        """
        shaped = {} if out_shape is None else {
            "out_shape": (len(self.bands), *out_shape), "resampling": resampling}
        pixels = np.moveaxis(self.dataset.read(self.bands, window=window, **shaped), 0, -1)
        valid = (self.dataset.dataset_mask(window=window, out_shape=out_shape) > 0
                 if self.has_mask else self.footprint and self.footprint.valid(pixels, window))
        return self.convert(pixels), self._valid(pixels, valid)

    def overview(self, max_side=OVERVIEW_SIDE):
        """The scene decimated to at most ``max_side`` pixels a side, and its mask."""
        pixels, valid = self._raw_overview(max_side)
        return self.convert(pixels), self._valid(pixels, valid)

    def valid_overview(self, max_side=OVERVIEW_SIDE):
        """Validity (not nodata, not saturated) of the overview of ``max_side``, or None."""
        shape = self._overview_shape(max_side)
        if self.saturated is not None or self.footprint is not None:
            pixels, valid = self._raw_overview(max_side)
            return self._valid(pixels, valid)
        if not self.has_mask:
            return np.ones(shape, dtype=bool)
        return self.dataset.dataset_mask(out_shape=shape) > 0

    def _raw_overview(self, max_side):
        # Kept: a decimated read decodes every block of the file, and a scan
        # asks for its overview twice (validity, then clouds); a GDAL block
        # cache smaller than the file would decode it all again.
        if max_side not in self._overviews:
            shape = self._overview_shape(max_side)
            pixels = np.moveaxis(self.dataset.read(self.bands, out_shape=(
                len(self.bands), *shape)), 0, -1)
            valid = (self.dataset.dataset_mask(out_shape=shape) > 0 if self.has_mask else
                     self.footprint and self.footprint.valid(pixels))
            self._overviews[max_side] = pixels, valid
        return self._overviews[max_side]

    def _overview_shape(self, max_side):
        factor = max(1, -(-max(self.height, self.width) // max_side))
        return (-(-self.height // factor), -(-self.width // factor))





def read_scene(path: str | PathLike, *, bands: Sequence[int] | Sequence[str] | None = None,
               scale: tuple[float, float] | str | None = None,
               reflectance=None) -> np.ndarray:
    """Read a whole scene file as an 8-bit RGB array (height, width, 3), or reflectance.

    Parameters
    ----------
    path : str or os.PathLike
        A GeoTIFF, PNG or JPEG (or any scene
        :func:`sklship.scenes.sources.open_scene` takes).
    bands, scale, reflectance : see :func:`open_scene`

    Returns
    -------
    scene : ndarray of shape (height, width, channels)
        uint8, or float32 with ``scale="reflectance"``.
    """
    with open_scene(path, bands=bands, scale=scale, reflectance=reflectance) as source:
        return source.read(slice(None), slice(None))[0]


def open_checked(scene, channels, fitted_dtype, *, bands=None, scale=None,
                 date_pattern=None, reflectance=None):
    """Open ``scene`` (an array or a file) and check that a model can scan it.

    Parameters
    ----------
    scene : array-like or path
        As for :func:`open_scene`.
    channels : int or None
        The model's channels, when it knows them.
    fitted_dtype : numpy.dtype or None
        The dtype the model was fitted on (uint8 or not must match).
    bands, scale, date_pattern, reflectance
        As for :func:`open_scene`.

    Returns
    -------
    source : scene source
        Open; the caller closes it (it is a context manager).
    """
    if not (isinstance(scene, (str, PathLike)) or is_file_list(scene)
            or _is_dataarray(scene)):
        scene = np.asarray(scene)
        if scene.ndim != 3:
            raise ValueError(
                f"scene must be an image of shape (height, width, channels) or an "
                f"image path; got an array of shape {scene.shape}."
            )
        if not np.issubdtype(scene.dtype, np.number) or scene.dtype == np.bool_:
            raise ValueError(f"scene must hold numbers; got dtype {scene.dtype}.")
        if scene.dtype != np.uint8 and not np.isfinite(scene).all():
            raise ValueError("scene contains NaN or infinity.")
    source = open_scene(scene, bands=bands, scale=scale, date_pattern=date_pattern,
                        reflectance=reflectance)
    try:
        depth = source.shape[2]
        if channels is not None and depth != channels:
            raise ValueError(
                f"{source.what} has {depth} channels, but the estimator was fitted on "
                f"chips with {channels}; got a scene of shape {source.shape}."
            )
        if fitted_dtype is not None and (
                (source.dtype == np.uint8) != (fitted_dtype == np.uint8)):
            raise ValueError(
                f"{source.what} has dtype {source.dtype}, but the estimator was fitted "
                f"on {fitted_dtype} chips; pass the scene in the form used for "
                "fitting (uint8 images are rescaled inside the model, others are not)."
            )
    except BaseException:
        source.close()
        raise
    return source
