"""Reading scenes as analysts get them: GeoTIFF, Cloud-Optimized GeoTIFF, PNG, JPEG.

:func:`open_scene` opens a scene file (or wraps an in-memory array) as a
source that :func:`sklship.scenes.scan.scan_scene` reads window by window, so that a
scene larger than memory is scanned with memory bounded by the tile size:

- GeoTIFF and Cloud-Optimized GeoTIFF (and anything else GDAL reads) go
  through rasterio, one window at a time (``DatasetReader.read(window=...)``);
  the scene's CRS, affine transform, nodata mask (``dataset_mask``: the
  nodata value, an internal mask or an alpha band) and tags come with it.
- PNG and JPEG go through Pillow (:func:`sklship._io.read_rgb`), as 8-bit RGB
  without georeference.

The chips' three channels are chosen with ``bands`` (1-based, in rasterio's
convention; ``(3, 2, 1)`` for a 4-band PlanetScope analytic scene in blue,
green, red, NIR order). A scene that is not 8-bit needs an explicit
``scale``: ``(low, high)`` maps low..high linearly to 0..255 and clips the
rest, or ``"percentile"`` takes low and high as the 2nd and 98th percentiles
(:data:`PERCENTILES`) of the valid pixels of all chosen bands in a decimated
overview of the scene (at most :data:`OVERVIEW_SIDE` pixels a side, read with
rasterio's ``out_shape``). One (low, high) for all bands keeps the colour
balance. Nothing is clipped silently: a non-8-bit scene without ``scale`` is a
ValueError that gives the file, its dtype, its data range and what to pass.

The acquisition time (:func:`scene_datetime`) comes from the file's tags or
its name, or is missing (NaT); it is never guessed.
"""

import re
from collections.abc import Sequence
from numbers import Integral
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import read_rgb

__all__ = ["BLACK_LEVEL", "OVERVIEW_SIDE", "PERCENTILES", "PILLOW_SUFFIXES", "footprint",
           "is_remote", "open_checked",
           "open_scene", "read_scene", "scene_datetime"]

#: Percentiles of the valid pixels that ``scale="percentile"`` maps to 0 and 255.
PERCENTILES = (2, 98)
#: Longest side of the decimated overview used for percentiles, data ranges,
#: valid fractions and overlay pictures.
OVERVIEW_SIDE = 1024
#: Largest 8-bit value of every band of a pixel outside a PNG's or JPEG's
#: footprint (:func:`footprint`); JPEG compression leaves a little noise.
BLACK_LEVEL = 8
#: File endings read with Pillow; every other file goes through rasterio.
PILLOW_SUFFIXES = (".png", ".jpg", ".jpeg")

# PlanetScope scene ids, as in ShipsNet file names: 20170705_180818_1041.
_PLANETSCOPE_ID = re.compile(r"(?<!\d)(\d{8}_\d{6})_[0-9a-fA-F]{4}(?![0-9a-fA-F])")
_DATE_GROUPS = ("year", "month", "day")


# --------------------------------------------------------------------------
# Opening
# --------------------------------------------------------------------------


