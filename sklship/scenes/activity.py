"""Port activity over time: ships per area of interest per day, week or month.

:func:`port_activity` turns the counts of many scans (``counts.csv`` of
``sklship scan``, or the counts table of :func:`sklship.scenes.survey.scan_scenes`)
into a time series per area of interest; :class:`sklship.scenes.display.ActivityDisplay`
draws it.

Counts from different sensors, resolutions and revisits are not comparable
as levels, but their changes are: with ``base``, each period's mean is also
given as an index, 100 x the period's mean ships over the base period's mean
(per area). Their uncertainty comes from :func:`scipy.stats.bootstrap`
(bias-corrected and accelerated, ``method="BCa"``, :data:`N_BOOTSTRAP`
resamples, seeded so that the same counts give the same interval): the mean
is the statistic of one sample, the period's scene counts; the index is the
statistic of two independent samples (``paired=False``), the period's
counts and the base period's, each resampled within itself. The intervals
cover :data:`LEVEL` (90 %, ``low``/``high``). A sample without spread (one
scene, or all counts equal) is held fixed, as every resample of it would
be; where BCa is undefined (a base period whose resamples can have no ship
at all), the percentile interval is given.
Periods with fewer than :data:`THIN` scenes are flagged ``thin``.
"""

import warnings
from numbers import Integral, Real
from os import PathLike

import numpy as np
import pandas as pd
from scipy import stats

from .._validation import Interval, StrOptions, validate_params
from .tables import COUNT_COLUMNS

__all__ = ["FREQUENCIES", "N_BOOTSTRAP", "THIN", "WHOLE_SCENE", "base_period",
           "port_activity", "read_counts"]

#: Periods ``port_activity`` groups by: pandas period aliases.
FREQUENCIES = {"D": "day", "W": "week", "M": "month"}
#: Name of the area in counts made without areas of interest (the whole scene).
WHOLE_SCENE = "whole scene"
#: Bootstrap replicates of the intervals.
N_BOOTSTRAP = 2000
#: Periods with fewer scenes than this are flagged thin.
THIN = 3
#: Coverage of the intervals.
LEVEL = 0.9


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
        if "clear_fraction" not in table and "valid_fraction" in table:
            table["clear_fraction"] = table["valid_fraction"]  # counts made before masks
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
        "min_clear": [Interval(Real, 0, 1, closed="both")],
        "base": [str, None],
        "n_bootstrap": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def port_activity(counts, *, freq="W", min_valid_fraction=0.5, min_clear=0.0, base=None,
                  n_bootstrap=N_BOOTSTRAP, random_state=0):
    """Ships per area of interest and period, from the counts of many scans.

    Parameters
    ----------
    counts : pandas.DataFrame, path or list of paths
        Columns scene, datetime, aoi, count, valid_fraction and
        clear_fraction (valid_fraction when missing; the counts table
        of :func:`~sklship.scenes.survey.scan_scenes` or ``counts.csv`` files of
        ``sklship scan``). Rows without an area (scans without areas of
        interest) count as the area :data:`WHOLE_SCENE`.
    freq : {"D", "W", "M"}, default="W"
        Period: day, week (Monday to Sunday) or calendar month.
    min_valid_fraction : float in [0, 1], default=0.5
        Rows whose area had less valid data than this (the scene missed the
        port, or clouds / nodata covered it) are left out: their count says
        nothing about the ships there.
    min_clear : float in [0, 1], default=0.0
        Rows whose area's ``clear_fraction`` (data, not masked as cloud,
        haze, shadow or snow) is below this are left out too, and reported.
    base : str or None, default=None
        The base period of an index: a period such as ``"2017-01"`` or
        ``"2017-W27"``... as pandas reads it, or a range ``"2017-01:2017-03"``
        (from the start of the first to the end of the last). Rows whose
        datetime falls in it make the base mean of their area.
    n_bootstrap : int, default=2000
        Bootstrap replicates of the intervals (see the module).
    random_state : int, RandomState instance or None, default=0
        Seed of the bootstrap.

    Returns
    -------
    activity : pandas.DataFrame
        One row per area and period: ``aoi``, ``period`` (first day of the
        period), ``n_scenes`` (scenes behind the numbers), ``mean_ships``
        and ``max_ships`` (over those scenes), ``mean_low`` and
        ``mean_high`` (90 % interval of the mean), ``clear_fraction`` (mean
        over the scenes), ``thin`` (fewer than :data:`THIN` scenes); with
        ``base``: ``index``, ``index_low`` and ``index_high``.

    Raises
    ------
    ValueError
        If ``base`` is not a period, or an area has no observation in it.

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
    >>> port_activity(counts, freq="W")[["aoi", "period", "n_scenes", "mean_ships"]]
      aoi     period  n_scenes  mean_ships
    0  LB 2017-07-03         2         4.0
    1  LB 2017-07-10         1         4.0
    """
    if not isinstance(counts, pd.DataFrame):
        counts = read_counts([counts] if isinstance(counts, (str, PathLike)) else counts)
    if "clear_fraction" not in counts and "valid_fraction" in counts:
        counts = counts.assign(clear_fraction=counts["valid_fraction"])  # before masks
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
                      stacklevel=3)
    thin = ~undated & (counts["valid_fraction"] < min_valid_fraction)
    if thin.any():
        warnings.warn(f"left out {int(thin.sum())} rows whose area had less than "
                      f"{min_valid_fraction:.0%} valid data.", UserWarning, stacklevel=3)
    cloudy = ~undated & ~thin & (counts["clear_fraction"] < min_clear)
    if cloudy.any():
        names = ", ".join(counts.loc[cloudy, "scene"].astype(str).unique()[:10])
        warnings.warn(f"left out {int(cloudy.sum())} rows whose area was less than "
                      f"{min_clear:.0%} clear (scenes {names}).", UserWarning,
                      stacklevel=3)
    counts = counts[~undated & ~thin & ~cloudy]
    period = counts["datetime"].dt.to_period(freq).dt.start_time
    counts = counts.assign(period=period)
    activity = (counts.groupby(["aoi", "period"], sort=True)
                .agg(n_scenes=("scene", "nunique"), mean_ships=("count", "mean"),
                     max_ships=("count", "max"), clear_fraction=("clear_fraction", "mean"))
                .reset_index())
    return _intervals(counts, activity, base, n_bootstrap, random_state)


