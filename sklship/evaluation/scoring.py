"""Score a scan against ships marked by hand: hits, misses, false alarms.

To know how far to trust a ship count, mark the ships of a few scenes of
your own (the pixel ``[col, row]`` of each hull centre, as in
``truth.json`` below), scan them, and score the scans:

>>> import numpy as np, pandas as pd
>>> from sklship.evaluation import score_detections
>>> found = pd.DataFrame({"row": [100, 104, 400, 250], "col": [200, 230, 50, 600],
...                       "probability": [0.99, 0.8, 0.7, 0.6]})
>>> score = score_detections(found, ships=[[205, 98]], ignore=[[600, 252]])
>>> score.hits, score.duplicates, score.false_alarms, score.ignored
(1, 1, 1, 1)

The rules: a detection whose centre lies within ``tolerance`` pixels of a
marked ship is a hit; detections and ships are matched one to one, most
probable detection first, each to the nearest free ship. A further detection
within ``tolerance`` of an already matched ship is a duplicate (the ship is
counted twice). A detection near an ``ignore`` mark (a small boat, a ship
moored at a pier: vessels a counter may or may not count) is neither a hit
nor an error. Everything else is a false alarm.

A truth file (:func:`read_truth`) maps scene file names to their marks::

    {"lb_3.png": {"big": [[597, 355], [172, 474]], "small": [[398, 305]]}}

``big`` are the ships a counter must find, ``small`` the ignored vessels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Real
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._validation import Interval, validate_params
from ..datasets.truth import read_truth

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from ..scenes.scan import ScanResult

__all__ = ["SceneScore", "read_truth", "score_detections", "score_scan"]

#: Pixels between a detection and a hull centre for a hit: about 120 m at
#: PlanetScope's 3 m, half an 80-pixel ShipsNet window.
DEFAULT_TOLERANCE = 40.0


@dataclass
class SceneScore:
    """How a scan's detections compare with the marked ships of a scene.

    Attributes
    ----------
    hits, misses, false_alarms, duplicates, ignored : int
        Detections matched to a marked ship; marked ships no detection
        matched; detections near no mark; further detections of a matched
        ship; detections near an ``ignore`` mark.
    n_marked : int
        Marked ships (``hits + misses``).
    precision : float
        ``hits / (hits + false_alarms + duplicates)``; 1.0 without such
        detections.
    recall : float
        ``hits / n_marked``; 1.0 without marked ships.
    count_error : int
        Ships counted minus ships marked, ignoring the detections near
        ``ignore`` marks: ``hits + false_alarms + duplicates - n_marked``.
    detections : pandas.DataFrame
        The detections scored, with an ``outcome`` column ("hit",
        "duplicate", "false alarm", "ignored") and ``ship``, the index of
        the marked ship a hit or duplicate belongs to (-1 otherwise).
    """

    hits: int
    misses: int
    false_alarms: int
    duplicates: int
    ignored: int
    n_marked: int
    precision: float
    recall: float
    count_error: int
    detections: pd.DataFrame = field(repr=False)

    def as_dict(self):
        """The numbers (everything but ``detections``) as a dict."""
        return {name: getattr(self, name) for name in (
            "hits", "misses", "false_alarms", "duplicates", "ignored", "n_marked",
            "precision", "recall", "count_error")}


def _positions(value, name):
    """Marks as a float array (n, 2) of [col, row]: from pairs or a row/col table."""
    if value is None:
        return np.empty((0, 2))
    if isinstance(value, pd.DataFrame):
        if not {"row", "col"} <= set(value.columns):
            raise ValueError(f"{name} as a DataFrame needs columns 'row' and 'col'; "
                             f"got {list(value.columns)}.")
        value = value[["col", "row"]].to_numpy()
    try:
        marks = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a list of [col, row] pairs of pixel "
                         f"numbers; got {value!r:.80}.") from exc
    if marks.size == 0:
        return np.empty((0, 2))
    if marks.ndim != 2 or marks.shape[1] != 2:
        raise ValueError(f"{name} must be a list of [col, row] pairs of pixel "
                         f"numbers; got an array of shape {marks.shape}.")
    if not np.isfinite(marks).all():
        raise ValueError(f"{name} holds NaN or infinite positions.")
    return marks


@validate_params(
    {
        "detections": [pd.DataFrame],
        "ships": ["array-like", pd.DataFrame],
        "ignore": ["array-like", pd.DataFrame, None],
        "tolerance": [Interval(Real, 0, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def score_detections(detections: pd.DataFrame, ships: ArrayLike | pd.DataFrame, *,
                     ignore: ArrayLike | pd.DataFrame | None = None,
                     tolerance: float = DEFAULT_TOLERANCE) -> SceneScore:
    """Score detections against marked ship positions.

    Parameters
    ----------
    detections : pandas.DataFrame
        Columns ``row``, ``col`` (pixel of the detection's centre) and
        ``probability``, as in :attr:`ScanResult.detections
        <sklship.scenes.scan.ScanResult>`.
    ships : array-like of shape (n_ships, 2) or pandas.DataFrame
        The ships a counter must find: ``[col, row]`` pixel pairs (the
        order of ``truth.json``), or a DataFrame with ``row`` and ``col``
        columns (as :func:`~sklship.datasets.make_scene` returns).
    ignore : array-like of shape (n, 2), pandas.DataFrame or None, default=None
        Vessels that count neither way (small boats, moored ships), in the
        same form.
    tolerance : float, default=40.0
        Largest distance in pixels between a detection and a hull centre
        for a hit.

    Returns
    -------
    score : SceneScore
        Hits, misses, false alarms, duplicates, precision, recall, count
        error, and every detection's outcome.

    Raises
    ------
    ValueError
        If ``ships`` or ``ignore`` is not a list of [col, row] pairs, or
        ``tolerance`` is not positive.
    """
    if not {"row", "col", "probability"} <= set(detections.columns):
        raise ValueError("detections needs columns 'row', 'col' and 'probability'; "
                         f"got {list(detections.columns)}.")
    ships = _positions(ships, "ships")
    ignore = _positions(ignore, "ignore")
    order = np.argsort(-detections["probability"].to_numpy(), kind="stable")
    scored = detections.iloc[order].reset_index(drop=True)
    found = scored[["col", "row"]].to_numpy(dtype=float)
    to_ship = np.hypot(*(found[:, None, :] - ships[None, :, :]).transpose(2, 0, 1))
    near_ignored = (np.hypot(*(found[:, None, :] - ignore[None, :, :]).transpose(2, 0, 1))
                    <= tolerance).any(axis=1)
    matched = np.zeros(len(ships), dtype=bool)
    outcome, ship = [], []
    for k in range(len(scored)):
        near = np.flatnonzero(to_ship[k] <= tolerance)
        free = near[~matched[near]]
        if len(free):
            nearest = free[np.argmin(to_ship[k, free])]
            matched[nearest] = True
            outcome.append("hit")
            ship.append(nearest)
        elif len(near):
            outcome.append("duplicate")
            ship.append(near[np.argmin(to_ship[k, near])])
        else:
            outcome.append("ignored" if near_ignored[k] else "false alarm")
            ship.append(-1)
    scored = scored.assign(outcome=outcome, ship=np.asarray(ship, dtype=int))
    counts = scored["outcome"].value_counts()
    hits, duplicates, false_alarms, ignored = (
        int(counts.get(k, 0)) for k in ("hit", "duplicate", "false alarm", "ignored"))
    counted = hits + duplicates + false_alarms
    return SceneScore(
        hits=hits, misses=len(ships) - hits, false_alarms=false_alarms,
        duplicates=duplicates, ignored=ignored, n_marked=len(ships),
        precision=hits / counted if counted else 1.0,
        recall=hits / len(ships) if len(ships) else 1.0,
        count_error=counted - len(ships), detections=scored,
    )


def score_scan(result: ScanResult, ships: ArrayLike | pd.DataFrame, *,
               ignore: ArrayLike | pd.DataFrame | None = None,
               tolerance: float = DEFAULT_TOLERANCE) -> SceneScore:
    """Score a :class:`~sklship.scenes.scan.ScanResult` against marked ship positions.

    The same as ``score_detections(result.detections, ...)``; see
    :func:`score_detections` for the parameters and the rules.

    Parameters
    ----------
    result : ScanResult
        What :func:`~sklship.scenes.scan.scan_scene` returned.
    ships, ignore, tolerance
        As in :func:`score_detections`.

    Returns
    -------
    score : SceneScore
    """
    detections = getattr(result, "detections", None)
    if not isinstance(detections, pd.DataFrame):
        raise TypeError("result must be a ScanResult (with a detections table); got "
                        f"{type(result).__name__}.")
    return score_detections(detections, ships, ignore=ignore, tolerance=tolerance)


