"""Bands by name, and pixel values as surface reflectance.

Bands by name
    ``bands=("red", "green", "blue", "nir")`` picks bands by the file's band
    descriptions (rasterio's ``descriptions``), case-insensitively; each
    name also matches its Sentinel-2 band ids (:data:`BAND_ALIASES`: red is
    B04, green B03, blue B02, nir B08), and ``"B04"`` matches a band
    described as red.

Bands by default
    A file read with no ``bands`` gives its red, green and blue bands
    (:func:`default_bands`): those its band descriptions name, else, in a
    PlanetScope analytic file (named as Planet names its assets,
    ``..._AnalyticMS_SR_clip.tif``), Planet's order (blue, green, red, nir
    in 4 bands; red 6, green 4, blue 2 in 8), else bands 1, 2 and 3.

Reflectance
    ``scale="reflectance"`` gives float32 surface reflectance, value x
    scale + offset per band (0 to about 1, not clipped at 1). Scale and
    offset come from, first found wins:

    1. the caller: ``reflectance=(scale, offset)``, or one pair per band;
    2. the file's own band scales and offsets (GDAL's, rasterio's
       ``scales`` and ``offsets``) when they are not 1 and 0. A STAC item's
       ``raster:bands`` are written there by :mod:`sklship.scenes.stac`, so
       they come first for STAC scenes;
    3. known product conventions in the file's tags:

       - Sentinel Hub's 16-bit export (the sen2ships files): a tag
         ``VALUE_SCALE`` saying ``surface reflectance * 65535`` -> 1/65535,
         no offset;
       - ESA's Level-2A metadata: ``BOA_QUANTIFICATION_VALUE`` (10000) and
         ``BOA_ADD_OFFSET`` (-1000 from processing baseline 04.00, January
         2022); a ``PROCESSING_BASELINE`` >= 04.00 without an offset tag
         implies -1000.

    Anything else is a one-line ValueError that says what to pass.
    In 16-bit reflectance products 65535 flags saturated or clipped pixels
    (ESA's SATURATED value, Sentinel Hub's clip): :data:`SATURATED`; such
    pixels count as not valid.

Haze
    ``scale="dark-object"`` gives the same reflectance less each band's dark
    level: the percentile :data:`DARK_PERCENTILE` (the 1st) of the band over
    the scene's valid pixels (those of the decimated overview that are not
    zero in every band), a first-order haze correction (dark-object
    subtraction, Chavez 1988). Haze adds a roughly even offset to every
    pixel; after the subtraction, open water reads near 0 in every band, as
    in a clear scene.
"""

import re
from numbers import Integral, Real

import numpy as np

__all__ = ["BAND_ALIASES", "DARK_OBJECT", "DARK_PERCENTILE", "REFLECTANCE",
           "PLANET_ASSET", "PLANET_RGB", "REFLECTANCE_SCALES", "SATURATED", "band_aliases",
           "band_indexes", "default_bands", "described_rgb",
           "NAMED_SCALES", "check_band_range", "check_bands", "check_reflectance",
           "check_reflectance_scale", "esa_offset", "is_sentinel_hub_export",
           "too_few_bands",
           "dark_levels", "is_band_names", "reflectance_scaling"]

#: Other names of the common bands (lower case): Sentinel-2 band ids.
BAND_ALIASES = {
    "red": ("red", "b04", "b4"),
    "green": ("green", "b03", "b3"),
    "blue": ("blue", "b02", "b2"),
    "nir": ("nir", "b08", "b8"),
}
#: A PlanetScope asset's part of a file name (Planet's naming):
#: 20170705_180818_1041_3B_AnalyticMS_SR_clip.tif, ..._3B_Visual.tif.
PLANET_ASSET = re.compile(r"_(AnalyticMS(_SR)?(_8b)?(_harmonized)?|Analytic|Visual)"
                          r"(?=(_clip)?$)", re.IGNORECASE)
