"""The registry of shipped models: what each is for, and picking one for a scene.

A shipped model is described by a JSON file in this package (``<stem>.json``)
next to its weights (``<stem>.sklship``) and its card (``<stem>.md``). The
package's files are read with :mod:`importlib.resources`, so installs from
wheels and zip files work.
"""

from __future__ import annotations

import functools
import json
import math
import re
import warnings
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path

from ..scenes.bands import REFLECTANCE_SCALES

__all__ = ["ShippedModel", "load_shipped_model", "pick_for_scenes", "pick_shipped_model",
           "shipped_or_file",
           "shipped_models"]

#: A scene whose ground resolution differs from every shipped model's by more
#: than this factor (either way) gets a warning: its ships are resampled to
#: sizes the model has not seen well.
RESOLUTION_FACTOR_WARNING = 2.0

_REQUIRED = ("name", "sensor", "bands", "resolution", "input", "window")
#: The bands a scene gives when none are asked for.
RGB = ("red", "green", "blue")


@dataclass(frozen=True)
class ShippedModel:
    """A model that ships with sklship, and what a scan needs to use it right.

    Attributes
    ----------
    name : str
        The name to load it by, e.g. ``"planetscope-3m"``.
    stem : str
        File stem in the package: weights ``<stem>.sklship``, card ``<stem>.md``.
    sensor : str
        The imagery it was trained on.
    bands : tuple of str
        The bands of its channels, in order (``"red"``, ``"green"``, ``"blue"``,
        ``"nir"``).
    resolution : float
        Ground metres per pixel of its chips; scenes are resampled to it.
    input : {"uint8", "reflectance", "dark-object"}
        The values it takes: 8-bit pixels (rescaled inside the model),
        surface reflectance (float, 1.0 = 100 %), or reflectance less each
        band's dark level (the ``scale`` of that name).
    window : int
        Side of its square windows, in pixels.
    scan : dict
        Keywords of :func:`sklship.scenes.scan.scan_scene` it was measured
        with (empty: the defaults).
    licence : str
        The training data's licences and attributions.
    scores : dict
        Headline scores from its card, with their protocol.
    training : dict
        How it was made: the rest of its description (code version, seed,
        numbers of training chips, ...).
    """

    name: str
    stem: str
    sensor: str
    bands: tuple
    resolution: float
    input: str
    window: int
    scan: dict = field(default_factory=dict)
    licence: str = ""
    scores: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)

    @property
    def read_options(self):
        """What this model records for its scans: the ``bands`` and ``scale`` that
        read a scene into its inputs, and the ``saddle`` it was measured with.

        Red, green and blue are what a scene gives by default (by its band
        descriptions, else in its bands' order:
        :func:`~sklship.scenes.bands.default_bands`), so a model of those
        three records no ``bands``.
        """
        options = {} if self.input not in REFLECTANCE_SCALES else (
            {"scale": self.input} if self.bands == RGB else
            {"bands": self.bands, "scale": self.input})
        if self.scan.get("saddle"):
            options["saddle"] = self.scan["saddle"]
        return options

    @property
    def file(self):
        """The weights file in the package (a path in an ordinary install)."""
        return resources.files(__package__) / f"{self.stem}.sklship"

    @property
    def card(self):
        """The model card, as Markdown text."""
        return (resources.files(__package__) / f"{self.stem}.md").read_text(encoding="utf-8")

    def load(self, *, copy=False):
        """The fitted estimator, deciding at its scan threshold.

        Parameters
        ----------
        copy : bool, default=False
            False: loaded once per process, then shared (treat it as
            read-only). True: a new copy read from the file, to train further.

        Returns
        -------
        estimator : fitted classifier
            With a ``threshold`` in :attr:`scan`, the model in a
            ``FixedThresholdClassifier`` at that threshold, so that
            ``predict``, :func:`~sklship.scenes.scan.scan_scene` and models
            adapted from it decide as ``sklship scan`` does.
        """
        from ..scenes.defaults import record_read_options

        threshold = self.scan.get("threshold")
        model = _read(self.stem, threshold) if copy else _shared(self.stem, threshold)
        # Scans read scenes as this model takes them, files adapted from it too.
        return record_read_options(model, self.read_options)


def _read(stem, threshold):
    from ..estimators.persistence import load_model
    from ..estimators.unwrap import at_threshold

    with resources.as_file(resources.files(__package__) / f"{stem}.sklship") as path:
        model = load_model(path)
    return model if threshold is None else at_threshold(model, threshold)


_shared = functools.cache(_read)


