"""Find and count ships in whole scenes by sliding a chip classifier over them.

A fitted chip classifier sees one ``window x window`` chip at a time. To scan
a scene, every window whose top-left corner lies on a grid of step
``stride`` is classified, positive windows are merged into single ships by
non-maximum suppression, and the ships are counted.

Two engines compute the grid of window probabilities:

``"shared"``
    For convolutional networks the windows overlap and share most of their
    convolution work. The network's convolutional part is run once over the
    whole tile, and its head is turned into convolutions evaluated at every
    window position: the first Dense after Flatten becomes a Conv2D with the
    Dense kernel reshaped to the window's feature map, later Dense layers
    become 1x1 convolutions, global pooling becomes pooling over the
    window's feature map. A network that down-samples by ``f`` (strided
    convolutions, pooling) natively yields windows ``f`` pixels apart; for
    a ``stride`` that is not a multiple of ``f``, the down-sampling layers
    from the first one whose stride would skip wanted windows run at stride
    1 and the kernels after them are dilated (the "a trous" form, Holschneider
    et al. 1989; Long, Shelhamer & Darrell 2015), which costs only the layers
    after that point. This is exact (the same numbers as ``predict_proba`` on
    each window, up to float32 rounding) at every stride, for valid
    convolutions, strided convolutions, pooling, batch normalisation,
    rescaling, activations, global pooling and dense layers; dropout and
    augmentation layers are identity at inference. An estimator with
    ``test_time_augmentation`` gets the same average of 8 flips and
    rotations: the tile is flipped and rotated as a whole.
``"batched"``
    Anything else (pretrained backbones, pipelines, other layers): the
    windows of a tile are viewed without copying (``sliding_window_view``)
    and classified in batches with ``estimator.predict_proba``.

Large scenes are processed tile by tile; the tiles overlap by
``window - stride`` pixels so that every window lies wholly in one tile, and
memory stays bounded by the tile size.

:func:`sklship.datasets.make_scene` draws a synthetic scene with ships at known
positions.
"""

from __future__ import annotations

import time
import warnings
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from os import PathLike
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import convolve

from ._validation import HasMethods, Interval, StrOptions, validate_params
from .geo import aoi_to_pixels, georeference, read_aoi
from .scenes import open_scene
from .symmetry import symmetric_view, symmetries
from .thresholds import decision_threshold, fitted_network, probability_estimator

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from sklearn.base import ClassifierMixin

__all__ = ["ScanResult", "scan_scene"]

ENGINES = ("auto", "shared", "batched")
_DEFAULT_TILE_SIZE = 1024
#: Smallest fraction of valid (not nodata) pixels of a window that is evaluated.
MIN_VALID = 0.5

# Layer types the shared engine converts exactly. Elementwise (per position)
# layers are applied to the whole tile unchanged.
_ELEMENTWISE = {"Rescaling", "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU",
                "Softmax", "BatchNormalization"}
# Identity at inference.
_INFERENCE_IDENTITY = {"Dropout", "SpatialDropout1D", "SpatialDropout2D",
                       "GaussianNoise", "GaussianDropout", "AlphaDropout",
                       "InputLayer"}


# --------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------


@dataclass
class ScanResult:
    """What :func:`scan_scene` found in a scene.

    Attributes
    ----------
    detections : pandas.DataFrame
        One row per ship after non-maximum suppression, highest probability
        first, with columns ``row`` and ``col`` (pixel of the window centre:
        top-left corner + ``window // 2``) and ``probability``.
    probabilities : ndarray of shape (n_rows, n_cols)
        Ship probability of every window; window ``(i, j)`` has its top-left
        corner at pixel ``(i * stride, j * stride)``.
    window : int
        Side of the square windows, in pixels.
    stride : int
        Step between windows, in pixels.
    threshold : float
        Probability from which a window counts as a ship.
    engine : {"shared", "batched"}
        The engine that computed ``probabilities``.
    scene_shape : tuple of int
        (height, width, channels) of the scanned scene.
    seconds : float
        Wall time of the scan.
    scene_name : str or None
        The file's name without its ending; None for an array.
    datetime : pandas.Timestamp or NaT
        Acquisition time (see :func:`sklship.scenes.scene_datetime`); NaT
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
        scene when no AOI was given), ``count`` and ``valid_fraction`` (of
        the area: inside the scene and not nodata).
    """

    detections: pd.DataFrame
    probabilities: np.ndarray
    window: int
    stride: int
    threshold: float
    engine: str
    scene_shape: tuple
    seconds: float = field(default=0.0, repr=False)
    scene_name: str = None
    datetime: pd.Timestamp = pd.NaT
    crs: str = None
    transform: object = field(default=None, repr=False)
    bands: tuple = None
    scale: tuple = None
    valid_fraction: float = 1.0
    counts: pd.DataFrame = field(default=None, repr=False)

    def __post_init__(self):
        if self.counts is None:
            self.counts = pd.DataFrame({"aoi": [None], "count": [self.count],
                                        "valid_fraction": [self.valid_fraction]})

    @property
    def count(self):
        """Number of ships found (inside the areas of interest, when given)."""
        return len(self.detections)

    def __repr__(self):
        rows, cols = self.probabilities.shape
        return (f"ScanResult(count={self.count}, windows={rows}x{cols}, "
                f"window={self.window}, stride={self.stride}, "
                f"threshold={self.threshold}, engine={self.engine!r})")