#: Red, green and blue of Planet's analytic assets by band count (PSScene
#: ``ortho_analytic_4b``: blue, green, red, nir; ``ortho_analytic_8b``:
#: coastal blue, blue, green I, green, yellow, red, red edge, nir).
PLANET_RGB = {4: (3, 2, 1), 8: (6, 4, 2)}
#: The ``scale`` that returns surface reflectance (float32) instead of 8 bits.
REFLECTANCE = "reflectance"
#: The ``scale`` that returns reflectance less each band's dark level.
DARK_OBJECT = "dark-object"
#: The scales whose pixels are float32 reflectance.
REFLECTANCE_SCALES = (REFLECTANCE, DARK_OBJECT)
#: The scales given by name (the others are a LOW, HIGH range).
NAMED_SCALES = ("percentile", *REFLECTANCE_SCALES)
#: Percentile of a band's valid pixels taken as its dark level.
DARK_PERCENTILE = 1
#: Value that flags saturated or clipped pixels, by dtype of 16-bit reflectance.
SATURATED = {np.dtype(np.uint16): 65535}
_VALUE_SCALE = re.compile(r"reflectance\s*[*x\u00d7]\s*(\d+(?:\.\d*)?)", re.IGNORECASE)
_QUANTIFICATION = ("BOA_QUANTIFICATION_VALUE", "QUANTIFICATION_VALUE")
#: Sentinel Hub's 16-bit reflectance is ESA's value (reflectance x 10,000)
#: times 6.5535, rounded: only about one integer in 6.55 occurs.
_SENTINEL_HUB_STEP = 65535 / 10000
#: Distinct values a sample needs before its values can tell that product.
_FINGERPRINT_VALUES = 100


def check_bands(bands):
    """``bands`` as a tuple of 1-based numbers or of names (None stays None)."""
    if bands is None:
        return None
    if is_band_names(bands):
        return tuple(bands)
    if isinstance(bands, (str, bytes)) or not all(
            isinstance(b, Integral) and not isinstance(b, bool) for b in bands):
        raise TypeError(f"bands must be a sequence of 1-based band numbers, e.g. "
                        f"(3, 2, 1), or of band names, e.g. ('red', 'green', 'blue'); "
                        f"got {bands!r}.")
    bands = tuple(int(b) for b in bands)
    if not bands:
        raise ValueError("bands must name at least one band; got ().")
    return bands


def too_few_bands(count, what):
    """The ValueError for a scene of fewer than 3 bands read with no ``bands``."""
    return ValueError(f"{what} has {count} band{'s' if count != 1 else ''}; chips need 3: "
                      "pass bands=(1, 1, 1) for a grey image, or the 3 bands to use "
                      "(command line: --bands 1,1,1).")


def check_band_range(bands, count, what):
    """A ValueError naming ``what`` when a 1-based band number is not in 1..count."""
    wrong = [b for b in bands if not 1 <= b <= count]
    if wrong:
        raise ValueError(f"bands={bands} is out of range for {what}, which has {count} "
                         f"band{'s' if count != 1 else ''} (numbered 1 to {count}); "
                         f"got {', '.join(map(str, wrong))}.")


def is_band_names(bands):
    """Whether ``bands`` is a non-empty sequence of band names (strings)."""
    return (bands is not None and not isinstance(bands, (str, bytes))
            and len(bands) > 0 and all(isinstance(b, str) for b in bands))


def band_aliases(name):
    """The lower-case names of band ``name`` (itself and its :data:`BAND_ALIASES`)."""
    name = name.strip().lower()
    for group in BAND_ALIASES.values():
        if name in group:
            return group
    return (name,)