@functools.cache
def shipped_models():
    """Every shipped model, by name.

    Returns
    -------
    models : dict of str to ShippedModel
        In order of ground resolution, finest first.
    """
    models = []
    for entry in resources.files(__package__).iterdir():
        if entry.name.endswith(".json"):
            spec = json.loads(entry.read_text(encoding="utf-8"))
            missing = [key for key in _REQUIRED if key not in spec]
            if missing:
                raise ValueError(f"shipped model description {entry.name} lacks {missing}.")
            stem = entry.name[:-len(".json")]
            spec["bands"] = tuple(spec["bands"])
            known = {f.name for f in fields(ShippedModel)}
            training = {key: spec.pop(key) for key in list(spec) if key not in known}
            models.append(ShippedModel(stem=stem, training=training, **spec))
    return {model.name: model for model in sorted(models, key=lambda m: m.resolution)}


def load_shipped_model(name):
    """Load a shipped model by name.

    Parameters
    ----------
    name : str
        One of :func:`shipped_models`, e.g. ``"planetscope-3m"``.

    Returns
    -------
    estimator : fitted classifier
        Ready for :func:`sklship.scenes.scan.scan_scene`.

    Raises
    ------
    ValueError
        If no shipped model has that name; the message lists the names.
    """
    return _shipped(name).load()


def shipped_or_file(model):
    """The shipped model called ``model``, or None when ``model`` is a model file.

    Parameters
    ----------
    model : str or path
        A shipped model's name or the path of a model file.

    Returns
    -------
    spec : ShippedModel or None

    Raises
    ------
    ValueError
        If it is neither (the message lists the shipped names).
    """
    models = shipped_models()
    if isinstance(model, str) and model in models:
        return models[model]
    if not Path(model).exists():
        raise ValueError(f"{model}: no such model file, and no shipped model has that "
                         f"name (shipped: {', '.join(models)})")
    return None


def _shipped(name):
    models = shipped_models()
    if name not in models:
        raise ValueError(f"no shipped model is called {name!r}; the shipped models are "
                         f"{sorted(models)}.")
    return models[name]


def pick_shipped_model(resolution=None, *, channels=None, eight_bit=False,
                       what="the scene"):
    """The shipped model for a scene of a given ground resolution and channel count.

    Parameters
    ----------
    resolution : float or None
        The scene's ground metres per pixel; None (unknown, as for PNG and
        JPEG files) takes the finest model whose bands the scene can give.
    channels : int or None
        The scene's bands; models needing more are left out.
    eight_bit : bool, default=False
        Whether the scene holds 8-bit pictures rather than reflectance (a
        PNG, or a byte GeoTIFF without band scales): models that read
        reflectance are left out, as nothing says the picture's scale.
    what : str
        How to name the scene in a warning.

    Returns
    -------
    model : ShippedModel
        The model whose resolution is nearest (on a log scale), warning when
        even that one is more than :data:`RESOLUTION_FACTOR_WARNING` away.
    """
    every = list(shipped_models().values())
    banded = [m for m in every if channels is None or len(m.bands) <= channels]
    if not banded:
        raise ValueError(f"{what} has {channels} band(s); every shipped model needs more "
                         f"({ {m.name: len(m.bands) for m in every} }).")
    models = [m for m in banded if not eight_bit or m.input == "uint8"] or banded
    if resolution is None:
        return models[0]

    def nearest(candidates):
        return min(candidates, key=lambda m: abs(math.log(resolution / m.resolution)))

    best, meant = nearest(models), nearest(banded)
    factor = max(resolution / best.resolution, best.resolution / resolution)
    if meant.resolution != best.resolution:  # it has the bands, in 8 bits
        warnings.warn(
            f"{what} has {resolution:.3g} m pixels, for which {meant.name!r} is made, but "
            f"8-bit values: {meant.name!r} reads surface reflectance, and nothing says "
            f"this picture's scale. Scanning with {best.name!r} ({best.resolution:g} m) "
            "instead: expect many false alarms and missed ships; give the scene's "
            "reflectance bands (16-bit or float), or its scale to reflectance "
            "(--reflectance SCALE,OFFSET).", UserWarning, stacklevel=2)
    elif factor > RESOLUTION_FACTOR_WARNING:
        _warn_far(what, resolution, best, "nearest ")
    return best


def _warn_far(what, resolution, model, nearest=""):
    """Warn that ``model`` is made for pixels over 2 times finer or coarser than these."""
    factor = max(resolution / model.resolution, model.resolution / resolution)
    warnings.warn(
        f"{what} has {resolution:.3g} m pixels, {factor:.1f} times the "
        f"{model.resolution:g} m of the {nearest}shipped model {model.name!r}: its ships "
        "are resampled to sizes that model has not learnt; expect fewer ships found "
        "and more false alarms.", UserWarning, stacklevel=3)


