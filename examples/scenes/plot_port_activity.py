"""
From counts to a port-activity index
====================================

An economist wants ships per port per week, not detections. This example

1. writes eight synthetic GeoTIFF scenes over two made-up ports, each with an
   acquisition time in its ``acquired`` tag, the busier port filling up over
   the weeks;
2. scans them all with :func:`sklship.scan_scenes`, counting ships inside two
   areas of interest (GeoJSON polygons in longitude and latitude) given in
   the scan's settings (:class:`sklship.scenes.survey.ScanSettings`);
3. turns the counts into ships per port per week with
   :func:`sklship.scenes.activity.port_activity` and draws them with
   :class:`sklship.ActivityDisplay`.

``scan_scenes(..., client=Client(...))`` would scan the same scenes on a Dask
cluster; ``sklship scan`` and ``sklship activity`` do the same from a shell.
"""

# %%
import json
import tempfile
from pathlib import Path

import numpy as np
import rasterio
from pyproj import Transformer
from rasterio.transform import from_origin

from sklship import ActivityDisplay, CNNShipClassifier, make_scene, make_ships, scan_scenes
from sklship.scenes import ScanSettings, port_activity

folder = Path(tempfile.mkdtemp())
chips = make_ships(600, image_size=32, random_state=0)
model = CNNShipClassifier(filters=(16, 32), pooling="max", dense_units=(32,), epochs=15,
                          random_state=0).fit(chips.images, chips.target)

# %%
# Eight dated scenes and two ports
# --------------------------------
# Each scene is 192 x 384 pixels of 3 m: the west half is "North Pier", the
# east half "South Basin". Ships are drawn in each half separately.
x0, y0, pixel = 389_000, 3_740_000, 3
transform = from_origin(x0, y0, pixel, pixel)
rng = np.random.default_rng(0)
dates = ["2017-07-03", "2017-07-06", "2017-07-11", "2017-07-13",
         "2017-07-18", "2017-07-20", "2017-07-25", "2017-07-27"]
paths = []
for k, date in enumerate(dates):
    west, _ = make_scene(192, 192, n_ships=int(rng.integers(1, 3)), chip_size=32,
                         random_state=10 + k)
    east, _ = make_scene(192, 192, n_ships=1 + k // 2, chip_size=32, random_state=20 + k)
    scene = np.hstack([west, east])
    path = folder / f"scene_{k}.tif"
    with rasterio.open(path, "w", driver="GTiff", width=384, height=192, count=3,
                       dtype="uint8", crs="EPSG:32611", transform=transform) as dst:
        dst.write(scene.transpose(2, 0, 1))
        dst.update_tags(acquired=f"{date}T18:00:00Z")
    paths.append(path)

# The two ports as lon/lat polygons: each half of the scene, 4 pixels inside.
to_lonlat = Transformer.from_crs("EPSG:32611", "EPSG:4326", always_xy=True)


def port(name, col_start, col_stop):
    xs = [x0 + pixel * c for c in (col_start + 4, col_stop - 4, col_stop - 4, col_start + 4)]
    ys = [y0 - pixel * r for r in (4, 4, 188, 188)]
    ring = [list(to_lonlat.transform(x, y)) for x, y in zip(xs, ys, strict=True)]
    return {"type": "Feature", "properties": {"name": name},
            "geometry": {"type": "Polygon", "coordinates": [ring + ring[:1]]}}


aoi = folder / "ports.geojson"
aoi.write_text(json.dumps({"type": "FeatureCollection",
                           "features": [port("North Pier", 0, 192),
                                        port("South Basin", 192, 384)]}))

# %%
# Scan every scene, count ships per port
# --------------------------------------
detections, counts = scan_scenes(model, paths, settings=ScanSettings(aoi=aoi))
counts.head(6)

# %%
# Ships per port per week
# -----------------------
# ``valid_fraction`` is the share of each area inside the scene with valid
# data; rows under ``min_valid_fraction`` (0.5) are left out.
activity = port_activity(counts, freq="W")
activity

# %%
# Each point is the mean over the scenes of its week; the number beside it
# says how many scenes are behind it.
display = ActivityDisplay.from_counts(counts, freq="W")
