"""sklship.datasets: loading ShipsNet chips and drawing synthetic ones."""

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import sklship.datasets
from sklship.datasets import load_shipsnet, make_ships

CHIPS = {  # file name -> (label, scene_id, longitude, latitude, RGB colour)
    "1__20170705_180818_1041__-118.2248_33.7352.png": (
        1, "20170705_180818_1041", -118.2248, 33.7352, (200, 190, 180)
    ),
    "0__20150830_000652_1_0b07__-122.35324421973536_37.772113980272394.png": (
        0, "20150830_000652_1_0b07", -122.35324421973536, 37.772113980272394,
        (20, 60, 90),
    ),
    "1__scene_x__122.5_-37.25.png": (1, "scene_x", 122.5, -37.25, (250, 5, 128)),
}
SORTED_NAMES = sorted(CHIPS)
FRAME_COLUMNS = ["filename", "scene_id", "longitude", "latitude", "target"]
BUNCH_KEYS = {
    "images", "target", "scene_id", "longitude", "latitude", "filenames",
    "target_names", "resolution", "frame", "DESCR",
}


def write_chip(path, colour=(0, 0, 0), mode="RGB", size=(80, 80)):
    """Write a one-colour PNG chip; the top-left pixel gets a distinct value."""
    pixels = np.empty((size[1], size[0], 3), dtype=np.uint8)
    pixels[:] = colour
    pixels[0, 0] = (1, 2, 3)
    Image.fromarray(pixels).convert(mode).save(path)
    return path


