"""Hard-negative mining: windows of real scenes that fool a model, as new no-ship chips.

Chip data sets show few of the things a whole port holds: piers, cranes,
breakwaters, oil islands. A chip classifier trained on them alone may call
such structures ships. Scan a few scenes whose vessels are marked, take the
windows the model scores high away from every marked vessel, add them to the
training chips as no-ship examples, and fit again. :func:`fit_with_hard_negatives`
does all of it::

    from sklship import load_shipsnet, recommended_model
    from sklship.evaluation import read_truth
    from sklship.evaluation.mining import fit_with_hard_negatives

    chips = load_shipsnet()
    truth = read_truth("scenes/truth.json")
    scenes = [(f"scenes/{name}", [marks["big"], marks["small"]])
              for name, marks in truth.items()]
    model = fit_with_hard_negatives(recommended_model(random_state=0),
                                    chips.images, chips.target, scenes)

:func:`mine_hard_negatives` gives the chips of one scene, to inspect or to
combine by hand. Mark every vessel of a scene you mine, big or small: an
unmarked boat would be taught as "no ship".
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from os import PathLike
from typing import TYPE_CHECKING

import numpy as np
from sklearn.utils import Bunch

from .._validation import HasMethods, Interval, validate_params
from ..scenes.scan import scan_scene
from ..scenes.sources import read_scene
from .scoring import _positions

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from sklearn.base import ClassifierMixin

__all__ = ["fit_with_hard_negatives", "mine_hard_negatives"]

#: Default times each mined chip is added to the training chips.
REPEAT = 4


@validate_params(
    {
        "estimator": [HasMethods("predict_proba")],
        "scene": ["array-like", str, PathLike],
        "vessels": [list, tuple, "array-like"],
        "threshold": [Interval(Real, 0, 1, closed="both")],
        "exclusion": [Interval(Real, 0, None, closed="left"), None],
        "stride": [Interval(Integral, 1, None, closed="left"), None],
        "max_chips": [Interval(Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def mine_hard_negatives(estimator: ClassifierMixin, scene: ArrayLike | str | PathLike,
                        vessels: ArrayLike | Sequence[ArrayLike], *,
                        threshold: float = 0.3, exclusion: float | None = None,
                        stride: int | None = None,
                        max_chips: int | None = None) -> Bunch:
    """Windows scored as ships far from every marked vessel: hard no-ship chips.

    Parameters
    ----------
    estimator : fitted classifier
        The chip classifier to scan with, as in :func:`~sklship.scenes.scan.scan_scene`.
    scene : array-like of shape (height, width, channels) or path
        The scene: an array in the estimator's input form, or a file read
        with :func:`~sklship.scenes.sources.read_scene`'s defaults (8-bit RGB(A)). For
        a scene that needs ``bands`` or ``scale`` (a 16-bit analytic
        GeoTIFF), pass ``read_scene(path, bands=..., scale=...)``.
    vessels : array-like of shape (n, 2), or a list of them
        Every vessel of the scene as ``[col, row]`` pixel pairs (the order of
        ``truth.json``); a list of such arrays (for example big ships and
        small boats) is joined.
    threshold : float in [0, 1], default=0.3
        Windows with at least this ship probability are mined. Lower than
        the detection threshold, so that near misses are learnt too.
    exclusion : float or None, default=None
        Windows whose centre lies within this many pixels of a marked vessel
        are never mined; None means the window size, so that a mined chip
        holds at most a sliver of a ship.
    stride : int or None, default=None
        Scan stride; None takes :func:`~sklship.scenes.scan.scan_scene`'s default.
    max_chips : int or None, default=None
        Keep at most this many chips, the highest scored first.

    Returns
    -------
    negatives : sklearn.utils.Bunch
        ``images`` (n, window, window, channels) in the scene's dtype,
        highest probability first, and ``row``, ``col`` (window centres)
        and ``probability``.
    """
    image = read_scene(scene) if isinstance(scene, (str, PathLike)) else np.asarray(scene)
    result = scan_scene(estimator, image, stride=stride, threshold=threshold)
    window, grid = result.window, result.grid
    marks = _vessel_positions(vessels)
    probabilities = result.probabilities
    i, j = np.nonzero(probabilities >= threshold)
    rows, cols = grid.centre(i, j)
    if len(marks):
        distance = np.hypot(cols[:, None] - marks[None, :, 0],
                            rows[:, None] - marks[None, :, 1]).min(axis=1)
        far = distance > (window if exclusion is None else exclusion)
        i, j, rows, cols = i[far], j[far], rows[far], cols[far]
    probability = probabilities[i, j]
    order = np.argsort(-probability, kind="stable")[:max_chips]
    i, j = i[order], j[order]
    images = np.stack([image[grid.window_pixels(r, c)]
                       for r, c in zip(i, j, strict=True)]) if len(i) else \
        np.empty((0, window, window, image.shape[2]), image.dtype)
    return Bunch(images=images, row=rows[order], col=cols[order],
                 probability=probability[order])


def _vessel_positions(vessels):
    """One (n, 2) array of [col, row] from an array of pairs or a list of arrays."""
    parts = vessels if isinstance(vessels, (list, tuple)) and len(vessels) and \
        np.ndim(vessels[0]) == 2 else [vessels]
    return np.concatenate([_positions(part, "vessels") for part in parts])


@validate_params(
    {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "X": ["array-like"],
        "y": ["array-like"],
        "scenes": [list],
        "threshold": [Interval(Real, 0, 1, closed="both")],
        "repeat": [Interval(Integral, 1, None, closed="left")],
        "stride": [Interval(Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def fit_with_hard_negatives(estimator: ClassifierMixin, X: ArrayLike, y: ArrayLike,
                            scenes: list[tuple], *, threshold: float = 0.3,
                            repeat: int = REPEAT,
                            stride: int | None = None) -> ClassifierMixin:
    """Fit on chips, mine hard negatives in marked scenes, refit with them.

    Parameters
    ----------
    estimator : classifier
        Unfitted (it is cloned), binary with labels 0 (no ship) and 1
        (ship), such as :func:`~sklship.recommended_model`.
    X : array-like of shape (n_samples, height, width, channels)
        Training chips.
    y : array-like of shape (n_samples,)
        Their labels, 0 or 1.
    scenes : list of (scene, vessels)
        Scenes (arrays or paths) and every vessel marked in each, as
        :func:`mine_hard_negatives` takes them.
    threshold : float in [0, 1], default=0.3
        Windows scored at least this far from every vessel are mined.
    repeat : int, default=REPEAT
        Times each mined chip is added: a few dozen mined chips among
        thousands of training chips barely move the model otherwise.
    stride : int or None, default=None
        Stride of the mining scans; None takes the scan default.

    Returns
    -------
    estimator : classifier
        A clone of ``estimator`` fitted on ``X`` plus the mined chips
        (label 0), with ``hard_negatives_``: the number of mined chips.
    """
    from sklearn.base import clone

    X, y = np.asarray(X), np.asarray(y)
    if set(np.unique(y)) - {0, 1}:
        raise ValueError(f"y must hold labels 0 (no ship) and 1 (ship); got "
                         f"{sorted(np.unique(y))[:5]}.")
    first = clone(estimator).fit(X, y)
    mined = [mine_hard_negatives(first, scene, vessels, threshold=threshold,
                                 stride=stride).images for scene, vessels in scenes]
    negatives = np.concatenate([np.empty((0, *X.shape[1:]), X.dtype), *mined])
    extra = np.repeat(negatives.astype(X.dtype), repeat, axis=0)
    final = clone(estimator).fit(np.concatenate([X, extra]),
                                 np.concatenate([y, np.zeros(len(extra), y.dtype)]))
    final.hard_negatives_ = len(negatives)
    return final
