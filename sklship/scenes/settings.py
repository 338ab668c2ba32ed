"""Every scan setting, declared once: its default, its constraint and its help text.

:class:`ScanSettings` is the one declaration of how a scene is scanned. Each
field carries, in its metadata, the constraint that checks it (scikit-learn's
parameter validation), one line of help, and how a command line gives it
(``parse``, ``metavar``). Everything else is made from these fields:

- the keywords of :func:`~sklship.scenes.scan.scan_scene` (its signature is
  generated from them, see :func:`keyword_signature`);
- the survey over many scenes (:mod:`sklship.scenes.survey`);
- the ``sklship scan`` flags (:func:`sklship.cli.scenes.add_setting_flags`);
- the record of a run (:meth:`ScanSettings.resolved`, written as ``run.json``).

Adding a setting means adding one field here, documenting it in
:func:`~sklship.scenes.scan.scan_scene` and testing it.
"""

import inspect
from dataclasses import asdict, dataclass, field, fields, replace
from numbers import Integral, Real
from os import PathLike

from .._validation import HasMethods, Interval, StrOptions, validate_parameter_constraints
from ..estimators.unwrap import fitted_network
from .bands import NAMED_SCALES, check_bands
from .defaults import model_read_options, resolve_defaults
from .engines import BATCH_SIZE, ENGINES
from .resolution import model_chip_resolution
from .stac import DEFAULT_ASSET

__all__ = ["ScanSettings", "keyword_signature"]

_AREAS = [str, PathLike, dict, list, tuple, HasMethods("intersects")]


def _setting(default, constraint, help, *, parse=None, metavar=None, model_default=False):
    """A field of :class:`ScanSettings` with its metadata.

    ``parse`` names how a command line reads the value (``"int"``,
    ``"float"``, ``"bands"``, ``"scale"``, ``"path"``, ``"text"``) and None
    means the command line gives it by a flag of its own (``--no-progress``).
    ``model_default`` marks None defaults that depend on the model
    (:func:`~sklship.scenes.defaults.resolve_defaults`).
    """
    return field(default=default, metadata={
        "constraint": constraint, "help": help, "parse": parse, "metavar": metavar,
        "model_default": model_default})