def write_chips(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name, (*_, colour) in CHIPS.items():
        write_chip(folder / name, colour)
    (folder / "README.txt").write_text("not a chip")  # ignored
    return folder


def check_chips(data):
    """The Bunch holds exactly the chips of CHIPS, in file-name order."""
    rows = [CHIPS[name] for name in SORTED_NAMES]
    labels, scene_ids, longitudes, latitudes, colours = zip(*rows, strict=True)
    assert data.images.shape == (3, 80, 80, 3)
    assert data.images.dtype == np.uint8
    assert data.images.flags.c_contiguous
    np.testing.assert_array_equal(data.images[:, 40, 17], colours)
    np.testing.assert_array_equal(data.images[:, 0, 0], [(1, 2, 3)] * 3)
    np.testing.assert_array_equal(data.target, labels)
    assert data.target.dtype == np.int64
    assert list(data.scene_id) == list(scene_ids)
    np.testing.assert_array_equal(data.longitude, longitudes)
    np.testing.assert_array_equal(data.latitude, latitudes)
    assert data.longitude.dtype == data.latitude.dtype == np.float64
    assert list(data.filenames) == SORTED_NAMES
    assert list(data.target_names) == ["no-ship", "ship"]


@pytest.fixture
def chip_folder(tmp_path):
    return write_chips(tmp_path / "shipsnet")


# --------------------------------------------------------------------------
# load_shipsnet: sources
# --------------------------------------------------------------------------


def test_load_folder(chip_folder):
    data = load_shipsnet(chip_folder)
    assert set(data) == BUNCH_KEYS
    check_chips(data)
    assert data.frame is None
    assert "3 RGB chips" in data.DESCR and "2 ships" in data.DESCR
    assert "CC BY-SA 4.0" in data.DESCR and "Planet Labs / ShipsNet" in data.DESCR


@pytest.mark.parametrize("as_str", [False, True])
def test_load_parent_folder_of_shipsnet_folder(chip_folder, as_str):
    parent = chip_folder.parent
    check_chips(load_shipsnet(str(parent) if as_str else parent))


def test_load_zip_with_subfolder(chip_folder, tmp_path):
    archive = tmp_path / "chips.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in CHIPS:
            zf.write(chip_folder / name, f"download/shipsnet/{name}")
        zf.writestr(f"__MACOSX/download/shipsnet/._{SORTED_NAMES[0]}", b"resource fork")
        zf.writestr("download/README.txt", "not a chip")
    check_chips(load_shipsnet(archive))


def write_json(path, n_rows=2, **overrides):
    """Write a ShipsNet JSON; an override of None drops that key."""
    content = {
        "data": [[0] * 19200 for _ in range(n_rows)],
        "labels": [1, 0, 1][:n_rows],
        "scene_ids": ["20150830_000652_1_0b07", "s2", "s3"][:n_rows],
        "locations": [[-122.5, 37.25], [-118.125, 33.75], [0.0, 0.0]][:n_rows],
    }
    content.update(overrides)
    path.write_text(json.dumps({k: v for k, v in content.items() if v is not None}))
    return path


def test_load_json_maps_planar_rows_to_pixels(tmp_path):
    rows = [[0] * 19200, [0] * 19200]
    row, col = 2, 5  # a pixel off the diagonal catches a transposed plane
    for plane, value in enumerate((10, 20, 30)):
        rows[0][plane * 6400 + row * 80 + col] = value
    rows[1][:6400] = [255] * 6400  # second chip: pure red
    data = load_shipsnet(write_json(tmp_path / "shipsnet.json", data=rows))

    assert data.images.shape == (2, 80, 80, 3)
    assert data.images.dtype == np.uint8 and data.images.flags.c_contiguous
    np.testing.assert_array_equal(data.images[0, row, col], [10, 20, 30])
    assert data.images[0].sum() == 60  # nothing else is set
    assert data.images[0, col, row].sum() == 0
    assert (data.images[1] == [255, 0, 0]).all()
    np.testing.assert_array_equal(data.target, [1, 0])
    assert list(data.scene_id) == ["20150830_000652_1_0b07", "s2"]
    np.testing.assert_array_equal(data.longitude, [-122.5, -118.125])
    np.testing.assert_array_equal(data.latitude, [37.25, 33.75])
    assert list(data.filenames) == [
        "1__20150830_000652_1_0b07__-122.5_37.25.png",
        "0__s2__-118.125_33.75.png",
    ]


def test_load_folder_holding_shipsnet_json(tmp_path):
    write_json(tmp_path / "shipsnet.json")
    assert len(load_shipsnet(tmp_path).images) == 2


def palette_chip(colour):
    image = Image.new("P", (80, 80), 1)
    image.putpalette([0, 0, 0, *colour])
    return image


@pytest.mark.parametrize(
    "image, expected",
    [
        (Image.new("L", (80, 80), 90), (90, 90, 90)),
        (Image.new("LA", (80, 80), (90, 128)), (90, 90, 90)),
        (Image.new("RGBA", (80, 80), (10, 20, 30, 128)), (10, 20, 30)),  # alpha dropped
        (palette_chip((10, 200, 30)), (10, 200, 30)),
    ],
    ids=["L", "LA", "RGBA", "P"],
)
def test_non_rgb_chips_are_converted_to_rgb(tmp_path, image, expected):
    image.save(tmp_path / "0__s__1.0_2.0.png")
    assert Image.open(tmp_path / "0__s__1.0_2.0.png").mode == image.mode
    data = load_shipsnet(tmp_path)
    assert data.images.shape == (1, 80, 80, 3)
    assert (data.images[0] == expected).all()


# --------------------------------------------------------------------------
# load_shipsnet: options and default location
# --------------------------------------------------------------------------


def test_as_frame_holds_metadata_not_pixels(chip_folder):
    data = load_shipsnet(chip_folder, as_frame=True)
    frame = data.frame
    assert list(frame.columns) == FRAME_COLUMNS
    assert len(frame) == 3
    assert list(frame["filename"]) == list(data.filenames)
    assert list(frame["scene_id"]) == list(data.scene_id)
    np.testing.assert_array_equal(frame["longitude"], data.longitude)
    np.testing.assert_array_equal(frame["target"], data.target)
    check_chips(data)


def test_return_X_y(chip_folder):
    images, target = load_shipsnet(chip_folder, return_X_y=True)
    data = load_shipsnet(chip_folder)
    np.testing.assert_array_equal(images, data.images)
    np.testing.assert_array_equal(target, data.target)


def test_default_path_from_environment(chip_folder, monkeypatch):
    monkeypatch.setenv("SKLSHIP_DATA", str(chip_folder))
    check_chips(load_shipsnet())


def test_default_path_in_home(chip_folder, tmp_path, monkeypatch):
    home = tmp_path / "home"
    write_chips(home / "sklship_data" / "shipsnet")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SKLSHIP_DATA", str(tmp_path / "missing"))  # falls through
    check_chips(load_shipsnet())


@pytest.mark.parametrize("env_value", [None, "missing"])
def test_default_path_not_found(tmp_path, monkeypatch, env_value):
    monkeypatch.setenv("HOME", str(tmp_path))
    if env_value is None:
        monkeypatch.delenv("SKLSHIP_DATA", raising=False)
    else:
        monkeypatch.setenv("SKLSHIP_DATA", str(tmp_path / env_value))
    with pytest.raises(FileNotFoundError) as info:
        load_shipsnet()
    message = str(info.value)
    assert "$SKLSHIP_DATA" in message
    assert str(tmp_path / "sklship_data" / "shipsnet") in message
    assert "Download ShipsNet" in message
    assert ("not set" in message) == (env_value is None)


# --------------------------------------------------------------------------
# load_shipsnet: file names and errors
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "ship__scene__1.0_2.0.png",  # label not an integer
        "2__scene__1.0_2.0.png",  # label not 0/1
        "1__scene.png",  # no location
        "1__scene__1.0-2.0.png",  # no underscore between lon and lat
        "1__scene__east_2.0.png",  # longitude not a number
        "1____1.0_2.0.png",  # empty scene id
        "1__a__b__1.0_2.0.png",  # too many parts
    ],
)
def test_bad_file_name(tmp_path, name):
    write_chip(tmp_path / name)
    with pytest.raises(ValueError, match=re.escape(name) + ".*expected .*__"):
        load_shipsnet(tmp_path)


