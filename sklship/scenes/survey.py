"""Scan many scenes, in this process or on a Dask cluster, into tables.

:func:`scan_scenes` runs :func:`sklship.scan.scan_scene` over a list of
scenes and returns two tables: every detection (with its scene, date and map
coordinates) and the ship counts per scene and area of interest, the input
of :func:`sklship.activity.port_activity`. With a ``dask.distributed``
client the scenes are scanned in parallel; the estimator is scattered to
every worker once (``client.scatter(..., broadcast=True)``), so each worker
deserialises the model, and converts it for the shared engine, once. The
tables are the same as from one process. Scene files must be readable at the
same path by every worker.
"""

import warnings

import pandas as pd

__all__ = ["iter_scans", "result_tables", "scan_scenes"]

#: Columns of the detections table, in order (``x`` to ``crs`` for
#: georeferenced scenes only, ``aoi`` with areas of interest only).
DETECTION_COLUMNS = ("scene", "datetime", "row", "col", "probability", "x", "y", "lon",
                     "lat", "crs", "aoi")
#: Columns of the counts table.
COUNT_COLUMNS = ("scene", "datetime", "aoi", "count", "valid_fraction")


def scan_scenes(estimator, scenes, *, client=None, **scan_params):
    """Scan scenes and return the detections and the counts as two tables.

    Parameters
    ----------
    estimator : fitted classifier
        As for :func:`~sklship.scan.scan_scene`; it must pickle (every
        sklship estimator does) when ``client`` is given.
    scenes : sequence of str or os.PathLike
        Scene files (GeoTIFF, PNG, JPEG); their names (without ending) name
        them in the tables.
    client : dask.distributed.Client or None, default=None
        Scan on this Dask cluster; None scans one scene after the other here.
    **scan_params
        Passed to :func:`~sklship.scan.scan_scene` (``stride``,
        ``threshold``, ``bands``, ``scale``, ``aoi``, ``date_pattern``, ...).

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
                                                     **scan_params):
        for message in messages:
            warnings.warn(message, UserWarning, stacklevel=2)
        if error is not None:
            raise error
        tables[index] = result_tables(result)
    tables = [tables[index] for index in sorted(tables)]  # in the order of scenes
    return (_concat([t[0] for t in tables], DETECTION_COLUMNS),
            _concat([t[1] for t in tables], COUNT_COLUMNS))


def iter_scans(estimator, scenes, *, client=None, **scan_params):
    """Scan scenes one by one as they finish; errors are returned, not raised.

    Parameters
    ----------
    estimator, scenes, client, **scan_params
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
            result, error = scan_scene(estimator, scene, **scan_params), None
        except (OSError, ValueError) as exc:
            result, error = None, exc
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    return result, error, messages


def result_tables(result, scene=None):
    """The detections and counts tables of one :class:`~sklship.scan.ScanResult`.

    Parameters
    ----------
    result : ScanResult
    scene : str or None, default=None
        Name of the scene; None uses ``result.scene_name``.

    Returns
    -------
    detections, counts : pandas.DataFrame
        As in :func:`scan_scenes`.
    """
    scene = result.scene_name if scene is None else scene
    when = {"scene": scene, "datetime": result.datetime}
    detections = result.detections.assign(**when)
    if result.crs is not None:
        detections = detections.assign(crs=result.crs)
    counts = result.counts.assign(**when)
    return (detections[[c for c in DETECTION_COLUMNS if c in detections]],
            counts[list(COUNT_COLUMNS)])


def _concat(frames, columns):
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return pd.DataFrame(columns=list(columns[:5]))
    table = pd.concat(frames, ignore_index=True)
    return table[[c for c in columns if c in table]]