def open_scene(scene, *, bands=None, scale=None, date_pattern=None):
    """Open a scene for window-by-window reading.

    Parameters
    ----------
    scene : str, os.PathLike or ndarray of shape (height, width, channels)
        A GeoTIFF / COG (or any raster rasterio reads), a PNG or JPEG file,
        or an image already in memory.
    bands : sequence of int or None, default=None
        1-based band numbers that make the chips' channels, in that order,
        e.g. ``(3, 2, 1)`` for a PlanetScope analytic scene. None takes the
        first three bands of a file (and every channel of an array).
    scale : (float, float), "percentile" or None, default=None
        How to bring a scene that is not uint8 to 0..255: ``(low, high)``
        maps linearly and clips outside; ``"percentile"`` uses the
        :data:`PERCENTILES` of a decimated overview. Required for files whose
        bands are not uint8; an array without ``scale`` is passed unchanged.
    date_pattern : str or None, default=None
        A regular expression with named groups ``year``, ``month``, ``day``
        (and optionally ``hour``, ``minute``, ``second``) that finds the
        acquisition time in the file name; see :func:`scene_datetime`.

    Returns
    -------
    source : scene source
        A context manager with ``name``, ``shape`` (height, width, channels),
        ``dtype`` (of the pixels it returns), ``crs`` (str or None),
        ``transform`` (affine.Affine or None), ``datetime`` (pandas.Timestamp
        or NaT), ``scale`` ((low, high) or None), ``read(rows, cols)`` ->
        (pixels, valid mask or None) and ``overview(max_side)``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not an image, a band number is out of range, the file
        has fewer than 3 bands and no ``bands`` are given, or it is not uint8
        and no ``scale`` is given. The message names the file.
    """
    pattern = _compile_date_pattern(date_pattern)
    bands = _check_bands(bands)
    if is_remote(scene):  # https://, s3://, /vsicurl/...: GDAL's own readers
        return _RasterioSource(scene, bands, scale, pattern)
    if isinstance(scene, (str, PathLike)):
        path = Path(scene)
        if not path.exists():
            raise FileNotFoundError(f"scene file {path} does not exist.")
        if path.suffix.lower() in PILLOW_SUFFIXES:
            pixels, alpha = read_rgb(path, name=f"scene file {path}", alpha=True)
            return _ArraySource(pixels, bands, scale, name=path.stem,
                                what=f"scene file {path}",
                                datetime=scene_datetime(path, date_pattern=pattern),
                                valid=footprint(pixels) if alpha is None else alpha > 0)
        return _RasterioSource(path, bands, scale, pattern)
    return _ArraySource(np.asarray(scene), bands, scale, name=None, what="scene",
                        datetime=pd.NaT)


def footprint(pixels, black=BLACK_LEVEL):
    """Pixels inside the scene's footprint of an image that has no alpha or nodata.

    A PNG or JPEG cut from an orthorectified scene fills the corners outside
    the satellite's footprint with black. Those pixels are the black ones
    (every band at most ``black``: JPEG leaves a little noise) that are
    connected to the image's border; dark water inside the scene is kept.

    Parameters
    ----------
    pixels : ndarray of shape (height, width, bands)
        8-bit pixels.
    black : int, default=BLACK_LEVEL
        Largest value of a band that still counts as black.

    Returns
    -------
    valid : ndarray of shape (height, width), dtype bool, or None
        False outside the footprint; None when every pixel is inside.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.full((4, 5, 3), 90, np.uint8)
    >>> image[:, :2] = 0       # outside, along the left edge
    >>> image[2, 3] = 0        # a black pixel inside the scene
    >>> footprint(image).astype(int)
    array([[0, 0, 1, 1, 1],
           [0, 0, 1, 1, 1],
           [0, 0, 1, 1, 1],
           [0, 0, 1, 1, 1]])
    """
    from scipy import ndimage

    dark = (pixels <= black).all(axis=2)
    if not dark.any():
        return None
    labels, _ = ndimage.label(dark)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    outside = np.isin(labels, edge[edge > 0])
    return None if not outside.any() else ~outside


def is_remote(href):
    """Whether ``href`` is a URL or GDAL virtual path that rasterio reads itself."""
    return isinstance(href, str) and bool(re.match(r"^([a-z][a-z0-9+.-]*://|/vsi)", href))


def _check_bands(bands):
    if bands is None:
        return None
    if isinstance(bands, (str, bytes)) or not all(
            isinstance(b, Integral) and not isinstance(b, bool) for b in bands):
        raise TypeError(f"bands must be a sequence of 1-based band numbers, e.g. "
                        f"(3, 2, 1); got {bands!r}.")
    bands = tuple(int(b) for b in bands)
    if not bands:
        raise ValueError("bands must name at least one band; got ().")
    return bands


