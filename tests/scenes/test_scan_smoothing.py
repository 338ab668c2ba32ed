"""scan_scene's default decision rule: the mean over each window's 3x3 grid
neighbourhood, for networks trained with the "shift" augmentation."""

import numpy as np
import pytest

from sklship import CNNShipClassifier, make_ships, recommended_model
from sklship.datasets import make_scene
from sklship.estimators.symmetry import symmetric_view
from sklship.scenes.defaults import default_candidate_threshold, default_smoothing
from sklship.scenes.engines import make_engine
from sklship.scenes.grid import WindowGrid
from sklship.scenes.scan import scan_scene
from sklship.scenes.suppression import neighbourhood_mean, non_max_suppression

# One worker trains the module's shifted_cnn (about 10 s of training) once for every test here.
pytestmark = pytest.mark.xdist_group("scan_smoothing")


def test_smoothing_keeps_blobs_and_drops_lone_windows():
    grid = np.zeros((12, 12))
    grid[2:5, 2:5] = 0.8  # a ship: every window around it fires
    grid[8, 8] = 1.0  # land that fools one window
    grid[8:10, 1] = 0.9  # ... or two: mean 1.8 / 9 = 0.2
    kept = non_max_suppression(grid, window=32, stride=4, smoothing=3)
    assert kept[["row", "col"]].to_numpy().tolist() == [[3 * 4 + 16, 3 * 4 + 16]]
    np.testing.assert_allclose(kept["probability"], 0.8)
    # without smoothing the lone windows are detections
    assert len(non_max_suppression(grid, window=32, stride=4)) == 3
    # the blob's corner windows average 4 of 9 at 0.8 (0.36), the windows
    # around the blob 3 of 9 at most (0.27)
    assert len(non_max_suppression(grid, window=32, stride=4, smoothing=3,
                                   threshold=0.35, min_distance=0)) == 9


def test_smoothing_leaves_out_nan_and_the_outside_of_the_grid():
    grid = np.full((4, 5), 0.65)
    grid[0, 0] = 0.0
    grid[3, 4] = np.nan
    kept = non_max_suppression(grid, window=32, stride=4, smoothing=3, min_distance=0)
    # A corner window averages its 4 windows: (0, 0) gets 1.95 / 4 < 0.5, its
    # neighbour on the edge 3.25 / 6 > 0.5; the NaN window is neither counted
    # in its neighbours' means (they stay 0.65) nor detected.
    assert len(kept) == 4 * 5 - 2
    assert kept["probability"].max() == pytest.approx(0.65)
    assert np.isfinite(kept["probability"]).all()


def test_default_smoothing_needs_the_shift_augmentation_and_a_fine_stride():
    shifted = recommended_model()
    assert "shift" in shifted.augmentation
    assert default_smoothing(shifted, 80, 8) == 3
    assert default_smoothing(shifted, 80, 16) == 1
    assert default_smoothing(CNNShipClassifier(), 80, 8) == 1
    assert default_smoothing(CNNShipClassifier(augmentation=("flip",)), 80, 8) == 1


@pytest.fixture(scope="module")
def shifted_cnn():
    # The recommended model's kind, smaller, on 32-pixel chips, trained with
    # shifts (about 10 s on two cores).
    X, y = make_ships(1200, image_size=32, random_state=3, return_X_y=True)
    cnn = CNNShipClassifier((16, 32, 64), pooling="max", batch_norm=True,
                            global_pool=True, epochs=20, learning_rate=0.003,
                            lr_schedule="cosine",
                            augmentation=("flip", "rot90", "shift"), random_state=0)
    return cnn.fit(X, y)


@pytest.mark.slow
def test_count_is_stable_when_the_scene_shifts_by_a_few_pixels(shifted_cnn):
    # The grid (stride 4 for 32-pixel windows) falls elsewhere on the ships
    # at each crop; the default rule (3x3 mean) must find them all each time.
    # Measured with this model: scene 12, all 8 ships at all 8 shifts;
    # scene 11, 7 ships at 8 shifts and one at none (count 7 throughout);
    # scene 13, 7 at 8 shifts and one at 2 (counts 7 or 8).
    scene, ships = make_scene(256, 320, n_ships=8, chip_size=32, random_state=12)
    counts, found = [], []
    for s in range(8):
        result = scan_scene(shifted_cnn, scene[s:, s:])
        assert result.stride == 4  # default: window / 8, smoothing 3
        counts.append(result.count)
        rows, cols = ships["row"].to_numpy() - s, ships["col"].to_numpy() - s
        det = result.detections
        near = np.hypot(det["row"].to_numpy()[:, None] - rows,
                        det["col"].to_numpy()[:, None] - cols) <= 16
        found.append(int(near.any(axis=0).sum()))
    assert min(found) == len(ships), (counts, found)
    assert max(counts) - min(counts) <= 1, counts


