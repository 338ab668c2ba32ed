"""The tables a scan gives: their columns, and numbers at the precision they mean.

A leaf module (it imports nothing else of sklship), so that the scan, the
survey, the export and the activity index all read one schema.
:data:`DETECTION_COLUMNS` and :data:`COUNT_COLUMNS` define the columns once.
Numbers are written at the precision they mean: probabilities and fractions
to 6 decimals, pixel positions to 1/1000 pixel, projected coordinates to a
millimetre and degrees to 1e-8 (about a millimetre), so that the same scan
gives the same files on any machine (:func:`rounded`).
"""

import pandas as pd

__all__ = ["COUNT_COLUMNS", "DETECTION_COLUMNS", "concat_tables", "result_tables",
           "rounded"]

#: Columns of the detections table, in order (``x`` to ``crs`` for
#: georeferenced scenes only, ``aoi`` with areas of interest only).
DETECTION_COLUMNS = ("scene", "datetime", "row", "col", "probability", "x", "y", "lon",
                     "lat", "crs", "aoi")
#: Columns of the counts table: ships per scene and area of interest.
COUNT_COLUMNS = ("scene", "datetime", "aoi", "count", "valid_fraction", "clear_fraction")

# Decimals each column is written with.
_DECIMALS = {"row": 3, "col": 3, "probability": 6, "valid_fraction": 6, "clear_fraction": 6,
             "lon": 8, "lat": 8}
# Map x, y: a millimetre in a projected CRS, 1e-8 degree in a geographic one.
_MAP_DECIMALS = {False: 3, True: 8}


def result_tables(result, scene=None):
    """The detections and counts tables of one :class:`~sklship.scenes.scan.ScanResult`.

    Parameters
    ----------
    result : ScanResult
        A scan.
    scene : str or None, default=None
        Name of the scene; None uses ``result.scene_name``.

    Returns
    -------
    detections, counts : pandas.DataFrame
        Columns of :data:`DETECTION_COLUMNS` and :data:`COUNT_COLUMNS`.
    """
    scene = result.scene_name if scene is None else scene
    when = {"scene": scene, "datetime": result.datetime}
    detections = result.detections.assign(**when)
    if result.crs is not None:
        detections = detections.assign(crs=result.crs)
    counts = result.counts.assign(**when)
    return (detections[[c for c in DETECTION_COLUMNS if c in detections]],
            counts[list(COUNT_COLUMNS)])


def concat_tables(frames, columns):
    """Tables of several scenes as one, with ``columns`` in order.

    Parameters
    ----------
    frames : iterable of pandas.DataFrame
        Tables with some of ``columns``.
    columns : sequence of str
        :data:`DETECTION_COLUMNS` or :data:`COUNT_COLUMNS`.

    Returns
    -------
    table : pandas.DataFrame
        Empty tables are left out; with none left, an empty table with the
        first five columns.
    """
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return pd.DataFrame(columns=list(columns[:5]))
    table = pd.concat(frames, ignore_index=True)
    return table[[c for c in columns if c in table]]


def rounded(table):
    """``table`` with each number at the precision it means (see the module)."""
    decimals = {c: d for c, d in _DECIMALS.items() if c in table}
    if "crs" in table and len(table):
        from pyproj import CRS

        geographic = {crs: CRS.from_user_input(crs).is_geographic
                      for crs in table["crs"].dropna().unique()}
        places = table["crs"].map(lambda crs: _MAP_DECIMALS[geographic.get(crs, False)])
        table = table.assign(**{c: [None if pd.isna(v) else round(float(v), int(p))
                                    for v, p in zip(table[c], places, strict=True)]
                                for c in ("x", "y") if c in table})
    return table.round(decimals)
