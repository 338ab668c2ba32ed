"""Scenes listed in STAC catalogs: one item, one scene.

:func:`read_stac` opens a local STAC catalog, collection, item or
ItemCollection with pystac and turns each item into a :class:`StacScene`:
the href of the asset to scan (``visual`` by default; ``analytic`` with
``bands`` and ``scale``), the item's datetime, its ground resolution (the
asset's or item's ``gsd``, else ``proj:transform``) and its ``udm2`` or
``scl`` asset as the usable-data mask (:mod:`sklship.scenes.masks`). Relative
hrefs are resolved against the item's own file; remote hrefs (``https://``,
``s3://``) go to rasterio's own readers.

Sentinel-2 as Earth Search publishes it (collection ``sentinel-2-l2a``) has
one COG per band: ``asset="red,green,blue,nir"`` (or a tuple;
:data:`SENTINEL2_ASSETS`) stacks them as one scene
(:func:`sklship.scenes.stack.stack_vrt`, read window by window). An asset is
found by its key (any case) or by its ``eo:bands`` name or common name, so
``B04`` finds the ``red`` asset and ``red`` a ``B04`` one. Each asset's
``raster:bands`` ``scale``, ``offset`` and ``nodata`` go into the stack, where
``scale="reflectance"`` finds them first (:mod:`sklship.scenes.bands`); an
item without them (Planetary Computer's) gives its ``s2:processing_baseline``,
from which ESA's convention follows (x 10000, offset -1000 from 04.00). Its
``eo:cloud_cover`` is filtered with ``max_cloud``.
:func:`sklship.scenes.survey.scan_scenes` takes these scenes, or pystac
items, like files.

Searching a STAC API (Planet, Earth Search, Planetary Computer) is
pystac-client's job (``pip install sklship[stac-search]``): its search
results are pystac items, which :func:`stac_scene` converts::

    from pystac_client import Client
    items = Client.open("https://earth-search.aws.element84.com/v1").search(
        collections=["sentinel-2-l2a"], bbox=port_bbox, datetime="2024-01/2024-03",
        query={"eo:cloud_cover": {"lt": 20}}).item_collection()
    detections, counts = scan_scenes(model, items, settings=ScanSettings(asset="visual"))
"""

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .bands import band_aliases
from .dates import naive_utc
from .stack import stack_vrt

__all__ = ["DEFAULT_ASSET", "MASK_ASSET", "MASK_ASSETS", "SENTINEL2_ASSETS", "StacScene",
           "read_stac", "stac_scene"]

#: The asset scanned when none is named.
DEFAULT_ASSET = "visual"
#: The asset used as the usable-data mask when an item has it (PlanetScope).
MASK_ASSET = "udm2"
#: Usable-data mask assets, first found is used: PlanetScope's UDM2, Sentinel-2's SCL.
MASK_ASSETS = (MASK_ASSET, "scl")
#: The band assets of a Sentinel-2 L2A item that the Sentinel-2 model reads.
SENTINEL2_ASSETS = ("red", "green", "blue", "nir")


@dataclass(frozen=True)
class StacScene:
    """One STAC item as a scene to scan.

    Attributes
    ----------
    name : str
        The item's id (names the scene in the tables).
    href : str
        The asset's file (absolute path or URL), or for several band assets
        (or one with ``raster:bands`` scaling) the VRT text stacking them.
    datetime : pandas.Timestamp or NaT
        The item's ``datetime`` (or ``start_datetime``), naive UTC.
    resolution : float or None
        Metres per pixel from ``gsd`` or ``proj:transform``.
    mask : str or None
        The ``udm2`` or ``scl`` asset's href.
    cloud_cover : float or None
        ``eo:cloud_cover`` in percent.
    asset : str
        The asset's key (the keys joined by commas for a stack).
    """

    name: str
    href: str
    datetime: pd.Timestamp = pd.NaT
    resolution: float = None
    mask: str = None
    cloud_cover: float = None
    asset: str = DEFAULT_ASSET


def stac_scene(item, asset=DEFAULT_ASSET):
    """The :class:`StacScene` of a pystac item (or a StacScene, unchanged).

    Parameters
    ----------
    item : pystac.Item or StacScene
    asset : str or sequence of str, default="visual"
        The asset to scan, or one asset per band (``"red,green,blue,nir"``
        or a tuple), found by key or ``eo:bands`` name (see the module).

    Raises
    ------
    ValueError
        If the item lacks an asset; the message lists those it has.
    """
    if isinstance(item, StacScene):
        return item
    keys = [k.strip() for k in asset.split(",")] if isinstance(asset, str) else list(asset)
    assets = [_find_asset(item, key) for key in keys]
    properties = {**item.properties, **assets[0].extra_fields}
    when = naive_utc(item.datetime or item.common_metadata.start_datetime,
                     f"datetime of STAC item {item.id}")
    mask = next((a for k in MASK_ASSETS for key, a in item.assets.items()
                 if key.lower() == k), None)
    scaling = [_raster_band(a) for a in assets]
    href = _href(assets[0])
    if len(assets) > 1 or any(s[0] is not None or s[1] is not None for s in scaling):
        scales, offsets, nodata = zip(*scaling, strict=True)
        href = stack_vrt([_href(a) for a in assets], descriptions=keys, scales=scales,
                         offsets=offsets, nodata=nodata, name=item.id,
                         acquired=None if when is pd.NaT else when.isoformat(),
                         grids=[_grid(item, a) for a in assets], tags=_product_tags(item))
    return StacScene(name=item.id, href=href, datetime=when,
                     resolution=_resolution(properties), cloud_cover=properties.get(
                         "eo:cloud_cover"), mask=None if mask is None else _href(mask),
                     asset=",".join(keys))