@pytest.mark.parametrize("n_ships, tile_size", [(8, 1024), (8, 100), (0, 1024)])
def test_augmenting_near_candidates_finds_what_augmenting_everywhere_finds(
        shifted_cnn, n_ships, tile_size, monkeypatch):
    """The default scan (symmetries near candidates only) against the full one,
    on a scene with ships and one without, each cropped three ways; small
    tiles put candidate groups across tile borders."""
    monkeypatch.setattr(shifted_cnn, "test_time_augmentation", True)
    model = shifted_cnn
    scene, _ = make_scene(256, 320, n_ships=n_ships, chip_size=32, random_state=12)
    for shift in (0, 3, 6):
        view = scene[shift:, shift:]
        default = scan_scene(model, view, tile_size=tile_size)
        full = scan_scene(model, view, candidate_threshold=0.0, tile_size=tile_size)
        assert default.augmented_fraction < 0.5 and full.augmented_fraction == 1.0
        assert len(default.detections) == len(full.detections) >= min(n_ships, 7)
        np.testing.assert_array_equal(default.detections[["row", "col"]],
                                      full.detections[["row", "col"]])
        np.testing.assert_allclose(default.detections["probability"],
                                   full.detections["probability"], rtol=0, atol=1e-5)
        # Not only the detections: every smoothed value the decision can
        # keep (here from 0.4) is the full scan's.
        smoothed = [neighbourhood_mean(r.probabilities, 3) for r in (default, full)]
        high = smoothed[1] >= 0.4
        np.testing.assert_allclose(smoothed[0][high], smoothed[1][high], rtol=0, atol=1e-5)


def test_refine_batches_boxes_of_any_shape_exactly(shifted_cnn, monkeypatch):
    # Boxes of several shapes (square, wide, tall, a single window) are run
    # in batches of the same shape with their flips and rotations made in the
    # graph: each box gets the average of its 8 symmetric passes as a tile.
    monkeypatch.setattr(shifted_cnn, "test_time_augmentation", True)
    engine = make_engine(shifted_cnn, 32, 4, candidates=(0.15, 3))
    scene, _ = make_scene(128, 160, n_ships=4, chip_size=32, random_state=5)
    grid = WindowGrid(32, 4, *scene.shape[:2])
    probabilities = engine(scene)
    boxes = [next(grid.tiles(10**6, within=(slice(i, i + h), slice(j, j + w))))
             for i, j, h, w in [(0, 0, 4, 4), (5, 2, 4, 4), (10, 3, 3, 6),
                                (2, 20, 6, 3), (20, 25, 1, 1)]]
    expected = [_symmetric_mean(engine, scene[rows, cols]) for _, _, rows, cols in boxes]
    refined = engine.refine(probabilities, boxes, lambda rows, cols: scene[rows, cols])
    for (grid_rows, grid_cols, _, _), want in zip(boxes, expected, strict=True):
        np.testing.assert_allclose(probabilities[grid_rows, grid_cols], want,
                                   rtol=0, atol=1e-6)
    # The engine says what it refined and keeps no count of it.
    assert refined.sum() == 16 + 16 + 18 + 18 + 1
    assert set(vars(engine)) == {"run", "window", "stride", "symmetric", "candidates"}


def _symmetric_mean(engine, tile):
    """The 8 symmetric passes over ``tile``, one at a time, mapped back in NumPy."""
    total = 0
    for transpose in (False, True):
        for flip_rows in (False, True):
            for flip_cols in (False, True):
                view = symmetric_view(tile, transpose, flip_rows, flip_cols)
                grid = engine._grid(np.ascontiguousarray(view))
                grid = grid[:, ::-1] if flip_cols else grid
                grid = grid[::-1] if flip_rows else grid
                total = total + (grid.T if transpose else grid)
    return total / 8


@pytest.mark.parametrize("smoothing, threshold, expected", [
    (3, 0.5, 0.15), (3, 0.7, 0.35), (3, 0.3, 0.0), (1, 0.5, 0.01)])
def test_candidate_threshold_follows_the_decision_threshold(smoothing, threshold,
                                                            expected):
    # The single pass's smoothed value fell at most 0.19 below a symmetric
    # one that reached the threshold: candidates start 0.35 below it (every
    # window below a threshold of 0.35); unsmoothed windows vary more.
    assert default_candidate_threshold(smoothing, threshold) == pytest.approx(expected)
