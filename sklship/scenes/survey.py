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

import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .._io import remove_leftovers
from .export import ScanFolder, made_with, provenance
from .safe import as_scene
from .scan import is_stac_item, scan_scene
from .settings import ScanSettings
from .sources import open_scene
from .stac import StacScene, stac_scene
from .tables import COUNT_COLUMNS, DETECTION_COLUMNS, concat_tables, result_tables

__all__ = ["ScanSettings", "SurveyReport", "iter_scans", "scan_scenes", "scan_to_folder"]

log = logging.getLogger("sklship")


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
        mask, scanning the asset ``settings.asset``; or Sentinel-2 Level-2A
        products (``.SAFE`` folders or zips, :mod:`sklship.scenes.safe`),
        named by the product.
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
    settings = ScanSettings.of(settings)
    if client is None:
        for index, scene in enumerate(scenes):
            yield (index, *_scan_or_error(estimator, scene, settings))
        return
    from dask.distributed import as_completed

    model = client.scatter(estimator, broadcast=True)
    futures = {client.submit(_scan_or_error, model, scene, settings, pure=False):
               index for index, scene in enumerate(scenes)}
    for future in as_completed(futures):
        yield (futures[future], *future.result())


def _scan_or_error(estimator, scene, settings):
    """(result, None, warnings) or (None, error, warnings): runs on Dask workers too."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            result, error = scan_scene(estimator, scene, settings), None
        except (OSError, ValueError) as exc:
            result, error = None, exc
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    return result, error, messages


# ------------------------------------------------------------------ a folder
@dataclass
class SurveyReport:
    """What :func:`scan_to_folder` did.

    Attributes
    ----------
    path : pathlib.Path
        The output folder.
    names : list of str
        Every scene's name, in order.
    scanned, skipped : list of str
        Scenes scanned now; scenes done in an earlier run and not scanned again.
    failed : dict of str to str
        Scenes that could not be scanned, with the first line of why.
    excluded : list of pathlib.Path
        Files given as scenes that are usable-data masks (``*udm2*``): used
        beside their scenes, never scanned as scenes.
    removed : list of pathlib.Path
        Temporary files of an interrupted run, removed on start.
    messages : list of (str, str)
        ``(scene, warning)`` raised while scanning.
    detections, counts : pandas.DataFrame or None
        The combined tables of every scene done (None when none is).
    record : dict or None
        How the scan was made (``run.json``, :func:`~.export.provenance`).
    seconds : float
        Wall time of the scans.
    """

    path: Path
    names: list
    scanned: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)
    excluded: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    messages: list = field(default_factory=list)
    detections: pd.DataFrame = field(default=None, repr=False)
    counts: pd.DataFrame = field(default=None, repr=False)
    record: dict = field(default=None, repr=False)
    seconds: float = 0.0


def scan_to_folder(estimator, scenes, out, *, settings=None, client=None, overwrite=False,
                   model_file=None, true_positions=None, progress=False, on_scene=None):
    """Scan scenes into a folder, restartably: tables, GeoJSON, overlays and run.json.

    Everything ``sklship scan`` does to its output folder. On start it
    removes the temporary files a killed run left behind
    (:func:`sklship._io.remove_leftovers`); scenes with results in
    ``out/scenes/`` are skipped unless ``overwrite``; each scene's tables and
    overlay are written as it finishes (see :class:`~.export.ScanFolder`), so
    an interrupted survey resumes where it stopped; a scene that fails is
    recorded and the others go on; then the combined ``detections.csv``,
    ``counts.csv``, ``detections.geojson`` and ``run.json`` are written over
    every scene done, now or before.

    Parameters
    ----------
    estimator : fitted classifier
        As for :func:`~sklship.scenes.scan.scan_scene`.
    scenes : sequence or dict
        Scene files, STAC items (pystac or :class:`~.stac.StacScene`) and
        Sentinel-2 ``.SAFE`` products, named by their file names without
        ending, item ids or product names; or a dict of names to scenes
        (also arrays). Files whose names contain ``udm2`` are
        usable-data masks and are not scanned.
    out : str or os.PathLike
        The output folder; created when missing.
    settings : ScanSettings or None, default=None
        How to scan every scene; None takes the defaults.
    client : dask.distributed.Client or None, default=None
        Scan on this Dask cluster (see :func:`iter_scans`).
    overwrite : bool, default=False
        Scan scenes again that the folder holds results for.
    model_file : str, os.PathLike or None, default=None
        The file ``estimator`` was loaded from, recorded in ``run.json``.
    true_positions : dict of str to array-like or None, default=None
        Known ship positions (row, col) per scene, marked on its overlay.
    progress : bool, default=False
        A progress bar over the scenes (needs ``tqdm``; only on a terminal).
    on_scene : callable or None, default=None
        Called as ``on_scene(name, result)`` after each scene is written
        (``result`` is a :class:`~.scan.ScanResult`), e.g. to print its count.

    Returns
    -------
    report : SurveyReport

    Raises
    ------
    ValueError
        If two scenes have the same name (the message names them).
    OSError
        If the folder or a file in it cannot be written.
    """
    settings = ScanSettings.of(settings)
    scenes, excluded = _named_scenes(scenes)
    folder = ScanFolder(out)
    report = SurveyReport(folder.path, list(scenes), excluded=excluded,
                          removed=remove_leftovers(folder.path)
                          + remove_leftovers(folder.scenes))
    record = provenance(estimator, settings, model_file=model_file)
    made = {name: made_with(record, _source(scene)) for name, scene in scenes.items()}
    todo = [name for name in scenes if overwrite or not folder.done(name)]
    report.skipped = [name for name in scenes if name not in todo]
    _check_still_hold(folder, {name: made[name] for name in report.skipped})
    start = time.perf_counter()
    results = iter_scans(estimator, [scenes[name] for name in todo], client=client,
                         settings=settings)
    if progress:
        from tqdm.auto import tqdm

        # disable=None: only on a terminal, never into a log file.
        results = tqdm(results, total=len(todo), desc="scan", unit="scene", disable=None)
    for index, result, error, messages in results:
        name = todo[index]
        report.messages += [(name, message) for message in messages]
        if error is not None:
            report.failed[name] = str(error).splitlines()[0]
            continue
        _write_scene(folder, name, result, scenes[name], (true_positions or {}).get(name),
                     settings, made[name])
        report.scanned.append(name)
        if on_scene is not None:
            on_scene(name, result)
    report.seconds = time.perf_counter() - start
    done = [name for name in scenes if name not in report.failed]
    if done:
        report.record = {**record, "scan_seconds": round(report.seconds, 3)}
        report.detections, report.counts = folder.combine(done, report.record)
    return report


def _named_scenes(scenes):
    """``{name: scene}`` and the mask files left out; refuses names given twice."""
    if isinstance(scenes, dict):
        return {name: as_scene(scene) for name, scene in scenes.items()}, []
    kept, excluded, names = [], [], []
    for scene in map(as_scene, scenes):
        if is_stac_item(scene):
            names.append(scene.name if isinstance(scene, StacScene) else scene.id)
        elif "udm2" in Path(scene).stem.lower():  # a glob of scenes/* matches their masks
            excluded.append(Path(scene))
            continue
        else:
            names.append(Path(scene).stem)
        kept.append(scene)
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"scenes must have different names; several are called "
                         f"{', '.join(twice)}.")
    return dict(zip(names, kept, strict=True)), excluded


def _source(scene):
    """A scene's file (resolved) or STAC item id, to tell scenes of one name apart."""
    if is_stac_item(scene):
        return scene.name if isinstance(scene, StacScene) else scene.id
    if isinstance(scene, str | Path):
        return str(Path(scene).resolve())
    return None


