"""Ground resolution: scenes resampled to the model's metres per pixel as they are read.

A chip model learns ships at one size in pixels: ShipsNet chips are 3 m per
pixel (:data:`SHIPSNET_RESOLUTION`), and a sklship estimator records the
resolution of its training chips in its ``chip_resolution`` parameter. A
scene at another resolution is scanned on a grid resampled to the model's,
window by window:

- GeoTIFF / COG: rasterio reads each tile's scene window (fractional
  offsets allowed) straight into the grid's ``out_shape``, with
  :data:`RESAMPLING`: ``bilinear`` when the scene is coarser than the model
  (up-sampling), ``average`` when it is finer (down-sampling, so no detail
  is aliased); the nodata mask is resampled with ``nearest``. Memory stays
  bounded by the tile.
- PNG / JPEG / arrays (read whole anyway): Pillow's ``BILINEAR`` or ``BOX``
  (area average), the same two rules.

The scene's resolution comes from its transform and CRS, as metres on the
ground at the scene's centre for any CRS (see :func:`scene_resolution`: Web
Mercator's map units are not ground metres; non-square pixels use the
geometric mean of their sides), else from the ``resolution`` the caller gives. Detections come
back in the scene's own pixels through
:meth:`sklship.scenes.grid.WindowGrid.to_scene`.
"""

import functools
import warnings

import numpy as np

__all__ = ["RESAMPLING", "SHIPSNET_RESOLUTION", "TOLERANCE", "ScanSource",
           "check_resolution", "check_window_fits", "model_chip_resolution", "prepare",
           "scene_pixels", "scene_resolution"]

#: Metres per pixel of ShipsNet's PlanetScope chips.
SHIPSNET_RESOLUTION = 3.0
#: Resolutions closer than this (relative) are scanned without resampling.
SAME = 0.005
#: Relative difference from which a scene that cannot be resampled is warned about.
TOLERANCE = 0.2
#: rasterio / Pillow resampling, by direction.
RESAMPLING = {"up": "bilinear", "down": "average"}


def check_resolution(resolution, name="resolution"):
    """``resolution`` as a positive float (or None); a ValueError otherwise."""
    if resolution is None:
        return None
    try:
        value = float(resolution)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be metres per pixel (a number > 0) or None; got "
                        f"{resolution!r}.") from None
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be metres per pixel, a number > 0; got "
                         f"{resolution!r}.")
    return value


def scene_resolution(crs, transform, shape=(1, 1)):
    """Metres on the ground per pixel of a georeferenced scene, or None without a CRS.

    The pixel at the scene's centre is measured on the CRS's own ellipsoid:
    its corners go to longitude and latitude (pyproj ``Transformer``) and the
    geodesic lengths of its two sides (pyproj ``Geod``) are taken. So every
    CRS reads right: Web Mercator (EPSG:3857), where 10 map units span
    10 x cos(latitude) metres (5.8 m at 54.5 N), UTM and other projections
    with their scale factors, and geographic CRSs in degrees. When the ground
    length is within :data:`SAME` (0.5 %) of the pixel's size in the CRS's
    linear unit (UTM's scale factor is 0.9996 to 1.001), the nominal size is
    kept, so a 3 m UTM grid reads exactly 3.

    Parameters
    ----------
    crs : str or pyproj.CRS or None
    transform : affine.Affine or None
    shape : (height, width), default=(1, 1)
        The scene's size: it is measured at its centre.

    Returns
    -------
    resolution : float or None
        The geometric mean of the pixel's sides in metres on the ground.
    """
    if crs is None or transform is None:
        return None
    from pyproj import CRS, Transformer

    crs = CRS.from_user_input(crs)
    col, row = shape[1] / 2, shape[0] / 2
    xs, ys = zip(*(transform @ corner for corner in
                   ((col, row), (col + 1, row), (col, row + 1))), strict=True)
    nominal = np.sqrt(np.hypot(transform.a, transform.d) * np.hypot(transform.b,
                                                                   transform.e))
    if not crs.is_geographic:
        unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
        nominal *= unit
    geodetic = crs.geodetic_crs
    if geodetic is None:  # an engineering CRS: only its unit is known
        return None if crs.is_geographic else float(nominal)
    lon, lat = Transformer.from_crs(crs, geodetic, always_xy=True).transform(xs, ys)
    geod = geodetic.get_geod()
    width = geod.inv(lon[0], lat[0], lon[1], lat[1])[2]
    height = geod.inv(lon[0], lat[0], lon[2], lat[2])[2]
    ground = float(np.sqrt(width * height))
    if not crs.is_geographic and abs(ground / nominal - 1) <= SAME:
        return float(nominal)
    return ground