def band_indexes(names, descriptions, what):
    """The 1-based band numbers of ``names`` among ``descriptions``.

    Parameters
    ----------
    names : sequence of str
        Band names, e.g. ``("red", "green", "blue", "nir")`` or ``("B04", ...)``.
    descriptions : sequence of str or None
        The file's band descriptions, band 1 first.
    what : str
        The scene, for messages.

    Returns
    -------
    indexes : tuple of int

    Raises
    ------
    ValueError
        If a name matches no band (the message names the scene, the band and
        the descriptions it has) or several.
    """
    own = [_band_name(d) for d in descriptions]
    indexes = []
    for name in names:
        found = [i + 1 for i, d in enumerate(own) if d and d in band_aliases(name)]
        if len(found) != 1:
            has = ", ".join(repr(d) for d in descriptions) if any(own) else "none"
            problem = "no band" if not found else f"{len(found)} bands"
            raise ValueError(f"{what} has {problem} described as {name!r} (band "
                             f"descriptions: {has}); pass the 1-based numbers of its "
                             f"bands {', '.join(names)}, in this order{_example(names)}.")
        indexes.append(found[0])
    return tuple(indexes)


def _band_name(description):
    """A band description in lower case; of GDAL's Sentinel-2 driver's ("B4, central
    wavelength 665 nm"), the band id before the comma."""
    text = (description or "").strip().lower()
    head = re.match(r"(b\d{1,2}a?)\s*,", text)
    return head.group(1) if head else text


def _example(names):
    """How to number ``names`` for a file holding the first three in reverse."""
    if len(names) < 3:
        return " (command line: --bands N,...)"
    numbers = [3, 2, 1, *range(4, len(names) + 1)]  # e.g. blue, green, red, nir
    order = [names[2], names[1], names[0], *names[3:]]
    return (f", e.g. bands=({', '.join(map(str, numbers))}) for a file of "
            f"{', '.join(order)} (command line: --bands {','.join(map(str, numbers))})")


def default_bands(descriptions, name):
    """The red, green and blue bands of a file read with no ``bands``.

    Parameters
    ----------
    descriptions : sequence of str or None
        The file's band descriptions, band 1 first (one per band).
    name : str
        The file's name without its suffix.

    Returns
    -------
    bands : tuple of int
        1-based: those described as red, green and blue (or their
        :data:`BAND_ALIASES`), else :data:`PLANET_RGB` of a Planet analytic
        asset, else ``(1, 2, 3)``.
    why : str or None
        How they were found, for the log; None for ``(1, 2, 3)``.

    Examples
    --------
    >>> default_bands(["blue", "green", "red", "nir"], "port")
    ((3, 2, 1), 'its band descriptions')
    >>> default_bands([None] * 4, "20181030_023205_1018_3B_AnalyticMS_SR")
    ((3, 2, 1), "Planet's 4-band analytic order")
    >>> default_bands([None] * 4, "port")
    ((1, 2, 3), None)
    """
    described = described_rgb(descriptions)
    if described is not None:
        return described, "its band descriptions"
    asset = PLANET_ASSET.search(name)
    count = len(descriptions)
    if asset and not asset.group(1).lower().startswith("visual") and count in PLANET_RGB:
        return PLANET_RGB[count], f"Planet's {count}-band analytic order"
    return (1, 2, 3), None


def described_rgb(descriptions):
    """The bands that ``descriptions`` name red, green and blue, if they name all three.

    Parameters
    ----------
    descriptions : sequence of str or None
        The band descriptions, band 1 first; :data:`BAND_ALIASES` count
        (``B04`` is red).

    Returns
    -------
    bands : tuple of int or None
        1-based, in the order red, green, blue; None if one is not named.

    Examples
    --------
    >>> described_rgb(["B02", "B03", "B04", "B08"])
    (3, 2, 1)
    >>> described_rgb([None, None, None]) is None
    True
    """
    try:
        return band_indexes(("red", "green", "blue"), descriptions, "")
    except ValueError:
        return None