def test_missing_path(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match=re.escape(f"{missing} does not exist")):
        load_shipsnet(missing)


def test_folder_without_chips(tmp_path):
    (tmp_path / "notes.txt").write_text("no chips here")
    message = re.escape(f"No PNG chips found in folder {tmp_path}")
    with pytest.raises(ValueError, match=message):
        load_shipsnet(tmp_path)


def test_zip_without_chips(tmp_path):
    archive = tmp_path / "empty.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("README.txt", "no chips")
    with pytest.raises(ValueError, match="No PNG chips found in zip file .*empty.zip"):
        load_shipsnet(archive)


def test_corrupt_zip(tmp_path):
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="broken.zip: not a valid zip file"):
        load_shipsnet(archive)


def test_unsupported_file(tmp_path):
    path = tmp_path / "chips.csv"
    path.write_text("a,b")
    with pytest.raises(ValueError, match="Cannot read ShipsNet chips from .*chips.csv"):
        load_shipsnet(path)


def test_chip_of_wrong_size(tmp_path):
    write_chip(tmp_path / "0__s__1.0_2.0.png")
    write_chip(tmp_path / "1__s__1.0_2.0.png", size=(64, 48))
    message = r"1__s__1.0_2.0.png is 64x48 pixels; expected 80x80"
    with pytest.raises(ValueError, match=message):
        load_shipsnet(tmp_path)


def garble(png):
    data = bytearray(png)
    data[60:90] = b"\xff" * 30  # inside the compressed pixel data
    return bytes(data)


@pytest.mark.parametrize(
    "corrupt",
    [lambda png: b"\x89PNG but not really", lambda png: png[: len(png) // 2], garble],
    ids=["not-png", "truncated", "garbled"],
)
def test_corrupt_chip(tmp_path, corrupt):
    path = write_chip(tmp_path / "1__s__1.0_2.0.png", (30, 60, 90))
    rng = np.random.default_rng(0)  # noisy pixels: the compressed data is long
    Image.fromarray(rng.integers(0, 256, (80, 80, 3), dtype=np.uint8)).save(path)
    path.write_bytes(corrupt(path.read_bytes()))
    message = r"Cannot read chip .*1__s__1.0_2.0.png: not an image Pillow can read"
    with pytest.raises(ValueError, match=message) as info:
        load_shipsnet(tmp_path)
    assert isinstance(info.value.__cause__, (OSError, SyntaxError))


def test_corrupt_chip_in_zip_names_the_entry(tmp_path):
    archive = tmp_path / "chips.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("sub/0__s__1.0_2.0.png", b"garbage")
    message = r"chips.zip:sub/0__s__1.0_2.0.png: not an image Pillow can read"
    with pytest.raises(ValueError, match=message):
        load_shipsnet(archive)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"labels": None}, r"expected an object with keys \['data', 'labels'"),
        ({"labels": [1]}, "'data', 'labels', .* same length, got .*'labels': 1"),
        (
            {"data": [[0] * 19200, [0] * 100]},
            "row 1 of 'data' has 100 values; expected 19200",
        ),
        (
            {"data": [], "labels": [], "scene_ids": [], "locations": []},
            "it holds no chips",
        ),
        ({"labels": [1, 2]}, "'labels' must be 0 or 1, got \\[2\\]"),
        ({"locations": [[0.0, 0.0], [1.0]]}, r"'locations' must be \[longitude, lat"),
        ({"data": [[0] * 19200, [300] * 19200]}, "'data' must hold integers 0..255"),
    ],
)
def test_malformed_json(tmp_path, overrides, message):
    path = write_json(tmp_path / "shipsnet.json", **overrides)
    prefix = "Malformed ShipsNet JSON .*shipsnet.json: "
    with pytest.raises(ValueError, match=prefix + message):
        load_shipsnet(path)


