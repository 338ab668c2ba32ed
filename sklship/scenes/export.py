"""What a scan writes: tables, GeoJSON, overlays, provenance and resume state.

The tables' columns and the precision of their numbers are defined once in
:mod:`sklship.scenes.tables`.

:class:`ScanFolder` is the output folder of a survey: every scene's results
land in ``scenes/`` as it finishes (its counts file, written last, marks it
done), and :meth:`ScanFolder.combine` writes the combined
``detections.csv``, ``counts.csv``, ``detections.geojson`` and ``run.json``
(how the scan was made: :func:`provenance`). Every file is written to a
temporary file and renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd

from .._io import atomic_write
from ..estimators.unwrap import probability_estimator
from .display import ScanDisplay
from .tables import (  # noqa: F401 (their old home)
    COUNT_COLUMNS,
    DETECTION_COLUMNS,
    concat_tables,
    result_tables,
    rounded,
)

__all__ = ["COUNT_COLUMNS", "DETECTION_COLUMNS", "ScanFolder", "concat_tables",
           "detections_geodataframe", "detections_geojson", "provenance", "result_tables",
           "rounded"]


def detections_geojson(detections, properties=None):
    """RFC 7946 FeatureCollection of the georeferenced detections, [lon, lat] points.

    Parameters
    ----------
    detections : pandas.DataFrame
        A detections table; rows without ``lon`` (scenes without CRS) are
        left out.
    properties : dict or None, default=None
        Added to every feature's properties (e.g. :func:`provenance`).

    Returns
    -------
    text : str
        The GeoJSON document.
    """
    features = []
    if "lon" in detections:
        mapped = rounded(detections[detections["lon"].notna()])
        for record in mapped.to_dict("records"):
            lon, lat = record.pop("lon"), record.pop("lat")
            values = {key: (None if pd.isna(value) else
                            value.item() if hasattr(value, "item") else value)
                      for key, value in record.items()}
            features.append({"type": "Feature",
                             "geometry": {"type": "Point",
                                          "coordinates": [float(lon), float(lat)]},
                             "properties": {**values, **(properties or {})}})
    return json.dumps({"type": "FeatureCollection", "features": features})


def detections_geodataframe(detections):
    """The georeferenced detections as a :class:`geopandas.GeoDataFrame` of lon/lat points.

    Needs geopandas (``pip install sklship[geo]``). The frame holds the same
    rows as ``detections.geojson`` (and reads back from it with
    ``geopandas.read_file``): scenes without a CRS are left out, every other
    column is kept, and each ship is a point in longitude and latitude
    (EPSG:4326), whatever the CRS of its scene, so that scenes of several
    CRSs share one frame. ``to_crs`` reprojects it, ``sjoin`` counts ships
    in polygons, ``explore`` maps it.

    Parameters
    ----------
    detections : pandas.DataFrame
        A detections table (:data:`DETECTION_COLUMNS`, such as
        ``detections.csv`` or the first table of :func:`result_tables`).

    Returns
    -------
    frame : geopandas.GeoDataFrame
        The rows with ``lon`` and ``lat``, their index kept, and a
        ``geometry`` column of points in EPSG:4326.

    Raises
    ------
    ImportError
        If geopandas is not installed.
    TypeError
        If ``detections`` is not a pandas DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklship.scenes.export import detections_geodataframe
    >>> table = pd.DataFrame({"scene": ["a", "b"], "probability": [0.9, 0.8],
    ...                       "lon": [-118.21, None], "lat": [33.74, None]})
    >>> detections_geodataframe(table)[["scene", "geometry"]]  # doctest: +SKIP
      scene               geometry
    0     a  POINT (-118.21 33.74)
    """
    try:
        import geopandas
    except ImportError:
        raise ImportError("detections_geodataframe needs geopandas: pip install "
                          "'sklship[geo]' (or geopandas); detections_geojson writes "
                          "the same points without it.") from None
    if not isinstance(detections, pd.DataFrame):
        raise TypeError(f"detections must be a pandas DataFrame (a detections table); "
                        f"got {type(detections).__name__}.")
    mapped = (detections[detections["lon"].notna()] if "lon" in detections
              else detections.iloc[:0].assign(lon=[], lat=[]))
    points = geopandas.points_from_xy(mapped["lon"].astype(float),
                                      mapped["lat"].astype(float), crs="EPSG:4326")
    return geopandas.GeoDataFrame(mapped, geometry=points)


def provenance(estimator, settings, *, model_file=None, seconds=None):
    """How a scan was made: the model, its settings and sklship's version.

    Parameters
    ----------
    estimator : fitted classifier
        The model scanned with.
    settings : ScanSettings
        The scan settings (see :class:`sklship.scenes.settings.ScanSettings`).
    model_file : str, os.PathLike or None, default=None
        The file the model was loaded from: its name and SHA-256 are recorded.
    seconds : float or None, default=None
        Wall time of the scans.

    Returns
    -------
    record : dict
        JSON-ready: ``sklship_version``, ``model`` (the class that gives the
        probabilities, inside a threshold wrapper), ``model_file``,
        ``model_sha256``, every scan setting as the scan used it
        (:meth:`~sklship.scenes.settings.ScanSettings.resolved`, with
        ``model_resolution``) and ``scan_seconds`` (None where not known).
    """
    from .. import __version__

    digest = None
    if model_file is not None:
        digest = hashlib.sha256(Path(model_file).read_bytes()).hexdigest()
    record = {"sklship_version": __version__,
              "model": type(probability_estimator(estimator)).__name__,
              "model_file": None if model_file is None else Path(model_file).name,
              "model_sha256": digest}
    record.update(settings.resolved(estimator))
    record["scan_seconds"] = None if seconds is None else round(float(seconds), 3)
    return record


#: Parts of a scan's record that do not change its detections (how fast, which
#: exact engine, which version of sklship wrote it).
_NOT_RESULTS = ("sklship_version", "scan_seconds", "engine", "batch_size", "tile_size",
                "progress")


def made_with(record, source=None):
    """What made a scene's results, to tell on a restart whether they still hold.

    Parameters
    ----------
    record : dict
        The run's :func:`provenance`.
    source : str or None, default=None
        The scene's file (resolved path) or STAC item.

    Returns
    -------
    made : dict
        JSON-ready: ``source`` and the record's model and settings, less what
        does not change detections (:data:`_NOT_RESULTS`).
    """
    made = {"source": source, **{key: value for key, value in record.items()
                                 if key not in _NOT_RESULTS}}
    return json.loads(json.dumps(made, default=str))


class ScanFolder:
    """The output folder of a scan of many scenes, restartable.

    Parameters
    ----------
    path : str or os.PathLike
        The folder; created when missing. Its ``scenes/`` folder, which holds
        each scene's results, is made with the first scene written, so a run
        in which every scene fails leaves none.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.scenes = self.path / "scenes"
        self.path.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def stem(name):
        """A file-name-safe form of a scene name."""
        return re.sub(r"[^\w.-]+", "_", str(name))

    def _scene_file(self, name, kind):
        return self.scenes / f"{self.stem(name)}.{kind}.csv"

    def done(self, name):
        """Whether the scene ``name`` was scanned into this folder before."""
        return self._scene_file(name, "counts").exists()

    def made(self, name):
        """What made the scene's results (:func:`made_with`), or None when not recorded."""
        path = self.scenes / f"{self.stem(name)}.run.json"
        return json.loads(path.read_text()) if path.exists() else None

    def write_scene(self, name, result, picture=None, true_positions=None, made=None):
        """One scene's tables and overlay; its counts, written last, mark it done.

        Parameters
        ----------
        name : str
            The scene's name in the tables.
        result : ScanResult
            Its scan.
        picture : ndarray or None, default=None
            The scene (or a decimated overview) to draw the overlay
            ``<name>_scan.png`` on; None writes no overlay.
        true_positions : array-like of (row, col) or None, default=None
            Known ships to mark on the overlay.
        made : dict or None, default=None
            What made them (:func:`made_with`), written as
            ``scenes/<name>.run.json``, so that a restart can tell whether
            they still hold.
        """
        detections, counts = result_tables(result, name)
        self.scenes.mkdir(exist_ok=True)
        if picture is not None:
            import matplotlib.pyplot as plt

            display = ScanDisplay.from_result(result, picture,
                                              true_positions=true_positions)
            display.ax_.set_title(f"{name}: {display.ax_.get_title()}", fontsize=9)
            try:
                display.savefig(self.path / f"{self.stem(name)}_scan.png")
            finally:
                plt.close(display.figure_)
        if made is not None:
            _write(self.scenes / f"{self.stem(name)}.run.json", json.dumps(made, indent=2))
        _write(self._scene_file(name, "detections"),
                     rounded(detections).to_csv(index=False))
        _write(self._scene_file(name, "counts"), rounded(counts).to_csv(index=False))

    def combine(self, names, record=None):
        """Write detections.csv, counts.csv, detections.geojson and run.json.

        Parameters
        ----------
        names : sequence of str
            The scenes to combine, in order (each written by
            :meth:`write_scene`, now or in an earlier run).
        record : dict or None, default=None
            How the scan was made (:func:`provenance`): written as
            ``run.json`` and added to every GeoJSON feature.

        Returns
        -------
        detections, counts : pandas.DataFrame
            The combined tables.
        """
        def read(kind, columns):
            return concat_tables(
                (pd.read_csv(self._scene_file(name, kind), dtype={"aoi": "string"})
                 for name in names), columns)

        detections = read("detections", DETECTION_COLUMNS)
        counts = read("counts", COUNT_COLUMNS)
        _write(self.path / "detections.csv", detections.to_csv(index=False))
        _write(self.path / "counts.csv", counts.to_csv(index=False))
        # The run's settings in every feature; its wall time only in run.json.
        properties = None if record is None else {
            key: value for key, value in record.items() if key != "scan_seconds"}
        _write(self.path / "detections.geojson", detections_geojson(detections, properties))
        if record is not None:
            _write(self.path / "run.json",
                         json.dumps({**record, "scenes": list(names)}, indent=2))
        return detections, counts


def _write(path, text):
    """Write ``text`` to ``path`` atomically."""
    with atomic_write(path) as file:
        file.write(text)
