"""Scan many scenes, in this process or on a Dask cluster, into tables.

:func:`scan_scenes` runs :func:`sklship.scenes.scan.scan_scene` over a list of
scenes and returns two tables: every detection (with its scene, date and map
coordinates) and the ship counts per scene and area of interest, the input
of :func:`sklship.scenes.activity.port_activity`. With a ``dask.distributed``
client the scenes are scanned in parallel; the estimator is scattered to
every worker once (``client.scatter(..., broadcast=True)``), so each worker
deserialises the model, and converts it for the shared engine, once. The
tables are the same as from one process. Scene files must be readable at the
same path by every worker.
"""

import warnings
from dataclasses import asdict, dataclass

from .._validation import validate_parameter_constraints
from .export import COUNT_COLUMNS, DETECTION_COLUMNS, concat_tables, result_tables

__all__ = ["ScanSettings", "iter_scans", "scan_scenes"]


@dataclass(frozen=True)
class ScanSettings:
    """The settings of a scan, checked once, shared by every scene of a survey.

    Each field is the :func:`~sklship.scenes.scan.scan_scene` parameter of
    the same name, with its default; None means "the scan's own default"
    (see there).

    Parameters
    ----------
    stride, threshold, min_distance, min_neighbors, smoothing, \
candidate_threshold, engine, tile_size, batch_size, bands, scale, aoi, \
date_pattern, resolution, mask
        See :func:`~sklship.scenes.scan.scan_scene`. A STAC scene's own
        resolution and ``udm2`` mask are used where these are None.
    asset : str, default="visual"
        The asset of STAC items to scan (see :mod:`sklship.scenes.stac`).

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        (a ValueError) for a value out of range, naming the field.

    Examples
    --------
    >>> from sklship.scenes import ScanSettings
    >>> ScanSettings(stride=8, threshold=0.6).scan_params()["stride"]
    8
    """

    stride: int | None = None
    threshold: float | None = None
    min_distance: float | None = None
    min_neighbors: int | None = None
    smoothing: int | None = None
    candidate_threshold: float | None = None
    engine: str = "auto"
    tile_size: int = 1024
    batch_size: int = 1024
    bands: tuple | None = None
    scale: tuple | str | None = None
    aoi: object = None
    date_pattern: str | None = None
    resolution: float | None = None
    mask: object = None
    asset: str = "visual"

    def __post_init__(self):
        from .scan import SETTING_CONSTRAINTS

        validate_parameter_constraints({**SETTING_CONSTRAINTS, "asset": [str]},
                                       asdict(self), caller_name="ScanSettings")
        if self.bands is not None:
            object.__setattr__(self, "bands", tuple(int(b) for b in self.bands))

    def scan_params(self):
        """The settings as keyword arguments of :func:`~sklship.scenes.scan.scan_scene`."""
        params = asdict(self)
        del params["asset"]
        return params

    def resolved(self, estimator):
        """The settings a scan with ``estimator`` actually uses, JSON-ready.

        Defaults that depend on the model (stride, threshold, neighbour rule,
        smoothing, suppression radius) are resolved as
        :func:`~sklship.scenes.scan.scan_scene` resolves them
        (:func:`~sklship.scenes.defaults.resolve_defaults`).
        """
        from ..evaluation.thresholds import fitted_network
        from .defaults import resolve_defaults
        from .resolution import model_chip_resolution

        resolved = resolve_defaults(
            estimator, None, self.stride, self.threshold, self.min_distance,
            self.min_neighbors, self.smoothing, self.candidate_threshold)
        return {**resolved, "engine": self.engine, "asset": self.asset,
                "resolution": self.resolution,
                "model_resolution": model_chip_resolution(fitted_network(estimator)),
                "bands": None if self.bands is None else list(self.bands),
                "scale": self.scale if self.scale is None or isinstance(self.scale, str)
                else [float(v) for v in self.scale]}


