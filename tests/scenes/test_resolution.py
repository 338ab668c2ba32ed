"""Ground resolution: scenes at other metres per pixel are resampled to the model's."""

import warnings

import numpy as np
import pytest
from PIL import Image

from sklship import CNNShipClassifier
from sklship.scenes.grid import WindowGrid
from sklship.scenes.resolution import scene_resolution
from sklship.scenes.scan import scan_scene

WINDOW = 16


def at(scene, factor):
    """The scene at 3 m / factor per pixel (factor 2: 1.5 m; 0.5: 6 m), by Pillow."""
    height, width = scene.shape[:2]
    size = (int(width * factor), int(height * factor))
    method = Image.Resampling.BILINEAR if factor > 1 else Image.Resampling.BOX
    return np.asarray(Image.fromarray(scene).resize(size, method))


@pytest.fixture(scope="module")
def tifs(write_geotiff, tmp_path_factory, ship_scene):
    folder = tmp_path_factory.mktemp("resolution")
    scene = ship_scene[0]
    return {res: write_geotiff(folder / f"port_{res}m.tif",
                               np.moveaxis(at(scene, 3 / res), -1, 0), res=res)
            for res in (3, 1.5, 6)}


def test_same_ships_on_the_map_at_3_1_5_and_6_m(tifs, bright_centre, ship_scene):
    SHIPS = ship_scene[1]
    model = bright_centre()
    found = {}
    for res, path in tifs.items():
        result = scan_scene(model, path, stride=2, threshold=0.5, engine="batched")
        assert result.resolution == pytest.approx(res)
        assert result.pixel_scale == pytest.approx(3 / res)
        assert result.scene_shape[:2] == (96 * 3 / res, 128 * 3 / res)
        found[res] = result.detections.sort_values("x").reset_index(drop=True)
        assert len(found[res]) == len(SHIPS), res
        # Detections are in the scene's own pixels: the transform maps them.
        np.testing.assert_allclose(found[res]["x"], 500000 + res * found[res]["col"])
    truth_x = sorted(500000 + 3 * col for _, col in SHIPS)
    for res, table in found.items():
        # Within half a window (8 model pixels = 24 m) of the ships and of 3 m.
        assert np.abs(table["x"] - truth_x).max() <= WINDOW / 2 * 3, res
        assert np.abs(table["y"] - found[3]["y"]).max() <= WINDOW / 2 * 3, res


def test_png_resolution_from_the_option(tmp_path, bright_centre, ship_scene):
    BrightCentre, (scene, SHIPS) = bright_centre, ship_scene
    scene = at(scene, 0.5)  # a 6 m picture without georeference
    path = tmp_path / "port.png"
    Image.fromarray(scene).save(path)
    plain = scan_scene(BrightCentre(), path, stride=2, engine="batched")
    assert plain.pixel_scale == 1 and plain.resolution is None
    result = scan_scene(BrightCentre(), path, stride=2, engine="batched", resolution=6)
    assert result.pixel_scale == pytest.approx(0.5) and result.count == len(SHIPS)
    assert result.probabilities.shape == result.grid.shape
    rows = sorted(result.detections["row"])
    np.testing.assert_allclose(rows, sorted(r / 2 for r, _ in SHIPS), atol=WINDOW / 4)


def test_unknown_model_resolution_warns_when_far_from_3_m(tifs, bright_centre):
    BrightCentre = bright_centre
    with pytest.warns(UserWarning, match="does not say the resolution of its chips"):
        result = scan_scene(BrightCentre(None), tifs[6], stride=2, engine="batched")
    assert result.pixel_scale == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scan_scene(BrightCentre(None), tifs[3], stride=2, engine="batched")


@pytest.mark.parametrize("bad", [0, -3.0])
def test_resolution_must_be_positive(tifs, bad, bright_centre):
    with pytest.raises(ValueError, match="resolution"):
        scan_scene(bright_centre(), tifs[3], resolution=bad)


