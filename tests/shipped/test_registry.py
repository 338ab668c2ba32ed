"""The shipped models: described, loadable by name, picked by a scene's resolution."""

import warnings

import numpy as np
import pytest
from PIL import Image

from sklship import scan_scene
from sklship.shipped import load_shipped_model, pick_shipped_model, shipped_models
from sklship.shipped.registry import RESOLUTION_FACTOR_WARNING, ShippedModel

PLANETSCOPE = "planetscope-3m"


def test_every_shipped_model_is_described_and_carded():
    models = shipped_models()
    assert PLANETSCOPE in models
    for name, model in models.items():
        assert model.name == name
        assert model.input in {"uint8", "reflectance", "dark-object"}
        assert set(model.bands) <= {"red", "green", "blue", "nir"}
        assert model.resolution > 0 and model.window > 0
        assert model.file.stat().st_size < 5e6, f"{name} is 5 MB or more"
        card = model.card
        for heading in ("Intended use", "Training data", "Evaluation", "Limits", "Licence"):
            assert heading in card, f"{name}'s card has no {heading!r} section"


@pytest.mark.parametrize("values, scan, options", [
    ("uint8", {}, {}),
    ("uint8", {"saddle": 0.0, "threshold": 0.3}, {}),
    ("uint8", {"saddle": 0.9}, {"saddle": 0.9}),
    ("reflectance", {}, {"bands": ("red", "nir"), "scale": "reflectance"}),
    ("dark-object", {"saddle": 0.95},
     {"bands": ("red", "nir"), "scale": "dark-object", "saddle": 0.95}),
])
def test_read_options_follow_the_input_and_the_saddle(values, scan, options):
    spec = ShippedModel(name="m", stem="m", sensor="s", bands=("red", "nir"),
                        resolution=10.0, input=values, window=24, scan=scan)
    assert spec.read_options == options


def test_a_reflectance_model_of_red_green_blue_reads_the_default_bands():
    # By description, else bands 1, 2, 3: a true-colour file need not name them.
    spec = ShippedModel(name="m", stem="m", sensor="s", bands=("red", "green", "blue"),
                        resolution=10.0, input="reflectance", window=24)
    assert spec.read_options == {"scale": "reflectance"}


def test_shipped_models_are_in_order_of_resolution_then_most_bands():
    order = [(m.resolution, -len(m.bands)) for m in shipped_models().values()]
    assert order == sorted(order)
    assert list(shipped_models()) == ["planetscope-3m", "sentinel2-10m"]


def test_load_by_name_gives_a_fitted_scanner():
    model = load_shipped_model(PLANETSCOPE)
    spec = shipped_models()[PLANETSCOPE]
    chips = np.zeros((2, spec.window, spec.window, len(spec.bands)), np.uint8)
    proba = model.predict_proba(chips)
    assert proba.shape == (2, 2)
    assert load_shipped_model(PLANETSCOPE) is model  # loaded once per process
    # It decides at its scan threshold, in predict and in scans, as `sklship scan`.
    assert model.threshold == spec.scan["threshold"] == 0.3
    np.testing.assert_array_equal(model.predict(chips), proba[:, 1] >= 0.3)
    assert scan_scene(model, np.zeros((100, 100, 3), np.uint8)).threshold == 0.3


def test_unknown_name_lists_the_shipped_models():
    with pytest.raises(ValueError, match="no shipped model is called 'nope'.*planetscope-3m"):
        load_shipped_model("nope")


def test_pick_by_resolution():
    models = shipped_models()
    for name, model in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert pick_shipped_model(model.resolution * 1.1,
                                      channels=len(model.bands)).name == name
    # Unknown resolution (PNG, JPEG): the finest model.
    assert pick_shipped_model(None).name == next(iter(models))


def test_far_resolution_warns():
    finest = next(iter(shipped_models().values()))
    far = finest.resolution / (RESOLUTION_FACTOR_WARNING * 1.5)
    with pytest.warns(UserWarning, match=f"nearest shipped model '{finest.name}'"):
        assert pick_shipped_model(far).name == finest.name


def test_pick_leaves_out_models_needing_more_bands():
    with pytest.raises(ValueError, match="has 1 band"):
        pick_shipped_model(3.0, channels=1)
    assert len(pick_shipped_model(3.0, channels=3).bands) <= 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # At 10 m, with or without nir: the model of red, green and blue.
        assert pick_shipped_model(10.0, channels=4).name == "sentinel2-10m"
        assert pick_shipped_model(10.0, channels=3).name == "sentinel2-10m"
    with pytest.raises(ValueError, match="has 2 band"):
        pick_shipped_model(10.0, channels=2)


def test_an_eight_bit_picture_gets_a_model_that_reads_eight_bits():
    # A 10 m true-colour picture (8 bits): no scale says its reflectance.
    with pytest.warns(UserWarning, match=r"for which 'sentinel2-10m' is made, but 8-bit "
                      r"values: 'sentinel2-10m' reads surface reflectance.*Scanning "
                      r"with 'planetscope-3m'.*or its scale to reflectance \(--reflectance "):
        assert pick_shipped_model(10.0, channels=3, eight_bit=True).name == "planetscope-3m"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pick_shipped_model(3.0, channels=3, eight_bit=True).name == "planetscope-3m"


