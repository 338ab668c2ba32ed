"""Scenes: from satellite images to ships on the map and port activity over time.

Three floors; a module imports only from its own floor or those below
(``tests/test_imports.py`` checks it), with :mod:`~sklship.scenes.grid` (where
the windows fall) and :mod:`~sklship.scenes.tables` (the tables' columns) as
leaves every floor may read.

Input, what a scene is:

- :mod:`~sklship.scenes.sources`: GeoTIFF, PNG and JPEG scenes read window by
  window, bands, scaling, nodata and acquisition dates;
- :mod:`~sklship.scenes.resolution`: scenes resampled to the model's metres
  per pixel as they are read;
- :mod:`~sklship.scenes.masks`: usable-data masks (PlanetScope UDM2, rasters,
  polygons) handled like nodata;
- :mod:`~sklship.scenes.stac`: scenes listed in STAC catalogs (pystac);
- :mod:`~sklship.scenes.safe`: Sentinel-2 Level-2A products as ESA delivers
  them (``.SAFE`` folders and zips);
- :mod:`~sklship.scenes.geo`: map coordinates and areas of interest.

Detection, one scene to ships:

- :mod:`~sklship.scenes.engines` (and :mod:`~sklship.scenes.convolutional`):
  the probability of every window;
- :mod:`~sklship.scenes.suppression`: one detection per ship;
- :mod:`~sklship.scenes.verification`: a cascade's verifier on the
  detections its detector proposes;
- :mod:`~sklship.scenes.defaults` and :mod:`~sklship.scenes.settings`: every
  scan setting declared once (:class:`ScanSettings`), defaults measured;
- :mod:`~sklship.scenes.scan`: :func:`scan_scene`, the orchestration.

Outputs, what is kept:

- :mod:`~sklship.scenes.export`: the tables, GeoJSON and provenance written;
- :mod:`~sklship.scenes.activity`: counts to port activity per period;
- :mod:`~sklship.scenes.display`: pictures of scans and activity;
- :mod:`~sklship.scenes.survey`: many scenes, here or on Dask, or into a
  restartable folder (:func:`scan_to_folder`).
"""

from .._lazy import lazy_exports

__all__ = [
    "ActivityDisplay",
    "ScanDisplay",
    "ScanResult",
    "ScanSettings",
    "StacScene",
    "SurveyReport",
    "WindowGrid",
    "find_udm2",
    "open_scene",
    "port_activity",
    "read_scene",
    "read_stac",
    "scan_scene",
    "scan_scenes",
    "scan_to_folder",
    "scene_datetime",
    "scene_resolution",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "ActivityDisplay": ".display",
    "ScanDisplay": ".display",
    "ScanResult": ".scan",
    "ScanSettings": ".settings",
    "StacScene": ".stac",
    "SurveyReport": ".survey",
    "WindowGrid": ".grid",
    "find_udm2": ".masks",
    "open_scene": ".sources",
    "port_activity": ".activity",
    "read_scene": ".sources",
    "read_stac": ".stac",
    "scan_scene": ".scan",
    "scan_scenes": ".survey",
    "scan_to_folder": ".survey",
    "scene_datetime": ".sources",
    "scene_resolution": ".resolution",
})
