"""Find and count ships in whole scenes by sliding a chip classifier over them.

A fitted chip classifier sees one ``window x window`` chip at a time. To scan
a scene, every window of a :class:`~sklship.scenes.grid.WindowGrid` (top-left
corners ``stride`` pixels apart) is classified by an engine
(:mod:`sklship.scenes.engines`: the network run once over each tile, or
batches of windows), positive windows are merged into single ships
(:mod:`sklship.scenes.suppression`), and the ships are counted, per area of
interest when given.

Large scenes are processed tile by tile; the tiles overlap by
``window - stride`` pixels so that every window lies wholly in one tile, and
memory stays bounded by the tile size.

:func:`sklship.datasets.make_scene` draws a synthetic scene with ships at known
positions.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from os import PathLike
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._validation import HasMethods, validate_params
from ..estimators.unwrap import fitted_network, probability_estimator
from .defaults import check_window, fitted_dtype
from .engines import make_engine
from .geo import aois_in_pixels, count_in_aois, georeference, read_aoi
from .grid import WindowGrid
from .masks import usable_mask
from .resolution import check_window_fits, model_chip_resolution, prepare, scene_pixels
from .safe import as_scene
from .settings import ScanSettings, keyword_signature
from .sources import bounded_gdal_cache, open_checked, read_scene  # noqa: F401 (re-exported)
from .stac import StacScene, stac_scene
from .suppression import SUPPRESSION, non_max_suppression
from .tables import COUNT_COLUMNS
from .tiles import refine_near_candidates, scan_tiles
from .verification import split_cascade, verify_detections

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from sklearn.base import ClassifierMixin

__all__ = ["ScanResult", "scan_scene"]

@dataclass
class ScanResult:
    """What :func:`scan_scene` found in a scene.

    Attributes
    ----------
    detections : pandas.DataFrame
        One row per ship after non-maximum suppression, highest probability
        first, with columns ``row`` and ``col`` (the window's centre in
        continuous pixel coordinates: top-left corner + ``window / 2``, see
        :mod:`sklship.scenes.grid`) and ``probability``.
    probabilities : ndarray of shape (n_rows, n_cols)
        Ship probability of every window (of a cascade, its detector's); window
        ``(i, j)`` has its top-left corner at pixel ``(i * stride, j * stride)``.
    window : int
        Side of the square windows, in pixels.
    stride : int
        Step between windows, in pixels.
    threshold : float
        Probability from which a window counts as a ship.
    engine : {"shared", "batched"}
        The engine that computed ``probabilities``.
    augmented_fraction : float
        Share of the windows whose probability averages the 8 symmetries
        (test-time augmentation); the others had one pass.
    scene_shape : tuple of int
        (height, width, channels) of the scanned scene.
    seconds : float
        Wall time of the scan.
    scene_name : str or None
        The file's name without its ending; None for an array.
    datetime : pandas.Timestamp or NaT
        Acquisition time (see :func:`sklship.scenes.sources.scene_datetime`); NaT
        when unknown.
    crs : str or None
        The scene's CRS (e.g. ``"EPSG:32611"``); None when the scene has no
        georeference, and then the detections have pixel coordinates only.
    transform : affine.Affine or None
        The scene's pixel-to-CRS transform; None without a CRS.
    bands : tuple of int or None
        The 1-based bands that made the channels (None: an array's channels).
    scale : (float, float) or None
        The (low, high) mapped to 0..255 (``"percentile"`` resolved), or
        None when the pixels were used as they are.
    valid_fraction : float
        Fraction of the scene's pixels with valid data (not nodata).
    counts : pandas.DataFrame
        Ships per area: columns ``aoi`` (the area's name; None for the whole
        scene when no AOI was given), ``count``, ``valid_fraction`` (of
        the area: inside the scene and not nodata) and ``clear_fraction`` (also usable).
    clear_fraction, resolution, pixel_scale, areas, usable
        Usable share (:mod:`~sklship.scenes.masks`); metres per pixel (None:
        unknown); scene pixels per :attr:`grid` pixel (:mod:`~sklship.scenes.resolution`);
        areas of interest in scene pixels (x = col); usable data on an overview.
    suppression : dict or None
        How the grid became detections: ``min_distance``, ``min_neighbors``,
        ``smoothing``, ``saddle``, and a cascade's ``proposal_threshold`` (else None);
        what :meth:`at_threshold` needs.
    """

    detections: pd.DataFrame
    probabilities: np.ndarray
    window: int
    stride: int
    threshold: float
    engine: str
    scene_shape: tuple
    seconds: float = field(default=0.0, repr=False)
    augmented_fraction: float = 0.0
    scene_name: str = None
    datetime: pd.Timestamp = pd.NaT
    crs: str = None
    transform: object = field(default=None, repr=False)
    bands: tuple = None
    scale: tuple = None
    valid_fraction: float = 1.0
    counts: pd.DataFrame = field(default=None, repr=False)
    clear_fraction: float = None
    resolution: float = None
    pixel_scale: float = 1.0
    areas: dict = field(default=None, repr=False)
    usable: np.ndarray = field(default=None, repr=False)
    suppression: dict = field(default=None, repr=False)

    def __post_init__(self):
        if self.clear_fraction is None:
            self.clear_fraction = self.valid_fraction
        if self.counts is None:  # the whole scene, as one area without a name
            area = dict(zip(COUNT_COLUMNS[2:], ([None], [self.count], [self.valid_fraction],
                                                [self.clear_fraction]), strict=True))
            self.counts = pd.DataFrame(area)

    @property
    def grid(self):
        """The :class:`~sklship.scenes.grid.WindowGrid` of the scan (resampled pixels)."""
        height, width = (WindowGrid.resampled_size(size, self.pixel_scale)
                         for size in self.scene_shape[:2])
        return WindowGrid(self.window, self.stride, height, width, self.pixel_scale)

    def at_threshold(self, threshold):
        """The result a scan of the same scene at a higher ``threshold`` gives.

        A threshold sweep needs one scan per scene, not one per threshold.
        Keeping the detections that reach ``threshold`` is not enough:
        suppression counts two detections as one hull when every window
        between them reaches the scan's threshold, and a low one joins ships
        moored side by side (on the 8 Sentinel-2 ports, a scan at 0.05 kept 67
        of 181 vessels at 0.91 where a scan at 0.91 finds 84). The window
        probabilities are suppressed again at ``threshold``. A cascade's
        detections are filtered: its detector proposes at its own threshold.

        Parameters
        ----------
        threshold : float
            At least :attr:`threshold`.

        Returns
        -------
        result : ScanResult
            With the detections and count of the scan at ``threshold``.

        Raises
        ------
        ValueError
            If ``threshold`` is below the scan's, the scan counted in areas of
            interest, or the result does not say how it suppressed.
        """
        if threshold < self.threshold:
            raise ValueError(f"threshold {threshold} is below the scan's {self.threshold}; "
                             "scan again to lower it.")
        if self.areas is not None or self.suppression is None:
            raise ValueError("at_threshold needs a scan_scene result without areas of "
                             "interest; scan again at the threshold.")
        settings = dict(self.suppression)
        if settings.pop("proposal_threshold") is not None:
            kept = self.detections[self.detections["probability"] >= threshold]
        else:
            kept = scene_pixels(self.grid, non_max_suppression(
                self.probabilities, window=self.window, stride=self.stride,
                threshold=threshold, **settings))[0]
            if self.crs is not None:
                kept = georeference(kept, self.crs, self.transform)
        return replace(self, detections=kept.reset_index(drop=True), threshold=threshold,
                       counts=None)

    @property
    def count(self):
        """Number of ships found (inside the areas of interest, when given)."""
        return len(self.detections)

    def __repr__(self):
        rows, cols = self.probabilities.shape
        return (f"ScanResult(count={self.count}, windows={rows}x{cols}, "
                f"window={self.window}, stride={self.stride}, "
                f"threshold={self.threshold}, engine={self.engine!r})")


@validate_params(
    {
        "estimator": [HasMethods("predict_proba")],
        "scene": ["array-like", str, PathLike, StacScene, HasMethods("to_dict")],
        "settings": [ScanSettings, None],
    },
    prefer_skip_nested_validation=True,
)
def scan_scene(estimator: ClassifierMixin, scene: ArrayLike | str | PathLike,
               settings: ScanSettings | None = None, **keywords) -> ScanResult:
    """Slide a fitted chip classifier over a scene; find and count the ships.

    Parameters
    ----------
    estimator : fitted classifier
        A binary classifier of image chips with ``predict_proba`` taking
        (n, window, window, channels) arrays, such as a fitted
        :class:`~sklship.CNNShipClassifier`. The probability of
        ``classes_[1]`` is the ship probability. Calibration and threshold
        wrappers (``CalibratedClassifierCV``, ``TunedThresholdClassifierCV``,
        ``FixedThresholdClassifier``, ``FrozenEstimator``) around one work:
        the window size comes from the sklship network inside, and the
        probabilities are the wrapper's (calibrated ones through the batched
        engine).
    scene : array-like of shape (height, width, channels) or path
        The scene, in the dtype the estimator was fitted on (uint8 for
        sklship estimators fitted on uint8 chips), or the path of a scene
        file: a GeoTIFF / Cloud-Optimized GeoTIFF (read window by window
        through rasterio, so memory stays bounded by ``tile_size``) or a PNG
        or JPEG (read whole by Pillow as 8-bit RGB). See
        :func:`sklship.scenes.sources.open_scene`. A STAC item (pystac or
        :class:`~sklship.scenes.stac.StacScene`) scans its asset ``asset``,
        dated and named by the item, with the item's resolution and
        ``udm2`` mask where ``resolution`` and ``mask`` are None; so does a
        Sentinel-2 ``.SAFE`` product (:mod:`~sklship.scenes.safe`), with its SCL.
    settings : ScanSettings or None, default=None
        All the settings below as one object
        (:class:`~sklship.scenes.settings.ScanSettings`, the one declaration
        of each setting's default and constraint); keywords given as well
        replace its fields.
    window : int or None, default=None
        Side of the square windows; None takes the estimator's input size
        (``input_shape_``). It must equal that size when the estimator has one.
    stride : int or None, default=None
        Step between windows in pixels; None takes the largest power of two
        not above ``window / 8``: 8 for 80-pixel chips. A ship is then at
        most 4 pixels off the centre of its nearest window; at 16, the
        recommended model missed 1 of 7 marked ships in two real PlanetScope
        scenes, at 8 none. Powers of two keep the shared engine cheap for
        networks that down-sample by 2 per layer (the recommended model
        scans at 8 in 1.5 times its time at 16).
    batch_size : int, default=1024
        Windows per ``predict_proba`` call in the batched engine.
    threshold : float in [0, 1] or None, default=None
        Windows with a probability of at least ``threshold`` are candidates.
        None takes the estimator's own threshold (that of a
        ``TunedThresholdClassifierCV`` or ``FixedThresholdClassifier``, see
        :func:`sklship.evaluation.thresholds.decision_threshold`), else 0.5.
        A :class:`~sklship.estimators.cascade.VerifiedShipClassifier` scans
        with its detector; the threshold applies to its detections once
        verified (:mod:`sklship.scenes.verification`).
    min_distance : float or None, default=None
        Non-maximum suppression radius in pixels: a candidate whose centre is
        within ``min_distance`` of a more probable kept one is dropped. None
        means ``0.75 * window`` (60 pixels, 180 m at 3 m per pixel): windows
        at both ends of a long hull peak up to about half its length apart,
        and at ``window / 2`` a 110-pixel tanker was counted twice.
    min_neighbors : int in [0, 8] or None, default=None
        A window is a candidate only when at least this many of its 8
        neighbours on the grid reach ``threshold`` too (the ``minNeighbors``
        of OpenCV's cascade detectors): a pier that fools the model at one
        position rarely fools it at the next. None means 1 when ``stride``
        is at most ``window / 8`` and ``smoothing`` is 1, else 0.
    smoothing : int or None, default=None
        Side, in grid steps, of the neighbourhood over which window
        probabilities are averaged before ``threshold`` and suppression
        apply (see :func:`~sklship.scenes.suppression.non_max_suppression`);
        1 averages nothing. None means
        :func:`~sklship.scenes.defaults.default_smoothing`: 3 for a network
        trained with the ``"shift"`` augmentation (the recommended model) at
        strides up to ``window / 8``, else 1. Measured on three real ports
        shifted by 0 to 7 pixels: every ship at every shift, count range 0.
    saddle : float in [0, 1] or None, default=None
        Detections joined by a line of windows above the threshold are one
        long hull, unless a window on that line falls below ``saddle`` times
        the weaker one's probability (see
        :func:`~sklship.scenes.suppression.non_max_suppression`). None takes
        the model's (0.95 for ``sentinel2-10m``, whose moored ships lie end
        to end within a window or two), else 0: every such line merges.
    candidate_threshold : float in [0, 1] or None, default=None
        With test-time augmentation and the shared engine, the 8 symmetries
        are computed only near windows whose single-pass probability,
        smoothed as the decision is, reaches this (see
        :class:`~sklship.scenes.engines.SharedEngine`); elsewhere the single
        pass stands. 0 computes them everywhere. None means
        :func:`~sklship.scenes.defaults.default_candidate_threshold`.
    engine : {"auto", "shared", "batched"}, default="auto"
        "auto" uses the shared-computation engine when it is exact for the
        estimator's network and stride, and the batched engine otherwise;
        "shared" raises a ValueError saying why when it is not exact.
    tile_size : int, default=1024
        Approximate side of the tiles the scene is processed in, in pixels;
        bounds memory. Raised to ``window`` when smaller.
    progress : bool, default=False
        Show a tqdm progress bar over the tiles (needs ``tqdm``).
    bands : sequence of int or str, or None, default=None
        Bands that make the chips' channels, in that order: 1-based numbers
        (rasterio's convention), e.g. ``(3, 2, 1)`` for a 4-band PlanetScope
        analytic scene (blue, green, red, NIR), or names matched to the
        file's band descriptions, e.g. ``("red", "green", "blue", "nir")``
        (see :mod:`sklship.scenes.bands`). None: a file's red, green and
        blue (by its band descriptions, or a Planet analytic asset's order,
        else bands 1 to 3), every channel of an array.
    scale : (low, high), "percentile", "reflectance", "dark-object" or None, \
            default=None
        Required for a scene file that is not uint8: ``(low, high)`` maps
        low..high linearly to 0..255 and clips values outside;
        ``"percentile"`` takes low and high as the 2nd and 98th percentiles
        of a decimated overview (:data:`sklship.scenes.sources.PERCENTILES`);
        ``"reflectance"`` gives float32 surface reflectance from the file's
        or STAC item's scale and offset, for models fitted on reflectance
        (the shipped Sentinel-2 model); ``"dark-object"`` the same less each
        band's dark level, a haze correction (see :mod:`sklship.scenes.bands`).
    reflectance : (scale, offset), sequence of them, or None, default=None
        Reflectance = value x scale + offset, for all bands or one pair per
        band, for a scene whose file or STAC item does not say it (implies
        ``scale="reflectance"``). None: the file's band scales and offsets,
        else its product's tags, else Sentinel Hub's 16-bit export told by
        its values (:func:`~sklship.scenes.bands.is_sentinel_hub_export`).
    aoi : path, shapely geometry, list or dict of them, or None, default=None
        Areas of interest in lon/lat (see :func:`sklship.scenes.geo.read_aoi`): a
        GeoJSON file of polygons named by their ``name`` property, or
        geometries. Only detections inside count, per area; windows wholly
        outside every area are not evaluated. Needs a georeferenced scene.
    date_pattern : str or None, default=None
        Regular expression with named groups ``year``, ``month``, ``day``
        (optionally ``hour``, ``minute``, ``second``) for the acquisition
        time in the file name; see :func:`sklship.scenes.sources.scene_datetime`.
    resolution : float > 0 or None, default=None
        The scene's metres per pixel when its file does not say (a
        georeferenced file's own wins). Windows are resampled to the
        estimator's ``chip_resolution`` as they are read
        (:mod:`sklship.scenes.resolution`); detections are in scene pixels.
    mask : path, polygons, False or None, default=None
        Usable-data mask, treated like nodata (:mod:`sklship.scenes.masks`):
        a raster, a PlanetScope UDM2 or lon/lat polygons. None uses a UDM2
        beside a scene file (logged); False none.
    asset : str, default="visual"
        The asset of a STAC item to scan (see :mod:`sklship.scenes.stac`).

    Returns
    -------
    result : ScanResult
        ``result.detections`` (DataFrame of row, col, probability; and x, y,
        lon, lat for a georeferenced scene; and aoi with areas of
        interest), ``result.count``, ``result.counts`` per area, the
        probability grid ``result.probabilities`` (NaN for windows not
        evaluated), the scene's CRS, date and valid fraction, and the scan
        settings.

    Raises
    ------
    ValueError
        If the scene is not (height, width, channels), has the wrong number
        of channels or dtype, is smaller than the window, a scene file cannot
        be read, has fewer than 3 bands without ``bands``, a band number is
        out of range, a file is not uint8 and has no ``scale``, an area of
        interest is given for a scene without CRS, or a parameter is out of
        range. Messages about files name the file.
    TypeError
        If a keyword is not a scan setting (the message lists them), or
        ``settings`` is not a ScanSettings.

    Warns
    -----
    UserWarning
        When an area of interest does not overlap the scene (its count and
        valid fraction are 0); for resolutions, see :func:`~.resolution.prepare`.

    Notes
    -----
    Nodata (the file's nodata value, internal mask or alpha band): a window
    more than half of whose pixels are nodata is not a candidate (its
    probability is NaN) and never a detection.

    See Also
    --------
    make_scene : Synthetic scene with ships at known positions.
    sklship.scenes.display.ScanDisplay : Scene, heat map and detections as a plot.

    Examples
    --------
    >>> from sklship import CNNShipClassifier, make_ships
    >>> from sklship.datasets import make_scene
    >>> from sklship.scenes.scan import scan_scene
    >>> X, y = make_ships(200, image_size=32, random_state=0, return_X_y=True)
    >>> cnn = CNNShipClassifier(epochs=2, random_state=0).fit(X, y)
    >>> scene, ships = make_scene(128, 160, n_ships=2, chip_size=32, random_state=0)
    >>> result = scan_scene(cnn, scene, stride=8)
    >>> result.probabilities.shape, result.engine
    ((13, 17), 'shared')
    """
    start = time.perf_counter()
    # bands and scale the model records (shipped ones, and what was adapted from them).
    given = ScanSettings.of(settings, keywords).read_as(estimator)
    scene = as_scene(scene)  # a Sentinel-2 .SAFE product: its 10 m bands and SCL
    if is_stac_item(scene):
        return _scan_stac(estimator, scene, given)
    settings = given.model_defaults(estimator)
    window, stride, threshold = settings["window"], settings["stride"], settings["threshold"]
    # Threshold wrappers pass their estimator's probabilities through unchanged;
    # a cascade scans with its detector and verifies what it proposes.
    estimator, cascade = split_cascade(probability_estimator(estimator))
    expected_channels = check_window(estimator, window)[1]
    aois = None if given.aoi is None else read_aoi(given.aoi)

    candidates = ((settings["candidate_threshold"], settings["smoothing"])
                  if settings["candidate_threshold"] > 0 else None)
    evaluate = make_engine(estimator, window, stride, engine=given.engine,
                           batch_size=given.batch_size, candidates=candidates)

    # Resolution and usable-data mask: sklship.scenes.resolution, sklship.scenes.masks.
    network = fitted_network(estimator)
    # GDAL's block cache bounded while a file is read (sklship.scenes.sources).
    with bounded_gdal_cache(scene):
        opened = open_checked(scene, expected_channels, fitted_dtype(network),
                              bands=given.bands, scale=given.scale,
                              date_pattern=given.date_pattern,
                              reflectance=given.reflectance)
        with prepare(opened, model_chip_resolution(network), given.resolution,
                     usable_mask(scene, given.mask)) as source:
            check_window_fits(source, window)
            pixel_aois = aois_in_pixels(source, aois)
            grid = WindowGrid(window, stride, source.height, source.width, source.pixel_scale)
            probabilities, evaluated = scan_tiles(source, grid, given.tile_size, evaluate,
                                                  given.progress, pixel_aois)
            refined = refine_near_candidates(source, grid, given.tile_size, evaluate,
                                             probabilities)
            valid, clear = source.valid_overview(), source.clear_overview()
            detections = non_max_suppression(
                probabilities, window=window, stride=stride,
                threshold=threshold if cascade is None else cascade.proposal_threshold,
                **{name: settings[name] for name in SUPPRESSION})
            if cascade is not None:
                detections = verify_detections(detections, cascade, source.read_pixels, grid,
                                               threshold)
    augmented = evaluated if evaluate.averages_symmetries else refined
    if source.crs is not None:
        detections = georeference(detections, source.crs, source.transform)
    valid_fraction, clear_fraction = (1.0 if m is None else float(m.mean()) for m in (valid, clear))
    counts = None
    if pixel_aois is not None:
        detections, counts = count_in_aois(detections, pixel_aois, source, valid, clear)
    detections, areas = scene_pixels(grid, detections, pixel_aois)
    return ScanResult(
        detections=detections, probabilities=probabilities, window=window,
        stride=stride, threshold=threshold, engine=evaluate.name,
        augmented_fraction=augmented / evaluated if evaluated else 0.0,
        scene_shape=source.scene_shape, seconds=time.perf_counter() - start,
        scene_name=source.name, datetime=source.datetime, crs=source.crs,
        transform=source.scene_transform, bands=source.bands or given.bands,
        scale=source.scale, valid_fraction=valid_fraction, counts=counts,
        clear_fraction=clear_fraction, resolution=source.resolution,
        pixel_scale=source.pixel_scale, areas=areas, usable=clear,
        suppression={name: settings[name] for name in SUPPRESSION}
        | {"proposal_threshold": None if cascade is None else cascade.proposal_threshold},
    )


scan_scene.__signature__ = keyword_signature(scan_scene)


def is_stac_item(scene):
    """Whether ``scene`` is a STAC item (pystac's, or a :class:`~.stac.StacScene`)."""
    pystac = sys.modules.get("pystac")  # a pystac item means pystac is imported
    return isinstance(scene, StacScene) or (pystac is not None
                                            and isinstance(scene, pystac.Item))


def _scan_stac(estimator, item, settings):
    """Scan a STAC item's asset, with the item's name, date, resolution and mask."""
    item = stac_scene(item, settings.asset)
    own = {"resolution": item.resolution, "mask": item.mask or False}
    settings = replace(settings, **{name: value for name, value in own.items()
                                    if getattr(settings, name) is None})
    result = scan_scene(estimator, item.href, settings)
    result.scene_name, result.datetime = item.name, item.datetime
    return result
