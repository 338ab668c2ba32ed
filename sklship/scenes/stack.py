"""Scenes made of several single-band files, read window by window as one.

Sentinel-2 comes one file per band (ESA's ``B04.jp2``, Earth Search's
``red.tif`` COGs). :func:`stack_vrt` stacks the bands as a GDAL virtual
raster (VRT, written as XML text, no file), so rasterio reads every window of
all bands in one call, from local files or remote COGs alike, and resamples
a band on a coarser grid (20 m) onto the first band's grid (nearest); bands
of different dtypes are read in the one that holds them all. The
VRT carries each band's description, nodata, scale and offset, and the
scene's name and acquisition time as tags (``SKLSHIP_NAME``, ``acquired``),
so that :func:`sklship.scenes.sources.open_scene` reads it like a file and
the text travels to Dask workers as a plain string.
"""

import xml.etree.ElementTree as ET
from os import PathLike, fspath
from pathlib import Path

import numpy as np

__all__ = ["NAME_TAG", "gdal_path", "is_file_list", "is_vrt_xml", "stack_vrt", "vrt_name"]

#: VRT tag holding the scene's name.
NAME_TAG = "SKLSHIP_NAME"
_VRT_START = "<VRTDataset"


def is_vrt_xml(scene):
    """Whether ``scene`` is the text of a VRT (as :func:`stack_vrt` makes)."""
    return isinstance(scene, str) and scene.lstrip().startswith(_VRT_START)


def is_file_list(scene):
    """Whether ``scene`` is a list or tuple of files (one per band)."""
    return isinstance(scene, (list, tuple)) and len(scene) > 0 and all(
        isinstance(item, (str, PathLike)) for item in scene)


def vrt_name(vrt):
    """The scene name a stacked VRT carries (else "stack"), and its band files."""
    root = ET.fromstring(vrt)
    found = root.find(f"./Metadata/MDI[@key='{NAME_TAG}']")
    files = [element.text for element in root.iter("SourceFilename")]
    return ("stack" if found is None or not found.text else found.text), files


def gdal_path(href):
    """The path GDAL opens for ``href``: absolute for files, ``/vsicurl/`` for URLs."""
    href = fspath(href)
    if href.startswith(("http://", "https://")):
        return f"/vsicurl/{href}"
    if href.startswith("s3://"):
        return f"/vsis3/{href[len('s3://'):]}"
    if href.startswith("/vsi"):
        return href
    return str(Path(href).resolve())