def _find_asset(item, key):
    """The asset ``key`` of ``item``: by key, any case, or by its eo:bands names."""
    if key in item.assets:
        return item.assets[key]
    names = band_aliases(key)
    for name, found in item.assets.items():
        bands = found.extra_fields.get("eo:bands") or found.extra_fields.get("bands") or []
        own = {name.lower()} | {str(b.get(field, "")).lower() for b in bands
                                for field in ("name", "common_name", "eo:common_name")}
        if own & set(names) and (name.lower() in names or len(bands) == 1):
            return found
    raise ValueError(f"STAC item {item.id} has no asset {key!r}; it has "
                     f"{', '.join(sorted(item.assets)) or 'none'} (choose with "
                     "--asset / ScanSettings(asset=...), e.g. 'red,green,blue,nir').")


def _raster_band(asset):
    """(scale, offset, nodata) of a single-band asset's ``raster:bands`` (None: unsaid)."""
    bands = asset.extra_fields.get("raster:bands") or [{}]
    first = bands[0] if len(bands) == 1 else {}
    return first.get("scale"), first.get("offset"), first.get("nodata")


def _product_tags(item):
    """ESA's processing baseline (``s2:processing_baseline``) as a tag, for the offset."""
    baseline = item.properties.get("s2:processing_baseline")
    return {} if baseline is None else {"PROCESSING_BASELINE": str(baseline)}


def _grid(item, asset):
    """A band asset's grid from its STAC fields (None when one is missing).

    Earth Search items carry ``proj:shape``, ``proj:transform``,
    ``proj:epsg`` (or ``proj:code``) and ``raster:bands`` ``data_type`` and
    ``scale``; with them a remote band file need not be opened to list it.
    """
    from affine import Affine
    from rasterio.crs import CRS

    fields = {**item.properties, **asset.extra_fields}
    shape, transform = fields.get("proj:shape"), fields.get("proj:transform")
    code = fields.get("proj:code") or (f"EPSG:{fields['proj:epsg']}"
                                       if fields.get("proj:epsg") else None)
    bands = asset.extra_fields.get("raster:bands") or [{}]
    dtype, scale = bands[0].get("data_type"), bands[0].get("scale")
    if not (shape and transform and len(transform) >= 6 and code and dtype and scale):
        return None
    return {"height": int(shape[0]), "width": int(shape[1]), "crs": CRS.from_user_input(code),
            "transform": Affine(*transform[:6]), "dtype": dtype}


def _href(asset):
    return asset.get_absolute_href() or asset.href


def _resolution(properties):
    if properties.get("gsd"):
        return float(properties["gsd"])
    transform = properties.get("proj:transform")
    if transform and len(transform) >= 5 and transform[0] and transform[4]:
        return float(abs(transform[0] * transform[4]) ** 0.5)
    return None


def read_stac(path, *, asset=DEFAULT_ASSET, max_cloud=None):
    """The scenes of a local STAC catalog, collection, item or ItemCollection.

    Parameters
    ----------
    path : str or os.PathLike
        Its JSON file (``catalog.json``, ``collection.json``, an item, or a
        FeatureCollection of items). Catalogs are walked recursively.
    asset : str, default="visual"
        The asset to scan.
    max_cloud : float in [0, 100] or None, default=None
        Items whose ``eo:cloud_cover`` is above are skipped.

    Returns
    -------
    scenes : list of StacScene
        In the catalog's order.
    skipped : dict of str to str
        Item id -> why it is left out on purpose (clouds above ``max_cloud``).
    failed : dict of str to str
        Item id -> why it cannot be scanned (no asset ``asset``: the message
        lists those it has).

    Raises
    ------
    FileNotFoundError, ValueError
        If ``path`` is missing or not STAC (the message names it).
    """
    import pystac

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"STAC file {path} does not exist.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("type") == "FeatureCollection":
            items = list(pystac.ItemCollection.from_file(str(path)))
        else:
            stac = pystac.read_file(str(path))
            items = [stac] if isinstance(stac, pystac.Item) else list(
                stac.get_items(recursive=True))
    except (UnicodeDecodeError, json.JSONDecodeError, pystac.STACError, KeyError,
            TypeError) as exc:
        raise ValueError(f"STAC file {path} is not a STAC catalog, collection, item "
                         f"or ItemCollection ({exc}).") from None
    scenes, skipped, failed = [], {}, {}
    for item in items:
        try:
            scene = stac_scene(item, asset)
        except ValueError as exc:
            failed[item.id] = str(exc)
            continue
        if max_cloud is not None and scene.cloud_cover is not None \
                and scene.cloud_cover > max_cloud:
            skipped[item.id] = (f"eo:cloud_cover {scene.cloud_cover:g} % is above "
                                f"{max_cloud:g} %")
            continue
        scenes.append(scene)
    return scenes, skipped, failed
