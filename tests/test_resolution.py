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
# Ships (rows, cols of their centres, in 3 m pixels) on a 96 x 128 scene.
SHIPS = [(24, 30), (60, 90), (72, 40)]


class BrightCentre:
    """A stand-in chip model: the share of bright pixels in the window's centre.

    Deterministic, so the test is about geometry, not about training.
    """

    classes_ = np.array([0, 1])
    input_shape_ = (WINDOW, WINDOW, 3)
    X_dtype_ = np.dtype(np.uint8)

    def __init__(self, chip_resolution=3.0):
        self.chip_resolution = chip_resolution

    def predict_proba(self, X):
        centre = X[:, 4:12, 4:12, 0] > 128
        p = np.clip(centre.mean(axis=(1, 2)) * 2.5, 0, 1)
        return np.column_stack([1 - p, p])


def scene_3m():
    scene = np.full((96, 128, 3), 30, dtype=np.uint8)
    for row, col in SHIPS:  # hulls 4 x 8 pixels (12 x 24 m)
        scene[row - 2:row + 2, col - 4:col + 4] = 220
    return scene


def at(scene, factor):
    """The scene at 3 m / factor per pixel (factor 2: 1.5 m; 0.5: 6 m), by Pillow."""
    height, width = scene.shape[:2]
    size = (int(width * factor), int(height * factor))
    method = Image.Resampling.BILINEAR if factor > 1 else Image.Resampling.BOX
    return np.asarray(Image.fromarray(scene).resize(size, method))


@pytest.fixture(scope="module")
def tifs(write_geotiff, tmp_path_factory):
    folder = tmp_path_factory.mktemp("resolution")
    scene = scene_3m()
    return {res: write_geotiff(folder / f"port_{res}m.tif",
                               np.moveaxis(at(scene, 3 / res), -1, 0), res=res)
            for res in (3, 1.5, 6)}


def test_same_ships_on_the_map_at_3_1_5_and_6_m(tifs):
    model = BrightCentre()
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


def test_png_resolution_from_the_option(tmp_path):
    scene = at(scene_3m(), 0.5)  # a 6 m picture without georeference
    path = tmp_path / "port.png"
    Image.fromarray(scene).save(path)
    plain = scan_scene(BrightCentre(), path, stride=2, engine="batched")
    assert plain.pixel_scale == 1 and plain.resolution is None
    result = scan_scene(BrightCentre(), path, stride=2, engine="batched", resolution=6)
    assert result.pixel_scale == pytest.approx(0.5) and result.count == len(SHIPS)
    assert result.probabilities.shape == result.grid.shape
    rows = sorted(result.detections["row"])
    np.testing.assert_allclose(rows, sorted(r / 2 for r, _ in SHIPS), atol=WINDOW / 4)


def test_unknown_model_resolution_warns_when_far_from_3_m(tifs):
    with pytest.warns(UserWarning, match="does not say the resolution of its chips"):
        result = scan_scene(BrightCentre(None), tifs[6], stride=2, engine="batched")
    assert result.pixel_scale == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scan_scene(BrightCentre(None), tifs[3], stride=2, engine="batched")


@pytest.mark.parametrize("bad", [0, -3.0])
def test_resolution_must_be_positive(tifs, bad):
    with pytest.raises(ValueError, match="resolution"):
        scan_scene(BrightCentre(), tifs[3], resolution=bad)


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