def test_pick_for_scenes_reads_the_georeference(tmp_path, write_geotiff):
    from sklship.shipped.registry import pick_for_scenes

    sentinel = write_geotiff(tmp_path / "s2.tif", np.zeros((4, 40, 40), np.uint16), res=10)
    planet = write_geotiff(tmp_path / "ps.tif", np.zeros((3, 40, 40), np.uint8), res=3)
    png = tmp_path / "ps.png"
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(png)
    assert pick_for_scenes([sentinel]).name == "sentinel2-10m"
    assert pick_for_scenes([planet, png]).name == "planetscope-3m"
    # Without nir too, unless the values are 8-bit, when only a scale to
    # reflectance given lets a reflectance model read them.
    rgb = write_geotiff(tmp_path / "rgb.tif", np.zeros((3, 40, 40), np.uint16), res=10)
    byte = write_geotiff(tmp_path / "byte.tif", np.zeros((3, 40, 40), np.uint8), res=10)
    assert pick_for_scenes([rgb]).name == "sentinel2-10m"
    with pytest.warns(UserWarning, match="8-bit values"):
        assert pick_for_scenes([byte]).name == "planetscope-3m"
    assert pick_for_scenes([byte], reflectance=(0.4 / 255, 0)).name == "sentinel2-10m"
    with pytest.raises(ValueError, match="call for different shipped models"):
        pick_for_scenes([planet, sentinel])
    with pytest.raises(ValueError, match="cannot read scene file"):
        pick_for_scenes([tmp_path / "missing.tif"])
    # A grey file read as three channels, as --bands 1,1,1 reads it.
    grey = write_geotiff(tmp_path / "grey.tif", np.zeros((1, 40, 40), np.uint8), res=3)
    with pytest.raises(ValueError, match="has 1 band"):
        pick_for_scenes([grey])
    assert pick_for_scenes([grey], bands=(1, 1, 1)).name == "planetscope-3m"
    # A PNG has no resolution of its own: the one given, as scan_scene takes it.
    with pytest.warns(UserWarning, match="for which 'sentinel2-10m' is made"):
        assert pick_for_scenes([png], resolution=10.0).name == "planetscope-3m"


def test_a_file_naming_its_sensor_gets_that_model_at_any_pixel_size(tmp_path, write_geotiff):
    from sklship.shipped.registry import pick_for_scenes

    # A Sentinel-2 export in Web Mercator at 60 degrees north: 10 map units are
    # 5 m on the ground, nearer PlanetScope's 3 m than Sentinel-2's 10 m.
    pixels = np.zeros((4, 40, 40), np.uint16)
    plain = write_geotiff(tmp_path / "plain.tif", pixels, res=5)
    assert pick_for_scenes([plain]).name == "planetscope-3m"
    for tags in ({"BANDS": "1=B04 red, 2=B03 green (Sentinel-2 L2A, 10 m native)"},
                 {"SPACECRAFT_NAME": "SENTINEL2B"}):
        named = write_geotiff(tmp_path / "named.tif", pixels, res=5, tags=tags)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert pick_for_scenes([named]).name == "sentinel2-10m"
    # Coarser than the model by more than the factor: warned as by resolution.
    coarse = write_geotiff(tmp_path / "coarse.tif", pixels, res=30, tags=tags)
    with pytest.warns(UserWarning, match=r"30 m pixels, 3\.0 times the 10 m of the "
                      r"shipped model 'sentinel2-10m'"):
        assert pick_for_scenes([coarse]).name == "sentinel2-10m"
    # Without nir, the named sensor's model too; in 8 bits, by resolution.
    three = write_geotiff(tmp_path / "three.tif", pixels[:3], res=5, tags=tags)
    assert pick_for_scenes([three]).name == "sentinel2-10m"
    byte = write_geotiff(tmp_path / "byte.tif", pixels[:3].astype(np.uint8), res=5,
                         tags=tags)
    assert pick_for_scenes([byte]).name == "planetscope-3m"
    two = write_geotiff(tmp_path / "two.tif", pixels[:2], res=5, tags=tags)
    with pytest.raises(ValueError, match="has 2 band"):
        pick_for_scenes([two])


def test_a_loaded_shipped_model_records_how_it_reads_scenes():
    from sklship.scenes.defaults import model_read_options

    # Red, green and blue are what a file gives by default: no bands recorded.
    assert model_read_options(load_shipped_model("sentinel2-10m")) == {
        "scale": "reflectance", "saddle": 0.95}
    assert model_read_options(shipped_models()["sentinel2-10m"].load(copy=True))["scale"] == (
        "reflectance")
    assert model_read_options(load_shipped_model("planetscope-3m")) == {}
