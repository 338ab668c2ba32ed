"""The window grid: one pixel convention that scanning, suppression, mining,
displays and GeoJSON all follow."""

import json

import numpy as np
import pytest

from sklship.scenes.grid import WindowGrid

WINDOW, STRIDE = 16, 4


class BrightnessClassifier:
    """A stand-in chip classifier: P(ship) is the mean red of the window.

    No network, so a scan runs the batched engine on exactly the windows of
    the grid, and the most probable window is known in advance.
    """

    classes_ = np.array([0, 1])
    input_shape_ = (WINDOW, WINDOW, 3)
    X_dtype_ = np.dtype(np.uint8)

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        red = np.asarray(X, dtype=float)[..., 0].mean(axis=(1, 2)) / 255
        return np.column_stack([1 - red, red])


@pytest.fixture
def bright_scene():
    """A 64 x 80 scene, dark but for a bright square filling window (3, 5).

    Dark, not black: black joined to the border is outside a scene's footprint.
    """
    scene = np.full((64, 80, 3), 20, dtype=np.uint8)
    scene[3 * STRIDE:3 * STRIDE + WINDOW, 5 * STRIDE:5 * STRIDE + WINDOW, 0] = 255
    return scene


def test_grid_maps_indices_corners_and_centres_both_ways():
    grid = WindowGrid(window=WINDOW, stride=STRIDE, height=64, width=80)
    assert grid.shape == (13, 17)
    assert grid.top_left(3, 5) == (12, 20)
    assert grid.centre(3, 5) == (20.0, 28.0)
    assert grid.nearest(20.0, 28.0) == (3, 5)
    assert grid.nearest(21.9, 29.9) == (3, 5) and grid.nearest(-50, 1000) == (0, 16)
    rows, cols = grid.centre(np.arange(13), np.zeros(13, dtype=int))
    np.testing.assert_array_equal(grid.nearest(rows, cols)[0], np.arange(13))
    assert grid.window_pixels(3, 5) == (slice(12, 28), slice(20, 36))
    assert grid.steps(9.0) == 2
    odd = WindowGrid(window=5, stride=2, height=9, width=9)
    assert odd.centre(0, 0) == (2.5, 2.5)  # the middle of pixel (2, 2)


def test_tiles_cover_every_window_once_with_its_pixels():
    grid = WindowGrid(window=WINDOW, stride=STRIDE, height=101, width=77)
    seen = np.zeros(grid.shape, dtype=int)
    for grid_rows, grid_cols, rows, cols in grid.tiles(tile_size=40):
        seen[grid_rows, grid_cols] += 1
        top, left = grid.top_left(grid_rows.stop - 1, grid_cols.stop - 1)
        assert rows.start == grid_rows.start * STRIDE and rows.stop == top + WINDOW
        assert cols.start == grid_cols.start * STRIDE and cols.stop == left + WINDOW
    np.testing.assert_array_equal(seen, 1)


def test_window_means_equal_the_mean_of_each_window():
    mask = np.random.default_rng(0).random((40, 52)) > 0.5
    grid = WindowGrid(window=WINDOW, stride=STRIDE, height=40, width=52)
    expected = [[mask[grid.window_pixels(i, j)].mean() for j in range(grid.shape[1])]
                for i in range(grid.shape[0])]
    np.testing.assert_allclose(grid.window_means(mask), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("field, value", [("window", 0), ("stride", 2.5), ("height", 8)])
def test_bad_grids_name_the_problem(field, value):
    settings = {"window": WINDOW, "stride": STRIDE, "height": 64, "width": 80, field: value}
    with pytest.raises(ValueError, match=field if field != "height" else "smaller"):
        WindowGrid(**settings)


def test_suppression_display_mining_and_geojson_agree_on_positions(
        bright_scene, tmp_path, write_geotiff):
    import matplotlib

    matplotlib.use("Agg")
    from pyproj import Transformer

    from sklship.evaluation.mining import mine_hard_negatives
    from sklship.scenes.display import ScanDisplay
    from sklship.scenes.export import detections_geojson
    from sklship.scenes.scan import scan_scene

    path = write_geotiff(tmp_path / "bright.tif", np.moveaxis(bright_scene, -1, 0))
    classifier = BrightnessClassifier()
    result = scan_scene(classifier, path, stride=STRIDE, min_neighbors=0)
    grid = result.grid
    peak = np.unravel_index(np.nanargmax(result.probabilities), grid.shape)
    assert peak == (3, 5) and result.engine == "batched"
    row, col = grid.centre(*peak)

    # Suppression: the detection sits at the centre of its window.
    top = result.detections.iloc[0]
    assert abs(top["row"] - row) <= 1e-9 and abs(top["col"] - col) <= 1e-9
    # Map: the scene's transform (3 m pixels from 500000, 3700000) at (col, row).
    assert abs(top["x"] - (500000 + 3 * col)) <= 1e-9
    assert abs(top["y"] - (3700000 - 3 * row)) <= 1e-9
    lon, lat = Transformer.from_crs("EPSG:32611", "EPSG:4326", always_xy=True).transform(
        500000 + 3 * col, 3700000 - 3 * row)
    assert abs(top["lon"] - lon) <= 1e-9 and abs(top["lat"] - lat) <= 1e-9
    # GeoJSON: the same point, written to 1e-8 degree.
    point = json.loads(detections_geojson(result.detections))["features"][0]
    np.testing.assert_allclose(point["geometry"]["coordinates"], [lon, lat],
                               rtol=0, atol=5e-9)
    # Display: the box drawn around the detection is its window.
    display = ScanDisplay.from_result(result, bright_scene)
    box = display.boxes_[0]
    assert abs(box.get_x() + box.get_width() / 2 - col) <= 1e-9
    assert abs(box.get_y() + box.get_height() / 2 - row) <= 1e-9
    assert box.get_x() == grid.top_left(*peak)[1]
    # Mining: the mined chip is that window's pixels, at the same centre.
    mined = mine_hard_negatives(classifier, bright_scene, np.empty((0, 2)),
                                threshold=0.9, stride=STRIDE)
    assert abs(mined.row[0] - row) <= 1e-9 and abs(mined.col[0] - col) <= 1e-9
    np.testing.assert_array_equal(mined.images[0], bright_scene[grid.window_pixels(*peak)])
