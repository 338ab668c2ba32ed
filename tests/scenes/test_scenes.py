"""Scenes as analysts get them: GeoTIFF read window by window, bands, scale, nodata, dates."""

import warnings

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from pyproj import Transformer

from sklship import CNNShipClassifier, make_ships
from sklship.datasets import make_scene
from sklship.scenes.scan import scan_scene
from sklship.scenes.sources import open_scene, scene_datetime

from ..conftest import BrightCentre

WINDOW = 32
BORDER = 16  # nodata border of the 16-bit scene, pixels


@pytest.fixture(scope="module")
def cnn():
    X, y = make_ships(200, image_size=WINDOW, random_state=0, return_X_y=True)
    return CNNShipClassifier(epochs=1, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def scene():
    return make_scene(96, 136, n_ships=2, chip_size=WINDOW, random_state=5)[0]


@pytest.fixture(scope="module")
def rgb_tif(scene, write_geotiff, tmp_path_factory):
    path = tmp_path_factory.mktemp("scenes") / "harbour.tif"
    return write_geotiff(path, np.moveaxis(scene, -1, 0))


def analytic(scene, border=0):
    """The 16-bit 4-band twin (blue, green, red, NIR): 256 v + 1, nodata 0 at the border."""
    wide = scene.astype(np.uint16) * 256 + 1
    bands = np.stack([wide[..., 2], wide[..., 1], wide[..., 0], wide[..., 0]])
    if border:
        bands[:, :border], bands[:, :, :border] = 0, 0
    return bands


def test_detections_get_crs_and_lon_lat_from_the_transform(cnn, rgb_tif):
    result = scan_scene(cnn, rgb_tif, stride=4, threshold=0.0, min_distance=0)
    assert result.crs == "EPSG:32611" and result.scene_name == "harbour"
    assert result.datetime == pd.Timestamp("2017-07-05 18:08:18")
    detections = result.detections
    assert len(detections) > 3
    # Independently: the continuous window centre (col, row) through the 3 m
    # transform (sklship.scenes.grid states the convention).
    x = 500000 + 3 * detections["col"]
    y = 3700000 - 3 * detections["row"]
    np.testing.assert_allclose(detections["x"], x)
    np.testing.assert_allclose(detections["y"], y)
    lon, lat = Transformer.from_crs(32611, 4326, always_xy=True).transform(x, y)
    np.testing.assert_allclose(detections["lon"], lon, atol=1e-9)
    np.testing.assert_allclose(detections["lat"], lat, atol=1e-9)
    assert (-117.01 < detections["lon"]).all() and (detections["lon"] < -116.99).all()


def test_16_bit_scene_with_scale_equals_its_8_bit_twin(cnn, scene, rgb_tif, write_geotiff,
                                                        tmp_path):
    path = write_geotiff(tmp_path / "analytic.tif", analytic(scene))
    eight = scan_scene(cnn, rgb_tif, stride=4, threshold=0.3)
    sixteen = scan_scene(cnn, path, stride=4, threshold=0.3, bands=(3, 2, 1),
                         scale=(1, 65281))
    np.testing.assert_array_equal(sixteen.probabilities, eight.probabilities)
    pd.testing.assert_frame_equal(sixteen.detections, eight.detections)
    assert sixteen.bands == (3, 2, 1) and sixteen.scale == (1.0, 65281.0)
    stretched = scan_scene(cnn, path, stride=4, bands=(3, 2, 1), scale="percentile")
    low, high = stretched.scale
    assert 1 <= low < high <= 65281


def test_windowed_reading_equals_the_whole_scene(cnn, scene, rgb_tif):
    from_array = scan_scene(cnn, scene, stride=4, threshold=0.3)
    for tile_size in (40, 64, 1000):
        from_file = scan_scene(cnn, rgb_tif, stride=4, threshold=0.3, tile_size=tile_size)
        np.testing.assert_allclose(from_file.probabilities, from_array.probabilities,
                                   atol=1e-6)
        pd.testing.assert_frame_equal(from_file.detections[["row", "col", "probability"]],
                                      from_array.detections, atol=1e-6)
    assert from_array.crs is None and from_array.scene_name is None


def test_nodata_windows_are_skipped_and_never_detected(cnn, scene, rgb_tif, write_geotiff,
                                                       tmp_path):
    path = write_geotiff(tmp_path / "border.tif", analytic(scene, BORDER), nodata=0)
    result = scan_scene(cnn, path, stride=4, threshold=0.0, bands=(3, 2, 1),
                        scale=(1, 65281), tile_size=50)
    grid = result.probabilities
    # Window (i, j) starts at 4i, 4j: more than half nodata when 4i or 4j < BORDER.
    corner = np.arange(grid.shape[0])[:, None] * 4, np.arange(grid.shape[1])[None] * 4
    valid = ((WINDOW - np.clip(BORDER - corner[0], 0, None))
             * (WINDOW - np.clip(BORDER - corner[1], 0, None))) / WINDOW**2
    np.testing.assert_array_equal(np.isnan(grid), valid < 0.5)
    assert (result.detections["row"] >= BORDER).all()
    assert (result.detections["col"] >= BORDER).all()
    assert result.valid_fraction == pytest.approx((96 - BORDER) * (136 - BORDER)
                                                  / (96 * 136))
    # Windows wholly inside the valid part are those of the 8-bit twin.
    twin = scan_scene(cnn, rgb_tif, stride=4).probabilities
    inside = valid == 1
    np.testing.assert_allclose(grid[inside], twin[inside], atol=1e-6)  # other tiles


@pytest.mark.parametrize("name, tags, pattern, expected", [
    ("a.tif", {"TIFFTAG_DATETIME": "2017:07:05 18:08:18"}, None, "2017-07-05 18:08:18"),
    ("a.tif", {"acquired": "2017-07-05T18:08:18.5+00:00"}, None, "2017-07-05 18:08:18.5"),
    ("20160710_182139_0c78_3B_Visual.tif", {}, None, "2016-07-10 18:21:39"),
    ("1__20160710_182139_0c78__-122.35_37.74.png", {}, None, "2016-07-10 18:21:39"),
    ("longbeach_2019-03-04.tif", {}, r"(?P<year>\d{4})-(?P<month>\d\d)-(?P<day>\d\d)",
     "2019-03-04"),
    ("harbour.tif", {}, None, None),
    ("harbour_20170705.tif", {}, None, None),  # a date alone is not a PlanetScope id
])
def test_scene_datetime(name, tags, pattern, expected):
    found = scene_datetime(name, tags=tags, date_pattern=pattern)
    if expected is None:
        assert found is pd.NaT
    else:
        assert found == pd.Timestamp(expected)


def test_date_from_file_name_and_pattern_in_scan(cnn, scene, write_geotiff, tmp_path):
    path = write_geotiff(tmp_path / "port_2019-03-04.tif", np.moveaxis(scene, -1, 0),
                         tags={})
    assert scan_scene(cnn, path, stride=8).datetime is pd.NaT
    result = scan_scene(cnn, path, stride=8,
                        date_pattern=r"(?P<year>\d{4})-(?P<month>\d\d)-(?P<day>\d\d)")
    assert result.datetime == pd.Timestamp("2019-03-04")
    with pytest.raises(ValueError, match="named groups year, month and day.*lacks day"):
        scan_scene(cnn, path, date_pattern=r"(?P<year>\d{4})-(?P<month>\d\d)")


def test_bad_scene_files_name_the_file_and_the_problem(cnn, scene, write_geotiff,
                                                       tmp_path):
    text = tmp_path / "notes.tif"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="Cannot read scene file .*notes.tif: not an image"):
        scan_scene(cnn, text)
    grey = write_geotiff(tmp_path / "grey.tif", scene[None, ..., 0])
    with pytest.raises(ValueError, match=r"grey.tif has 1 band; chips need 3: pass "
                                         r"bands=\(1, 1, 1\)"):
        scan_scene(cnn, grey)
    assert scan_scene(cnn, grey, bands=(1, 1, 1), stride=8).scene_shape == (96, 136, 3)
    # A grey PNG as a grey GeoTIFF; a 16-bit one keeps its values (GDAL reads it).
    png = tmp_path / "grey.png"
    Image.fromarray(scene[..., 0]).save(png)
    with pytest.raises(ValueError, match=r"grey.png has 1 band; chips need 3"):
        scan_scene(cnn, png)
    assert scan_scene(cnn, png, bands=(1, 1, 1), stride=8).count == scan_scene(
        cnn, grey, bands=(1, 1, 1), stride=8).count
    deep = tmp_path / "deep.png"
    Image.fromarray(scene[..., 0].astype(np.uint16) * 200).save(deep)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no rasterio warning about the missing georeference
        with pytest.raises(ValueError, match=r"deep.png has dtype uint16 \(data range "
                                             r"\d+\.\.51000"):
            scan_scene(cnn, deep, bands=(1, 1, 1))
        assert scan_scene(cnn, deep, bands=(1, 1, 1), scale=(0, 51000), stride=8).count == \
            scan_scene(cnn, grey, bands=(1, 1, 1), stride=8).count
    wide = write_geotiff(tmp_path / "wide.tif", analytic(scene))
    with pytest.raises(ValueError, match=r"bands=\(5, 2, 1\) is out of range for scene "
                                         r"file .*wide.tif, which has 4 bands.*got 5"):
        scan_scene(cnn, wide, bands=(5, 2, 1), scale=(0, 1))
    with pytest.raises(ValueError, match=r"wide.tif has dtype uint16 \(data range "
                                         r"\d+..\d+ in a decimated sample\); pass "
                                         r"scale=\(low, high\).*'percentile'"):
        scan_scene(cnn, wide, bands=(3, 2, 1))
    with pytest.raises(ValueError, match="low < high"):
        scan_scene(cnn, wide, bands=(3, 2, 1), scale=(5, 5))
    with pytest.raises(ValueError, match="wide.tif has 4 channels, but the estimator"):
        scan_scene(cnn, wide, scale=(0, 1), bands=(1, 2, 3, 4))
    with pytest.raises(FileNotFoundError, match="missing.tif does not exist"):
        scan_scene(cnn, tmp_path / "missing.tif")


