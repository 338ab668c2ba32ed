"""
GeoTIFF in, GeoJSON out
=======================

Imagery arrives as GeoTIFF: pixels plus a coordinate reference system (CRS),
a pixel-to-map transform and an acquisition time. Given a file path,
:func:`sklship.scan_scene` reads it through rasterio window by window (memory
stays bounded by the tile size), and every detection gets map coordinates: x
and y in the scene's CRS and longitude and latitude.

This example writes a synthetic scene as a GeoTIFF in UTM zone 11N (near the
port of Long Beach), scans it with the ``sklship scan`` command, which writes
``detections.geojson`` (RFC 7946 points in longitude and latitude), and draws
the GeoJSON points over the scene on the map.
"""

# %%
# A synthetic scene, written as a georeferenced GeoTIFF
# -----------------------------------------------------
import json
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import rasterio
from pyproj import Transformer
from rasterio.transform import from_origin

from sklship import CNNShipClassifier, make_scene, make_ships, save_model
from sklship.cli import main as sklship_command

folder = Path(tempfile.mkdtemp())
scene, ships = make_scene(256, 384, n_ships=5, chip_size=32, random_state=3)

# 3 m pixels; the top-left corner in UTM 11N metres.
transform = from_origin(389_000, 3_740_000, 3, 3)
tif = folder / "harbour.tif"
profile = dict(driver="GTiff", width=scene.shape[1], height=scene.shape[0], count=3,
               dtype="uint8", crs="EPSG:32611", transform=transform)
with rasterio.open(tif, "w", **profile) as dst:
    dst.write(scene.transpose(2, 0, 1))           # bands first
    dst.update_tags(acquired="2017-07-05T18:08:18Z")

# %%
# A small model, saved in sklship's native format
# -----------------------------------------------
chips = make_ships(600, image_size=32, random_state=0)
model = CNNShipClassifier(filters=(16, 32), pooling="max", dense_units=(32,), epochs=15,
                          random_state=0).fit(chips.images, chips.target)
save_model(model, folder / "ships.sklship")

# %%
# ``sklship scan``: detections.csv, detections.geojson, counts.csv
# ----------------------------------------------------------------
# The same as ``sklship scan ships.sklship harbour.tif --out scan`` in a shell.
# An 8-bit RGB GeoTIFF needs no ``--bands`` or ``--scale``; a 16-bit
# PlanetScope analytic scene would take ``--bands 3,2,1 --scale percentile``.
status = sklship_command(["scan", str(folder / "ships.sklship"), str(tif),
                          "--out", str(folder / "scan"), "--no-progress", "--quiet"])
print("exit status", status, "->", sorted(p.name for p in (folder / "scan").iterdir()))

geojson = json.loads((folder / "scan" / "detections.geojson").read_text())
print(json.dumps(geojson["features"][0], indent=1))

# %%
# The GeoJSON points on the map
# -----------------------------
# Project the points back to the scene's CRS and draw them over the scene,
# whose extent in metres comes from its transform.
to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32611", always_xy=True)
lon = [f["geometry"]["coordinates"][0] for f in geojson["features"]]
lat = [f["geometry"]["coordinates"][1] for f in geojson["features"]]
x, y = to_utm.transform(lon, lat)

with rasterio.open(tif) as src:
    left, bottom, right, top = src.bounds
fig, ax = plt.subplots(figsize=(7, 5))
ax.imshow(scene, extent=(left, right, bottom, top))
ax.scatter(x, y, s=300, facecolors="none", edgecolors="yellow", linewidths=2,
           label="detections.geojson")
ax.set_xlabel("easting (m, EPSG:32611)")
ax.set_ylabel("northing (m)")
ax.ticklabel_format(useOffset=False, style="plain")
ax.legend(loc="upper right")
ax.set_title(f"{len(lon)} ships found, {len(ships)} drawn")
fig.tight_layout()