@dataclass(frozen=True)
class ScanSettings:
    """The settings of a scan, checked once, shared by every scene of a survey.

    Each field is the :func:`~sklship.scenes.scan.scan_scene` keyword of the
    same name, with its default; None means "the scan's own default" (see
    there). The fields' metadata hold their constraints and help texts.

    Parameters
    ----------
    window, stride, threshold, min_distance, min_neighbors, smoothing, saddle, \
candidate_threshold, engine, batch_size, tile_size, bands, scale, reflectance, \
aoi, mask, resolution, date_pattern, asset, progress
        See :func:`~sklship.scenes.scan.scan_scene`. A STAC scene's own
        resolution and ``udm2`` mask are used where these are None.

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        (a ValueError) for a value out of range, naming the field.

    Examples
    --------
    >>> from sklship.scenes import ScanSettings
    >>> ScanSettings(stride=8, threshold=0.6).scan_params()["stride"]
    8
    """

    window: int | None = _setting(
        None, [Interval(Integral, 1, None, closed="left"), None],
        "side of the square windows; it must equal the model's chip size "
        "(default: the model's)", parse="int", metavar="N", model_default=True)
    stride: int | None = _setting(
        None, [Interval(Integral, 1, None, closed="left"), None],
        "step between windows in pixels (default: the largest power of two not above "
        "window / 8, 8 for 80-pixel chips)", parse="int", metavar="S", model_default=True)
    threshold: float | None = _setting(
        None, [Interval(Real, 0, 1, closed="both"), None],
        "ship probability that counts (default: the threshold saved with the model, "
        "else 0.5)", parse="float", metavar="T", model_default=True)
    min_distance: float | None = _setting(
        None, [Interval(Real, 0, None, closed="left"), None],
        "non-maximum suppression radius in pixels (default: 0.75 x window)",
        parse="float", metavar="PIXELS", model_default=True)
    min_neighbors: int | None = _setting(
        None, [Interval(Integral, 0, 8, closed="both"), None],
        "neighbouring windows that must reach the threshold too, 0 to 8 (default: 1 at "
        "strides up to window / 8 without --smoothing, else 0)", parse="int",
        metavar="K", model_default=True)
    smoothing: int | None = _setting(
        None, [Interval(Integral, 1, None, closed="left"), None],
        "average each window's probability over its K x K grid neighbourhood before "
        "thresholding (default: 3 for models trained with the 'shift' augmentation "
        "at strides up to window / 8, else 1)", parse="int", metavar="K",
        model_default=True)
    saddle: float | None = _setting(
        None, [Interval(Real, 0, 1, closed="both"), None],
        "keep two detections joined by windows above the threshold apart when the "
        "windows between them dip below S x the weaker one's probability; 0 counts "
        "them as one long hull (default: the model's, else 0)", parse="float",
        metavar="S", model_default=True)
    candidate_threshold: float | None = _setting(
        None, [Interval(Real, 0, 1, closed="both"), None],
        "run test-time augmentation only near windows whose single pass reaches P; "
        "0: everywhere (default: 0.15 with smoothing, else 0.01)", parse="float",
        metavar="P", model_default=True)
    engine: str = _setting(
        "auto", [StrOptions(set(ENGINES))],
        "window engine: shared (the network once per tile), batched (predict_proba "
        "on batches of windows) or auto (shared where it is exact)", parse="text",
        metavar="|".join(ENGINES))
    batch_size: int = _setting(
        BATCH_SIZE, [Interval(Integral, 1, None, closed="left")],
        "windows per predict_proba call of the batched engine", parse="int",
        metavar="N")
    tile_size: int = _setting(
        1024, [Interval(Integral, 1, None, closed="left")],
        "approximate side of the tiles a scene is processed in, in pixels; bounds "
        "memory", parse="int", metavar="PIXELS")
    bands: tuple | None = _setting(
        None, ["array-like", None],
        "bands making the chips' channels: 1-based numbers, e.g. 3,2,1 for a 4-band "
        "PlanetScope analytic scene, or names matched to the file's band "
        "descriptions, e.g. red,green,blue,nir (default: the bands described as "
        "red, green and blue, or a Planet analytic file's, else 1,2,3)",
        parse="bands", metavar="B,G,R")
    scale: tuple | str | None = _setting(
        None, [tuple, list, StrOptions(set(NAMED_SCALES)), None],
        "map LOW..HIGH to 0..255 (clipping outside), 'percentile' (percentiles 2 "
        "and 98), 'reflectance' (float surface reflectance, from the file's or "
        "STAC item's scale and offset), or 'dark-object' (reflectance less each "
        "band's dark level: haze removed); required for scenes that are not 8-bit",
        parse="scale", metavar="LOW,HIGH|percentile|reflectance|dark-object")
    reflectance: tuple | None = _setting(
        None, [tuple, list, None],
        "SCALE,OFFSET with reflectance = value x SCALE + OFFSET, one pair for all bands "
        "or one per band, for reflectance scenes whose file or STAC item does not say "
        "it, e.g. 0.0001,-0.1 for ESA L2A from processing baseline 04.00 or "
        "0.0000152590219,0 (1/65535) for Sentinel Hub's 16-bit export (default: the "
        "file's band scales and offsets, else its product's tags)",
        parse="reflectance", metavar="SCALE,OFFSET")
    aoi: object = _setting(
        None, [*_AREAS, None],
        "areas of interest (e.g. port waters): GeoJSON polygons in lon/lat named by "
        "their 'name' property; only ships inside count, per area", parse="path",
        metavar="GEOJSON")
    mask: object = _setting(
        None, [*_AREAS, "boolean", None],
        "usable-data mask: a raster (non-zero = unusable; reprojected to the scene), "
        "a PlanetScope UDM2 (snow, shadow, heavy haze, cloud unusable) or GeoJSON "
        "polygons in lon/lat (default: a <scene>_udm2.tif / Planet-named UDM2 beside "
        "each scene, or the STAC item's udm2 asset)", parse="path", metavar="FILE")
    resolution: float | None = _setting(
        None, [Interval(Real, 0, None, closed="neither"), None],
        "metres per pixel of scenes whose file does not say it (PNG, JPEG, GeoTIFF "
        "without CRS); a georeferenced file's own resolution wins. Windows are "
        "resampled to the model's chip resolution (3 m for ShipsNet models) as they "
        "are read", parse="float", metavar="METRES")
    date_pattern: str | None = _setting(
        None, [str, None],
        "regular expression with named groups year, month, day (hour, minute, "
        "second) finding the date in file names, e.g. "
        "'(?P<year>\\d{4})-(?P<month>\\d\\d)-(?P<day>\\d\\d)' (default: tags acquired "
        "/ TIFFTAG_DATETIME, then PlanetScope ids YYYYMMDD_HHMMSS_xxxx)",
        parse="text", metavar="REGEX")
    asset: str = _setting(
        DEFAULT_ASSET, [str],
        "asset of STAC items to scan, e.g. analytic with --bands and --scale",
        parse="text", metavar="KEY")
    progress: bool = _setting(
        False, ["boolean"], "show a progress bar over the tiles of a scene")

    def __post_init__(self):
        self.check(asdict(self), type(self).__name__)
        object.__setattr__(self, "bands", check_bands(self.bands))

    @classmethod
    def of(cls, settings=None, keywords=None, *, caller="scan_scene"):
        """``settings`` (default: the defaults) with ``keywords`` changed.

        Parameters
        ----------
        settings : ScanSettings or None, default=None
            The settings to start from.
        keywords : dict or None, default=None
            Settings to change, by field name.
        caller : str, default="scan_scene"
            Named in the error of an unknown keyword.

        Returns
        -------
        settings : ScanSettings

        Raises
        ------
        TypeError
            If ``settings`` is not a ScanSettings, or a keyword is not a
            setting (the message lists the settings).
        """
        if settings is None:
            settings = cls()
        elif not isinstance(settings, cls):
            raise TypeError(f"settings must be a ScanSettings or None; got "
                            f"{type(settings).__name__}.")
        keywords = keywords or {}
        unknown = sorted(set(keywords) - set(cls.names()))
        if unknown:
            raise TypeError(f"{caller}() got unexpected keyword arguments {unknown}; "
                            f"the scan settings are {', '.join(cls.names())}.")
        if not keywords:
            return settings
        cls.check(keywords, caller)
        return replace(settings, **keywords)

    @classmethod
    def check(cls, values, caller):
        """Check ``values`` (settings by name) against the fields' constraints.

        Raises
        ------
        sklearn.utils._param_validation.InvalidParameterError
            (a ValueError or TypeError) naming the setting and ``caller``.
        """
        constraints = {item.name: item.metadata["constraint"] for item in fields(cls)}
        validate_parameter_constraints(constraints, values, caller_name=caller)

    @classmethod
    def names(cls):
        """The settings' names, in order."""
        return tuple(item.name for item in fields(cls))

    def scan_params(self):
        """The settings as keyword arguments of :func:`~sklship.scenes.scan.scan_scene`."""
        return {name: getattr(self, name) for name in self.names()}

    def read_as(self, estimator):
        """These settings, with ``bands`` and ``scale`` the model records where not given.

        See :func:`~sklship.scenes.defaults.model_read_options`.

        Returns
        -------
        settings : ScanSettings
        """
        asks = {name: value for name, value in model_read_options(estimator).items()
                if getattr(self, name) is None}
        return replace(self, **asks) if asks else self

    def model_defaults(self, estimator):
        """The settings whose default depends on the model, resolved for ``estimator``.

        Returns
        -------
        resolved : dict
            ``window``, ``stride``, ``threshold``, ``min_distance``,
            ``min_neighbors``, ``smoothing``, ``saddle`` and
            ``candidate_threshold``, as
            :func:`~sklship.scenes.defaults.resolve_defaults` gives them.
        """
        return resolve_defaults(estimator, **{
            item.name: getattr(self, item.name) for item in fields(self)
            if item.metadata["model_default"]})

    def resolved(self, estimator):
        """Every setting a scan with ``estimator`` actually uses, JSON-ready.

        Defaults that depend on the model are resolved
        (:meth:`read_as`, :meth:`model_defaults`); areas and masks given as files are recorded
        by their paths, in-memory areas by their names; the model's own
        ground resolution is added as ``model_resolution``.

        Parameters
        ----------
        estimator : fitted classifier
            The model scanned with.

        Returns
        -------
        record : dict
            One entry per field, and ``model_resolution``.
        """
        given = self.read_as(estimator)
        record = {name: _json_ready(getattr(given, name)) for name in self.names()}
        record.update(given.model_defaults(estimator))
        record["model_resolution"] = model_chip_resolution(fitted_network(estimator))
        return record


