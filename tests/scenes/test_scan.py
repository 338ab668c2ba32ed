"""Scene scanning: both engines equal per-window predict_proba, detection quality."""

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sklship import CNNShipClassifier, make_baseline, make_ships, recommended_model
from sklship.datasets import make_scene
from sklship.scenes.scan import ScanResult, non_max_suppression, scan_scene

WINDOW = 32
# One worker trains the module's book_cnn once for every test here.
pytestmark = pytest.mark.xdist_group("scan")


@pytest.fixture(scope="module")
def chips():
    return make_ships(600, image_size=WINDOW, random_state=3, return_X_y=True)


@pytest.fixture(scope="module")
def book_cnn(chips):
    # The book's architecture on 32-pixel chips, trained well enough to find ships.
    return CNNShipClassifier(epochs=15, random_state=0).fit(*chips)


@pytest.fixture(scope="module")
def scene():
    return make_scene(96, 136, n_ships=2, chip_size=WINDOW, random_state=5)[0]


def per_window_probabilities(estimator, scene, window, stride):
    """The reference: predict_proba on every window, cut out one by one."""
    rows = (scene.shape[0] - window) // stride + 1
    cols = (scene.shape[1] - window) // stride + 1
    windows = np.stack([scene[i * stride:i * stride + window, j * stride:j * stride + window]
                        for i in range(rows) for j in range(cols)])
    return estimator.predict_proba(windows)[:, 1].reshape(rows, cols)


ARCHITECTURES = {
    "book": {},
    "pooling_batch_norm": {"pooling": "max", "batch_norm": True},
    "avg_pool_global_dense_dropout": {"pooling": "avg", "global_pool": True,
                                      "dense_units": (6,), "dropout": 0.2,
                                      "augmentation": ("flip",)},
    # the recommended model's kind: strided first convolution, test-time
    # augmentation (8 flips and rotations averaged)
    "stride_tta": {"first_stride": 2, "pooling": "max", "batch_norm": True,
                   "global_pool": True, "test_time_augmentation": True},
}


# stride_tta takes 14 s of CPU (the others 3 to 4 s): slow.
@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.slow)
                                  if name == "stride_tta" else name
                                  for name in ARCHITECTURES])