def check_reflectance(reflectance, count):
    """``reflectance`` as (scales, offsets) float arrays of ``count`` bands, or None.

    Raises
    ------
    TypeError, ValueError
        If it is not (scale, offset) or one such pair per band.
    """
    if reflectance is None:
        return None
    pairs = np.asarray(reflectance, dtype=object)
    if pairs.shape == (2,) and all(isinstance(v, Real) for v in pairs):
        pairs = np.tile(pairs, (count, 1))
    try:
        pairs = np.asarray(pairs.tolist(), dtype=np.float64)
    except (TypeError, ValueError):
        pairs = np.empty(0)
    if pairs.shape != (count, 2) or not np.isfinite(pairs).all() or (pairs[:, 0] == 0).any():
        raise ValueError(f"reflectance must be (scale, offset) with reflectance = value * "
                         f"scale + offset, scale != 0, or one such pair for each of the "
                         f"{count} bands; got {reflectance!r}.")
    return pairs[:, 0], pairs[:, 1]


def check_reflectance_scale(scale, reflectance):
    """``scale``, or "reflectance" when ``reflectance`` is given alone; a ValueError
    on a clash."""
    if reflectance is not None and scale not in (None, *REFLECTANCE_SCALES):
        raise ValueError(f"reflectance=(scale, offset) goes with scale='reflectance', "
                         f"'dark-object' or None; got scale={scale!r}.")
    return REFLECTANCE if reflectance is not None and scale is None else scale


def dark_levels(reflectance, what):
    """Each band's dark level: the percentile :data:`DARK_PERCENTILE` of its values.

    Parameters
    ----------
    reflectance : ndarray of shape (n_pixels, channels)
        Reflectance of a scene's valid pixels (a sample of them will do);
        rows with a NaN or an infinity are left out.
    what : str
        The scene, for the error message.

    Returns
    -------
    levels : ndarray of shape (channels,), float32

    Raises
    ------
    ValueError
        If there is no pixel to take them from.

    Examples
    --------
    >>> import numpy as np
    >>> water = np.full((100, 2), [0.05, 0.10], dtype=np.float32)
    >>> dark_levels(water + np.linspace(0, 0.5, 100)[:, None], "scene")
    array([0.055, 0.105], dtype=float32)
    """
    reflectance = reflectance[np.isfinite(reflectance).all(axis=-1)]
    if len(reflectance) == 0:
        raise ValueError(f"{what} has no valid pixel to take its dark levels "
                         "(scale='dark-object') from.")
    return np.percentile(reflectance, DARK_PERCENTILE, axis=0).astype(np.float32)


def reflectance_scaling(explicit, scales, offsets, tags, what, sample=None):
    """Scale and offset to reflectance of each chosen band, and where they come from.

    Parameters
    ----------
    explicit : (ndarray, ndarray) or None
        The caller's, from :func:`check_reflectance`.
    scales, offsets : sequence of float
        The file's own, one per chosen band.
    tags : list of dict
        The file's tags: the dataset's first, then one dict per chosen band.
    what : str
        The scene, for messages.
    sample : callable or None, default=None
        Returns raw 16-bit pixels of the scene (an overview), looked at only
        when nothing else says the scale: Sentinel Hub's 16-bit export is
        told by its values (:func:`is_sentinel_hub_export`).

    Returns
    -------
    scale, offset : ndarray of float32, one per chosen band
    origin : str
        "argument", "file" or the product convention found.

    Raises
    ------
    ValueError
        If nothing says the scale (the message says what to pass).
    """
    if explicit is not None:
        found, origin = explicit, "argument"
    elif any(s != 1 or o != 0 for s, o in zip(scales, offsets, strict=True)):
        found, origin = (np.asarray(scales, float), np.asarray(offsets, float)), "file"
    else:
        found, origin = _convention(tags, what)
    if found is None and sample is not None and is_sentinel_hub_export(sample()):
        found, origin = (1 / 65535, 0.0), "Sentinel Hub's 16-bit values"
    if found is None:
        raise ValueError(f"{what} does not say the scale of its reflectance; pass "
                         "reflectance=(scale, offset), e.g. (1e-4, -0.1) for ESA L2A "
                         "from baseline 04.00, (1e-4, 0) for Google Earth Engine's "
                         "COPERNICUS/S2_SR_HARMONIZED or ESA L2A before 04.00, or "
                         "(1/65535, 0) for Sentinel Hub's 16-bit export (reflectance = "
                         "value * scale + offset; command line: --reflectance "
                         "0.0001,-0.1), or set the file's band scales and offsets (e.g. "
                         "gdal_edit.py -scale, -offset).")
    scale, offset = (np.broadcast_to(np.asarray(v, np.float32), (len(scales),))
                     for v in found)
    return scale, offset, origin


