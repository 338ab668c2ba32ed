"""sklship.datasets.load_example_scene: the Port of Long Beach crop that ships with sklship."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image
from pyproj import Transformer
from rasterio.transform import xy

import sklship
import sklship.datasets
from sklship.datasets import load_example_scene
from sklship.evaluation import read_truth

SHAPE = (620, 915)  # rows, cols
#: The shared ShipsNet scenes the example was cut from (``../shared`` beside the repository).
SCENES = Path(__file__).resolve().parents[3] / "shared" / "data" / "scenes"


@pytest.fixture(scope="module")
def scene():
    """The scene's pixels (rows, cols, 3), its rasterio profile and tags, and its marks."""
    path, marks = load_example_scene(return_marks=True)
    with rasterio.open(path) as src:
        return np.moveaxis(src.read(), 0, 2), src.profile, src.tags(), marks


def test_returns_one_existing_path():
    path = load_example_scene()
    assert isinstance(path, Path)
    assert path.is_file() and path.suffix == ".tif"
    assert load_example_scene() == path
    assert load_example_scene(return_marks=True)[0] == path


def test_is_a_small_georeferenced_rgb_geotiff(scene):
    pixels, profile, tags, _ = scene
    assert load_example_scene().stat().st_size < 1_000_000
    assert pixels.shape == (*SHAPE, 3) and pixels.dtype == np.uint8
    assert profile["driver"] == "GTiff" and profile["compress"] == "deflate"
    assert profile["crs"].to_epsg() == 32611
    transform = profile["transform"]
    assert (transform.a, transform.b, transform.d, transform.e) == (3.0, 0.0, 0.0, -3.0)
    # Real imagery: dark water and bright terminals, not one flat colour.
    assert np.percentile(pixels, 5) < 60 and np.percentile(pixels, 99) > 180


def test_says_where_it_comes_from_and_its_licence(scene):
    tags = scene[2]
    assert "CC BY-SA 4.0" in tags["LICENSE"]
    assert tags["CREDIT"] == "Planet Labs / ShipsNet"
    assert "lb_3" in tags["SOURCE"]


def test_marks_are_ships_inside_the_scene(scene):
    pixels, _, _, marks = scene
    assert set(marks) == {"big", "small"}
    assert marks["big"].shape == (4, 2) and marks["small"].shape == (1, 2)
    grey = pixels.mean(axis=2)
    water = np.median(grey)
    for kind, points in marks.items():
        assert points.dtype.kind == "i"
        cols, rows = points.T
        assert np.all((cols >= 0) & (cols < SHAPE[1]) & (rows >= 0) & (rows < SHAPE[0])), kind
    for col, row in marks["big"]:
        # Every big mark sits on a hull: brighter than the water around it, and at
        # least one window half (40 px) from the scene's edge.
        hull = grey[row - 5:row + 6, col - 5:col + 6]
        assert hull.mean() > water + 20, (col, row)
        assert 40 <= col < SHAPE[1] - 40 and 40 <= row < SHAPE[0] - 40


def test_ships_lie_in_the_port_of_long_beach(scene):
    _, profile, _, marks = scene
    cols, rows = marks["big"].T
    x, y = xy(profile["transform"], rows, cols)
    lon, lat = Transformer.from_crs(profile["crs"], "EPSG:4326", always_xy=True).transform(x, y)
    np.testing.assert_allclose(lon, -118.21, atol=0.02)
    np.testing.assert_allclose(lat, 33.735, atol=0.01)
    # 3 m pixels: the two ships furthest apart (511 columns) are 1.5 km apart.
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32611", always_xy=True)
    ux, _ = to_utm.transform(lon, lat)
    assert np.ptp(ux) == pytest.approx(3.0 * np.ptp(cols), abs=0.1)


def test_is_the_documented_crop_of_the_shared_scene(scene):
    """Pixels and marks are those of lb_3.png's columns 440-1354, rows 100-719."""
    if not (SCENES / "lb_3.png").is_file():
        pytest.skip(f"shared scenes not found at {SCENES}")
    pixels, _, _, marks = scene
    source = np.asarray(Image.open(SCENES / "lb_3.png").convert("RGB"))
    np.testing.assert_array_equal(pixels, source[100:720, 440:1355])
    truth = read_truth(SCENES / "truth.json")["lb_3.png"]
    for kind in ("big", "small"):
        shifted = truth[kind] - [440, 100]
        inside = np.all((shifted >= 0) & (shifted < [SHAPE[1], SHAPE[0]]), axis=1)
        np.testing.assert_array_equal(marks[kind], shifted[inside])


def test_return_marks_must_be_a_bool():
    with pytest.raises(TypeError, match="return_marks must be True or False, got 'yes'"):
        load_example_scene(return_marks="yes")


@pytest.mark.slow  # a fresh interpreter imports sklship: about 13 s on two busy cores
def test_is_exported_lazily_from_both_levels():
    assert "load_example_scene" in sklship.__all__
    assert "load_example_scene" in sklship.datasets.__all__
    assert sklship.load_example_scene is sklship.datasets.load_example_scene
    root = str(Path(sklship.__file__).parent.parent)
    code = (f"import sys; sys.path.insert(0, {root!r}); import sklship.datasets\n"
            "print('sklship.datasets.example' in sys.modules)\n"
            "sklship.datasets.load_example_scene\n"
            "print('sklship.datasets.example' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.split() == ["False", "True"]


@pytest.mark.slow  # a fresh interpreter imports sklship from a zip: about 12 s
def test_works_from_a_zipped_package(tmp_path):
    """importlib.resources extracts the file when the package is not a folder on disk."""
    package = Path(sklship.__file__).parent
    archive = shutil.make_archive(str(tmp_path / "sklship"), "zip", package.parent,
                                  package.name)
    code = (f"import sys; sys.path.insert(0, {archive!r})\n"
            "import rasterio, sklship\n"
            "assert '.zip' in sklship.__file__, sklship.__file__\n"
            "path, marks = sklship.load_example_scene(return_marks=True)\n"
            "with rasterio.open(path) as src: print(src.width, src.height, len(marks['big']))\n"
            "print('.zip' in str(path))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=tmp_path)
    assert result.stdout.split() == ["915", "620", "4", "False"]
