"""Scenes listed in STAC catalogs: one item, one scene.

:func:`read_stac` opens a local STAC catalog, collection, item or
ItemCollection with pystac and turns each item into a :class:`StacScene`:
the href of the asset to scan (``visual`` by default; ``analytic`` with
``bands`` and ``scale``), the item's datetime, its ground resolution (the
asset's or item's ``gsd``, else ``proj:transform``) and its ``udm2`` asset as
the usable-data mask. Relative hrefs are resolved against the item's own
file; remote hrefs (``https://``, ``s3://``) go to rasterio's own readers.
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

__all__ = ["DEFAULT_ASSET", "MASK_ASSET", "StacScene", "read_stac", "stac_scene"]

#: The asset scanned when none is named.
DEFAULT_ASSET = "visual"
#: The asset used as the usable-data mask when an item has it.
MASK_ASSET = "udm2"


@dataclass(frozen=True)
class StacScene:
    """One STAC item as a scene to scan.

    Attributes
    ----------
    name : str
        The item's id (names the scene in the tables).
    href : str
        The asset's file (absolute path or URL).
    datetime : pandas.Timestamp or NaT
        The item's ``datetime`` (or ``start_datetime``), naive UTC.
    resolution : float or None
        Metres per pixel from ``gsd`` or ``proj:transform``.
    mask : str or None
        The ``udm2`` asset's href.
    cloud_cover : float or None
        ``eo:cloud_cover`` in percent.
    asset : str
        The asset's key.
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

    Raises
    ------
    ValueError
        If the item has no asset ``asset``; the message lists those it has.
    """
    if isinstance(item, StacScene):
        return item
    if asset not in item.assets:
        raise ValueError(f"STAC item {item.id} has no asset {asset!r}; it has "
                         f"{', '.join(sorted(item.assets)) or 'none'} (choose one with "
                         "--asset / ScanSettings(asset=...)).")
    properties = {**item.properties, **item.assets[asset].extra_fields}
    when = item.datetime or item.common_metadata.start_datetime
    when = pd.NaT if when is None else pd.Timestamp(when)
    if when is not pd.NaT and when.tzinfo is not None:
        when = when.tz_convert("UTC").tz_localize(None)
    mask = item.assets.get(MASK_ASSET)
    return StacScene(name=item.id, href=_href(item.assets[asset]), datetime=when,
                     resolution=_resolution(properties), cloud_cover=properties.get(
                         "eo:cloud_cover"), mask=None if mask is None else _href(mask),
                     asset=asset)


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