def esa_offset(baseline):
    """ESA's Level-2A reflectance offset (``BOA_ADD_OFFSET``, in digital numbers)
    for a product that lists none: -1000 from processing baseline 04.00
    (January 2022) on, else 0.

    Parameters
    ----------
    baseline : str or None
        ``PROCESSING_BASELINE`` (e.g. ``"05.09"``); None: unknown, 0.

    Returns
    -------
    offset : float

    Raises
    ------
    ValueError
        If ``baseline`` is not a number.

    Examples
    --------
    >>> esa_offset("05.09"), esa_offset("02.08"), esa_offset(None)
    (-1000.0, 0.0, 0.0)
    """
    return -1000.0 if baseline is not None and float(baseline) >= 4 else 0.0


def is_sentinel_hub_export(values):
    """Whether 16-bit values are Sentinel Hub's reflectance x 65535.

    That export multiplies ESA's integers (reflectance x 10,000) by 6.5535
    and rounds, so every value lies within 0.5 of a multiple of 6.5535; of
    ESA's own integers about one in 6.55 does. All of at least
    :data:`_FINGERPRINT_VALUES` distinct non-zero values must.

    Parameters
    ----------
    values : ndarray of uint16
        Raw pixels (any shape), as read without resampling.

    Returns
    -------
    export : bool

    Examples
    --------
    >>> reflectance = np.linspace(0.01, 0.6, 500)
    >>> bool(is_sentinel_hub_export(np.rint(np.rint(reflectance * 1e4) * 6.5535)))
    True
    >>> bool(is_sentinel_hub_export(np.rint(reflectance * 1e4)))
    False
    """
    values = np.unique(values)
    values = values[values > 0]
    if values.size < _FINGERPRINT_VALUES:
        return False
    steps = np.rint(values / _SENTINEL_HUB_STEP)
    return bool(np.all(np.abs(steps * _SENTINEL_HUB_STEP - values) <= 0.5 + 1e-6))


def _convention(tags, what):
    """(scale, offset) from a known product's tags and its name, or (None, None)."""
    merged = {key.upper(): value for group in tags for key, value in group.items()}
    match = _VALUE_SCALE.search(merged.get("VALUE_SCALE", ""))
    if match:
        return (1 / float(match.group(1)), 0.0), "VALUE_SCALE tag"
    quantification = next((merged[k] for k in _QUANTIFICATION if k in merged), None)
    baseline = merged.get("PROCESSING_BASELINE")
    if quantification is None and baseline is None:
        return None, None
    band_offsets = [group.get("BOA_ADD_OFFSET") for group in tags[1:]]
    named = {v for k, v in merged.items() if k.startswith("BOA_ADD_OFFSET")}
    try:
        quantification = float(quantification or 10000)
        if band_offsets and all(v is not None for v in band_offsets):
            offset = np.asarray(band_offsets, float)
        elif len(named) == 1:
            offset = float(named.pop())
        else:
            offset = esa_offset(baseline)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} has unreadable reflectance tags ({exc}); pass "
                         "reflectance=(scale, offset).") from None
    if len(named) > 1 and not isinstance(offset, np.ndarray):
        raise ValueError(f"{what} has several BOA_ADD_OFFSET values {sorted(named)} and "
                         "none per band; pass reflectance=(scale, offset) per band.")
    return (1 / quantification, np.asarray(offset) / quantification), "ESA L2A tags"