# --------------------------------------------------------------------------
# scan_scene
# --------------------------------------------------------------------------


@validate_params(
    {
        "estimator": [HasMethods("predict_proba")],
        "scene": ["array-like", str, PathLike],
        "window": [Interval(Integral, 1, None, closed="left"), None],
        "stride": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "threshold": [Interval(Real, 0, 1, closed="both"), None],
        "min_distance": [Interval(Real, 0, None, closed="left"), None],
        "min_neighbors": [Interval(Integral, 0, 8, closed="both"), None],
        "engine": [StrOptions(set(ENGINES))],
        "tile_size": [Interval(Integral, 1, None, closed="left")],
        "progress": ["boolean"],
        "bands": ["array-like", None],
        "scale": [tuple, list, StrOptions({"percentile"}), None],
        "aoi": [str, PathLike, dict, list, tuple, HasMethods("intersects"), None],
        "date_pattern": [str, None],
    },
    prefer_skip_nested_validation=True,
)
def scan_scene(estimator: ClassifierMixin, scene: ArrayLike | str | PathLike, *,
               window: int | None = None, stride: int | None = None,
               batch_size: int = 1024, threshold: float | None = None,
               min_distance: float | None = None, min_neighbors: int | None = None,
               engine: str = "auto", tile_size: int = _DEFAULT_TILE_SIZE,
               progress: bool = False, bands: Sequence[int] | None = None,
               scale: tuple[float, float] | str | None = None, aoi=None,
               date_pattern: str | None = None) -> ScanResult:
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
        :func:`sklship.scenes.open_scene`.
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
        :func:`sklship.thresholds.decision_threshold`), else 0.5.
    min_distance : float or None, default=None
        Non-maximum suppression radius in pixels: a candidate whose centre is
        within ``min_distance`` of a more probable kept one is dropped. None
        means ``0.75 * window`` (60 pixels, 180 m at 3 m per pixel): windows
        at both ends of a long hull peak up to about half its length apart,
        and at ``window / 2`` a 110-pixel tanker was counted twice.
    min_neighbors : int in [0, 8] or None, default=None
        A window is a candidate only when at least this many of its 8
        neighbours on the grid reach ``threshold`` too (the ``minNeighbors``
        of OpenCV's cascade detectors). A ship of 40 pixels or more stays
        whole in windows a few pixels apart, so the windows around it agree;
        a pier or a breakwater tip that fools the model at one position
        rarely fools it at the next. None means 1 when ``stride`` is at most
        ``window / 8`` (10 pixels for 80-pixel chips) and 0 above, where
        neighbouring windows no longer see the same whole ship. In two real
        PlanetScope scenes the recommended model at stride 8 (four seeds)
        made 0 to 2 false alarms (piers, p up to 0.62) with 0, and none with
        1, finding all 7 marked ships both ways.
    engine : {"auto", "shared", "batched"}, default="auto"
        "auto" uses the shared-computation engine when it is exact for the
        estimator's network and stride, and the batched engine otherwise;
        "shared" raises a ValueError saying why when it is not exact.
    tile_size : int, default=1024
        Approximate side of the tiles the scene is processed in, in pixels;
        bounds memory. Raised to ``window`` when smaller.
    progress : bool, default=False
        Show a tqdm progress bar over the tiles (needs ``tqdm``).
    bands : sequence of int or None, default=None
        1-based bands (rasterio's convention) that make the chips' RGB, in
        that order: ``(3, 2, 1)`` for a 4-band PlanetScope analytic scene
        (blue, green, red, NIR). None: the first three bands of a file, every
        channel of an array.
    scale : (low, high), "percentile" or None, default=None
        Required for a scene file that is not uint8: ``(low, high)`` maps
        low..high linearly to 0..255 and clips values outside;
        ``"percentile"`` takes low and high as the 2nd and 98th percentiles
        of a decimated overview (:data:`sklship.scenes.PERCENTILES`).
    aoi : path, shapely geometry, list or dict of them, or None, default=None
        Areas of interest in lon/lat (see :func:`sklship.geo.read_aoi`): a
        GeoJSON file of polygons named by their ``name`` property, or
        geometries. Only detections inside count, per area; windows wholly
        outside every area are not evaluated. Needs a georeferenced scene.
    date_pattern : str or None, default=None
        Regular expression with named groups ``year``, ``month``, ``day``
        (optionally ``hour``, ``minute``, ``second``) for the acquisition
        time in the file name; see :func:`sklship.scenes.scene_datetime`.

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

    Warns
    -----
    UserWarning
        When an area of interest does not overlap the scene (its count and
        valid fraction are 0).

    Notes
    -----
    Nodata (the file's nodata value, internal mask or alpha band): a window
    more than half of whose pixels are nodata is not a candidate (its
    probability is NaN) and never a detection.

    See Also
    --------
    make_scene : Synthetic scene with ships at known positions.
    sklship.plotting.ScanDisplay : Scene, heat map and detections as a plot.

    Examples
    --------
    >>> from sklship import CNNShipClassifier, make_ships
    >>> from sklship.datasets import make_scene
    >>> from sklship.scan import scan_scene
    >>> X, y = make_ships(200, image_size=32, random_state=0, return_X_y=True)
    >>> cnn = CNNShipClassifier(epochs=2, random_state=0).fit(X, y)
    >>> scene, ships = make_scene(128, 160, n_ships=2, chip_size=32, random_state=0)
    >>> result = scan_scene(cnn, scene, stride=8)
    >>> result.probabilities.shape, result.engine
    ((13, 17), 'shared')
    """
    start = time.perf_counter()
    if threshold is None:
        threshold = decision_threshold(estimator)
    # Threshold wrappers pass their estimator's probabilities through unchanged.
    estimator = probability_estimator(estimator)
    window, expected_channels = _check_window(estimator, window)
    stride = default_stride(window) if stride is None else stride
    min_distance = default_min_distance(window) if min_distance is None else min_distance
    if min_neighbors is None:
        min_neighbors = int(stride <= window / 8)
    aois = None if aoi is None else read_aoi(aoi)

    shared = None
    if engine in ("auto", "shared"):
        shared, reason = _shared_head(estimator, window, stride)
        if shared is None and engine == "shared":
            raise ValueError(
                f"engine='shared' is not exact for this estimator: {reason} "
                "Use engine='batched' or 'auto'."
            )
    if shared is not None:
        symmetric = getattr(estimator, "test_time_augmentation", False)

        def evaluate(tile):
            return _shared_probabilities(shared, tile, window, stride, symmetric)
    else:
        def evaluate(tile):
            return _batched_probabilities(estimator, tile, window, stride, batch_size)

    with _check_scene(scene, window, expected_channels,
                      _fitted_dtype(fitted_network(estimator)),
                      bands=bands, scale=scale, date_pattern=date_pattern) as source:
        pixel_aois = _aois_in_pixels(source, aois)
        probabilities = _scan_tiles(source, window, stride, tile_size, evaluate,
                                    progress, pixel_aois)
        valid = source.valid_overview()
    detections = non_max_suppression(probabilities, window=window, stride=stride,
                                     threshold=threshold, min_distance=min_distance,
                                     min_neighbors=min_neighbors)
    if source.crs is not None:
        detections = georeference(detections, source.crs, source.transform)
    valid_fraction = 1.0 if valid is None else float(valid.mean())
    counts = None
    if pixel_aois is not None:
        detections, counts = _count_in_aois(detections, pixel_aois, source, valid)
    return ScanResult(
        detections=detections, probabilities=probabilities, window=window,
        stride=stride, threshold=threshold,
        engine="shared" if shared is not None else "batched",
        scene_shape=source.shape, seconds=time.perf_counter() - start,
        scene_name=source.name, datetime=source.datetime, crs=source.crs,
        transform=source.transform, bands=getattr(source, "bands", bands),
        scale=source.scale, valid_fraction=valid_fraction, counts=counts,
    )


def default_stride(window: int) -> int:
    """The default scan stride: the largest power of two not above ``window / 8``."""
    return 1 << max(0, (window // 8).bit_length() - 1)


def default_min_distance(window: int) -> float:
    """The default non-maximum suppression radius: ``0.75 * window`` pixels."""
    return 0.75 * window


# ----------------------------------------------------------------- checks
def _check_window(estimator, window):
    """Window side and channel count, from the estimator where it knows them."""
    input_shape = getattr(fitted_network(estimator), "input_shape_", None)
    if input_shape is None:
        if window is None:
            raise ValueError(
                f"window must be given: {type(estimator).__name__} has no "
                "input_shape_ to take the window size from."
            )
        return int(window), None
    if len(input_shape) != 3 or input_shape[0] != input_shape[1]:
        raise ValueError(
            f"scan_scene needs an estimator fitted on square images (height, "
            f"width, channels); {type(estimator).__name__} was fitted on inputs "
            f"of shape {tuple(input_shape)}."
        )
    if window is not None and window != input_shape[0]:
        raise ValueError(
            f"window={window} does not match the estimator, which was fitted on "
            f"{input_shape[0]}x{input_shape[1]} chips; pass window={input_shape[0]} "
            "or None."
        )
    classes = getattr(estimator, "classes_", None)
    if classes is not None and len(classes) != 2:
        raise ValueError(
            f"scan_scene needs a binary (ship / no ship) classifier; the estimator "
            f"has {len(classes)} classes: {list(classes)}."
        )
    return int(input_shape[0]), int(input_shape[2])


def _fitted_dtype(estimator):
    dtype = getattr(estimator, "X_dtype_", None)
    return None if dtype is None else np.dtype(dtype)


def read_scene(path: str | PathLike, *, bands: Sequence[int] | None = None,
               scale: tuple[float, float] | str | None = None) -> np.ndarray:
    """Read a whole scene file as an 8-bit RGB array (height, width, 3).

    Parameters
    ----------
    path : str or os.PathLike
        A GeoTIFF, PNG or JPEG; see :func:`sklship.scenes.open_scene`.
    bands, scale : see :func:`scan_scene`

    Returns
    -------
    scene : ndarray of shape (height, width, channels)
    """
    with open_scene(path, bands=bands, scale=scale) as source:
        return source.read(slice(None), slice(None))[0]


def _check_scene(scene, window, channels, fitted_dtype, *, bands=None, scale=None,
                 date_pattern=None):
    """Open ``scene`` (an array or a file) as a source and check that it fits."""
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


def _aois_in_pixels(source, aois):
    """The areas of interest in the scene's pixel space, or None without areas."""
    if aois is None:
        return None
    if source.crs is None:
        raise ValueError(
            f"aoi needs a georeferenced scene, but {source.what} has no CRS (PNG and "
            "JPEG never have one); scan it without aoi, or give a GeoTIFF."
        )
    return aoi_to_pixels(aois, source.crs, source.transform)


def _count_in_aois(detections, pixel_aois, source, valid):
    """Detections inside any area (with its name), and counts per area.

    Each area's valid fraction is the share of its pixels that lie in the scene
    and hold valid data, measured on the decimated validity mask.
    """
    import shapely
    from affine import Affine
    from rasterio.features import rasterize

    height, width = source.shape[:2]
    scene_box = shapely.box(0, 0, width, height)
    # Overview pixel -> scene pixel.
    to_scene = Affine.scale(width / valid.shape[1], height / valid.shape[0])
    x, y = detections["col"].to_numpy() + 0.5, detections["row"].to_numpy() + 0.5
    names = np.full(len(detections), None, dtype=object)
    kept = np.zeros(len(detections), dtype=bool)
    rows = []
    for name, geometry in pixel_aois.items():
        inside = shapely.contains_xy(geometry, x, y)
        names[inside & ~kept] = name
        kept |= inside
        fraction = 0.0
        if geometry.intersects(scene_box):
            area = geometry.area / (to_scene.a * to_scene.e)  # in overview pixels
            mask = rasterize([geometry], out_shape=valid.shape, transform=to_scene,
                             dtype=np.uint8).astype(bool)
            fraction = min(1.0, float((mask & valid).sum() / area))
        else:
            warnings.warn(f"area of interest {name!r} does not overlap "
                          f"{source.what}: count 0, valid fraction 0.", UserWarning,
                          stacklevel=3)
        rows.append({"aoi": name, "count": int(inside.sum()), "valid_fraction": fraction})
    return (detections[kept].assign(aoi=names[kept]).reset_index(drop=True),
            pd.DataFrame(rows))


# ------------------------------------------------------------------ tiles
def _n_windows(size, window, stride):
    return (size - window) // stride + 1


def _scan_tiles(source, window, stride, tile_size, evaluate, progress, areas=None):
    """Probability grid of the whole scene, evaluated tile by tile.

    A tile holds ``per_tile`` windows a side; consecutive tiles start
    ``per_tile * stride`` pixels apart and overlap by ``window - stride``,
    so every window lies wholly in one tile. Only one tile is read at a time.
    A window is NaN, and its tile not read when all of its windows are, if
    it lies wholly outside every area of ``areas`` (pixel space), or if more
    than half of its pixels are nodata (:data:`MIN_VALID`).
    """
    import shapely

    n_rows = _n_windows(source.height, window, stride)
    n_cols = _n_windows(source.width, window, stride)
    per_tile = max(1, _n_windows(max(tile_size, window), window, stride))
    grid = np.full((n_rows, n_cols), np.nan)
    region = None
    if areas is not None:
        region = shapely.union_all(list(areas.values()))
        shapely.prepare(region)
    starts = [(i, j) for i in range(0, n_rows, per_tile) for j in range(0, n_cols, per_tile)]
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="scan", unit="tile")
    for i, j in starts:
        rows, cols = min(per_tile, n_rows - i), min(per_tile, n_cols - j)
        top, left = i * stride, j * stride
        bottom, right = (i + rows - 1) * stride + window, (j + cols - 1) * stride + window
        keep = None
        if region is not None:
            if not region.intersects(shapely.box(left, top, right, bottom)):
                continue
            corner_rows, corner_cols = np.meshgrid(top + stride * np.arange(rows),
                                                   left + stride * np.arange(cols),
                                                   indexing="ij")
            keep = region.intersects(shapely.box(corner_cols, corner_rows,
                                                 corner_cols + window,
                                                 corner_rows + window))
        tile, valid = source.read(slice(top, bottom), slice(left, right))
        if valid is not None:
            enough = _window_means(valid, window, stride) >= MIN_VALID
            keep = enough if keep is None else keep & enough
        if keep is not None and not keep.any():
            continue
        probabilities = evaluate(tile)
        if keep is not None:
            probabilities[~keep] = np.nan
        grid[i:i + rows, j:j + cols] = probabilities
    return grid


def _window_means(mask, window, stride):
    """Mean of ``mask`` over every window of the grid, from a summed-area table."""
    table = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), dtype=np.int64)
    np.cumsum(np.cumsum(mask, axis=0), axis=1, out=table[1:, 1:])
    rows = np.arange(0, mask.shape[0] - window + 1, stride)
    cols = np.arange(0, mask.shape[1] - window + 1, stride)
    sums = (table[np.ix_(rows + window, cols + window)] - table[np.ix_(rows, cols + window)]
            - table[np.ix_(rows + window, cols)] + table[np.ix_(rows, cols)])
    return sums / window**2


