"""Sentinel-2 Level-2A products as ESA delivers them: ``.SAFE`` folders and zips.

The Copernicus Data Space (and every mirror of it) delivers a Sentinel-2
product as a zipped ``.SAFE`` folder: a ``MTD_MSIL2A.xml`` at its root that
lists the product's JPEG 2000 files, one per band and resolution, under
``GRANULE/<tile>/IMG_DATA``. :func:`safe_scene` reads that metadata and
returns the product as one scene (a :class:`~sklship.scenes.stac.StacScene`,
as for a STAC item):

- the 10 m red, green, blue and near-infrared bands (``B04``, ``B03``,
  ``B02``, ``B08``) stacked by :func:`~sklship.scenes.stack.stack_vrt`, with
  their reflectance scale and offset from the metadata
  (``BOA_QUANTIFICATION_VALUE``, 10000, and ``BOA_ADD_OFFSET``, -1000 for
  every band from processing baseline 04.00, January 2022) and nodata 0;
- the 20 m scene classification (``SCL``) as the usable-data mask
  (:mod:`sklship.scenes.masks`: clouds, cloud shadow, cirrus and snow);
- the sensing start (``PRODUCT_START_TIME``) as its date, the product's name
  without ``.SAFE`` as its name, ``Cloud_Coverage_Assessment`` as its cloud
  cover, and 10 m as its ground resolution.

A zip is read in place (GDAL's ``/vsizip/``): there is no need to unpack it.
Level-1C products (top-of-atmosphere reflectance) are refused: the shipped
Sentinel-2 model learnt Level-2A surface reflectance. So are products in the
format before December 2016, which list no ``IMAGE_FILE``.
"""

import re
import xml.etree.ElementTree as ET
import zipfile
from os import PathLike, fspath
from pathlib import Path

import pandas as pd

from .bands import esa_offset
from .dates import naive_utc
from .sources import is_remote
from .stac import StacScene
from .stack import is_vrt_xml, stack_vrt

__all__ = ["SAFE_BANDS", "as_scene", "is_safe_product", "safe_scene"]

#: The bands stacked, in order: (description, ESA band name, ESA band id).
SAFE_BANDS = (("red", "B04", 3), ("green", "B03", 2), ("blue", "B02", 1), ("nir", "B08", 7))
#: The product metadata file at the root of a Level-2A (and a Level-1C) product.
_METADATA = ("MTD_MSIL2A.xml", "MTD_MSIL1C.xml")
#: A zip of a product, as the Copernicus Data Space names it.
_ZIP_NAME = re.compile(r"^S2[A-D]_MSIL(2A|1C)_.*\.zip$", re.IGNORECASE)


def is_safe_product(path):
    """Whether ``path`` is a Sentinel-2 product: a ``.SAFE`` folder (or any folder
    with ``MTD_MSIL2A.xml``), its metadata file, or its zip (named as ESA names
    it, or holding ``<product>.SAFE/MTD_MSIL2A.xml``)."""
    if not isinstance(path, (str, PathLike)) or is_vrt_xml(path) or is_remote(fspath(path)):
        return False
    path = Path(fspath(path))
    if path.is_dir():
        return path.suffix.upper() == ".SAFE" or any(
            (path / name).is_file() for name in _METADATA)
    if path.name in _METADATA or _ZIP_NAME.match(path.name):
        return True
    return path.suffix.lower() == ".zip" and path.is_file() and _zipped_metadata(path) is not None


def as_scene(scene):
    """``scene``, or the :func:`safe_scene` of it when it is a Sentinel-2 product."""
    return safe_scene(scene) if is_safe_product(scene) else scene


