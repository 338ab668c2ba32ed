"""load_marked_scenes: training chips from scenes with marked ships."""

import json

import numpy as np
import pytest
from PIL import Image

from sklship.datasets import load_marked_scenes
from sklship.datasets.marked_scenes import clear_of_marks

WINDOW = 16


def scene_with(hulls, shape=(96, 128), channels=3, dtype=np.uint8, value=255):
    """Dark water with bright rectangles ``hulls`` = [(row0, col0, row1, col1), ...]."""
    scene = np.full((*shape, channels), 10, dtype=dtype)
    for r0, c0, r1, c1 in hulls:
        scene[r0:r1, c0:c1] = value
    return scene


# Hulls: a big ship (4 x 8 px, centre col 24, row 32), a small one, and a long one.
BIG, SMALL, LONG = (30, 20, 34, 28), (70, 100, 72, 102), (80, 30, 84, 70)
SCENE = scene_with([BIG, SMALL, LONG])
TRUTH = {"port.png": {"big": [[24, 32], [50, 82]], "small": [[101, 71]],
                      "boxes": [[20, 30, 28, 34], [101, 71, 101.5, 71.5],
                                [30, 80, 70, 84]]}}


def load(truth=TRUTH, scene=SCENE, **params):
    params = {"window": WINDOW, "read": lambda path: scene, "negatives_per_scene": 30,
              "random_state": 0, **params}
    return load_marked_scenes(truth, **params)


def test_positives_are_the_marked_ships_shifted_and_turned():
    data = load(positives_per_ship=8, shift=2)
    ships = data.kind == "ship"
    assert ships.sum() == 16 and data.target[ships].all()
    assert data.images.shape[1:] == (WINDOW, WINDOW, 3)
    assert data.images.dtype == np.uint8
    first = data.images[ships][:8]
    # The whole 4 x 8 hull is in each chip, whatever the shift and turn.
    np.testing.assert_array_equal((first[..., 0] == 255).sum(axis=(1, 2)), 32)
    assert np.abs(data.row[ships][:8] - 32).max() <= 2
    assert np.abs(data.col[ships][:8] - 24).max() <= 2
    # Without shifts, the 8 chips of a ship are its 8 flips and quarter turns
    # (a grey bow makes the hull asymmetric).
    bowed = SCENE.copy()
    bowed[30, 27] = 128
    turned = load(scene=bowed, positives_per_ship=8, shift=0).images[:8]
    assert len({chip.tobytes() for chip in turned}) == 8
    np.testing.assert_array_equal(data.sample_weight[ships], 1.0)
    assert set(data.groups) == {"port.png"}


def test_a_ship_longer_than_the_window_is_cropped_whole():
    data = load(positives_per_ship=4)
    long = data.kind == "long ship"
    assert long.sum() == 4 and data.target[long].all()
    # 40 px long, cropped with 10 % margins to 48 px and resized to 16: the
    # hull covers 40 / 3 = 13.3 chip pixels, touching 14.
    bright = data.images[long][..., 0] > 64
    lengths = np.maximum(bright.any(axis=1).sum(axis=1), bright.any(axis=2).sum(axis=1))
    np.testing.assert_array_equal(lengths, 14)
    np.testing.assert_allclose(data.row[long], 82)
    np.testing.assert_allclose(data.col[long], 50)


def test_background_stays_clear_of_every_mark_with_its_weight():
    data = load(negatives_per_scene=40, clearance=3, background_weight=0.25)
    background = data.kind == "background"
    assert background.sum() == 40 and not data.target[background].any()
    np.testing.assert_array_equal(data.sample_weight[background], 0.25)
    # No ship, small ones included, shows in any background window.
    assert data.images[background].max() == 10
    marks = np.array([[32, 24], [71, 101], [82, 50]])
    for row, col in zip(data.row[background], data.col[background], strict=True):
        gap = np.abs(marks - (row, col)).max(axis=1)
        assert gap.min() >= WINDOW / 2 + 3
    # Small marks are no positives either.
    assert not (data.kind == "ship")[np.hypot(data.row - 71, data.col - 101) < 4].any()


def test_listed_negatives_count_fully_and_runs_repeat():
    truth = {"port.png": {**TRUTH["port.png"], "negatives": [[60, 20]]}}
    data = load(truth)
    negative = data.kind == "negative"
    assert negative.sum() == 1 and data.sample_weight[negative][0] == 1.0
    assert (data.row[negative], data.col[negative]) == ([20], [60])
    again = load(truth)
    np.testing.assert_array_equal(again.images, data.images)
    other = load(truth, random_state=1)
    assert not np.array_equal(other.row, data.row)