def _pillow_resize(array, shape, down):
    """``array`` (h, w[, c]) resized to ``shape`` with Pillow, band by band."""
    from PIL import Image

    method = Image.Resampling.BOX if down else Image.Resampling.BILINEAR
    if array.dtype == bool:
        image = Image.fromarray(array.astype(np.uint8) * 255)
        return np.asarray(image.resize(shape[::-1], Image.Resampling.NEAREST)) > 0
    planes = array[..., None] if array.ndim == 2 else array
    out = np.stack([np.asarray(Image.fromarray(plane.astype(np.float32), mode="F")
                               .resize(shape[::-1], method))
                    for plane in np.moveaxis(planes, -1, 0)], axis=-1)
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    out = out.astype(array.dtype)
    return out[..., 0] if array.ndim == 2 else out


class ScanSource:
    """A scene source as a scan sees it: on the model's grid, with its usable-data mask.

    Wraps a source of :func:`sklship.scenes.sources.open_scene` (and closes
    it). ``height``, ``width`` and ``transform`` are those of the resampled
    grid; ``scene_shape`` and ``scene_transform`` the file's.

    Parameters
    ----------
    source : scene source
    pixel_scale : float, default=1.0
        Scene pixels per grid pixel (model resolution / scene resolution).
    mask_spec : str, path, geometries or None, default=None
        What is unusable (cloud, shadow, ...): see
        :class:`sklship.scenes.masks.UsableMask`, built here for this grid.
    """

    def __init__(self, source, pixel_scale=1.0, mask_spec=None):
        from affine import Affine

        from .grid import WindowGrid

        self.base, self.pixel_scale = source, float(pixel_scale)
        for name in ("name", "what", "datetime", "crs", "scale", "dtype", "channels",
                     "path"):
            setattr(self, name, getattr(source, name, None))
        self.bands = getattr(source, "bands", None)
        self.scene_shape, self.scene_transform = source.shape, source.transform
        self.height = WindowGrid.resampled_size(source.height, self.pixel_scale)
        self.width = WindowGrid.resampled_size(source.width, self.pixel_scale)
        self.transform = (None if source.transform is None else source.transform
                          @ Affine.scale(source.width / self.width,
                                         source.height / self.height))
        self.down = self.pixel_scale > 1
        if self.resampled and not hasattr(source, "dataset"):
            source.pixels = _pillow_resize(source.pixels, (self.height, self.width),
                                           self.down)
            if source.valid is not None:
                source.valid = _pillow_resize(source.valid, (self.height, self.width),
                                              self.down)
        self.mask = None
        if mask_spec is not None:
            from .masks import UsableMask

            try:
                self.mask = UsableMask(mask_spec, self)
            except BaseException:
                source.close()
                raise

    @property
    def resampled(self):
        return (self.height, self.width) != tuple(self.scene_shape[:2])

    @property
    def shape(self):
        return (self.height, self.width, self.channels)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Close the scene (and the mask's files)."""
        if self.mask is not None:
            self.mask.close()
        self.base.close()

    def scene_window(self, rows, cols):
        """The rasterio Window of the scene that grid pixels ``[rows, cols]`` cover."""
        from rasterio.windows import Window

        sy = self.scene_shape[0] / self.height
        sx = self.scene_shape[1] / self.width
        return Window(cols.start * sx, rows.start * sy, (cols.stop - cols.start) * sx,
                      (rows.stop - rows.start) * sy)

    def read(self, rows, cols):
        """Pixels of grid ``[rows, cols]`` and their mask (data and usable; None: all)."""
        base = self.base
        if not self.resampled or not hasattr(base, "dataset"):
            pixels, valid = base.read(rows, cols)
        else:
            from rasterio.enums import Resampling

            window = self.scene_window(rows, cols)
            out = (rows.stop - rows.start, cols.stop - cols.start)
            method = Resampling[RESAMPLING["down" if self.down else "up"]]
            raw = base.dataset.read(base.bands, window=window,
                                    out_shape=(len(base.bands), *out), resampling=method)
            pixels = base._to_uint8(np.moveaxis(raw, 0, -1))
            valid = (base.dataset.dataset_mask(window=window, out_shape=out) > 0
                     if base.has_mask else None)
        if self.mask is not None:
            usable = ~self.mask.read(rows, cols)
            valid = usable if valid is None else valid & usable
        if valid is not None and not valid.all():
            pixels = pixels.copy()
            pixels[~valid] = self.fill_value
        return pixels, valid

    def read_pixels(self, rows, cols):
        """Pixels of grid ``[rows, cols]`` as :meth:`read` gives them, without the mask."""
        return self.read(rows, cols)[0]

    @functools.cached_property
    def fill_value(self):
        """What pixels outside the valid data are read as: the median valid colour.

        A window that straddles the edge of a scene's footprint, a cloud or
        a nodata area is still evaluated when enough of it is valid; filled
        with black or cloud, the edge itself looks like a hull's side to the
        network. Filled with the scene's typical colour (the median of the
        valid pixels of its overview, one value for every tile so that tiled
        and whole scans agree), the edge disappears.
        """
        pixels = self.base.overview()[0]
        clear = self.clear_overview()
        if clear is None or clear.shape != pixels.shape[:2] or not clear.any():
            clear = np.ones(pixels.shape[:2], bool)
        return np.median(pixels[clear], axis=0).astype(pixels.dtype)

    def overview(self, max_side=None):
        """The scene's own decimated overview (see the base source)."""
        return self.base.overview() if max_side is None else self.base.overview(max_side)

    def valid_overview(self):
        """Data (not nodata) on the decimated overview, or None when all is data."""
        return self.base.valid_overview()

    def clear_overview(self):
        """Data and usable (not masked) on the decimated overview, or None when all is."""
        valid = self.base.valid_overview()
        if self.mask is None:
            return valid
        shape = (self.height, self.width) if valid is None else valid.shape
        usable = ~self.mask.overview(shape)
        return usable if valid is None else valid & usable


def prepare(source, model_resolution, resolution, mask_spec=None):
    """Wrap an open source for scanning at ``model_resolution``; warn as the module says.

    Parameters
    ----------
    source : scene source
        From :func:`~sklship.scenes.sources.open_scene`; closed on error.
    model_resolution : float or None
        The model's chip resolution (None: unknown).
    resolution : float or None
        The caller's resolution of the scene, used when the file says none.
    mask_spec : see :class:`sklship.scenes.masks.UsableMask`

    Returns
    -------
    source : ScanSource
        With ``resolution``, the scene's metres per pixel as used (None:
        unknown).

    Warns
    -----
    UserWarning
        When the scene's resolution is known, the model's is not, and the
        scene is more than :data:`TOLERANCE` (20 %) off ShipsNet's 3 m: it is
        scanned unresampled. When ``resolution`` contradicts the file's own
        (the file's is used).
    """
    try:
        own = scene_resolution(source.crs, source.transform, source.shape[:2])
        if own is not None and resolution is not None and abs(own / resolution - 1) > SAME:
            warnings.warn(f"{source.what} is {own:.3g} m per pixel by its "
                          f"georeference; resolution={resolution:g} is not used.",
                          UserWarning, stacklevel=3)
        scene_res = own if own is not None else resolution
        scale = 1.0
        if scene_res is not None and model_resolution is not None:
            if abs(model_resolution / scene_res - 1) > SAME:
                scale = model_resolution / scene_res
        elif scene_res is not None and abs(scene_res / SHIPSNET_RESOLUTION - 1) > TOLERANCE:
            warnings.warn(
                f"{source.what} is {scene_res:.3g} m per pixel, but the model does not "
                f"say the resolution of its chips (chip_resolution=None): scanned "
                f"unresampled; ShipsNet-like models learnt {SHIPSNET_RESOLUTION:g} m. "
                "Set the model's chip_resolution to resample.", UserWarning,
                stacklevel=3)
    except BaseException:
        source.close()
        raise
    prepared = ScanSource(source, scale, mask_spec)
    prepared.resolution = scene_res
    return prepared


def check_window_fits(source, window):
    """Refuse a prepared scene smaller than the model's window at the model's pixels.

    Checked after resampling: a small scene of coarse pixels may be large
    enough once enlarged to a finer model's pixels, and a large one too
    small once shrunk.

    Parameters
    ----------
    source : ScanSource
        From :func:`prepare`.
    window : int
        The model's window side, in its pixels.

    Raises
    ------
    ValueError
        Naming the scene and its size, before and after resampling.
    """
    if source.height < window or source.width < window:
        resampled = (f" ({source.height}x{source.width} at the model's pixels)"
                     if source.pixel_scale != 1 else "")
        raise ValueError(f"{source.what} of {source.base.height}x{source.base.width} "
                         f"pixels{resampled} is smaller than the {window}x{window} window.")


def model_chip_resolution(network):
    """The ``chip_resolution`` of a fitted network (None: unknown or not sklship's)."""
    return check_resolution(getattr(network, "chip_resolution", None), "chip_resolution")


def scene_pixels(grid, detections, pixel_areas=None):
    """Detections and areas of interest from grid pixels to the scene's own pixels.

    Parameters
    ----------
    grid : sklship.scenes.grid.WindowGrid
        The scan's grid (its ``scale``).
    detections : pandas.DataFrame
        With ``row`` and ``col`` in grid pixels.
    pixel_areas : dict of str to shapely geometry or None
        Areas in grid pixels.

    Returns
    -------
    detections, areas
        The same in scene pixels (unchanged when ``grid.scale`` is 1).
    """
    if grid.scale == 1:
        return detections, pixel_areas
    rows, cols = grid.to_scene(detections["row"].to_numpy(), detections["col"].to_numpy())
    detections = detections.assign(row=rows, col=cols)
    if pixel_areas is not None:
        import shapely

        pixel_areas = {name: shapely.transform(area, lambda xy: xy * grid.scale)
                       for name, area in pixel_areas.items()}
    return detections, pixel_areas
