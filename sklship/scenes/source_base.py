"""What every scene source shares: its shape, closing, and its pixels' conversion.

:mod:`sklship.scenes.sources` (files and arrays) and
:mod:`sklship.scenes.dataarray` (xarray) derive their sources from
:class:`_Source`.
"""

import functools
import logging

import numpy as np

from .bands import (
    DARK_OBJECT,
    REFLECTANCE_SCALES,
    SATURATED,
    check_reflectance,
    dark_levels,
    reflectance_scaling,
)

__all__ = ["OVERVIEW_SIDE", "PERCENTILES"]

log = logging.getLogger("sklship")

#: Percentiles of the valid pixels that ``scale="percentile"`` maps to 0 and 255.
PERCENTILES = (2, 98)
#: Longest side of the decimated overview used for percentiles, data ranges,
#: valid fractions and overlay pictures.
OVERVIEW_SIDE = 1024


@functools.cache
def _tell_once(message):
    """Log ``message`` once per process: a scan opens a scene again for its overlay."""
    log.info(message)


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

    gain = bias = saturated = reflectance_from = dark_level = None

    def convert(self, pixels):
        """Raw pixels (..., channels) as returned: unchanged, 8-bit or reflectance."""
        if self.scale is None:
            return pixels
        if self.scale in REFLECTANCE_SCALES:
            if self.gain is None:  # float data that is reflectance already
                return pixels.astype(np.float32, copy=False)
            return pixels.astype(np.float32) * self.gain + self.bias
        low, high = self.scale
        scaled = (pixels.astype(np.float32) - np.float32(low)) * np.float32(
            255 / (high - low))
        return np.rint(np.clip(scaled, 0, 255, out=scaled)).astype(np.uint8)

    _to_uint8 = convert  # the name sklship.scenes.resolution calls

    def _set_reflectance(self, explicit, dtype, scales=None, offsets=None, tags=(),
                         sample=None):
        """Gain and offset to reflectance (:func:`~.bands.reflectance_scaling`;
        ``sample`` returns raw pixels, looked at for 16-bit data only)."""
        explicit = check_reflectance(explicit, self.channels)
        if explicit is None and np.issubdtype(dtype, np.floating) and (
                scales is None or not any(s != 1 or o != 0 for s, o in zip(
                    scales, offsets, strict=True))):
            # Float pixels that nothing rescales: reflectance already (stackstac's
            # rescale=True, a GeoTIFF written by rasterio or GDAL from reflectance).
            return
        if scales is None:
            scales, offsets = [1.0] * self.channels, [0.0] * self.channels
        self.gain, self.bias, self.reflectance_from = reflectance_scaling(
            explicit, scales, offsets, tags, self.what,
            sample if np.dtype(dtype) == np.uint16 else None)
        if self.reflectance_from == "Sentinel Hub's 16-bit values":
            _tell_once(f"{self.what}: reflectance is value / 65535, as its values are "
                       "Sentinel Hub's 16-bit export's (reflectance=(scale, offset), "
                       "command line: --reflectance SCALE,OFFSET, if not).")
        self.saturated = SATURATED.get(np.dtype(dtype))

    def _subtract_dark(self, overview):
        """With ``scale="dark-object"``, lower the reflectance by each band's dark level.

        ``overview``: a function returning a decimated overview's raw pixels
        and valid mask, called only for this scale (a plain reflectance scene
        reads no overview when it is opened). Pixels that are zero in every
        band (outside the footprint) are left out.
        """
        if self.scale != DARK_OBJECT:
            return
        raw, valid = overview()
        keep = raw.any(axis=-1)
        usable = self._valid(raw, valid)
        if usable is not None:
            keep &= usable
        self.dark_level = dark_levels(self.convert(raw[keep]), self.what)
        if self.gain is None:  # float reflectance already
            self.gain = np.ones(self.channels, np.float32)
            self.bias = np.zeros(self.channels, np.float32)
        self.bias = (self.bias - self.dark_level).astype(np.float32)

    def _valid(self, raw, valid):
        """``valid`` without the saturated pixels of ``raw`` (reflectance only)."""
        if self.saturated is None:
            return valid
        usable = ~(raw == self.saturated).any(axis=-1)
        return usable if valid is None else valid & usable

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
            if scale in REFLECTANCE_SCALES:
                return scale
            if scale != "percentile":
                raise ValueError(f"scale must be (low, high), 'percentile', "
                                 f"'reflectance', 'dark-object' or None; got {scale!r}.")
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