def test_truth_file_scenes_beside_it_and_groups(tmp_path):
    for name in ("a.png", "b.png"):
        Image.fromarray(SCENE).save(tmp_path / name)
    truth = {"a.png": TRUTH["port.png"], "b.png": {"big": [[24, 32]], "small": []}}
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    data = load_marked_scenes(tmp_path / "truth.json", window=WINDOW, random_state=0,
                              negatives_per_scene=5, positives_per_ship=2)
    assert (data.groups == data.scene).all()
    counts = {key: int((data.groups == key).sum()) for key in ("a.png", "b.png")}
    assert counts == {"a.png": 2 * 2 + 2 + 5, "b.png": 2 + 5}
    assert np.isnan(data.resolution).all()


def test_scenes_are_resampled_to_the_chip_resolution(tmp_path, write_geotiff):
    # A 5 m scene (UTM): at 10 m the 4 x 8 hull is 2 x 4 pixels.
    write_geotiff(tmp_path / "port.tif", np.moveaxis(SCENE, -1, 0), res=5)
    truth = {"port.tif": {"big": [[24, 32]], "small": []}}
    data = load_marked_scenes(truth, root=tmp_path, window=8, resolution=10,
                              positives_per_ship=1, shift=0, negatives_per_scene=3,
                              random_state=0)
    assert data.images.shape == (4, 8, 8, 3)
    assert (data.images[0][..., 0] > 128).sum() == 8
    assert (data.row[0], data.col[0]) == (32, 24)
    np.testing.assert_allclose(data.resolution, 5.0)
    with pytest.raises(ValueError, match="'port.png' has no georeference.*scene_resol"):
        load(resolution=10)
    plain = load(resolution=6, scene_resolution=3, positives_per_ship=1, shift=0)
    assert (plain.images[0][..., 0] > 128).sum() == 8


def test_float_multiband_scenes_keep_their_values():
    scene = scene_with([BIG], channels=4, dtype=np.float32, value=40) / 100
    data = load({"s.tif": {"big": [[24, 32]], "small": []}}, scene=scene,
                positives_per_ship=1, shift=0)
    assert data.images.dtype == np.float32 and data.images.shape[-1] == 4
    assert data.images[0].max() == pytest.approx(0.4)
    assert data.images[0].min() == pytest.approx(0.1)


@pytest.mark.parametrize("truth, match", [
    ({"port.png": {"big": [[24, 32], [130, 10]]}},
     r"scene 'port.png': big mark \[130.0, 10.0\] lies outside the image of 128 x 96"),
    # A box beyond the right edge, its vessel's mark on the edge.
    ({"port.png": {"small": [[128, 50]], "boxes": [[128, 40, 140, 60]]}},
     r"boxes mark \[128.0, 40.0, 140.0, 60.0\] lies outside"),
    ({"port.png": {"big": [[1, 2, 3]]}}, r"scene 'port.png': big mark \[1, 2, 3\]"),
])
def test_bad_marks_name_the_scene_and_the_mark(truth, match):
    with pytest.raises(ValueError, match=match):
        load(truth)


def test_bad_files(tmp_path):
    path = tmp_path / "truth.json"
    with pytest.raises(ValueError, match="does not exist"):
        load_marked_scenes(path)
    path.write_text("")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_marked_scenes(path)
    path.write_text("{}")
    with pytest.raises(ValueError, match="non-empty mapping"):
        load_marked_scenes(path)
    path.write_text(json.dumps({"gone.tif": {"big": [[1, 1]]}}))
    with pytest.raises(ValueError, match="scene 'gone.tif' of the truth is not there"):
        load_marked_scenes(path)
    with pytest.raises(ValueError, match="returned shape"):
        load_marked_scenes(path, read=lambda p: np.zeros(5))
    with pytest.raises(ValueError, match="window"):
        load_marked_scenes(path, window=2)


def test_points_clear_of_marks_and_boxes():
    marks = {"big": np.array([[50.0, 50.0]]), "small": np.array([[150.0, 50.0]]),
             "negatives": np.empty((0, 2)), "boxes": np.array([[0.0, 100.0, 40.0, 120.0]])}
    cols, rows = np.array([[50, 59], [50, 61], [141, 50], [45, 110], [20, 110],
                           [100, 100]]).T

    def clear(marks):
        return clear_of_marks((200, 200), marks, 10)[rows, cols].tolist()

    # Near the big mark, clear, near the small one, beside the box, inside it, clear.
    assert clear(marks) == [False, True, False, False, False, True]
    assert clear({**marks, "big": np.empty((0, 2)), "small": np.empty((0, 2))}) == [
        True, True, True, False, False, True]