def stack_vrt(hrefs, *, descriptions=None, scales=None, offsets=None, nodata=None,
              name=None, acquired=None, grids=None, tags=None):
    """The VRT text of one scene made of the first band of each file.

    Parameters
    ----------
    hrefs : sequence of str or os.PathLike
        One file (or URL) per band, in band order.
    descriptions : sequence of str or None, default=None
        Band descriptions (e.g. the STAC asset keys); None keeps the files'
        own, else their names without ending.
    scales, offsets : sequence of float or None, default=None
        Band scale and offset (value x scale + offset); None (or a None
        entry) keeps the file's own.
    nodata : sequence of float or None, default=None
        Nodata value of each band; None keeps the file's own.
    name : str or None, default=None
        The scene's name (tag ``SKLSHIP_NAME``).
    acquired : str or None, default=None
        The acquisition time, ISO 8601 (tag ``acquired``).
    grids : sequence of dict or None, default=None
        Each file's ``width``, ``height``, ``crs`` (rasterio CRS),
        ``transform`` and ``dtype`` when already known (a STAC item's
        ``proj:`` and ``raster:bands`` fields); the file is then not opened
        here, and its own nodata, scale and offset are not read. None (or a
        None entry) opens the file.
    tags : dict or None, default=None
        More tags of the scene, e.g. ``PROCESSING_BASELINE`` for the
        reflectance conventions of :mod:`sklship.scenes.bands`.

    Returns
    -------
    vrt : str

    Raises
    ------
    FileNotFoundError
        If a local file does not exist.
    ValueError
        If a file cannot be read, or the files are in different CRS or do
        not cover the same area (the message names them).
    """
    import rasterio
    from rasterio.dtypes import dtype_rev, typename_fwd

    hrefs = [fspath(h) if isinstance(h, PathLike) else h for h in hrefs]
    if not hrefs:
        raise ValueError("stack_vrt needs at least one band file; got none.")
    count = len(hrefs)
    descriptions, scales, offsets, nodata, grids = (
        [None] * count if values is None else list(values)
        for values in (descriptions, scales, offsets, nodata, grids))
    if any(len(v) != count for v in (descriptions, scales, offsets, nodata, grids)):
        raise ValueError(f"descriptions, scales, offsets, nodata and grids must have one "
                         f"entry per band file ({count}).")
    unread = {"nodata": None, "scale": None, "offset": None, "description": None}
    files = [_describe(href, rasterio) if grid is None else {**unread, **grid}
             for href, grid in zip(hrefs, grids, strict=True)]
    first = files[0]
    common = typename_fwd[dtype_rev[np.result_type(*[f["dtype"] for f in files]).name]]
    root = ET.Element("VRTDataset", rasterXSize=str(first["width"]),
                      rasterYSize=str(first["height"]))
    ET.SubElement(root, "SRS").text = first["crs"].to_wkt() if first["crs"] else ""
    ET.SubElement(root, "GeoTransform").text = ", ".join(
        repr(v) for v in first["transform"].to_gdal())
    metadata = ET.SubElement(root, "Metadata")
    for key, value in ((NAME_TAG, name), ("acquired", acquired), *(tags or {}).items()):
        if value is not None:
            ET.SubElement(metadata, "MDI", key=key).text = str(value)
    for band, (href, info) in enumerate(zip(hrefs, files, strict=True), start=1):
        if info["crs"] != first["crs"]:
            raise ValueError(f"band file {href} is in {info['crs']}, but {hrefs[0]} is in "
                             f"{first['crs']}: the bands of a scene must share a CRS.")
        element = ET.SubElement(root, "VRTRasterBand", band=str(band), dataType=common)
        own_nodata = nodata[band - 1] if nodata[band - 1] is not None else info["nodata"]
        if own_nodata is not None:
            ET.SubElement(element, "NoDataValue").text = repr(float(own_nodata))
        for tag, value, own in (("Scale", scales, info["scale"]),
                                ("Offset", offsets, info["offset"])):
            chosen = value[band - 1] if value[band - 1] is not None else own
            if chosen is not None:
                ET.SubElement(element, tag).text = repr(float(chosen))
        ET.SubElement(element, "Description").text = (
            descriptions[band - 1] or info["description"] or Path(href).stem)
        source = ET.SubElement(element, "SimpleSource", resampling="nearest")
        ET.SubElement(source, "SourceFilename", relativeToVRT="0").text = gdal_path(href)
        ET.SubElement(source, "SourceBand").text = "1"
        ET.SubElement(source, "SrcRect", xOff="0", yOff="0", xSize=str(info["width"]),
                      ySize=str(info["height"]))
        ET.SubElement(source, "DstRect", **_destination(info, first, href, hrefs[0]))
    return ET.tostring(root, encoding="unicode")


def _describe(href, rasterio):
    """Grid, dtype and band 1's own metadata of a band file."""
    path = gdal_path(href)
    if not path.startswith("/vsi") and not Path(path).is_file():
        raise FileNotFoundError(f"band file {href} does not exist.")
    try:
        with rasterio.open(path) as dataset:
            return {"width": dataset.width, "height": dataset.height,
                    "crs": dataset.crs, "transform": dataset.transform,
                    "dtype": dataset.dtypes[0], "nodata": dataset.nodata,
                    "scale": dataset.scales[0], "offset": dataset.offsets[0],
                    "description": dataset.descriptions[0]}
    except rasterio.errors.RasterioIOError as exc:
        raise ValueError(f"Cannot read band file {href}: not an image rasterio can read "
                         f"({exc}).") from None


def _destination(info, first, href, first_href):
    """DstRect of a band file on the first file's grid (same area, maybe coarser)."""
    ref, own = first["transform"], info["transform"]
    if ref.b or ref.d or own.b or own.d:
        raise ValueError(f"band files {first_href} and {href}: rotated grids cannot be "
                         "stacked.")
    x_off, y_off = (own.c - ref.c) / ref.a, (own.f - ref.f) / ref.e
    x_size, y_size = info["width"] * own.a / ref.a, info["height"] * own.e / ref.e
    if max(abs(x_off), abs(y_off), abs(x_size - first["width"]),
           abs(y_size - first["height"])) > 0.5:
        raise ValueError(f"band file {href} covers another area than {first_href} "
                         f"(offset {x_off:.1f}, {y_off:.1f} px, size {x_size:.1f} x "
                         f"{y_size:.1f} px on its grid); the bands of a scene must "
                         "cover the same area.")
    return {"xOff": "0", "yOff": "0", "xSize": str(first["width"]),
            "ySize": str(first["height"])}