def scan_scenes(estimator, scenes, *, client=None, settings=None):
    """Scan scenes and return the detections and the counts as two tables.

    Parameters
    ----------
    estimator : fitted classifier
        As for :func:`~sklship.scenes.scan.scan_scene`; it must pickle (every
        sklship estimator does) when ``client`` is given.
    scenes : sequence of str, os.PathLike, pystac.Item or StacScene
        Scene files (GeoTIFF, PNG, JPEG), named in the tables by their names
        without ending; or STAC items (see :mod:`sklship.scenes.stac`), named
        by their ids, dated by the item, with its resolution and ``udm2``
        mask, scanning the asset ``settings.asset``.
    client : dask.distributed.Client or None, default=None
        Scan on this Dask cluster; None scans one scene after the other here.
    settings : ScanSettings or None, default=None
        How to scan every scene (stride, threshold, bands, scale, areas of
        interest, ...); None takes the defaults.

    Returns
    -------
    detections : pandas.DataFrame
        One row per detection: scene, datetime, row, col, probability, and
        x, y, lon, lat, crs for georeferenced scenes, aoi with areas.
    counts : pandas.DataFrame
        scene, datetime, aoi, count, valid_fraction: one row per scene, or
        per scene and area of interest.

    Raises
    ------
    ValueError, OSError
        The first error a scene gave (its message names the file).

    Warns
    -----
    UserWarning
        The warnings of the scans (e.g. an area of interest that misses a
        scene), also when they were raised on a Dask worker.
    """
    tables = {}
    for index, result, error, messages in iter_scans(estimator, scenes, client=client,
                                                     settings=settings):
        for message in messages:
            warnings.warn(message, UserWarning, stacklevel=2)
        if error is not None:
            raise error
        tables[index] = result_tables(result)
    tables = [tables[index] for index in sorted(tables)]  # in the order of scenes
    return (concat_tables([t[0] for t in tables], DETECTION_COLUMNS),
            concat_tables([t[1] for t in tables], COUNT_COLUMNS))


def iter_scans(estimator, scenes, *, client=None, settings=None):
    """Scan scenes one by one as they finish; errors are returned, not raised.

    Parameters
    ----------
    estimator, scenes, client, settings
        As for :func:`scan_scenes`; ``scenes`` may also hold arrays.

    Yields
    ------
    index : int
        Position of the scene in ``scenes``.
    result : ScanResult or None
        None when the scene failed.
    error : Exception or None
        Why it failed (``ValueError`` or ``OSError``, naming the file).
    messages : list of str
        Warnings raised while scanning it.
    """
    scenes = list(scenes)
    settings = ScanSettings() if settings is None else settings
    scan_params = {**settings.scan_params(), "asset": settings.asset}
    if client is None:
        for index, scene in enumerate(scenes):
            yield (index, *_scan_or_error(estimator, scene, scan_params))
        return
    from dask.distributed import as_completed

    model = client.scatter(estimator, broadcast=True)
    futures = {client.submit(_scan_or_error, model, scene, scan_params, pure=False):
               index for index, scene in enumerate(scenes)}
    for future in as_completed(futures):
        yield (futures[future], *future.result())


def _scan_or_error(estimator, scene, scan_params):
    """(result, None, warnings) or (None, error, warnings): runs on Dask workers too."""
    from .scan import scan_scene

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            result, error = _scan_one(scan_scene, estimator, scene, dict(scan_params)), None
        except (OSError, ValueError) as exc:
            result, error = None, exc
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    return result, error, messages


def _scan_one(scan_scene, estimator, scene, params):
    """Scan a file, an array or a STAC item (pystac or :class:`~.stac.StacScene`)."""
    asset = params.pop("asset", "visual")
    if not _is_stac(scene):
        return scan_scene(estimator, scene, **params)
    from .stac import stac_scene

    item = stac_scene(scene, asset)
    if params["resolution"] is None:
        params["resolution"] = item.resolution
    if params["mask"] is None:
        params["mask"] = item.mask or False
    result = scan_scene(estimator, item.href, **params)
    result.scene_name, result.datetime = item.name, item.datetime
    return result


def _is_stac(scene):
    import sys

    from .stac import StacScene

    pystac = sys.modules.get("pystac")  # a pystac item means pystac is imported
    return isinstance(scene, StacScene) or (pystac is not None
                                            and isinstance(scene, pystac.Item))
