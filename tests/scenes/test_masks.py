"""Usable-data masks: PlanetScope UDM2 beside a scene, raster and GeoJSON masks."""

import json
import logging

import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import Point

from sklship.scenes.masks import find_udm2
from sklship.scenes.scan import scan_scene

CLOUD = (slice(48, 80), slice(72, 112))  # over the ship at (60, 90)
TO_LONLAT = Transformer.from_crs(32611, 4326, always_xy=True)


def udm2(cloud=CLOUD):
    """An 8-band UDM2: clear everywhere but a cloud (band 6) rectangle."""
    bands = np.zeros((8, 96, 128), dtype=np.uint8)
    bands[0] = 1
    bands[0][cloud], bands[5][cloud] = 0, 1
    bands[3, :10] = 1  # light haze: still usable
    return bands


@pytest.fixture
def scene(write_geotiff, tmp_path, ship_scene):
    path = write_geotiff(tmp_path / "20170705_180818_1041_3B_Visual.tif",
                         np.moveaxis(ship_scene[0], -1, 0))
    return path


@pytest.fixture
def model(bright_centre):
    return bright_centre()


SHIPS = 3


def whole(left=0, top=0, right=128, bottom=96):
    """The pixel box as a lon/lat polygon (3 m pixels from 500000, 3700000)."""
    from shapely.geometry import box

    (lon0, lon1), (lat0, lat1) = TO_LONLAT.transform(
        [500000 + 3 * left, 500000 + 3 * right], [3700000 - 3 * bottom, 3700000 - 3 * top])
    return box(lon0, lat0, lon1, lat1)


def test_udm2_beside_the_scene_hides_the_clouded_ship(scene, write_geotiff, caplog, model):
    clear = scan_scene(model, scene, stride=2, engine="batched", aoi=[whole()])
    assert clear.count == SHIPS
    assert clear.counts["clear_fraction"][0] == pytest.approx(1.0, abs=0.01)
    mask = write_geotiff(scene.with_name("20170705_180818_1041_3B_udm2.tif"), udm2())
    assert find_udm2(scene) == mask
    with caplog.at_level(logging.INFO, logger="sklship"):
        result = scan_scene(model, scene, stride=2, engine="batched",
                            aoi=[whole()])
    assert "udm2" in caplog.text
    assert result.count == SHIPS - 1
    assert not ((result.detections["row"] - 60).abs().lt(8)
                & (result.detections["col"] - 90).abs().lt(8)).any()
    share = 32 * 40 / (96 * 128)
    assert result.counts["clear_fraction"][0] == pytest.approx(1 - share, abs=0.01)
    assert result.counts["valid_fraction"][0] == pytest.approx(1.0, abs=0.01)
    assert result.clear_fraction == pytest.approx(1 - share, abs=0.01)
    # Windows mostly under the cloud were not evaluated.
    assert np.isnan(result.probabilities).any()
    # mask=False scans as if there were none.
    assert scan_scene(model, scene, stride=2, engine="batched",
                      mask=False).count == SHIPS


def test_udm2_at_another_resolution_is_aligned(scene, write_geotiff, tmp_path, model):
    coarse = udm2()[:, ::2, ::2]  # 6 m, the same ground
    mask = write_geotiff(tmp_path / "cloud_udm2.tif", coarse, res=6)
    result = scan_scene(model, scene, stride=2, engine="batched", mask=mask)
    assert result.count == SHIPS - 1


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_geojson_and_plain_raster_masks(scene, write_geotiff, tmp_path, model):
    path = tmp_path / "cloud.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {},
         "geometry": whole(72, 48, 112, 80).__geo_interface__}]}))
    assert scan_scene(model, scene, stride=2, engine="batched",
                      mask=path).count == SHIPS - 1
    plain = np.zeros((1, 96, 128), dtype=np.uint8)
    plain[0][CLOUD] = 255
    raster = write_geotiff(tmp_path / "clouds.tif", plain, crs=None)  # pixel for pixel
    result = scan_scene(model, scene, stride=2, engine="batched", mask=raster)
    assert result.count == SHIPS - 1
    assert result.usable is not None and not result.usable.all()


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_bad_masks_are_one_clear_error(scene, write_geotiff, tmp_path, model):
    far = write_geotiff(tmp_path / "far.tif", udm2()[:1], crs="EPSG:32633")
    with pytest.raises(ValueError, match="does not overlap"):
        scan_scene(model, scene, mask=far)
    small = write_geotiff(tmp_path / "small.tif", udm2()[:1, :50], crs=None)
    with pytest.raises(ValueError, match="has no CRS and is 50x128 pixels"):
        scan_scene(model, scene, mask=small)


def test_overlay_draws_areas_and_masked_parts(scene, write_geotiff, model):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sklship.scenes.display import ScanDisplay
    from sklship.scenes.sources import open_scene

    write_geotiff(scene.with_name("20170705_180818_1041_3B_udm2.tif"), udm2())
    result = scan_scene(model, scene, stride=2, engine="batched",
                        aoi={"port": whole(0, 0, 64, 96)})
    with open_scene(scene) as source:
        display = ScanDisplay.from_result(result, source.overview()[0])
    try:
        assert len(display.areas_) == 1 and display.masked_ is not None
        # The area's outline is in scene pixels: columns 0..64.
        xs = display.areas_[0].get_xy()[:, 0]
        assert xs.min() == pytest.approx(0, abs=0.5) and xs.max() == pytest.approx(64, abs=0.5)
    finally:
        plt.close(display.figure_)


def test_a_mask_or_aoi_file_that_is_not_geojson_names_what_it_is(scene, tmp_path, model):
    # The mask and the AOI readers share their code, not the name of what they read.
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    with pytest.raises(ValueError, match=r"^mask file .*bad\.json is not GeoJSON"):
        scan_scene(model, scene, mask=bad)
    with pytest.raises(ValueError, match=r"^AOI file .*bad\.json is not GeoJSON"):
        scan_scene(model, scene, aoi=bad)
    with pytest.raises(ValueError, match="^mask is not GeoJSON polygons: area 1 is a Point"):
        scan_scene(model, scene, mask=[Point(-117, 33.4)])
