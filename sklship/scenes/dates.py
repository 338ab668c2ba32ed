"""Acquisition times of scenes: from a date pattern, the file's tags or its name.

The time is never guessed: when nothing says it, it is NaT.
"""

import re
from pathlib import Path

import pandas as pd

__all__ = ["naive_utc", "scene_datetime"]

# PlanetScope scene ids, as in ShipsNet file names: 20170705_180818_1041.
_PLANETSCOPE_ID = re.compile(r"(?<!\d)(\d{8}_\d{6})_[0-9a-fA-F]{4}(?![0-9a-fA-F])")
_DATE_GROUPS = ("year", "month", "day")


def scene_datetime(path, *, tags=None, date_pattern=None):
    """The acquisition time of a scene, or NaT when nothing says it.

    Sources, first found wins:

    1. ``date_pattern``, a regular expression searched in the file name, with
       named groups ``year``, ``month``, ``day`` and optionally ``hour``,
       ``minute``, ``second`` (e.g.
       ``r"port_(?P<year>\\d{4})-(?P<month>\\d\\d)-(?P<day>\\d\\d)"``);
    2. the tag ``acquired`` (ISO 8601, as in Planet's metadata);
    3. the tag ``TIFFTAG_DATETIME`` (``"YYYY:MM:DD HH:MM:SS"``);
    4. a PlanetScope scene id in the file name, ``YYYYMMDD_HHMMSS_xxxx``
       (e.g. ``20170705_180818_1041``, also inside ShipsNet chip names).

    Parameters
    ----------
    path : str or os.PathLike
        The scene file (only its name is used).
    tags : dict or None, default=None
        The file's tags (rasterio's ``dataset.tags()``).
    date_pattern : str, re.Pattern or None, default=None
        See above.

    Returns
    -------
    datetime : pandas.Timestamp or NaT
        Time-zone naive; an ``acquired`` time with a zone is converted to UTC.

    Raises
    ------
    ValueError
        If ``date_pattern`` is not a regular expression with the named groups
        year, month and day, or a tag or match is not a valid date.

    Examples
    --------
    >>> from sklship.scenes import scene_datetime
    >>> scene_datetime("20170705_180818_1041_3B_Visual.tif")
    Timestamp('2017-07-05 18:08:18')
    >>> scene_datetime("harbour.tif")
    NaT
    """
    name = Path(path).name
    tags = tags or {}
    pattern = _compile_date_pattern(date_pattern)
    if pattern is not None:
        match = pattern.search(name)
        if match:
            parts = {key: int(value) for key, value in match.groupdict().items()
                     if value is not None}
            return _timestamp(lambda: pd.Timestamp(**parts), f"date_pattern match in "
                              f"{name}", match.group(0))
    if tags.get("acquired"):
        return naive_utc(tags["acquired"], f"tag 'acquired' of {name}")
    if tags.get("TIFFTAG_DATETIME"):
        text = tags["TIFFTAG_DATETIME"]
        return _timestamp(lambda: pd.to_datetime(text, format="%Y:%m:%d %H:%M:%S"),
                          f"tag TIFFTAG_DATETIME of {name}", text)
    match = _PLANETSCOPE_ID.search(name)
    if match:
        return _timestamp(lambda: pd.to_datetime(match.group(1), format="%Y%m%d_%H%M%S"),
                          f"PlanetScope id in {name}", match.group(0))
    return pd.NaT


def naive_utc(value, where="the date"):
    """``value`` (text, datetime or None) as a timestamp without time zone, in UTC.

    Parameters
    ----------
    value : str, datetime, pandas.Timestamp or None
        A time with or without zone (without: taken as UTC); None gives NaT.
    where : str, default="the date"
        Where the value comes from, named in the error.

    Returns
    -------
    stamp : pandas.Timestamp or NaT

    Raises
    ------
    ValueError
        If ``value`` is not a date (the message names ``where``).

    Examples
    --------
    >>> naive_utc("2023-06-11T12:05:59+02:00")
    Timestamp('2023-06-11 10:05:59')
    """
    if value is None:
        return pd.NaT
    stamp = _timestamp(lambda: pd.Timestamp(value), where, value)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp is not pd.NaT and \
        stamp.tzinfo else stamp


def _timestamp(make, where, text):
    try:
        return make()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where}: {text!r} is not a valid date ({exc}).") from None


def _compile_date_pattern(date_pattern):
    if date_pattern is None or isinstance(date_pattern, re.Pattern) and set(
            _DATE_GROUPS) <= set(date_pattern.groupindex):
        return date_pattern
    try:
        pattern = re.compile(date_pattern)
    except (re.error, TypeError) as exc:
        raise ValueError(f"date_pattern must be a regular expression; got "
                         f"{date_pattern!r} ({exc}).") from None
    missing = [g for g in _DATE_GROUPS if g not in pattern.groupindex]
    if missing:
        raise ValueError(
            f"date_pattern must have the named groups year, month and day (and "
            f"optionally hour, minute, second), e.g. "
            r"'(?P<year>\d{4})-(?P<month>\d\d)-(?P<day>\d\d)'; "
            f"{date_pattern!r} lacks {', '.join(missing)}.")
    return pattern