def _json_ready(value):
    """A setting as JSON: paths as text, sequences as lists, areas by their names."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, PathLike):
        return str(value)
    if isinstance(value, dict):
        return sorted(str(name) for name in value)
    if isinstance(value, list | tuple) and all(isinstance(v, Real | str) for v in value):
        return [v.item() if hasattr(v, "item") else v for v in value]
    if isinstance(value, list | tuple) and all(isinstance(v, list | tuple) for v in value):
        return [_json_ready(v) for v in value]  # reflectance pairs, one per band
    return type(value).__name__  # geometries in memory


def keyword_signature(function, settings_class=ScanSettings):
    """``function``'s signature with every setting as a keyword-only parameter.

    ``function`` takes its settings as ``**keywords``; the generated
    signature (for ``help()``, ``inspect`` and editors) shows each field of
    ``settings_class`` with its default in place of them.

    Parameters
    ----------
    function : callable
        A function whose last parameter is ``**keywords``.
    settings_class : type, default=ScanSettings
        The dataclass whose fields are the keywords.

    Returns
    -------
    signature : inspect.Signature
    """
    signature = inspect.signature(function)
    kept = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    keywords = [inspect.Parameter(item.name, inspect.Parameter.KEYWORD_ONLY,
                                  default=item.default, annotation=item.type)
                for item in fields(settings_class)]
    return signature.replace(parameters=kept + keywords)