def test_both_engines_equal_per_window_predict_proba(name, book_cnn, chips, scene):
    if name == "book":
        cnn = book_cnn
    else:
        X, y = chips
        cnn = CNNShipClassifier(epochs=2, random_state=0, **ARCHITECTURES[name])
        cnn.fit(X[:300], y[:300])
    # stride_tta down-samples by 8: stride 4 needs the a trous form
    for stride in (4, 6):
        expected = per_window_probabilities(cnn, scene, WINDOW, stride)
        shared = scan_scene(cnn, scene, stride=stride, engine="shared")
        batched = scan_scene(cnn, scene, stride=stride, engine="batched", batch_size=50)
        assert shared.engine == "shared" and batched.engine == "batched"
        assert shared.probabilities.shape == expected.shape == (64 // stride + 1,
                                                               104 // stride + 1)
        assert np.abs(shared.probabilities - expected).max() <= 1e-4
        assert np.abs(batched.probabilities - expected).max() <= 1e-4
        assert scan_scene(cnn, scene, stride=stride).engine == "shared"  # auto


@pytest.fixture(scope="module")
def chips80():
    return make_ships(96, random_state=0, return_X_y=True)


@pytest.mark.parametrize("name", ["book", pytest.param("recommended", marks=pytest.mark.slow)])
def test_shared_engine_is_exact_at_any_stride_on_80_pixel_chips(name, chips80):
    # The recommended model down-samples by 16 and averages 8 flips and
    # rotations: strides 4, 8 and 10 run its later layers a trous.
    model = (CNNShipClassifier(epochs=1, random_state=0) if name == "book"
             else recommended_model(random_state=0).set_params(epochs=1))
    model.fit(*chips80)
    scene, _ = make_scene(136, 176, n_ships=1, random_state=0)
    for stride in (4, 8, 10, 16):
        expected = per_window_probabilities(model, scene, 80, stride)
        shared = scan_scene(model, scene, stride=stride, engine="shared", tile_size=120)
        assert shared.probabilities.shape == expected.shape, stride
        assert np.abs(shared.probabilities - expected).max() <= 1e-4, stride


def test_auto_falls_back_to_batches_for_models_without_a_keras_network(chips, scene):
    X, y = chips
    baseline = make_baseline().fit(X[:200], y[:200])
    with pytest.raises(ValueError, match="not exact for this estimator.*no fitted Keras"):
        scan_scene(baseline, scene, window=WINDOW, stride=6, engine="shared")
    result = scan_scene(baseline, scene, window=WINDOW, stride=6)
    assert result.engine == "batched"
    expected = per_window_probabilities(baseline, scene, WINDOW, 6)
    assert np.abs(result.probabilities - expected).max() <= 1e-4


@pytest.mark.parametrize("engine", ["shared", "batched"])
def test_tiles_give_the_same_grid_as_one_tile(book_cnn, engine):
    scene, _ = make_scene(150, 210, n_ships=3, chip_size=WINDOW, random_state=1)
    whole = scan_scene(book_cnn, scene, stride=4, engine=engine, tile_size=1000)
    tiled = scan_scene(book_cnn, scene, stride=4, engine=engine, tile_size=50)
    assert tiled.probabilities.shape == whole.probabilities.shape == (30, 45)
    np.testing.assert_allclose(tiled.probabilities, whole.probabilities, atol=1e-6)
    pd.testing.assert_frame_equal(tiled.detections, whole.detections, atol=1e-6)


def matches(detections, ships, window):
    """Greedy one-to-one matching within half a window: (found ships, true detections)."""
    found, used = 0, set()
    for row, col in ships[["row", "col"]].to_numpy():
        distance = np.array(np.hypot(detections["row"] - row, detections["col"] - col))
        distance[list(used)] = np.inf
        best = int(np.argmin(distance)) if len(distance) else None
        if best is not None and distance[best] <= window / 2:
            found += 1
            used.add(best)
    return found, len(used)


def test_recall_and_precision_on_a_synthetic_scene(book_cnn):
    # 24 ships and 12 hazy bright distractors in a 512 x 640 scene. Measured on
    # scenes 7, 8, 9: recall 1.0, 1.0, 0.92; precision 0.89, 0.92, 0.96 (27, 26,
    # 23 detections). A detector trained for 2 epochs instead finds no ship.
    scene, ships = make_scene(512, 640, n_ships=24, n_distractors=12,
                              chip_size=WINDOW, random_state=7)
    result = scan_scene(book_cnn, scene, stride=4)
    found, true_detections = matches(result.detections, ships, WINDOW)
    recall, precision = found / len(ships), true_detections / max(result.count, 1)
    assert recall >= 0.85, (recall, precision)
    assert precision >= 0.8, (recall, precision)
    assert abs(result.count - len(ships)) <= 5


def test_result_and_detections(book_cnn):
    scene, ships = make_scene(128, 160, n_ships=2, chip_size=WINDOW, random_state=0)
    result = scan_scene(book_cnn, scene, stride=8, threshold=0.3)
    assert isinstance(result, ScanResult)
    assert list(result.detections.columns) == ["row", "col", "probability"]
    assert result.count == len(result.detections)
    assert (result.detections["probability"] >= 0.3).all()
    assert result.detections["probability"].is_monotonic_decreasing
    assert result.window == WINDOW and result.stride == 8
    assert "count=" in repr(result)


def test_non_max_suppression_merges_neighbours():
    grid = np.zeros((10, 12))
    grid[2, 2], grid[2, 3], grid[3, 2] = 0.9, 0.8, 0.7  # one ship seen by 3 windows
    grid[8, 10] = 0.6  # another, far away
    grid[5, 5] = 0.4  # below the threshold
    detections = non_max_suppression(grid, window=32, stride=4, threshold=0.5)
    assert detections.to_dict("list") == {
        "row": [2 * 4 + 16, 8 * 4 + 16], "col": [2 * 4 + 16, 10 * 4 + 16],
        "probability": [0.9, 0.6],
    }
    # A radius smaller than the stride suppresses nothing by distance; the three
    # windows of the first ship still form one ridge above the threshold.
    assert len(non_max_suppression(grid, window=32, stride=4, min_distance=3)) == 2


@pytest.mark.parametrize("gap, between, count", [
    (12, 0.6, 1),  # 48 px apart (beyond min_distance 24), joined above 0.5: one hull
    (12, 0.3, 2),  # the same with water between: two ships
    (16, 0.6, 2),  # 64 px apart, beyond 1.75 windows (56 px): two
])
def test_a_hull_longer_than_the_window_is_counted_once(gap, between, count):
    grid = np.zeros((10, 30))
    grid[5, 2:3 + gap] = between
    grid[5, 2], grid[5, 2 + gap] = 0.9, 0.8
    kept = non_max_suppression(grid, window=32, stride=4, threshold=0.5)
    assert len(kept) == count
    assert kept["col"].iloc[0] == 2 * 4 + 16


@pytest.mark.parametrize("between, saddle, count", [
    (0.6, 0.0, 1),  # ships end to end: their ridge above 0.5 merges them
    (0.6, 0.95, 2),  # ... unless it dips below 0.95 x 0.8 = 0.76 between them
    (0.78, 0.95, 1),  # a hull: the windows along it stay near its peaks
    (0.78, 1.0, 2),  # a saddle of 1 keeps only flat ridges together
])
def test_a_ridge_that_dips_to_a_saddle_keeps_two_ships(between, saddle, count):
    grid = np.zeros((10, 30))
    grid[5, 2:15] = between
    grid[5, 2], grid[5, 14] = 0.9, 0.8
    kept = non_max_suppression(grid, window=32, stride=4, threshold=0.5, saddle=saddle)
    assert len(kept) == count
    assert kept["probability"].tolist() == [0.9, 0.8][:count]


def test_lone_windows_are_dropped_with_min_neighbors():
    grid = np.zeros((10, 12))
    grid[2, 2], grid[2, 3], grid[3, 3] = 0.9, 0.8, 0.7  # seen by 3 neighbours
    grid[8, 10] = 0.95  # a lone window: no neighbour reaches the threshold
    grid[7, 10] = 0.45
    kept = non_max_suppression(grid, window=32, stride=4, min_neighbors=1)
    assert kept[["row", "col"]].to_numpy().tolist() == [[2 * 4 + 16, 2 * 4 + 16]]
    # each of the three has two neighbours above 0.5, none has three
    assert len(non_max_suppression(grid, window=32, stride=4, min_neighbors=2)) == 1
    assert len(non_max_suppression(grid, window=32, stride=4, min_neighbors=3)) == 0
    assert len(non_max_suppression(grid, window=32, stride=4, min_neighbors=0)) == 2
    with_nan = grid.copy()
    with_nan[2, 3] = np.nan  # nodata windows support nothing
    assert non_max_suppression(with_nan, window=32, stride=4,
                               min_neighbors=2).empty


def test_image_path_gives_the_same_result_as_the_array(book_cnn, scene, tmp_path):
    path = tmp_path / "scene.png"
    Image.fromarray(scene).save(path)
    from_path = scan_scene(book_cnn, str(path), stride=4)
    from_array = scan_scene(book_cnn, scene, stride=4)
    np.testing.assert_array_equal(from_path.probabilities, from_array.probabilities)
    assert scan_scene(book_cnn, path, stride=4).count == from_array.count


def test_bad_input_errors(book_cnn, scene, tmp_path):
    with pytest.raises(ValueError, match="smaller than the 32x32 window"):
        scan_scene(book_cnn, scene[:20])
    with pytest.raises(ValueError, match="4 channels.*fitted on chips with 3"):
        scan_scene(book_cnn, np.zeros((64, 64, 4), np.uint8))
    with pytest.raises(ValueError, match=r"height, width, channels.*shape \(64, 64\)"):
        scan_scene(book_cnn, np.zeros((64, 64), np.uint8))
    with pytest.raises(ValueError, match=r"'stride' parameter of scan_scene must be an "
                       r"int in the range \[1, inf\) or None. Got 0"):
        scan_scene(book_cnn, scene, stride=0)
    with pytest.raises(TypeError, match="'stride' parameter of scan_scene must be an int"):
        scan_scene(book_cnn, scene, stride=2.5)
    with pytest.raises(ValueError, match="window=80 does not match.*32x32"):
        scan_scene(book_cnn, scene, window=80)
    with pytest.raises(ValueError, match=r"'threshold' parameter of scan_scene must be a "
                       r"float in the range \[0.0, 1.0\]"):
        scan_scene(book_cnn, scene, threshold=1.5)
    with pytest.raises(ValueError, match="'engine' parameter of scan_scene must be a str among"):
        scan_scene(book_cnn, scene, engine="fast")
    with pytest.raises(ValueError, match="dtype float64.*fitted on uint8"):
        scan_scene(book_cnn, scene / 255.0)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        scan_scene(book_cnn, tmp_path / "missing.png")


def test_make_scene():
    scene, ships = make_scene(200, 300, n_ships=6, n_distractors=3, chip_size=WINDOW,
                              random_state=0)
    assert scene.shape == (200, 300, 3) and scene.dtype == np.uint8
    assert list(ships.columns) == ["row", "col"] and len(ships) == 6
    again, ships_again = make_scene(200, 300, n_ships=6, n_distractors=3,
                                    chip_size=WINDOW, random_state=0)
    np.testing.assert_array_equal(scene, again)
    pd.testing.assert_frame_equal(ships, ships_again)
    # Ships are bright hulls centred where make_scene says, far apart.
    rows, cols = ships["row"].astype(int), ships["col"].astype(int)
    assert (scene[rows, cols].mean(axis=1) > np.median(scene.mean(axis=2)) + 20).all()
    gaps = np.hypot(*(ships.to_numpy()[:, None] - ships.to_numpy()[None]).T)
    assert gaps[~np.eye(6, dtype=bool)].min() > WINDOW * 0.7
    with pytest.raises(ValueError, match="cannot place"):
        make_scene(64, 64, n_ships=5, chip_size=WINDOW)


def test_make_scene_with_real_chips():
    X, y = make_ships(40, image_size=24, random_state=0, return_X_y=True)
    scene, ships = make_scene(100, 120, n_ships=3, chips=X[y == 1], random_state=0)
    assert scene.shape == (100, 120, 3)
    assert ((ships.to_numpy() - 12) % 1 == 0).all()  # chip centres
    with pytest.raises(ValueError, match="chips must be square RGB"):
        make_scene(100, 120, chips=X[:, :, :20])


def test_scan_display_png(book_cnn, tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from sklship.scenes.display import ScanDisplay

    scene, ships = make_scene(128, 192, n_ships=3, chip_size=WINDOW, random_state=2)
    result = scan_scene(book_cnn, scene, stride=4)
    display = ScanDisplay.from_result(result, scene, true_positions=ships)
    assert len(display.boxes_) == result.count
    assert f"{result.count} ship" in display.ax_.get_title()
    assert display.ax_.get_xlabel() == "column (pixels)"
    path = display.savefig(tmp_path / "scan.png")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 400
    matplotlib.pyplot.close(display.figure_)
    # Reflectance a little below 0 and above 1 is drawn clipped, without a warning.
    reflectance = scene.astype(np.float32) / 200 - 0.05
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        display = ScanDisplay.from_result(result, reflectance)
    assert display.image_.get_array().min() == 0 and display.image_.get_array().max() == 1
    matplotlib.pyplot.close(display.figure_)


def test_scan_settings_are_checked_once_with_the_scan_constraints():
    from sklship.scenes import ScanSettings

    settings = ScanSettings(stride=8, bands=[3, 2, 1], scale="percentile")
    assert settings.scan_params()["bands"] == (3, 2, 1)
    with pytest.raises(ValueError, match="'stride' parameter of ScanSettings"):
        ScanSettings(stride=0)
    with pytest.raises(ValueError, match="'engine' parameter of ScanSettings"):
        ScanSettings(engine="fast")


@pytest.fixture
def moored_pair(tmp_path, write_geotiff):
    """Two hulls 22 px apart joined by a thin quay, as a 1.5 m GeoTIFF of a 3 m scene."""
    scene = np.full((64, 80, 3), 30, dtype=np.uint8)
    for col in (30, 52):
        scene[30:34, col - 4:col + 4] = 220
    scene[32, 34:48] = 220  # quay windows: 8 of 64 centre pixels bright, p 0.31
    fine = np.kron(scene, np.ones((2, 2, 1), np.uint8))
    return write_geotiff(tmp_path / "pair.tif", np.moveaxis(fine, -1, 0), res=1.5)


def test_at_threshold_gives_what_a_scan_at_that_threshold_finds(bright_centre, moored_pair):
    model = bright_centre()
    low = scan_scene(model, moored_pair, threshold=0.1)
    assert low.count == 1  # at 0.1 the quay joins the two hulls into one
    high = scan_scene(model, moored_pair, threshold=0.6)
    assert high.count == 2
    again = low.at_threshold(0.6)
    assert (again.threshold, again.count, again.counts["count"].tolist()) == (0.6, 2, [2])
    pd.testing.assert_frame_equal(again.detections, high.detections)
    np.testing.assert_array_equal(again.probabilities, low.probabilities)
    with pytest.raises(ValueError, match="below the scan's 0.6"):
        high.at_threshold(0.5)
    with pytest.raises(ValueError, match="areas of interest"):
        replace(low, areas={}).at_threshold(0.6)


def test_a_saddle_keeps_moored_ships_apart_and_the_model_can_record_it(bright_centre,
                                                                       moored_pair):
    from sklship.scenes.defaults import record_read_options

    model = bright_centre()
    low = scan_scene(model, moored_pair, threshold=0.1, saddle=0.95)
    assert low.count == 2 and low.suppression["saddle"] == 0.95
    # at_threshold suppresses again with the scan's saddle
    assert low.at_threshold(0.2).count == 2
    assert scan_scene(model, moored_pair, threshold=0.1).suppression["saddle"] == 0.0
    # A model that records its saddle scans with it; one given wins.
    record_read_options(model, {"saddle": 0.95})
    assert scan_scene(model, moored_pair, threshold=0.1).count == 2
    assert scan_scene(model, moored_pair, threshold=0.1, saddle=0).count == 1
    with pytest.raises(ValueError, match="'saddle' parameter"):
        scan_scene(model, moored_pair, saddle=1.5)


def test_classes_with_the_ship_first_are_refused(bright_centre, ship_scene):
    # scikit-learn sorts string labels: "ship" before "water" makes "water"
    # classes_[1], the class a scan counts.
    model = bright_centre()
    model.classes_ = np.array(["ship", "water"])
    with pytest.raises(ValueError, match=r"classes are \['ship', 'water'\]: scan_scene "
                                         r"counts the second, 'water', as ships"):
        scan_scene(model, ship_scene[0], stride=4)
    model.classes_ = np.array(["no ship", "ship"])
    assert scan_scene(model, ship_scene[0], stride=4).count == 3


def test_the_window_must_fit_the_scene_at_the_models_pixels(book_cnn, scene, tmp_path,
                                                             write_geotiff):
    # 24 x 40 pixels of 10 m are 80 x 133 of the model's 3 m: enough for its
    # 32-px window, though the file is smaller than the window.
    assert book_cnn.chip_resolution == 3.0
    coarse = write_geotiff(tmp_path / "coarse.tif",
                           np.moveaxis(scene[:24, :40], -1, 0), res=10)
    assert scan_scene(book_cnn, coarse, stride=8).probabilities.shape == (7, 13)
    # 40 x 40 pixels of 1 m are 13 x 13 of 3 m.
    fine = write_geotiff(tmp_path / "fine.tif", np.moveaxis(scene[:40, :40], -1, 0), res=1)
    with pytest.raises(ValueError, match=r"fine.tif of 40x40 pixels \(13x13 at the "
                       r"model's pixels\) is smaller than the 32x32 window"):
        scan_scene(book_cnn, fine, stride=8)
