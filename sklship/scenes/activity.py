"""Port activity over time: ships per area of interest per day, week or month.

:func:`port_activity` turns the counts of many scans (``counts.csv`` of
``sklship scan``, or the counts table of :func:`sklship.scenes.survey.scan_scenes`)
into a time series per area of interest; :class:`sklship.scenes.display.ActivityDisplay`
draws it.
"""

import warnings
from numbers import Real
from os import PathLike

import pandas as pd

from .._validation import Interval, StrOptions, validate_params
from .export import COUNT_COLUMNS

__all__ = ["FREQUENCIES", "WHOLE_SCENE", "port_activity", "read_counts"]

#: Periods ``port_activity`` groups by: pandas period aliases.
FREQUENCIES = {"D": "day", "W": "week", "M": "month"}
#: Name of the area in counts made without areas of interest (the whole scene).
WHOLE_SCENE = "whole scene"


def read_counts(paths):
    """Read and stack counts tables written by ``sklship scan`` (``counts.csv``).

    Parameters
    ----------
    paths : sequence of str or os.PathLike

    Returns
    -------
    counts : pandas.DataFrame
        Columns scene, datetime (parsed; NaT when empty), aoi, count,
        valid_fraction.

    Raises
    ------
    FileNotFoundError
        If a file does not exist.
    ValueError
        If a file is not such a table; the message names it.
    """
    tables = []
    for path in paths:
        try:
            table = pd.read_csv(path, dtype={"aoi": "string", "scene": "string"})
        except FileNotFoundError:
            raise FileNotFoundError(f"counts file {path} does not exist.") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise ValueError(f"counts file {path} is not a CSV table ({exc}).") from None
        missing = [c for c in COUNT_COLUMNS if c not in table]
        if missing:
            raise ValueError(f"counts file {path} lacks the columns {missing}; expected "
                             f"the counts.csv of 'sklship scan' ({', '.join(COUNT_COLUMNS)}).")
        tables.append(table)
    counts = pd.concat(tables, ignore_index=True)
    counts["datetime"] = pd.to_datetime(counts["datetime"], format="ISO8601")
    return counts


@validate_params(
    {
        "counts": [pd.DataFrame, str, PathLike, list, tuple],
        "freq": [StrOptions(set(FREQUENCIES))],
        "min_valid_fraction": [Interval(Real, 0, 1, closed="both")],
    },
    prefer_skip_nested_validation=True,
)
def port_activity(counts, *, freq="W", min_valid_fraction=0.5):
    """Ships per area of interest and period, from the counts of many scans.

    Parameters
    ----------
    counts : pandas.DataFrame, path or list of paths
        Columns scene, datetime, aoi, count, valid_fraction (the counts table
        of :func:`~sklship.scenes.survey.scan_scenes` or ``counts.csv`` files of
        ``sklship scan``). Rows without an area (scans without areas of
        interest) count as the area :data:`WHOLE_SCENE`.
    freq : {"D", "W", "M"}, default="W"
        Period: day, week (Monday to Sunday) or calendar month.
    min_valid_fraction : float in [0, 1], default=0.5
        Rows whose area had less valid data than this (the scene missed the
        port, or clouds / nodata covered it) are left out: their count says
        nothing about the ships there.

    Returns
    -------
    activity : pandas.DataFrame
        One row per area and period: ``aoi``, ``period`` (first day of the
        period), ``n_scenes`` (scenes behind the numbers), ``mean_ships``
        and ``max_ships`` (over those scenes).

    Warns
    -----
    UserWarning
        Saying how many rows were left out for lack of a datetime, and how
        many for too little valid data.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklship.scenes.activity import port_activity
    >>> counts = pd.DataFrame({
    ...     "scene": ["a", "b", "c"], "aoi": ["LB", "LB", "LB"], "count": [3, 5, 4],
    ...     "datetime": pd.to_datetime(["2017-07-03", "2017-07-05", "2017-07-12"]),
    ...     "valid_fraction": [1.0, 0.9, 1.0]})
    >>> port_activity(counts, freq="W")
      aoi     period  n_scenes  mean_ships  max_ships
    0  LB 2017-07-03         2         4.0          5
    1  LB 2017-07-10         1         4.0          4
    """
    if not isinstance(counts, pd.DataFrame):
        counts = read_counts([counts] if isinstance(counts, (str, PathLike)) else counts)
    missing = [c for c in COUNT_COLUMNS if c not in counts]
    if missing:
        raise ValueError(f"counts lacks the columns {missing}; expected "
                         f"{', '.join(COUNT_COLUMNS)}.")
    counts = counts.assign(datetime=pd.to_datetime(counts["datetime"]),
                           aoi=counts["aoi"].fillna(WHOLE_SCENE).astype(str))
    undated = counts["datetime"].isna()
    if undated.any():
        warnings.warn(f"left out {int(undated.sum())} of {len(counts)} rows without a "
                      "datetime (scenes whose date is unknown).", UserWarning,
                      stacklevel=2)
    thin = ~undated & (counts["valid_fraction"] < min_valid_fraction)
    if thin.any():
        warnings.warn(f"left out {int(thin.sum())} rows whose area had less than "
                      f"{min_valid_fraction:.0%} valid data.", UserWarning, stacklevel=2)
    counts = counts[~undated & ~thin]
    period = counts["datetime"].dt.to_period(freq).dt.start_time
    activity = (counts.assign(period=period)
                .groupby(["aoi", "period"], sort=True)
                .agg(n_scenes=("scene", "nunique"), mean_ships=("count", "mean"),
                     max_ships=("count", "max"))
                .reset_index())
    return activity