def test_png_is_read_by_pillow_and_has_no_crs(scene, tmp_path):
    from PIL import Image

    Image.fromarray(scene).save(tmp_path / "20170705_180818_1041.png")
    with open_scene(tmp_path / "20170705_180818_1041.png", bands=(3, 2, 1)) as source:
        assert source.crs is None and source.transform is None
        assert source.datetime == pd.Timestamp("2017-07-05 18:08:18")
        pixels, valid = source.read(slice(0, 10), slice(5, 20))
    assert valid is None
    np.testing.assert_array_equal(pixels, scene[:10, 5:20, ::-1])


def test_transparent_png_pixels_are_nodata(cnn, scene, tmp_path):
    from PIL import Image

    alpha = np.full(scene.shape[:2], 255, np.uint8)
    border = 24  # a transparent left border
    alpha[:, :border] = 0
    Image.fromarray(np.dstack([scene, alpha])).save(tmp_path / "border.png")
    Image.fromarray(np.dstack([scene, np.full_like(alpha, 255)])).save(tmp_path / "opaque.png")
    result = scan_scene(cnn, tmp_path / "border.png", stride=4, threshold=0.0)
    # Window column j starts at 4j: skipped when fewer than half its columns are opaque.
    corner = np.arange(result.probabilities.shape[1]) * 4
    mostly_nodata = (WINDOW - np.clip(border - corner, 0, None)) / WINDOW < 0.5
    assert mostly_nodata.sum() == 2
    np.testing.assert_array_equal(np.isnan(result.probabilities).all(axis=0), mostly_nodata)
    assert result.valid_fraction == pytest.approx((136 - border) / 136)
    opaque = scan_scene(cnn, tmp_path / "opaque.png", stride=4)
    assert opaque.valid_fraction == 1.0 and not np.isnan(opaque.probabilities).any()