def base_period(base):
    """The (start, end) timestamps of a base period ``"2017-01"`` or ``"2017-01:2017-03"``.

    Raises
    ------
    ValueError
        If a part is not a period pandas reads, or the range is reversed.
    """
    first, _, last = base.partition(":")
    try:
        start = pd.Period(first.strip()).start_time
        end = pd.Period((last or first).strip()).end_time
    except (ValueError, TypeError) as exc:
        raise ValueError(f"base must be a period such as 2017-01 or a range "
                         f"2017-01:2017-03; got {base!r} ({exc}).") from None
    if end < start:
        raise ValueError(f"base range {base!r} ends before it starts.")
    return start, end


def _intervals(counts, activity, base, n_bootstrap, random_state):
    """Bootstrap intervals of the means, and the index when ``base`` is given."""
    rng = _generator(random_state)
    columns = {name: np.full(len(activity), np.nan) for name in
               ("mean_low", "mean_high", "index", "index_low", "index_high")}
    bounds = None if base is None else base_period(base)
    if bounds is not None and not len(activity):
        raise ValueError(f"base period {base} has no observation: no counts are left "
                         "(see the notes on rows left out).")
    for aoi, rows in activity.groupby("aoi", sort=True).groups.items():
        area = counts[counts["aoi"] == aoi]
        inside = None
        if bounds is not None:
            inside = area["count"][area["datetime"].between(*bounds)].to_numpy(float)
            if not len(inside):
                raise ValueError(f"base period {base} has no observation of area "
                                 f"{aoi!r} (its counts run from "
                                 f"{area['datetime'].min():%Y-%m-%d} to "
                                 f"{area['datetime'].max():%Y-%m-%d}).")
            if inside.mean() == 0:
                warnings.warn(f"area {aoi!r} had no ship in base period {base}: its "
                              "index is undefined (NaN).", UserWarning, stacklevel=4)
        for row in rows:
            ships = area["count"][area["period"] == activity.at[row, "period"]]
            ships = ships.to_numpy(float)
            columns["mean_low"][row], columns["mean_high"][row] = _interval(
                (ships,), _mean, n_bootstrap, rng)
            if inside is not None and inside.mean() > 0:
                columns["index"][row] = _index(ships, inside)
                columns["index_low"][row], columns["index_high"][row] = _interval(
                    (ships, inside), _index, n_bootstrap, rng)
    if bounds is None:
        for name in ("index", "index_low", "index_high"):
            del columns[name]
    return activity.assign(**columns, thin=activity["n_scenes"] < THIN)


def _mean(ships, axis=-1):
    """Mean ships per scene (vectorised over resamples for ``scipy.stats.bootstrap``)."""
    return np.mean(ships, axis=axis)


def _index(ships, base_ships, axis=-1):
    """100 x mean ships in the period / mean ships in the base period."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return 100 * np.mean(ships, axis=axis) / np.mean(base_ships, axis=axis)


def _generator(random_state):
    """A NumPy Generator from an int, a RandomState instance or None."""
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    return np.random.default_rng(random_state)


def _interval(samples, statistic, n_bootstrap, rng):
    """The :data:`LEVEL` BCa interval of ``statistic(*samples)``, samples independent.

    A sample without spread (one scene, or equal counts) is held fixed: every
    resample of it is itself, and ``scipy.stats.bootstrap`` needs two values.
    Where BCa is undefined (infinite jackknife values), the percentile interval.
    """
    varying = [len(np.unique(sample)) > 1 for sample in samples]
    if not any(varying):
        point = float(statistic(*samples))
        return point, point

    def resampled(*drawn, axis=-1):
        drawn = iter(drawn)
        return statistic(*(next(drawn) if vary else sample
                           for sample, vary in zip(samples, varying, strict=True)),
                         axis=axis)

    data = tuple(sample for sample, vary in zip(samples, varying, strict=True) if vary)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        for method in ("BCa", "percentile"):
            interval = stats.bootstrap(
                data, resampled, n_resamples=n_bootstrap, confidence_level=LEVEL,
                method=method, paired=False, vectorized=True, rng=rng).confidence_interval
            if not np.isnan([interval.low, interval.high]).any() or method == "percentile":
                return float(interval.low), float(interval.high)