# --------------------------------------------------------- batched engine
def _batched_probabilities(estimator, tile, window, stride, batch_size):
    """Ship probability of every window of a tile, by ``predict_proba`` batches."""
    channels = tile.shape[2]
    # (rows, cols, window, window, channels): a view, no copy.
    views = sliding_window_view(tile, (window, window, channels))[::stride, ::stride, 0]
    rows, cols = views.shape[:2]
    out = np.empty(rows * cols, dtype=np.float64)
    for start in range(0, rows * cols, batch_size):
        index = np.arange(start, min(start + batch_size, rows * cols))
        batch = views[index // cols, index % cols]  # copies only this batch
        out[index] = estimator.predict_proba(batch)[:, 1]
    return out.reshape(rows, cols)


# ---------------------------------------------------------- shared engine
# Fully convolutional versions of fitted models: model -> {stride: (fingerprint, fcn)}.
_FCN_CACHE = weakref.WeakKeyDictionary()


def _shared_head(estimator, window, stride):
    """A fully convolutional copy of the estimator's network, or (None, reason).

    Cached per model and stride; rebuilt when the weights have changed
    (a refit, ``partial_fit`` or ``warm_start``).
    """
    model = getattr(estimator, "model_", None)
    try:
        import keras
    except ImportError:  # pragma: no cover - sklship depends on keras
        return None, "keras is not installed."
    if not isinstance(model, keras.Model):
        return None, (f"{type(estimator).__name__} has no fitted Keras model "
                      "(model_).")
    fingerprint = _fingerprint(model)
    cached = _FCN_CACHE.setdefault(model, {}).get(stride)
    if cached is not None and cached[0] == fingerprint:
        return cached[1], None
    fcn, reason = _fully_convolutional(model, window, stride)
    if fcn is None:
        return None, reason
    import tensorflow as tf

    # One graph for every tile shape: Grappler fuses convolution, bias and
    # activation, which eager execution does not (about 1.3x faster).
    spec = tf.TensorSpec((1, None, None, fcn.inputs[0].shape[-1]), fcn.inputs[0].dtype)
    run = tf.function(lambda tile: fcn(tile, training=False), input_signature=[spec])
    _FCN_CACHE[model][stride] = (fingerprint, run)
    return run, None


def _fingerprint(model):
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    for weight in model.weights:
        digest.update(np.ascontiguousarray(weight.numpy()).tobytes())
    return digest.hexdigest()


def _chain(model):
    """The model's layers if they form a single chain input -> output, else None."""
    layers = model.layers
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        return None
    previous = model.inputs[0]
    for layer in layers[1:]:
        try:
            if layer.input is not previous:
                return None
        except (AttributeError, ValueError):
            return None
        previous = layer.output
    return layers if previous is model.outputs[0] else None


def _copy_layer(layer):
    """A fresh layer with the same configuration and weights."""
    copy = type(layer).from_config(layer.get_config())
    copy.build(layer.input.shape)
    copy.set_weights(layer.get_weights())
    return copy


def _fully_convolutional(model, window, stride):
    """Convert ``model`` to Input(None, None, c) -> grid of ship probabilities.

    Returns (fcn, None) or (None, reason) when the conversion is not exact.

    The grid must hold the network's output for windows ``stride`` pixels
    apart. Layers that down-sample (strided convolutions, pooling) keep
    their stride while the map's spacing still divides ``stride``; from the
    first one that would skip wanted windows, they run at stride 1 and every
    later kernel (and pooling window) is dilated by the strides removed, the
    "a trous" form of the network: the map then holds the network's
    features for every window whose corner is a multiple of the spacing,
    and the head keeps every ``stride // spacing``-th.
    """
    import keras

    from .keras_objects import ChipAugmentation

    layers = _chain(model)
    if layers is None:
        return None, "its Keras model is not a single chain of layers."
    input_shape = tuple(model.inputs[0].shape[1:])
    if len(input_shape) != 3 or input_shape[:2] != (window, window):
        return None, f"its model input {input_shape} is not a {window}x{window} image."
    inputs = keras.Input(shape=(None, None, input_shape[2]),
                         dtype=model.inputs[0].dtype)
    x = inputs
    spacing = 1  # scene pixels between neighbouring positions of the map
    dilation = 1  # map positions between neighbouring inputs of the next kernel
    head = False  # after Flatten / global pooling: per-window vectors
    converted = set()  # the Dense layer merged into Flatten's convolution
    for layer in layers[1:]:
        kind = type(layer).__name__
        if (kind in _INFERENCE_IDENTITY or isinstance(layer, ChipAugmentation)
                or id(layer) in converted):
            continue
        if kind in _ELEMENTWISE:
            axis = getattr(layer, "axis", -1)
            if kind in ("BatchNormalization", "Softmax") and axis not in (-1, 3, [-1], [3]):
                return None, f"layer {layer.name} ({kind}) does not act on channels."
            x = _copy_layer(layer)(x)
            continue
        if head:
            if kind != "Dense":
                return None, f"layer {layer.name} ({kind}) after the feature vector."
            kernel, *bias = layer.get_weights()
            x = _conv_from_dense(layer, kernel.reshape(1, 1, *kernel.shape), bias)(x)
            continue
        if kind in ("Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D"):
            x, reason = _window_head(layers, layer, x, stride // spacing, dilation,
                                     converted)
            if reason:
                return None, reason
            head = True
            continue
        if kind not in ("Conv2D", "MaxPooling2D", "AveragePooling2D"):
            return None, f"layer {layer.name} ({kind}) has no exact convolutional form."
        cfg = layer.get_config()
        if cfg.get("data_format", "channels_last") != "channels_last":
            return None, f"layer {layer.name} is not channels_last."
        if kind == "Conv2D":
            if cfg["padding"] != "valid" and tuple(cfg["kernel_size"]) != (1, 1):
                return None, (f"layer {layer.name} uses '{cfg['padding']}' padding, "
                              "which differs at window borders.")
            step = tuple(cfg["strides"])
        else:
            if cfg["padding"] != "valid":
                return None, f"layer {layer.name} uses '{cfg['padding']}' padding."
            step = tuple(cfg["strides"] or cfg["pool_size"])
        if step[0] != step[1]:
            return None, f"layer {layer.name} has unequal strides {step}."
        if dilation == 1 and stride % (spacing * step[0]) == 0:
            spacing *= step[0]  # every position of the strided map is wanted
            x = _copy_layer(layer)(x)
        else:
            x = _dilated(layer, dilation)(x)
            dilation *= step[0]
    if not head:
        return None, "the network has no Flatten or global pooling layer."
    return keras.Model(inputs, x, name=f"{model.name}_scan"), None


def _dilated(layer, dilation):
    """``layer`` (Conv2D or 2-D pooling) at stride 1 with its taps ``dilation`` apart."""
    import keras

    cfg = layer.get_config()
    if type(layer).__name__ != "Conv2D":
        from .keras_objects import DilatedPooling

        return DilatedPooling(cfg["pool_size"], dilation,
                              "max" if isinstance(layer, keras.layers.MaxPooling2D)
                              else "average", name=f"{layer.name}_a_trous")
    rate = np.multiply(cfg["dilation_rate"], dilation)
    cfg.update(strides=(1, 1), dilation_rate=tuple(int(r) for r in rate),
               name=f"{layer.name}_a_trous")
    copy = keras.layers.Conv2D.from_config(cfg)
    copy.build((None, None, None, layer.input.shape[-1]))
    copy.set_weights(layer.get_weights())
    return copy


def _window_head(layers, layer, x, step, dilation, converted):
    """Turn Flatten + Dense, or global pooling, into a per-window operation.

    The operation covers the window's feature map (taps ``dilation`` apart)
    and is evaluated every ``step`` map positions. Returns (output, None) or
    (None, reason).
    """
    import keras

    from .keras_objects import DilatedPooling

    kind = type(layer).__name__
    feature_shape = tuple(layer.input.shape[1:])
    if len(feature_shape) != 3:
        return None, f"layer {layer.name} gets a {len(feature_shape)}-D input."
    # Keras convolutions and pooling cannot both stride and dilate: with
    # dilated taps the operation runs at every position and the wanted ones
    # are sliced out afterwards.
    strides, keep = (step, 1) if dilation == 1 else (1, step)
    if kind == "Flatten":
        dense = _next_dense(layers, layer)
        if dense is None:
            return None, f"layer {layer.name} (Flatten) is not followed by Dense."
        kernel, *bias = dense.get_weights()
        kernel = kernel.reshape(*feature_shape, kernel.shape[-1])
        x = _conv_from_dense(dense, kernel, bias, strides, dilation)(x)
        converted.add(id(dense))
    else:
        if layer.get_config().get("keepdims"):
            return None, f"layer {layer.name} keeps dimensions."
        mode = "max" if kind == "GlobalMaxPooling2D" else "average"
        if dilation == 1:
            pool = (keras.layers.MaxPooling2D if mode == "max"
                    else keras.layers.AveragePooling2D)
            x = pool(feature_shape[:2], strides=strides,
                     name=f"{layer.name}_as_pooling")(x)
        else:
            x = DilatedPooling(feature_shape[:2], dilation, mode,
                               name=f"{layer.name}_as_pooling")(x)
    if keep > 1:
        x = x[:, ::keep, ::keep, :]
    return x, None


def _next_dense(layers, flatten):
    """The first weight layer after ``flatten`` if it is a Dense, else None."""
    after = layers[layers.index(flatten) + 1:]
    for layer in after:
        kind = type(layer).__name__
        if kind in _INFERENCE_IDENTITY:
            continue
        return layer if kind == "Dense" else None
    return None


def _conv_from_dense(dense, kernel, bias, strides=1, dilation=1):
    """A Conv2D computing ``dense`` at every position of a feature map."""
    import keras

    # Named after the Dense it replaces: an automatic name can repeat one of
    # the copied layers' names when the model was loaded from a file.
    conv = keras.layers.Conv2D(
        kernel.shape[-1], kernel.shape[:2], strides=strides, dilation_rate=dilation,
        activation=dense.activation, use_bias=bool(bias),
        dtype=dense.dtype_policy, name=f"{dense.name}_as_conv",
    )
    conv.build((None, None, None, kernel.shape[2]))
    conv.set_weights([kernel, *bias])
    return conv


def _shared_probabilities(fcn, tile, window, stride, symmetric=False):
    """Ship probability of every window of a tile, from the fully conv. model.

    With ``symmetric`` (the estimator's test-time augmentation) the outputs
    are averaged over the tile's 8 flips and 90-degree rotations: a flipped
    or transposed tile holds every window flipped or transposed, at the
    mirrored position of the grid, which is flipped back. The tile's side
    minus the window is a multiple of the stride, so the mirrored positions
    fall on the same grid.
    """
    def grid(view):
        # The a trous form can also cover windows that stick out of the tile
        # but whose pixels the network ignores (floor division in strides);
        # only the windows inside the tile are kept.
        rows, cols = (_n_windows(size, window, stride) for size in view.shape[:2])
        return np.asarray(fcn(view[None]))[0, :rows, :cols].astype(np.float64)

    out = grid(tile)
    if symmetric:
        for symmetry in symmetries(square=True):
            view = np.ascontiguousarray(symmetric_view(tile, *symmetry))
            out += _unmirror(grid(view), *symmetry)
        out /= 8
    if out.shape[-1] == 1:  # one sigmoid unit: P(classes_[1])
        return out[..., 0]
    return out[..., 1] / out.sum(axis=-1)


def _unmirror(grid, transpose, flip_rows, flip_cols):
    """Undo :func:`~sklship.symmetry.symmetric_view` on a (rows, cols, units) grid."""
    if flip_cols:
        grid = np.flip(grid, 1)
    if flip_rows:
        grid = np.flip(grid, 0)
    return np.swapaxes(grid, 0, 1) if transpose else grid


# -------------------------------------------------------------------- NMS
def non_max_suppression(probabilities, *, window, stride, threshold=0.5,
                        min_distance=None, min_neighbors=0):
    """Merge overlapping positive windows into single detections.

    Windows with a probability of at least ``threshold``, and at least
    ``min_neighbors`` of their 8 grid neighbours too, are candidates.
    Greedily, the most probable remaining candidate is kept and every
    candidate whose centre lies within ``min_distance`` pixels of it is
    dropped.

    Parameters
    ----------
    probabilities : ndarray of shape (n_rows, n_cols)
        Window probabilities; window (i, j) has its top-left corner at
        (i * stride, j * stride).
    window, stride : int
        Window side and step, in pixels.
    threshold : float, default=0.5
        Smallest probability of a candidate.
    min_distance : float or None, default=None
        Suppression radius in pixels; None means :func:`default_min_distance`.
    min_neighbors : int, default=0
        Neighbouring windows (of the 8 around it on the grid) that must reach
        ``threshold`` too for a window to be a candidate; 0 keeps lone windows.

    Returns
    -------
    detections : pandas.DataFrame
        Columns ``row``, ``col`` (window centre pixel) and ``probability``,
        highest probability first.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if min_distance is None:
        min_distance = default_min_distance(window)
    above = probabilities >= threshold
    if min_neighbors:
        ring = np.ones((3, 3), dtype=np.int64)
        ring[1, 1] = 0
        above &= convolve(above.astype(np.int64), ring, mode="constant") >= min_neighbors
    candidates = np.flatnonzero(above)
    order = candidates[np.argsort(-probabilities.ravel()[candidates], kind="stable")]
    n_rows, n_cols = probabilities.shape
    reach = int(np.floor(min_distance / stride))
    offsets = np.arange(-reach, reach + 1)
    disk = (offsets[:, None] ** 2 + offsets[None, :] ** 2) * stride**2 <= min_distance**2
    suppressed = np.zeros((n_rows + 2 * reach, n_cols + 2 * reach), dtype=bool)
    kept = []
    for flat in order:
        i, j = divmod(int(flat), n_cols)
        if suppressed[i + reach, j + reach]:
            continue
        kept.append(flat)
        suppressed[i:i + 2 * reach + 1, j:j + 2 * reach + 1] |= disk
    kept = np.asarray(kept, dtype=np.intp)
    i, j = np.divmod(kept, n_cols)
    return pd.DataFrame({
        "row": i * stride + window // 2,
        "col": j * stride + window // 2,
        "probability": probabilities.ravel()[kept],
    })