class _Source:
    """What both sources share: scaling, the context manager, the shape."""

    crs = None
    transform = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Release the file (nothing for arrays)."""

    @property
    def shape(self):
        return (self.height, self.width, self.channels)

    def _to_uint8(self, pixels):
        if self.scale is None:
            return pixels
        low, high = self.scale
        scaled = (pixels.astype(np.float32) - np.float32(low)) * np.float32(
            255 / (high - low))
        return np.rint(np.clip(scaled, 0, 255, out=scaled)).astype(np.uint8)

    def _check_scale(self, scale, sample, valid, dtype):
        """(low, high) from ``scale``; an error when a non-uint8 scene has none."""
        if scale is None:
            if dtype != np.uint8 and self.path is not None:
                picked = sample[valid] if valid is not None else sample.reshape(-1, 1)
                found = (f"data range {picked.min()}..{picked.max()} in a decimated "
                         "sample" if picked.size else "no valid pixel in a sample")
                raise ValueError(
                    f"{self.what} has dtype {dtype} ({found}); pass scale=(low, high) "
                    "to map low..high to 0..255 (values outside are clipped), or "
                    "scale='percentile' to use the percentiles "
                    f"{PERCENTILES[0]} and {PERCENTILES[1]} of the scene (command "
                    "line: --scale LOW,HIGH or --scale percentile)."
                )
            return None
        if isinstance(scale, str):
            if scale != "percentile":
                raise ValueError(f"scale must be (low, high), 'percentile' or None; "
                                 f"got {scale!r}.")
            picked = sample[valid] if valid is not None else sample.reshape(-1, 1)
            if picked.size == 0:
                raise ValueError(f"{self.what} has no valid pixel to take "
                                 "scale='percentile' from.")
            low, high = np.percentile(picked, PERCENTILES)
            return float(low), float(max(high, low + 1e-6))
        try:
            low, high = (float(v) for v in scale)
        except (TypeError, ValueError):
            raise TypeError(f"scale must be (low, high), 'percentile' or None; got "
                            f"{scale!r}.") from None
        if not np.isfinite([low, high]).all() or high <= low:
            raise ValueError(f"scale must be (low, high) with low < high; got {scale!r}.")
        return low, high


class _ArraySource(_Source):
    """An image in memory (an array, or a PNG/JPEG read whole by Pillow).

    ``valid`` is the mask of pixels with data (alpha > 0 in a PNG), or None
    when every pixel has data.
    """

    def __init__(self, pixels, bands, scale, *, name, what, datetime, valid=None):
        self.name, self.what, self.datetime = name, what, datetime
        self.valid = None if valid is None or valid.all() else valid
        self.path = None if name is None else what
        if pixels.ndim == 3 and bands is not None:
            _check_band_range(bands, pixels.shape[2], what)
            pixels = pixels[..., [b - 1 for b in bands]]
        self.pixels = pixels
        self.scale = (None if scale is None or pixels.ndim != 3 else
                      self._check_scale(scale, pixels, None, pixels.dtype))
        self.dtype = np.dtype(np.uint8) if self.scale is not None else pixels.dtype
        self.height, self.width = pixels.shape[:2]
        self.channels = pixels.shape[2] if pixels.ndim == 3 else 0

    def read(self, rows, cols):
        """Pixels of ``[rows, cols]`` (slices) and their valid mask (None: all valid)."""
        valid = None if self.valid is None else self.valid[rows, cols]
        return self._to_uint8(self.pixels[rows, cols]), valid

    def overview(self, max_side=OVERVIEW_SIDE):
        """The whole image (small enough to plot) and its valid mask."""
        return self._to_uint8(self.pixels), self.valid

    def valid_overview(self, max_side=OVERVIEW_SIDE):
        """The valid mask (alpha > 0), or None when every pixel has data."""
        return self.valid


class _RasterioSource(_Source):
    """A raster file read window by window through rasterio."""

    def __init__(self, path, bands, scale, pattern):
        import rasterio
        from rasterio.enums import MaskFlags

        self.path, self.name, self.what = path, Path(path).stem, f"scene file {path}"
        try:
            self.dataset = rasterio.open(path)
        except rasterio.errors.RasterioIOError as exc:
            raise ValueError(f"Cannot read {self.what}: not an image rasterio can "
                             f"read ({exc}).") from exc
        try:
            dataset = self.dataset
            if bands is None:
                if dataset.count < 3:
                    raise ValueError(
                        f"{self.what} has {dataset.count} band"
                        f"{'s' if dataset.count != 1 else ''}; chips need 3: pass "
                        "bands=(1, 1, 1) for a grey image, or the 3 bands to use "
                        "(command line: --bands 1,1,1).")
                bands = (1, 2, 3)
            _check_band_range(bands, dataset.count, self.what)
            self.bands = bands
            self.height, self.width, self.channels = (dataset.height, dataset.width,
                                                      len(bands))
            self.crs = dataset.crs.to_string() if dataset.crs else None
            self.transform = None if self.crs is None else dataset.transform
            self.has_mask = any(flags != [MaskFlags.all_valid]
                                for flags in dataset.mask_flag_enums)
            self.datetime = scene_datetime(path, tags=dataset.tags(),
                                           date_pattern=pattern)
            dtypes = {np.dtype(dataset.dtypes[b - 1]) for b in bands}
            raw_dtype = max(dtypes, key=lambda d: d.itemsize)
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
        """Pixels of ``[rows, cols]`` (slices) as (h, w, channels) and their valid mask.

        The mask is None when the file declares no nodata, mask or alpha.
        """
        from rasterio.windows import Window

        window = Window.from_slices(rows, cols, height=self.height, width=self.width)
        pixels = np.moveaxis(self.dataset.read(self.bands, window=window), 0, -1)
        valid = (self.dataset.dataset_mask(window=window) > 0 if self.has_mask
                 else None)
        return self._to_uint8(pixels), valid

    def overview(self, max_side=OVERVIEW_SIDE):
        """The scene decimated to at most ``max_side`` pixels a side, and its mask."""
        pixels, valid = self._raw_overview(max_side)
        return self._to_uint8(pixels), valid

    def valid_overview(self, max_side=OVERVIEW_SIDE):
        """Validity (not nodata) of the scene decimated to at most ``max_side`` a side."""
        shape = self._overview_shape(max_side)
        if not self.has_mask:
            return np.ones(shape, dtype=bool)
        return self.dataset.dataset_mask(out_shape=shape) > 0

    def _raw_overview(self, max_side):
        shape = self._overview_shape(max_side)
        pixels = np.moveaxis(self.dataset.read(self.bands, out_shape=(len(self.bands),
                                                                      *shape)), 0, -1)
        return pixels, (self.valid_overview(max_side) if self.has_mask else None)

    def _overview_shape(self, max_side):
        factor = max(1, -(-max(self.height, self.width) // max_side))
        return (-(-self.height // factor), -(-self.width // factor))


def _check_band_range(bands, count, what):
    wrong = [b for b in bands if not 1 <= b <= count]
    if wrong:
        raise ValueError(f"bands={bands} is out of range for {what}, which has {count} "
                         f"band{'s' if count != 1 else ''} (numbered 1 to {count}); "
                         f"got {', '.join(map(str, wrong))}.")


# --------------------------------------------------------------------------
# Acquisition time
# --------------------------------------------------------------------------


def scene_datetime(path, *, tags=None, date_pattern=None):
    """The acquisition time of a scene, or NaT when nothing says it.

    Sources, first found wins:

    1. ``date_pattern``, a regular expression searched in the file name, with
       named groups ``year``, ``month``, ``day`` and optionally ``hour``,
       ``minute``, ``second`` (e.g.
       ``r"port_(?P<year>\\d{4})-(?P<month>\\d\\d)-(?P<day>\\d\\d)"``);
    2. the tag ``acquired`` (ISO 8601, as in Planet's metadata);
    3. the tag ``TIFFTAG_DATETIME`` (``"YYYY:MM:DD HH:MM:SS"``);
    4. a PlanetScope scene id in the file name, ``YYYYMMDD_HHMMSS_xxxx``
       (e.g. ``20170705_180818_1041``, also inside ShipsNet chip names).

    Parameters
    ----------
    path : str or os.PathLike
        The scene file (only its name is used).
    tags : dict or None, default=None
        The file's tags (rasterio's ``dataset.tags()``).
    date_pattern : str, re.Pattern or None, default=None
        See above.

    Returns
    -------
    datetime : pandas.Timestamp or NaT
        Time-zone naive; an ``acquired`` time with a zone is converted to UTC.

    Raises
    ------
    ValueError
        If ``date_pattern`` is not a regular expression with the named groups
        year, month and day, or a tag or match is not a valid date.

    Examples
    --------
    >>> from sklship.scenes import scene_datetime
    >>> scene_datetime("20170705_180818_1041_3B_Visual.tif")
    Timestamp('2017-07-05 18:08:18')
    >>> scene_datetime("harbour.tif")
    NaT
    """
    name = Path(path).name
    tags = tags or {}
    pattern = _compile_date_pattern(date_pattern)
    if pattern is not None:
        match = pattern.search(name)
        if match:
            parts = {key: int(value) for key, value in match.groupdict().items()
                     if value is not None}
            return _timestamp(lambda: pd.Timestamp(**parts), f"date_pattern match in "
                              f"{name}", match.group(0))
    if tags.get("acquired"):
        stamp = _timestamp(lambda: pd.Timestamp(tags["acquired"]),
                           f"tag 'acquired' of {name}", tags["acquired"])
        return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp
    if tags.get("TIFFTAG_DATETIME"):
        text = tags["TIFFTAG_DATETIME"]
        return _timestamp(lambda: pd.to_datetime(text, format="%Y:%m:%d %H:%M:%S"),
                          f"tag TIFFTAG_DATETIME of {name}", text)
    match = _PLANETSCOPE_ID.search(name)
    if match:
        return _timestamp(lambda: pd.to_datetime(match.group(1), format="%Y%m%d_%H%M%S"),
                          f"PlanetScope id in {name}", match.group(0))
    return pd.NaT


def _timestamp(make, where, text):
    try:
        return make()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where}: {text!r} is not a valid date ({exc}).") from None


def _compile_date_pattern(date_pattern):
    if date_pattern is None or isinstance(date_pattern, re.Pattern) and set(
            _DATE_GROUPS) <= set(date_pattern.groupindex):
        return date_pattern
    try:
        pattern = re.compile(date_pattern)
    except (re.error, TypeError) as exc:
        raise ValueError(f"date_pattern must be a regular expression; got "
                         f"{date_pattern!r} ({exc}).") from None
    missing = [g for g in _DATE_GROUPS if g not in pattern.groupindex]
    if missing:
        raise ValueError(
            f"date_pattern must have the named groups year, month and day (and "
            f"optionally hour, minute, second), e.g. "
            r"'(?P<year>\d{4})-(?P<month>\d\d)-(?P<day>\d\d)'; "
            f"{date_pattern!r} lacks {', '.join(missing)}.")
    return pattern


def read_scene(path: str | PathLike, *, bands: Sequence[int] | None = None,
               scale: tuple[float, float] | str | None = None) -> np.ndarray:
    """Read a whole scene file as an 8-bit RGB array (height, width, 3).

    Parameters
    ----------
    path : str or os.PathLike
        A GeoTIFF, PNG or JPEG; see :func:`sklship.scenes.sources.open_scene`.
    bands, scale : see :func:`open_scene`

    Returns
    -------
    scene : ndarray of shape (height, width, channels)
    """
    with open_scene(path, bands=bands, scale=scale) as source:
        return source.read(slice(None), slice(None))[0]


def open_checked(scene, window, channels, fitted_dtype, *, bands=None, scale=None,
                 date_pattern=None):
    """Open ``scene`` (an array or a file) and check that a model can scan it.

    Parameters
    ----------
    scene : array-like or path
        As for :func:`open_scene`.
    window : int
        The model's window side: the scene must be at least that large.
    channels : int or None
        The model's channels, when it knows them.
    fitted_dtype : numpy.dtype or None
        The dtype the model was fitted on (uint8 or not must match).
    bands, scale, date_pattern
        As for :func:`open_scene`.

    Returns
    -------
    source : scene source
        Open; the caller closes it (it is a context manager).
    """
    if not isinstance(scene, (str, PathLike)):
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
    source = open_scene(scene, bands=bands, scale=scale, date_pattern=date_pattern)
    try:
        height, width, depth = source.shape
        if channels is not None and depth != channels:
            raise ValueError(
                f"{source.what} has {depth} channels, but the estimator was fitted on "
                f"chips with {channels}; got a scene of shape {source.shape}."
            )
        if height < window or width < window:
            raise ValueError(
                f"{source.what} of {height}x{width} pixels is smaller than the "
                f"{window}x{window} window."
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