def test_black_outside_the_footprint_is_nodata_in_a_png_and_an_8_bit_geotiff(
        scene, write_geotiff, tmp_path):
    # A scene cut from a rotated footprint, with no alpha and no nodata value:
    # black corners joined to the border are outside; a black patch inside stays.
    black = scene.copy()
    rows, cols = np.indices(black.shape[:2])
    outside = rows + cols < 40
    black[outside] = 0
    black[60:64, 60:70] = 0
    Image.fromarray(black).save(tmp_path / "cut.png")
    tif = write_geotiff(tmp_path / "cut.tif", np.moveaxis(black, -1, 0), tags={})
    plain = write_geotiff(tmp_path / "plain.tif", np.moveaxis(scene, -1, 0), tags={})
    with open_scene(tmp_path / "cut.png") as png, open_scene(tif) as geotiff:
        whole = (slice(0, 96), slice(0, 136))
        np.testing.assert_array_equal(geotiff.read(*whole)[1], ~outside)
        np.testing.assert_array_equal(png.read(*whole)[1], ~outside)
        np.testing.assert_array_equal(geotiff.read(slice(10, 70), slice(5, 80))[1],
                                      ~outside[10:70, 5:80])
        assert geotiff.valid_overview().mean() == pytest.approx(1 - outside.mean())
    with open_scene(plain) as source:
        assert source.read(*whole)[1] is None and source.valid_overview() is None
    results = [scan_scene(BrightCentre(), path, stride=4) for path in (tmp_path / "cut.png", tif)]
    assert results[0].valid_fraction == results[1].valid_fraction == pytest.approx(
        1 - outside.mean(), abs=0.01)


class CacheWatcher(BrightCentre):
    """BrightCentre that records GDAL's block cache size whenever it is asked."""

    def predict_proba(self, X):
        from rasterio._env import get_gdal_config

        self.seen.add(get_gdal_config("GDAL_CACHEMAX"))
        return super().predict_proba(X)


def test_scans_of_files_bound_gdals_cache_unless_the_user_set_it(ship_scene, write_geotiff,
                                                                 tmp_path, monkeypatch):
    import rasterio
    from rasterio._env import get_gdal_config

    from sklship.scenes.sources import GDAL_CACHE

    monkeypatch.delenv("GDAL_CACHEMAX", raising=False)
    scene, _ = ship_scene
    path = write_geotiff(tmp_path / "ships.tif", np.moveaxis(scene, -1, 0))
    before = get_gdal_config("GDAL_CACHEMAX")
    model = CacheWatcher()
    model.seen = set()
    assert scan_scene(model, path).count == 3
    assert model.seen == {GDAL_CACHE} != {before}
    assert get_gdal_config("GDAL_CACHEMAX") == before
    model.seen = set()
    with rasterio.Env(GDAL_CACHEMAX=64 * 2**20):  # the user's setting wins
        scan_scene(model, path)
    assert model.seen == {64 * 2**20}
    model.seen = set()
    scan_scene(model, scene)  # an array: no GDAL, nothing changed
    assert model.seen == {before}
