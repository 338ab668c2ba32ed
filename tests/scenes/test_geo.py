"""Areas of interest: reading GeoJSON, filtering and counting detections, skipping windows."""

import json

import numpy as np
import pytest
from PIL import Image
from pyproj import Transformer
from shapely.geometry import Point, box

from sklship import CNNShipClassifier, make_ships
from sklship.datasets import make_scene
from sklship.scenes.geo import aoi_to_pixels, read_aoi
from sklship.scenes.scan import scan_scene

WINDOW = 32
TO_LONLAT = Transformer.from_crs(32611, 4326, always_xy=True)


@pytest.fixture(scope="module")
def cnn():
    X, y = make_ships(200, image_size=WINDOW, random_state=0, return_X_y=True)
    return CNNShipClassifier(epochs=1, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def tif(write_geotiff, tmp_path_factory):
    scene = make_scene(96, 136, n_ships=2, chip_size=WINDOW, random_state=5)[0]
    path = tmp_path_factory.mktemp("geo") / "harbour.tif"
    return write_geotiff(path, np.moveaxis(scene, -1, 0))


def lonlat_box(left, top, right, bottom):
    """A lon/lat rectangle around the pixel box (cols left..right, rows top..bottom)."""
    x0, x1 = 500000 + 3 * left, 500000 + 3 * right
    y0, y1 = 3700000 - 3 * bottom, 3700000 - 3 * top
    (lon0, lon1), (lat0, lat1) = TO_LONLAT.transform([x0, x1], [y0, y1])
    return box(lon0, lat0, lon1, lat1)


def test_detections_are_filtered_and_counted_per_area(cnn, tif):
    everything = scan_scene(cnn, tif, stride=4, threshold=0.0)
    west = lonlat_box(0, 0, 42, 96)
    east = lonlat_box(98, 0, 136, 96)
    result = scan_scene(cnn, tif, stride=4, threshold=0.0,
                        aoi={"west": west, "east": east})
    cols = everything.detections["col"]  # pixel centres at col + 0.5
    expected = {"west": int((cols < 42).sum()), "east": int((cols >= 98).sum())}
    counts = dict(zip(result.counts["aoi"], result.counts["count"], strict=True))
    assert counts == expected and result.count == sum(expected.values())
    assert set(result.detections["aoi"]) == {"west", "east"}
    assert (result.detections.query("aoi == 'west'")["col"] < 42).all()
    # Windows wholly outside both areas (starting right of 42, ending left of
    # 98) were not evaluated; all others were.
    starts = np.arange(everything.probabilities.shape[1]) * 4
    outside = (starts > 42) & (starts + WINDOW < 98)
    assert outside.sum() == 6
    assert np.isnan(result.probabilities[:, outside]).all()
    assert not np.isnan(result.probabilities[:, ~outside]).any()
    # Areas that lie wholly in the scene, with valid data everywhere.
    np.testing.assert_allclose(result.counts["valid_fraction"], 1.0, atol=0.03)


def test_area_that_misses_the_scene_counts_zero_with_a_warning(cnn, tif):
    far = box(10.0, 50.0, 10.1, 50.1)
    with pytest.warns(UserWarning, match="area of interest 'aoi-1' does not overlap "
                                         "scene file .*harbour.tif"):
        result = scan_scene(cnn, tif, stride=4, threshold=0.0, aoi=far)
    assert result.counts.to_dict("list") == {"aoi": ["aoi-1"], "count": [0],
                                             "valid_fraction": [0.0],
                                             "clear_fraction": [0.0]}
    assert result.count == 0 and np.isnan(result.probabilities).all()


def test_half_covered_area_has_half_valid_fraction(cnn, tif):
    half = lonlat_box(100, 0, 172, 96)  # 36 of its 72 columns in the scene
    result = scan_scene(cnn, tif, stride=4, aoi=[half])
    assert result.counts["valid_fraction"][0] == pytest.approx(0.5, abs=0.03)


def test_read_aoi_from_geojson(tmp_path):
    features = [
        {"type": "Feature", "properties": {"name": "Long Beach"},
         "geometry": box(-118.3, 33.7, -118.1, 33.8).__geo_interface__},
        {"type": "Feature", "properties": {},
         "geometry": box(-122.4, 37.7, -122.3, 37.8).__geo_interface__},
    ]
    path = tmp_path / "ports.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    aois = read_aoi(path)
    assert list(aois) == ["Long Beach", "aoi-2"]
    assert aois["Long Beach"].equals(box(-118.3, 33.7, -118.1, 33.8))
    pixels = aoi_to_pixels({"a": lonlat_box(10, 20, 30, 40)}, "EPSG:32611",
                           __import__("rasterio").transform.from_origin(500000, 3700000,
                                                                       3, 3))
    np.testing.assert_allclose(pixels["a"].bounds, (10, 20, 30, 40), atol=1e-3)


def test_bad_areas_of_interest(cnn, tif, tmp_path):
    points = tmp_path / "points.geojson"
    points.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": Point(1, 2).__geo_interface__}]}))
    with pytest.raises(ValueError, match="AOI file .*points.geojson is not GeoJSON "
                                         "polygons: area 1 is a Point"):
        scan_scene(cnn, tif, aoi=points)
    text = tmp_path / "notes.geojson"
    text.write_text("harbour, somewhere")
    with pytest.raises(ValueError, match="AOI file .*notes.geojson is not GeoJSON"):
        read_aoi(text)
    with pytest.raises(ValueError, match="outside lon/lat range"):
        read_aoi(box(500000, 3700000, 500100, 3700100))
    scene = make_scene(64, 64, n_ships=1, chip_size=WINDOW, random_state=0)[0]
    Image.fromarray(scene).save(tmp_path / "harbour.png")
    with pytest.raises(ValueError, match="aoi needs a georeferenced scene, but scene "
                                         "file .*harbour.png has no CRS"):
        scan_scene(cnn, tmp_path / "harbour.png", aoi=box(0, 0, 1, 1))