def test_geographic_crs_in_metres_and_grid_scale():
    from affine import Affine

    # 1e-4 degree at the equator is about 11.1 m both ways.
    res = scene_resolution("EPSG:4326", Affine(1e-4, 0, 0, 0, -1e-4, 0))
    assert res == pytest.approx(11.1, rel=0.01)
    grid = WindowGrid(16, 4, 50, 60, scale=2.0)
    assert grid.to_scene(8.0, 10.0) == (16.0, 20.0)


def test_estimators_record_chip_resolution(tmp_path):
    import joblib

    from sklship.estimators.persistence import load_model, save_model

    X = np.random.default_rng(0).integers(0, 255, (20, 8, 8, 3), dtype=np.uint8)
    y = np.arange(20) % 2
    cnn = CNNShipClassifier(filters=(2,), epochs=1, chip_resolution=5.0,
                            random_state=0).fit(X, y)
    assert CNNShipClassifier().chip_resolution == 3.0
    save_model(cnn, tmp_path / "m.sklship")
    assert load_model(tmp_path / "m.sklship").chip_resolution == 5.0
    joblib.dump(cnn, tmp_path / "m.joblib")
    assert joblib.load(tmp_path / "m.joblib").chip_resolution == 5.0
    # A model pickled before the parameter existed means ShipsNet's 3 m.
    del cnn.__dict__["chip_resolution"]
    assert cnn.chip_resolution == 3.0 and cnn.get_params()["chip_resolution"] == 3.0


@pytest.mark.parametrize("crs, transform, expected", [
    # Web Mercator: 10 map units are 10 x cos(latitude) m; Gdynia is at 54.53 N.
    ("EPSG:3857", (10, 0, 2060000, 0, -10, 7270000), 5.8),
    ("EPSG:3857", (10, 0, 0, 0, -10, 0), 10.0),
    # UTM (scale factor 0.9996 to 1.001 across a zone) keeps its nominal size.
    ("EPSG:32633", (10, 0, 200000, 0, -10, 6000000), 10.0),
    # Degrees: 1e-4 of latitude is 11.06 m at 45 N, 1e-4 of longitude 7.88 m.
    ("EPSG:4326", (1e-4, 0, 10, 0, -1e-4, 45), np.sqrt(11.1 * 7.88)),
    # US survey feet.
    ("EPSG:2227", (10, 0, 6000000, 0, -10, 2000000), 3.048),
])
def test_ground_resolution_for_any_crs(crs, transform, expected):
    from affine import Affine

    res = scene_resolution(crs, Affine(*transform), (2, 2))
    assert res == pytest.approx(expected, rel=0.005)


def test_the_shared_gdynia_scene_reads_5_8_m():
    rasterio = pytest.importorskip("rasterio")
    from pathlib import Path

    path = (Path(__file__).resolve().parents[3] / "shared" / "data" / "sentinel2"
            / "gdynia_2023-06-11.tif")
    if not path.exists():
        pytest.skip(f"shared Sentinel-2 scenes not found at {path.parent}")
    with rasterio.open(path) as dataset:
        res = scene_resolution(dataset.crs, dataset.transform, dataset.shape)
    assert res == pytest.approx(5.81, abs=0.02)


def test_float_four_band_scenes_are_resampled_band_by_band():
    from sklship.scenes.resolution import _pillow_resize

    scene = np.random.default_rng(0).random((40, 60, 4), dtype=np.float32)
    down = _pillow_resize(scene, (20, 30), down=True)
    assert down.dtype == np.float32 and down.shape == (20, 30, 4)
    # Halving is the 2 x 2 mean of every band.
    blocks = scene.reshape(20, 2, 30, 2, 4).mean(axis=(1, 3))
    np.testing.assert_allclose(down, blocks, atol=1e-6)
    up = _pillow_resize(scene, (80, 120), down=False)
    assert up.shape == (80, 120, 4) and up.dtype == np.float32
    assert up.min() >= scene.min() and up.max() <= scene.max()