def test_json_that_is_not_json(tmp_path):
    path = tmp_path / "shipsnet.json"
    path.write_text("{'data': ")
    with pytest.raises(ValueError, match="shipsnet.json: not valid JSON"):
        load_shipsnet(path)


# --------------------------------------------------------------------------
# make_ships
# --------------------------------------------------------------------------


def test_make_ships_bunch():
    data = make_ships(120, random_state=0, as_frame=True)
    assert set(data) == BUNCH_KEYS
    assert data.images.shape == (120, 80, 80, 3)
    assert data.images.dtype == np.uint8 and data.images.flags.c_contiguous
    assert data.target.shape == (120,) and data.target.dtype == np.int64
    assert set(np.unique(data.target)) == {0, 1}
    assert data.longitude.dtype == data.latitude.dtype == np.float64
    assert list(data.target_names) == ["no-ship", "ship"]
    assert "120 RGB chips of 80x80 pixels, 30 ships" in data.DESCR
    assert list(data.frame.columns) == FRAME_COLUMNS
    np.testing.assert_array_equal(data.frame["target"], data.target)
    # the images use the whole range, not a constant
    assert data.images.std() > 10


def test_make_ships_metadata_is_consistent():
    data = make_ships(300, n_scenes=4, random_state=1)
    assert set(data.scene_id) == {f"synthetic_{i:03d}" for i in range(4)}
    for name, label, scene, lon, lat in zip(
        data.filenames, data.target, data.scene_id, data.longitude, data.latitude, strict=True
    ):
        assert name == f"{label}__{scene}__{lon}_{lat}.png"
    assert ((-122.6 < data.longitude) & (data.longitude < -122.1)).all()  # SF Bay
    assert ((37.4 < data.latitude) & (data.latitude < 38.0)).all()


def test_make_ships_filenames_load_back(tmp_path):
    data = make_ships(6, random_state=0)
    for image, name in zip(data.images, data.filenames, strict=True):
        Image.fromarray(image).save(tmp_path / name)
    loaded = load_shipsnet(tmp_path)
    order = np.argsort(data.filenames)
    np.testing.assert_array_equal(loaded.images, data.images[order])
    for key in ("target", "scene_id", "longitude", "latitude", "filenames"):
        np.testing.assert_array_equal(loaded[key], data[key][order])


@pytest.mark.parametrize(
    "n_samples, ship_fraction, n_ships",
    [
        (1000, 0.25, 250),
        (10, 0.25, 2),
        (7, 0.5, 4),
        (50, 0.0, 0),
        (50, 1.0, 50),
        (1, 0.6, 1),
    ],
)
def test_make_ships_exact_number_of_ships(n_samples, ship_fraction, n_ships):
    _, target = make_ships(
        n_samples,
        ship_fraction=ship_fraction,
        image_size=16,
        random_state=0,
        return_X_y=True,
    )
    assert len(target) == n_samples
    assert target.sum() == n_ships


def test_make_ships_shuffles_the_ships():
    target = make_ships(400, image_size=16, random_state=0).target
    assert 0 < target[:200].sum() < 100  # not all ships first or last


def test_make_ships_image_size():
    images, target = make_ships(200, image_size=24, random_state=0, return_X_y=True)
    assert images.shape == (200, 24, 24, 3) and images.dtype == np.uint8
    assert target.sum() == 50


def test_make_ships_is_determined_by_random_state():
    first, again = make_ships(50, random_state=3), make_ships(50, random_state=3)
    for key in ("images", "target", "scene_id", "longitude", "filenames"):
        np.testing.assert_array_equal(first[key], again[key])
    same = make_ships(50, random_state=np.random.RandomState(3))
    np.testing.assert_array_equal(first.images, same.images)
    other = make_ships(50, random_state=4)
    assert not np.array_equal(first.images, other.images)
    assert not np.array_equal(first.target, other.target)