def safe_scene(path):
    """The 10 m bands of a Sentinel-2 Level-2A product as one scene.

    Parameters
    ----------
    path : str or os.PathLike
        The product's ``.SAFE`` folder, its ``MTD_MSIL2A.xml``, or its zip.

    Returns
    -------
    scene : StacScene
        Its ``href`` is the VRT text of the four bands, ``mask`` the SCL file.

    Raises
    ------
    FileNotFoundError
        If the product or one of its band files is missing.
    ValueError
        If it is not a Level-2A product in the compact format, or its
        metadata cannot be read (the message names the file).
    """
    text, where, name, base = _metadata(Path(fspath(path)))
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"Sentinel-2 metadata {where} is not XML ({exc}).") from None
    level = _text(root, "PROCESSING_LEVEL") or ""
    if "1C" in level or where.endswith("MTD_MSIL1C.xml"):
        raise ValueError(f"{name} is a Level-1C product (top-of-atmosphere reflectance); "
                         "the Sentinel-2 model learnt Level-2A surface reflectance: "
                         "download the product's Level-2A (MSIL2A) version.")
    files = [element.text.strip() for element in root.iter()
             if _local(element.tag) == "IMAGE_FILE" and element.text]
    if not files:
        raise ValueError(f"{where} lists no IMAGE_FILE: a product in the format before "
                         "December 2016, which sklship does not read.")
    quantification = float(_text(root, "BOA_QUANTIFICATION_VALUE") or 10000)
    offsets = _offsets(root)
    hrefs = [f"{base}/{_band_file(files, f'_{band}_10m', where, name)}.jp2"
             for _, band, _ in SAFE_BANDS]
    mask = next((f for f in files if f.endswith("_SCL_20m")), None)
    when = naive_utc(_text(root, "PRODUCT_START_TIME"), f"PRODUCT_START_TIME of {where}")
    cloud = _text(root, "Cloud_Coverage_Assessment")
    tags = {key: _text(root, key) for key in ("SPACECRAFT_NAME", "PROCESSING_BASELINE")}
    vrt = stack_vrt(hrefs, descriptions=[d for d, _, _ in SAFE_BANDS],
                    scales=[1 / quantification] * len(SAFE_BANDS),
                    offsets=[offsets(band_id) / quantification for *_, band_id in SAFE_BANDS],
                    nodata=[0] * len(SAFE_BANDS), name=name,
                    acquired=None if when is pd.NaT else when.isoformat(),
                    tags={k: v for k, v in tags.items() if v is not None})
    return StacScene(name=name, href=vrt, datetime=when, resolution=10.0,
                     mask=None if mask is None else f"{base}/{mask}.jp2",
                     cloud_cover=None if cloud is None else float(cloud),
                     asset=",".join(d for d, _, _ in SAFE_BANDS))


def _metadata(path):
    """(the metadata's text, where it is, the product's name, the folder its
    files are listed from) of a product; a zip's folder is a ``/vsizip/`` path."""
    if not path.exists():
        raise FileNotFoundError(f"Sentinel-2 product {path} does not exist.")
    if path.is_dir():
        found = next((path / n for n in _METADATA if (path / n).is_file()), None)
        if found is None:
            raise ValueError(f"{path} holds no {' or '.join(_METADATA)}: not a Sentinel-2 "
                             "product.")
        return found.read_bytes(), str(found), _product_name(path.name), str(path.resolve())
    if path.name in _METADATA:
        return (path.read_bytes(), str(path), _product_name(path.parent.name),
                str(path.parent.resolve()))
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a zip file.")
    found = _zipped_metadata(path)
    if found is None:
        raise ValueError(f"zip {path} holds no <product>.SAFE/"
                         f"{' or '.join(_METADATA)}: not a Sentinel-2 product.")
    with zipfile.ZipFile(path) as archive:
        text = archive.read(found)
    folder = found.split("/")[0]
    return text, f"{path}/{found}", _product_name(folder), f"/vsizip/{path.resolve()}/{folder}"


def _zipped_metadata(path):
    """The name of the product metadata in a zip (``<product>/MTD_MSIL2A.xml``),
    or None; None too for a file that is not a zip."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return None
    return next((n for n in names if n.count("/") == 1 and n.split("/")[1] in _METADATA),
                None)


def _product_name(folder):
    return folder[:-len(".SAFE")] if folder.upper().endswith(".SAFE") else folder


def _band_file(files, ending, where, name):
    found = [f for f in files if f.endswith(ending)]
    if not found:
        raise ValueError(f"{name}: {where} lists no band file ending in {ending} "
                         "(the 10 m bands B02, B03, B04 and B08 are needed).")
    return found[0]


def _offsets(root):
    """Band id -> ESA's BOA_ADD_OFFSET (digital numbers): the listed one, else
    -1000 from processing baseline 04.00 on, else 0."""
    listed = {element.get("band_id"): float(element.text) for element in root.iter()
              if _local(element.tag) == "BOA_ADD_OFFSET" and element.text}
    default = esa_offset(_text(root, "PROCESSING_BASELINE"))
    return lambda band_id: listed.get(str(band_id), default)


def _text(root, tag):
    """The text of the first element named ``tag`` (any namespace), or None."""
    found = next((e for e in root.iter() if _local(e.tag) == tag), None)
    return None if found is None or found.text is None else found.text.strip()


def _local(tag):
    return tag.rsplit("}", 1)[-1]