def pick_for_scenes(scenes, bands=None, resolution=None, reflectance=None):
    """The one shipped model for a list of scenes, by their resolution and bands.

    Parameters
    ----------
    scenes : list of path or StacScene
        Scene files (GeoTIFF: resolution from the georeference, see
        :func:`sklship.scenes.resolution.scene_resolution`; PNG and JPEG:
        ``resolution``, else unknown, so the finest model), STAC scenes
        (their ``resolution``) or Sentinel-2 ``.SAFE`` products (10 m). A
        GeoTIFF whose tags name the sensor of a shipped model (e.g.
        ``Sentinel-2``) gets that model whatever its pixel size, when it has
        the model's bands: a Sentinel-2 export in Web Mercator north of 57
        degrees has ground pixels under 5.5 m, nearer PlanetScope's 3 m than
        its own 10 m (it is scanned resampled to 10 m).
    bands : sequence or None, default=None
        The bands the scenes will be read with, if given: as many channels
        as it lists (``(1, 1, 1)`` makes a grey scene of 3), not the files'.
    resolution : float or None, default=None
        Ground metres per pixel of the scenes whose own is unknown (PNG,
        JPEG, GeoTIFF without CRS), as ``scan_scene``'s ``resolution``.
    reflectance : object or None, default=None
        The scale to reflectance the scenes will be read with, if given
        (``scan_scene``'s ``reflectance``): then 8-bit scenes may get a
        model that reads reflectance. Without it they get one that reads
        8-bit pictures (see :func:`pick_shipped_model`).

    Returns
    -------
    model : ShippedModel

    Raises
    ------
    ValueError
        When the scenes call for different models; the message names one
        scene of each, so that they can be scanned apart or with ``model``
        given.
    """
    picked = {}
    for scene in scenes:
        own, channels, named, eight_bit = _scene_facts(scene)
        channels = channels if bands is None else len(bands)
        eight_bit = eight_bit and reflectance is None
        what = f"scene {getattr(scene, 'name', scene)}"
        if named is not None and (channels is None or len(named.bands) <= channels) and (
                not eight_bit or named.input == "uint8"):
            if own is not None and own > named.resolution * RESOLUTION_FACTOR_WARNING:
                _warn_far(what, own, named)
            picked.setdefault(named.name, what)
            continue
        picked.setdefault(pick_shipped_model(resolution if own is None else own,
                                             channels=channels, eight_bit=eight_bit,
                                             what=what).name, what)
    if not picked:
        return next(iter(shipped_models().values()))
    if len(picked) > 1:
        raise ValueError("the scenes call for different shipped models (" + "; ".join(
            f"{what}: {name}" for name, what in picked.items()) + "): scan them "
            "apart, or choose one model for all.")
    return shipped_models()[next(iter(picked))]


def _scene_facts(scene):
    """(ground metres per pixel or None, band count or None, the shipped model its
    tags name or None, whether it holds 8-bit pictures) of a scene, cheaply."""
    from ..scenes.safe import as_scene
    from ..scenes.sources import PILLOW_SUFFIXES

    scene = as_scene(scene)
    if hasattr(scene, "href"):  # a STAC scene or a Sentinel-2 product
        return scene.resolution, None, None, False
    if Path(str(scene)).suffix.lower() in PILLOW_SUFFIXES:
        return None, 3, None, True
    import rasterio

    from ..scenes.resolution import scene_resolution

    try:
        with rasterio.open(scene) as dataset:
            crs = dataset.crs.to_string() if dataset.crs else None
            tags = [dataset.tags(), *(dataset.tags(i) for i in dataset.indexes)]
            eight_bit = (dataset.dtypes[0] == "uint8" and set(dataset.scales) <= {1.0}
                         and set(dataset.offsets) <= {0.0})
            return (scene_resolution(crs, dataset.transform, dataset.shape),
                    dataset.count, _named_model(tags), eight_bit)
    except rasterio.errors.RasterioIOError as exc:
        raise ValueError(f"cannot read scene file {scene} ({exc}).") from None


def _named_model(tags):
    """The one shipped model whose sensor (its first word, e.g. ``Sentinel-2``) the
    file's tags name, in any case and spelling (``SENTINEL2A``), or None."""
    def squeezed(text):
        return re.sub(r"[^a-z0-9]", "", str(text).lower())

    text = squeezed(" ".join(f"{key} {value}" for group in tags
                             for key, value in group.items()))
    named = [model for model in shipped_models().values()
             if squeezed(model.sensor.split()[0]) in text]
    return named[0] if len(named) == 1 else None