def test_make_ships_scene_sets_the_background():
    """Chips of one scene look alike, so group cross-validation means something."""
    data = make_ships(400, n_scenes=8, ship_fraction=1, image_size=24, random_state=0)
    water = np.median(data.images.reshape(400, -1, 3), axis=1)  # ships are on water
    scenes = sorted(set(data.scene_id))
    scene_water = np.array([water[data.scene_id == s].mean(axis=0) for s in scenes])
    spread_within = np.mean(
        [
            np.abs(water[data.scene_id == scene] - mean).sum(axis=1).mean()
            for scene, mean in zip(scenes, scene_water, strict=True)
        ]
    )
    spread_between = np.abs(scene_water - scene_water.mean(axis=0)).sum(axis=1).mean()
    assert spread_between > 3 * spread_within


def test_make_ships_ships_are_bright_near_the_centre():
    images, target = make_ships(400, image_size=32, random_state=0, return_X_y=True)
    in_border = np.ones((32, 32), dtype=bool)
    in_border[3:-3, 3:-3] = False
    centre = images[:, 10:22, 10:22].max(axis=(1, 2, 3))
    border = images[:, in_border].max(axis=(1, 2))
    ships = target == 1
    # A ship chip has its brightest pixels inside, no-ship chips often at the border.
    assert np.mean(centre[ships] >= border[ships]) > 0.95
    assert np.mean(centre[~ships] >= border[~ships]) < 0.5


@pytest.mark.parametrize(
    "params, error, message",
    [
        ({"n_samples": 0}, ValueError, "'n_samples' parameter of make_ships must be "
         "an int in the range [1, inf). Got 0"),
        ({"n_samples": 10.0}, TypeError, "'n_samples' parameter of make_ships must be "
         "an int in the range [1, inf). Got 10.0"),
        ({"ship_fraction": 1.5}, ValueError, "'ship_fraction' parameter of make_ships "
         "must be a float in the range [0.0, 1.0]. Got 1.5"),
        ({"ship_fraction": "0.2"}, TypeError,
         "'ship_fraction' parameter of make_ships must be a float"),
        ({"image_size": 8}, ValueError, "'image_size' parameter of make_ships must be "
         "an int in the range [16, inf). Got 8"),
        ({"noise": -0.1}, ValueError, "'noise' parameter of make_ships must be a float "
         "in the range [0.0, inf). Got -0.1"),
        ({"n_scenes": 0}, ValueError, "'n_scenes' parameter of make_ships must be an "
         "int in the range [1, inf). Got 0"),
    ],
)
def test_make_ships_rejects_bad_parameters(params, error, message):
    with pytest.raises(error, match=re.escape(message)):
        make_ships(**params)


@pytest.mark.parametrize(
    "statement",
    ["import sklship.datasets", "from sklship import make_scene, make_ships",
     "import sklship.scenes.scan, sklship.estimators.symmetry, sklship._io",
     "import sklship.scenes.sources, sklship.scenes.geo, sklship.scenes.survey",
     "import sklship.scenes.grid, sklship.scenes.export, sklship.scenes.suppression",
     # The pure scikit-learn parts: chip metadata, activity, scene scoring.
     "from sklship.estimators.metadata import ChipMetadataEncoder",
     "from sklship.scenes.activity import port_activity",
     "from sklship.evaluation import read_truth, score_scan",
     "import sklship.estimators.zoo, sklship.cli.arguments"],
)
def test_data_modules_do_not_import_tensorflow(statement):
    """Loading data stays fast: data, scan and I/O modules never pull in TensorFlow."""
    root = str(Path(sklship.__file__).parent.parent)
    code = (
        f"import sys; sys.path.insert(0, {root!r}); {statement}\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --------------------------------------------------------------------------
# The real ShipsNet copy
# --------------------------------------------------------------------------


def test_real_shipsnet(shipsnet_dir):
    data = load_shipsnet(shipsnet_dir)  # the folder holding shipsnet/
    assert data.images.shape == (3196, 80, 80, 3)
    assert data.images.dtype == np.uint8
    assert data.target.sum() == 789
    assert len(set(data.scene_id)) > 1
    assert "3196 RGB chips" in data.DESCR and "789 ships" in data.DESCR
    first = Path(shipsnet_dir, "shipsnet", data.filenames[0])
    expected = np.asarray(Image.open(first).convert("RGB"))
    np.testing.assert_array_equal(data.images[0], expected)