def _check_still_hold(folder, made):
    """Refuse to resume from results that other scenes, models or settings made.

    ``made``: what would make each scene to be skipped now. Results written
    before sklship recorded this are taken as they are.
    """
    changed = {}
    for name, now in made.items():
        before = folder.made(name)
        if before is None:
            continue
        for key in sorted(set(now) | set(before)):
            if before.get(key) != now.get(key):
                changed.setdefault(key, (name, before.get(key), now.get(key)))
    if changed:
        what = "; ".join(f"{key} of {name}: {old!r} then, {new!r} now"
                         for key, (name, old, new) in list(changed.items())[:3])
        raise ValueError(f"{folder.path} holds results that another scene, model or "
                         f"settings made ({what}); scan them again with overwrite=True "
                         "(command line: --overwrite), or write to another folder.")


def _write_scene(folder, name, result, scene, ships, settings, made):
    """A scene's tables and its overlay, drawn on an overview of the scene read as
    the scan read it (``settings``: its asset and reflectance scaling)."""
    if result.crs is None:
        taken = ("" if result.resolution is not None or not made.get("model_resolution")
                 else f"; its pixels were taken as {made['model_resolution']:g} m, the "
                 "model's (resolution=..., command line: --resolution M, if not)")
        log.warning(f"{name} has no CRS: its detections have pixel row/col "
                    f"only (no x, y, lon, lat){taken}")
    if is_stac_item(scene):
        scene = stac_scene(scene, settings.asset).href
    with open_scene(scene, bands=result.bands, scale=result.scale,
                    reflectance=settings.reflectance) as source:
        picture = source.overview()[0]
    folder.write_scene(name, result, picture, true_positions=ships, made=made)
