"""An xarray ``DataArray`` as a scene, as stackstac and odc-stac return them.

The array has dims (band, y, x), or (time, band, y, x) with one time; its CRS
and transform come through rioxarray (``da.rio.crs``, ``da.rio.transform()``),
its band names from the ``band`` coordinate (stackstac's asset keys), so
``bands=("red", "green", "blue", "nir")`` picks them as in a file
(:mod:`sklship.scenes.bands`). A dask-backed array is read window by window:
only the windows a scan asks for are computed.

Values: ``scale="reflectance"`` takes a float array as reflectance already
(stackstac's default ``rescale=True`` applied ``raster:bands``); an integer
array needs ``reflectance=(scale, offset)`` unless its attributes
``scale_factor`` and ``add_offset`` say them (rioxarray with
``mask_and_scale=False``). NaN and the array's nodata (``da.rio.nodata``) are
not valid. Install with ``pip install sklship[xarray]``.
"""

import numpy as np
import pandas as pd

from .bands import REFLECTANCE_SCALES, band_indexes, check_band_range, is_band_names
from .source_base import OVERVIEW_SIDE, _Source

__all__ = ["DataArraySource"]

_DIMS = ("band", "y", "x")


class DataArraySource(_Source):
    """A DataArray scene read window by window (see the module).

    Parameters
    ----------
    array : xarray.DataArray
    bands : tuple of int, tuple of str or None
        1-based band numbers, band names, or None for every band.
    scale, reflectance
        As for :func:`sklship.scenes.sources.open_scene`.

    Raises
    ------
    ValueError
        If the dims are not (band, y, x) (with at most one time), a band is
        missing, or the array has no CRS while its coordinates look like
        degrees (its resolution cannot be known).
    """

    def __init__(self, array, bands, scale, reflectance=None):
        import rioxarray  # noqa: F401 (registers the .rio accessor)

        self.path, self.valid = None, None
        self.name = str(array.name) if array.name is not None else None
        self.what = f"DataArray {self.name}" if self.name else "DataArray scene"
        array = self._one_time(array)
        missing = [d for d in _DIMS if d not in array.dims]
        if missing or array.ndim != 3:
            raise ValueError(f"{self.what} must have dims (band, y, x); got "
                             f"{tuple(array.dims)}.")
        names = [str(v) for v in array["band"].values] if "band" in array.coords else []
        if is_band_names(bands):
            bands = band_indexes(bands, names, self.what)
        elif bands is not None:
            check_band_range(bands, array.sizes["band"], self.what)
        self.bands = bands
        if bands is not None:
            array = array.isel(band=[b - 1 for b in bands])
        self.crs = None if array.rio.crs is None else array.rio.crs.to_string()
        self.transform = None if self.crs is None else array.rio.transform()
        if self.crs is None:
            self._refuse_degrees(array)
        self.nodata = array.rio.nodata
        self._pixels = array.transpose("y", "x", "band")
        self.height, self.width, self.channels = self._pixels.shape
        self.datetime = self._time(array)
        dtype = np.dtype(array.dtype)
        self.scale = None if scale is None else self._check_scale(
            scale, *self.overview_raw(), dtype)
        if self.scale in REFLECTANCE_SCALES:
            own = (None, None)
            if reflectance is None and np.issubdtype(dtype, np.integer):
                own = ([float(array.attrs.get("scale_factor", 1.0))] * self.channels,
                       [float(array.attrs.get("add_offset", 0.0))] * self.channels)
            self._set_reflectance(reflectance, dtype, *own)
            self._subtract_dark(self.overview_raw)
        self.dtype = (dtype if self.scale is None else np.dtype(
            np.float32 if self.scale in REFLECTANCE_SCALES else np.uint8))

    @property
    def pixels(self):
        """The whole array as NumPy (computed: for resampling, which needs it all)."""
        return np.asarray(self._pixels)

    @pixels.setter
    def pixels(self, values):  # the resampled array (sklship.scenes.resolution)
        self._pixels = values

    def _one_time(self, array):
        if "time" not in array.dims:
            return array
        if array.sizes["time"] != 1:
            raise ValueError(f"{self.what} has {array.sizes['time']} times; a scene is "
                             "one: pass da.isel(time=i).")
        return array.isel(time=0)

    def _time(self, array):
        if "time" in array.coords and array["time"].size == 1:
            return pd.Timestamp(array["time"].values.item())
        return pd.NaT

    def _refuse_degrees(self, array):
        """A ValueError when x/y look like lon/lat degrees but no CRS says so."""
        if "x" not in array.coords or "y" not in array.coords or array.sizes["x"] < 2:
            return
        x, y = array["x"].values, array["y"].values
        step = abs(float(x[1] - x[0]))
        if np.abs(x).max() <= 180 and np.abs(y).max() <= 90 and step < 0.1:
            raise ValueError(f"{self.what} has no CRS and its x/y look like degrees "
                             f"(step {step:g}); its resolution is unknown: write the CRS, "
                             "e.g. da.rio.write_crs('EPSG:4326').")

    def _raw(self, rows, cols, step=1):
        """Raw values of ``[rows, cols]`` (every ``step``-th pixel) and their validity."""
        raw = np.asarray(self._pixels[rows.start:rows.stop:step, cols.start:cols.stop:step])
        bad = np.zeros(raw.shape[:2], dtype=bool)
        if np.issubdtype(raw.dtype, np.floating):
            bad |= np.isnan(raw).any(axis=-1)
        if self.nodata is not None and not np.isnan(self.nodata):
            bad |= (raw == self.nodata).any(axis=-1)
        return raw, (None if not bad.any() else ~bad)

    def read(self, rows, cols, step=1):
        """Pixels of ``[rows, cols]`` (slices) and their valid mask (None: all valid)."""
        raw, valid = self._raw(rows, cols, step)
        pixels = self.convert(raw)
        if valid is not None and np.issubdtype(pixels.dtype, np.floating):
            pixels = np.where(valid[..., None], pixels, 0).astype(pixels.dtype)
        return pixels, self._valid(raw, valid)

    def _step(self, max_side):
        return max(1, -(-max(self.height, self.width) // max_side))

    def overview_raw(self, max_side=OVERVIEW_SIDE):
        """Raw values of the decimated overview and their validity (None: all valid)."""
        return self._raw(slice(0, self.height), slice(0, self.width), self._step(max_side))

    def overview(self, max_side=OVERVIEW_SIDE):
        """The scene decimated to at most ``max_side`` pixels a side, and its mask."""
        return self.read(slice(0, self.height), slice(0, self.width), self._step(max_side))

    def valid_overview(self, max_side=OVERVIEW_SIDE):
        """Validity (not NaN, nodata or saturated) on the decimated overview."""
        return self.overview(max_side)[1]
