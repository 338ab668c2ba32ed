"""Read ship marks: the ``truth.json`` form of the shared scene folders.

One reader for every use of marks: scoring scans
(:func:`sklship.evaluation.score_scan`), training chips
(:func:`sklship.datasets.load_marked_scenes`) and teaching a port
(:func:`sklship.shipped.adapt_model`). The form::

    {"lb_3.png": {"big": [[597, 355], [172, 474]], "small": [[398, 305]],
                  "boxes": [[560, 330, 640, 380]], "negatives": [[40, 60]]}}

maps scene files (relative to the JSON's folder) to their marks, in pixel
``[col, row]`` of the hull centre:

- ``big``: ships a counter must find;
- ``small``: vessels that are neither hits nor false alarms (boats, ships
  moored at piers);
- ``boxes``: ``[x0, y0, x1, y1]`` around marked hulls, ``x0 < x1``, ``y0 < y1``,
  each holding a ``big`` or ``small`` mark;
- ``negatives``: places known to hold no ship, such as checked false alarms.

>>> from sklship.datasets.truth import read_truth
>>> marks = read_truth({"a.png": {"big": [[10, 20]]}})
>>> marks["a.png"]["big"].tolist(), marks["a.png"]["small"].shape
([[10.0, 20.0]], (0, 2))
"""

import json
import os
from numbers import Real
from os import PathLike
from pathlib import Path

import numpy as np

__all__ = ["MARK_KINDS", "read_truth"]

#: Each kind of mark and the length of one mark of it.
MARK_KINDS = {"big": 2, "small": 2, "negatives": 2, "boxes": 4}


def read_truth(truth: "str | PathLike | dict") -> dict[str, dict[str, np.ndarray]]:
    """Read marked ships from a ``truth.json`` file or a dict of the same form.

    Parameters
    ----------
    truth : str, os.PathLike or dict
        The JSON file, or its content already loaded.

    Returns
    -------
    marks : dict
        Scene file name -> {"big": (n, 2), "small": (m, 2), "negatives": (k, 2),
        "boxes": (b, 4)} float arrays; kinds left out are empty (a scene with
        no ``big`` holds no ship to find).

    Raises
    ------
    ValueError
        If the file is missing, is not JSON, marks no scene or one scene twice
        (``a.png`` and ``./a.png``), or a scene's marks are not of the form
        above (a box holding no ``big`` or ``small`` mark included); the
        message names the file, the scene and the bad mark.
    """
    if isinstance(truth, dict):
        where = "truth"
    else:
        path = Path(truth)
        where = f"truth file {str(path)!r}"
        if not path.is_file():
            raise ValueError(f"{where} does not exist.")
        try:
            truth = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{where} is not valid JSON: {error}.") from None
    if not isinstance(truth, dict) or not truth:
        raise ValueError(f"{where} must be a non-empty mapping {{scene: {{'big': [[col, "
                         f"row], ...], ...}}}}; got {_short(truth)}.")
    marks, spelt = {}, {}
    for scene, entry in truth.items():
        same = spelt.setdefault(os.path.normpath(scene), scene)
        if same != scene:
            raise ValueError(f"{where} marks one scene file twice, as {same!r} and "
                             f"{scene!r}; give each scene once.")
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: the marks of scene {scene!r} must be a mapping "
                             f"with 'big', 'small', 'boxes'; got {_short(entry)}.")
        unknown = set(entry) - set(MARK_KINDS)
        if unknown:
            raise ValueError(f"{where}: scene {scene!r} has unknown keys "
                             f"{sorted(unknown)}; expected {sorted(MARK_KINDS)}.")
        marks[scene] = {kind: _marks(entry.get(kind, []), size, scene, kind, where)
                        for kind, size in MARK_KINDS.items()}
        _check_boxes(marks[scene], scene, where)
    return marks


def _check_boxes(marks, scene, where):
    """A ValueError for a box that holds no ``big`` or ``small`` mark: its vessel
    would be neither taught nor found, and a detection of it a false alarm."""
    centres = np.vstack([marks["big"], marks["small"]])
    for box in marks["boxes"]:
        inside = ((centres >= box[:2]) & (centres <= box[2:])).all(axis=1)
        if not inside.any():
            raise ValueError(f"{where}: scene {scene!r}: box {box.tolist()} holds no big or "
                             "small mark; give the centre of the vessel it boxes under "
                             "'big' (a ship to find) or 'small' (counted neither way).")


def _marks(values, size, scene, kind, where):
    """One kind of mark as a float array (n, size); a ValueError naming the bad mark."""
    form = "[x0, y0, x1, y1]" if size == 4 else "[col, row]"
    if isinstance(values, np.ndarray):  # read_truth's own output reads again
        values = values.tolist()
    if not isinstance(values, (list, tuple)):
        raise ValueError(f"{where}: scene {scene!r}: {kind!r} must be a list of {form}; "
                         f"got {_short(values)}.")
    for mark in values:
        ok = (isinstance(mark, (list, tuple)) and len(mark) == size
              and all(isinstance(v, Real) and not isinstance(v, bool)
                      and np.isfinite(v) for v in mark))
        if ok and size == 4:
            ok = mark[2] > mark[0] and mark[3] > mark[1]
        if not ok:
            raise ValueError(f"{where}: scene {scene!r}: {kind} mark {_short(mark)} is not "
                             f"{form} of finite numbers"
                             + (" with x1 > x0 and y1 > y0" if size == 4 else "") + ".")
    return np.asarray(values, float).reshape(-1, size)


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
