"""Teaching a model a new port from a few marked scenes.

A model only finds the ships it has learnt to see: ShipsNet's come from two
Californian bays. An analyst who marks the ships of a few scenes of their
own port (the ``truth.json`` form, see
:func:`sklship.datasets.load_marked_scenes`) can fine-tune a shipped model
on them with :func:`adapt_model` (or ``sklship adapt``), and learn how well
the result does on scenes it has not seen: each acquisition is left out in
turn, the model is adapted on the others and scans the one left out. Of a
cascade (:class:`~sklship.estimators.cascade.VerifiedShipClassifier`, such
as ``planetscope-3m``) the detector is fine-tuned and the verifier's head
refitted, on the same chips and on the windows that the fine-tuned detector
proposes in the marked scenes away from every mark (the port's own quays,
cranes and roofs), as the shipped cascades' verifiers were taught.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["AdaptResult", "adapt_model", "check_marks"]

#: Fine-tuning epochs over the marked scenes' chips.
EPOCHS = 8
#: Learning rate of the fine-tuning (Adam, cosine decay to 0): a tenth of the
#: recommended model's own, so that the port's few chips refine what the
#: network knows rather than replace it.
LEARNING_RATE = 2e-4
#: Background windows per marked scene: with 8 turned copies of each marked
#: ship, about ten background windows per ship on a 512-pixel image.
NEGATIVES_PER_SCENE = 100
#: Weight of the windows the fine-tuned detector proposes away from every mark,
#: taught to a cascade's verifier as "no ship": unchecked, as the background
#: windows are, they may hold vessels the marks leave out.
PROPOSED_WEIGHT = 0.5


@dataclass
class AdaptResult:
    """What :func:`adapt_model` made.

    Attributes
    ----------
    model : fitted classifier
        Adapted on every marked scene. With cross-validation, a
        :class:`~sklearn.model_selection.FixedThresholdClassifier` whose
        threshold is the one of the best F1 over the left-out scans (tried
        from 0.1 to 0.95 by 0.05), so that scans and predictions use it;
        without, the base model's (a shipped model's scan threshold, else
        the file's own decision threshold).
    scores : pandas.DataFrame or None
        Leave-one-acquisition-out scores at the chosen threshold, one row per
        scene file: ``scene``, ``marked``, ``found``, ``false_alarms``,
        ``duplicates``, ``threshold``; None when not cross-validated.
    chips : int
        Training chips cut from the marked scenes.
    base : str or None, default=None
        The model adapted: a shipped model's name or a model file's path.
    """

    model: object
    scores: pd.DataFrame | None
    chips: int
    base: str | None = None

    def save(self, path):
        """Write the model to ``path`` and the scores beside it.

        The model goes to ``path`` in sklship's native format
        (:func:`~sklship.estimators.persistence.save_model`), the scores to
        ``<path without suffix>.scores.csv``; each file is replaced only when
        complete, so an interrupted save leaves what was there. Without
        scores, scores left there by a model that ``path`` held before are
        removed: they would describe another model.

        Parameters
        ----------
        path : str or path
            The model file to write.

        Returns
        -------
        scores_path : pathlib.Path or None
            Where the scores went (None without cross-validation).
        """
        from .._io import atomic_write
        from ..estimators.persistence import save_model

        path = Path(path)
        save_model(self.model, path)
        scores_path = path.with_suffix(".scores.csv")
        if self.scores is None:
            scores_path.unlink(missing_ok=True)
            return None
        with atomic_write(scores_path, newline="") as file:
            self.scores.to_csv(file, index=False)
        return scores_path

    def summary(self):
        """One line: ships found, recall and false alarms per image, left out in turn."""
        if self.scores is None:
            return "not cross-validated"
        found, marked = int(self.scores["found"].sum()), int(self.scores["marked"].sum())
        alarms = int(self.scores["false_alarms"].sum())
        recall = found / marked if marked else float("nan")
        return (f"found {found}/{marked} (recall {recall:.2f}), false alarms {alarms} "
                f"({alarms / len(self.scores):.2f} per image)")


def adapt_model(truth, *, model=None, epochs=EPOCHS,
                learning_rate=LEARNING_RATE, negatives_per_scene=NEGATIVES_PER_SCENE,
                cross_validate=True, random_state=0, progress=False, bands=None,
                scale=None, reflectance=None, resolution=None):
    """Fine-tune a model on scenes with marked ships, scoring it scene by scene.

    Parameters
    ----------
    truth : str or path
        A ``truth.json`` file marking the ships of scenes in its folder (see
        :func:`sklship.datasets.load_marked_scenes`): ``big`` ships are
        taught as ships, ``small`` marks are left out, and the rest of each
        scene is taught as background at half weight (marks are usually
        incomplete), as are, to a cascade's verifier, the windows its
        fine-tuned detector proposes clear of every mark.
    model : str, path or None, default=None
        The model to start from: a shipped model's name or a model file;
        None takes the shipped model that ``sklship scan`` picks for the
        scenes (:func:`~sklship.shipped.registry.pick_for_scenes`: by their
        ground resolution, bands and tags; PNG and JPEG scenes get
        ``planetscope-3m``, Sentinel-2 GeoTIFFs ``sentinel2-10m``).
        Scenes are read as the shipped model reads them (``sentinel2-10m``:
        the bands described red, green and blue, else bands 1, 2, 3, as
        reflectance; a model file: as ``scan_scene`` reads them by
        default), and georeferenced
        scenes resampled to the model's ground resolution, for the chips and
        for the scans of the scenes left out.
    epochs : int, default=EPOCHS
        Fine-tuning epochs.
    learning_rate : float, default=LEARNING_RATE
        Initial learning rate of the fine-tuning.
    negatives_per_scene : int, default=NEGATIVES_PER_SCENE
        Background windows cut from each scene.
    cross_validate : bool, default=True
        Also adapt once per acquisition with that acquisition left out and
        score the scans of its scenes (see :attr:`AdaptResult.scores`).
        Scenes are grouped by acquisition time
        (:func:`sklship.scenes.sources.scene_datetime`: PlanetScope ids in
        file names, GeoTIFF tags); scenes without one are their own group.
    random_state : int, default=0
        Seed of the chips and of the training.
    progress : bool, default=False
        Show a progress bar over the adaptations.
    bands, scale, reflectance : optional
        How to read the scenes, as for :func:`~sklship.scenes.scan.scan_scene`
        (e.g. ``bands=(3, 2, 1), scale=(0, 3000)`` for PlanetScope analytic
        GeoTIFFs); None: as the model reads them. ``bands`` and ``scale`` are
        recorded in the adapted model, which scans new scenes the same way;
        ``reflectance`` is a file's, given to its scans each time.
    resolution : float or None, default=None
        Metres per pixel of scenes without georeference (PNG, JPEG); None:
        the model's own.

    Returns
    -------
    result : AdaptResult
    """
    from ..datasets.marked_scenes import load_marked_scenes

    truth = Path(truth)
    marks, groups = check_marks(truth, cross_validate)
    if model is None:
        from .registry import pick_for_scenes

        model = pick_for_scenes([truth.parent / name for name in marks], bands,
                                resolution, reflectance).name
    base, options, base_threshold = _load(model)
    # Copies of its network inherit how it reads scenes: the adapted file scans
    # as its base does (sklship.scenes.defaults.model_read_options), or as told.
    given = {name: value for name, value in dict(bands=bands, scale=scale).items()
             if value is not None}
    options = {**options, **given}
    reading = {name: options[name] for name in ("bands", "scale") if name in options}
    network = _network(base)
    window = network.input_shape_[0]
    resolution = network.chip_resolution if resolution is None else resolution
    # Chips as the scan sees the scenes: read as the model reads them, and
    # scenes resampled to its ground resolution.
    cutting = dict(root=truth.parent, window=window, resolution=network.chip_resolution,
                   scene_resolution=resolution, reflectance=reflectance, **reading)
    chips = load_marked_scenes(marks, negatives_per_scene=negatives_per_scene,
                               random_state=random_state, **cutting)
    scans = {**options, "reflectance": reflectance, "resolution": resolution}
    detector, cascade = _split(base)
    features = _verifier_features(cascade, chips.images)
    chip_groups = np.array([groups[name] for name in chips.groups], dtype=object)
    held_out = sorted(set(groups.values())) if cross_validate else []
    steps = [*held_out, None]
    if progress:
        from tqdm.auto import tqdm

        # disable=None: only on a terminal, never into a log file.
        steps = tqdm(steps, desc="adapt", unit="model", disable=None)
    found = []  # (scene, its scan at the lowest threshold tried)
    for group in steps:
        rows = chip_groups != group
        tuned = _fine_tune(detector, chips, rows, epochs, learning_rate, random_state)
        taught = {name: marks[name] for name in marks if groups[name] != group}
        fitted = _verified(cascade, tuned, features, chips, rows,
                           _proposed(tuned, cascade, taught, scans, cutting))
        if group is None:
            break
        found += [(name, _scan(fitted, truth.parent / name, scans))
                  for name, g in groups.items() if g == group]
    scores = None
    threshold = base_threshold
    if cross_validate:
        threshold, scores = _tuned(found, marks, window / 2)
        scores.insert(0, "group", scores["scene"].map(groups))
    from ..estimators.unwrap import at_threshold
    from ..scenes.defaults import record_read_options

    return AdaptResult(model=record_read_options(at_threshold(fitted, threshold), options),
                       scores=scores, chips=len(chips.target), base=str(model))


#: Decision thresholds tried on the left-out scans (a cascade's geometric
#: mean runs lower than a single network's probability).
THRESHOLDS = np.round(np.arange(0.1, 0.96, 0.05), 2)


def _scan(model, scene, options):
    """The scan of ``scene`` at the lowest threshold tried (higher ones are taken from it)."""
    from ..scenes.scan import scan_scene

    return scan_scene(model, scene, threshold=THRESHOLDS[0], **options)


def _tuned(found, marks, tolerance):
    """The threshold of the best F1 over the left-out scans, and their scores there.

    The scans ran once at the lowest threshold; each threshold scores what a
    scan at it finds (:meth:`~sklship.scenes.scan.ScanResult.at_threshold`).
    ``tolerance`` is in the model's pixels; a resampled scene's marks are in
    its own, ``pixel_scale`` to one of the model's.
    """
    from ..evaluation.scoring import score_detections

    def scores_at(threshold):
        rows = []
        for name, result in found:
            score = score_detections(result.at_threshold(threshold).detections,
                                     marks[name]["big"], ignore=marks[name]["small"],
                                     tolerance=tolerance * result.pixel_scale)
            rows.append(dict(scene=name, marked=score.n_marked, found=score.hits,
                             false_alarms=score.false_alarms, duplicates=score.duplicates))
        return pd.DataFrame(rows)

    def f1(table):
        hits, marked = table["found"].sum(), table["marked"].sum()
        wrong = table["false_alarms"].sum() + table["duplicates"].sum()
        return 2 * hits / max(2 * hits + wrong + marked - hits, 1)

    tables = {threshold: scores_at(threshold) for threshold in THRESHOLDS}
    best = max(tables, key=lambda t: (f1(tables[t]), -t))
    table = tables[best].assign(threshold=best)
    return float(best), table


def _network(model):
    """The sklship network inside a threshold wrapper (the adapted model is one)."""
    from ..estimators.unwrap import fitted_network

    return fitted_network(model)


def _split(model):
    """What scans every window of ``model`` (a cascade's detector), and its cascade or None."""
    from ..estimators.unwrap import probability_estimator
    from ..scenes.verification import split_cascade

    return split_cascade(probability_estimator(model))


def _frozen_steps(verifier):
    """How many first steps of a pipeline verifier stay as they are: through its
    last ImageNet feature step (1 without one); 0 for any other verifier."""
    from sklearn.pipeline import Pipeline

    from ..estimators.features import ImageNetFeatures

    if not isinstance(verifier, Pipeline) or len(verifier.steps) < 2:
        return 0
    found = [k for k, (_, step) in enumerate(verifier.steps)
             if isinstance(step, ImageNetFeatures)]
    return found[-1] + 1 if found and found[-1] + 1 < len(verifier.steps) else 1


def _verifier_features(cascade, images):
    """The chips through the frozen steps of a cascade's pipeline verifier, or None.

    Computed once, so that each adaptation refits only the steps after them.
    """
    frozen = 0 if cascade is None else _frozen_steps(cascade.verifier_)
    return cascade.verifier_[:frozen].transform(images) if frozen else None


def _proposed(detector, cascade, marks, scans, cutting):
    """The windows ``detector`` proposes in the scenes of ``marks`` away from every
    mark, as :func:`~sklship.datasets.load_marked_scenes` cuts them, or None.

    Each scene is scanned as the scenes left out are (``scans``), at the
    cascade's proposal threshold: the detections are the windows its verifier
    would judge. Those whose window lies clear of every mark and box, as the
    background windows do (:func:`~sklship.datasets.load_marked_scenes`), are
    cut as the training chips are (``cutting``). None without a cascade whose
    verifier is a pipeline with frozen steps, or without such windows.
    """
    from ..datasets.marked_scenes import clear_of_marks, load_marked_scenes
    from ..scenes.scan import scan_scene

    frozen = 0 if cascade is None else _frozen_steps(cascade.verifier_)
    if not frozen:
        return None
    window = cutting["window"]
    truth = {}
    for name, scene_marks in marks.items():
        result = scan_scene(detector, cutting["root"] / name,
                            threshold=cascade.proposal_threshold, **scans)
        points = result.detections[["col", "row"]].to_numpy()
        clear = clear_of_marks(result.scene_shape[:2], scene_marks,
                               (window / 2 + window // 4) * result.pixel_scale)
        points = points[clear[points[:, 1].astype(int), points[:, 0].astype(int)]]
        if len(points):
            truth[name] = {"big": [], "small": [], "negatives": points.tolist()}
    if not truth:
        return None
    return load_marked_scenes(truth, negatives_per_scene=0, **cutting)


def _verified(cascade, detector, features, chips, rows, proposed=None):
    """The adapted detector, in a cascade with the base's verifier when it was one.

    A pipeline verifier keeps its frozen steps (the features, and what prepares
    the chips for them) and has the steps after them refitted on the features of
    the chips of ``rows``, weighted as the detector's, and on the windows
    ``proposed`` (:func:`_proposed`) as no-ship chips of weight
    :data:`PROPOSED_WEIGHT`; any other verifier is kept as it is.
    """
    from sklearn.base import clone
    from sklearn.frozen import FrozenEstimator
    from sklearn.pipeline import Pipeline

    from ..estimators.cascade import VerifiedShipClassifier

    if cascade is None:
        return detector
    verifier = cascade.verifier_
    if features is not None:
        frozen = _frozen_steps(verifier)
        head = clone(Pipeline(verifier.steps[frozen:]))
        X, y, weight = features[rows], chips.target[rows], chips.sample_weight[rows]
        if proposed is not None:
            X = np.concatenate([X, verifier[:frozen].transform(proposed.images)])
            y = np.concatenate([y, np.zeros(len(proposed.images), y.dtype)])
            weight = np.concatenate([weight, np.full(len(proposed.images),
                                                     PROPOSED_WEIGHT)])
        head.fit(X, y, **{f"{head.steps[-1][0]}__sample_weight": weight})
        verifier = Pipeline([*verifier.steps[:frozen], *head.steps])
    both = [int(np.argmin(chips.target)), int(np.argmax(chips.target))]
    return VerifiedShipClassifier(FrozenEstimator(detector), FrozenEstimator(verifier),
                                  proposal_threshold=cascade.proposal_threshold).fit(
        chips.images[both], chips.target[both])


def _load(model):
    """A fresh copy of the model to start from, the options that read scenes for it,
    and its scan threshold.

    A shipped model (by name) or a model file reads scenes with the bands and
    scale it records, and scans with its saddle
    (:func:`~sklship.scenes.defaults.model_read_options`: ``sentinel2-10m``
    and what was adapted from it), else as ``scan_scene`` does by default.
    The threshold is its decision threshold (a shipped model's is its scan
    threshold).
    """
    from ..estimators.persistence import load_model
    from ..estimators.unwrap import decision_threshold
    from ..scenes.defaults import model_read_options
    from .registry import shipped_or_file

    spec = shipped_or_file(model)
    loaded = spec.load(copy=True) if spec is not None else load_model(model)
    return loaded, model_read_options(loaded), decision_threshold(loaded)


def check_marks(truth, cross_validate=True):
    """The marks of ``truth`` and the acquisition of each scene, checked for adapting.

    Cheap (no model, no pixels), so that problems are told before any work.

    Parameters
    ----------
    truth : path
        A ``truth.json`` file (see :func:`adapt_model`).
    cross_validate : bool, default=True
        Whether each acquisition will be left out in turn.

    Returns
    -------
    marks : dict
        As :func:`~sklship.datasets.read_truth` reads them.
    groups : dict
        Scene -> its acquisition (ISO time from the file's tags or name, see
        :func:`~sklship.scenes.sources.scene_datetime`; the scene itself when
        it has none).

    Raises
    ------
    ValueError
        If no ship is marked ``big``, or, with ``cross_validate``, the scenes
        are of one acquisition, or leaving one out leaves no ship to learn.
    """
    from ..datasets.truth import read_truth

    truth = Path(truth)
    marks = read_truth(truth)
    ships = {name: len(entry["big"]) for name, entry in marks.items()}
    if not any(ships.values()):
        raise ValueError(f"{truth} marks no ship as 'big': adapting learns from them "
                         "('small' marks are left out).")
    groups = {name: _acquisition(truth.parent / name) or name for name in marks}
    if not cross_validate:
        return marks, groups
    held_out = sorted(set(groups.values()))
    if len(held_out) < 2:
        raise ValueError(f"{truth} marks scenes of 1 acquisition; leaving one out needs "
                         "two or more (or cross_validate=False; command line: --no-cv).")
    for group in held_out:
        if not any(n for name, n in ships.items() if groups[name] != group):
            raise ValueError(f"{truth} marks 'big' ships only in the scenes of acquisition "
                             f"{group}: left out, nothing is left to learn from. Mark ships "
                             "in two acquisitions or more (or cross_validate=False; "
                             "command line: --no-cv).")
    return marks, groups


def _acquisition(path):
    """A scene's acquisition time as text (tags of a GeoTIFF, else the file name),
    or None; a missing file is left to the chips to name."""
    from ..scenes.sources import PILLOW_SUFFIXES, raster_header, scene_datetime

    # Not an image, or missing: the chips name the file.
    header = (raster_header(path) if path.suffix.lower() not in PILLOW_SUFFIXES
              and path.is_file() else None)
    when = scene_datetime(path, tags=None if header is None else header[2])
    return None if pd.isna(when) else when.isoformat()


def _fine_tune(detector, chips, rows, epochs, learning_rate, random_state):
    """A copy of ``detector`` trained further on the chips of ``rows``.

    Each member network of a soft-voting ensemble (seeded ``random_state +
    k`` for member ``k``), else the network at the bottom of the detector's
    wrappers (:func:`~sklship.estimators.unwrap.fitted_network`). The copy
    is made in memory: reading the file again would rebuild the verifier's
    backbone too (about 1.5 s more per adaptation).
    """
    from ..estimators.unwrap import fitted_network, soft_vote

    if not rows.any():
        raise ValueError("no chips left to adapt on.")
    averaged = soft_vote(detector) is not None
    detector = copy.deepcopy(detector if averaged else fitted_network(detector))
    networks = [member for member, _ in soft_vote(detector)] if averaged else [detector]
    for k, network in enumerate(networks):
        network.set_params(warm_start=True, epochs=epochs, learning_rate=learning_rate,
                           random_state=random_state + k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            network.fit(chips.images[rows], chips.target[rows],
                        sample_weight=chips.sample_weight[rows])
    return detector
