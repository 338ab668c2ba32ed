"""xarray DataArrays as scenes, as stackstac and odc-stac return them."""

import numpy as np
import pandas as pd
import pytest

from sklship.scenes.scan import scan_scene
from sklship.scenes.sources import open_scene

xr = pytest.importorskip("xarray")
pytest.importorskip("rioxarray")

NAMES = ["red", "green", "blue", "nir"]


def dataarray(values, *, crs="EPSG:32611", res=10.0, time=None):
    """(band, y, x) values with band names, x/y pixel-centre coordinates and a CRS."""
    bands, height, width = values.shape
    coords = {"band": NAMES[:bands], "y": 3700000 - res * (np.arange(height) + 0.5),
              "x": 500000 + res * (np.arange(width) + 0.5)}
    array = xr.DataArray(values, dims=("band", "y", "x"), coords=coords, name="port")
    if time is not None:
        array = array.expand_dims(time=[pd.Timestamp(time)])
    return array if crs is None else array.rio.write_crs(crs)


@pytest.fixture
def numbers(ship_scene):
    """(4, 96, 128) uint16 reflectance x 10000: water 300, hulls 3000."""
    bright = ship_scene[0][..., 0] > 128
    return np.where(bright, 3000, 300).astype(np.uint16)[None].repeat(4, axis=0)


def test_dataarray_bands_crs_and_windows(numbers):
    array = dataarray(numbers, time="2024-03-02T10:30")  # stackstac: (time, band, y, x)
    with open_scene(array, bands=("nir", "B04", "green"), reflectance=(1e-4, 0)) as source:
        assert source.bands == (4, 1, 2) and source.shape == (96, 128, 3)
        assert source.crs == "EPSG:32611" and source.transform.a == 10.0
        assert (source.transform.c, source.transform.f) == (500000, 3700000)
        assert source.datetime == pd.Timestamp("2024-03-02 10:30")
        pixels, valid = source.read(slice(20, 30), slice(25, 35))
        assert pixels.dtype == np.float32 and valid.all()  # none saturated
        assert pixels[4, 5].tolist() == pytest.approx([0.3, 0.3, 0.3])
        assert pixels[0, 0].tolist() == pytest.approx([0.03, 0.03, 0.03])
    with pytest.raises(ValueError, match=r"DataArray port has no band described as 'swir16'"):
        open_scene(array, bands=("swir16",))
    with pytest.raises(ValueError, match="has 2 times; a scene is one"):
        open_scene(xr.concat([array, array], "time"))


def test_dataarray_reflectance_float_nan_and_attributes(numbers):
    floats = dataarray(numbers / np.float32(10000))  # stackstac's rescale=True: reflectance
    floats[:, 0, :5] = np.nan
    with open_scene(floats, scale="reflectance") as source:
        pixels, valid = source.read(slice(0, 4), slice(0, 8))
        assert valid[0].tolist() == [False] * 5 + [True] * 3 and not np.isnan(pixels).any()
        assert source.valid_overview().mean() == pytest.approx(1 - 5 / (96 * 128))
    raw = dataarray(numbers)
    with pytest.raises(ValueError, match=r"reflectance=\(scale, offset\)"):
        open_scene(raw, scale="reflectance")
    raw.attrs.update(scale_factor=1e-4, add_offset=-0.01)  # rioxarray, mask_and_scale=False
    with open_scene(raw, scale="reflectance") as source:
        assert source.read(slice(24, 25), slice(30, 31))[0][0, 0, 0] == pytest.approx(0.29)
    # Less the dark level, the water (0.03 as floats, NaNs left out; 0.02 with the
    # raw offset of -0.01): a hull reads 0.27 either way.
    with open_scene(floats, scale="dark-object") as source:
        assert source.dark_level.tolist() == pytest.approx([0.03] * 4)
        assert source.read(slice(24, 25), slice(30, 31))[0][0, 0, 0] == pytest.approx(0.27)
    with open_scene(raw, scale="dark-object") as source:
        assert source.dark_level.tolist() == pytest.approx([0.02] * 4)
        assert source.read(slice(24, 25), slice(30, 31))[0][0, 0, 0] == pytest.approx(0.27)


def test_dataarray_in_degrees_without_crs_is_refused(numbers):
    lonlat = dataarray(numbers, crs=None).assign_coords(
        x=18.5 + 1e-4 * np.arange(128), y=54.5 - 1e-4 * np.arange(96))
    with pytest.raises(ValueError) as error:
        open_scene(lonlat)
    assert "\n" not in str(error.value) and "write_crs" in str(error.value)
    with open_scene(lonlat.rio.write_crs("EPSG:4326")) as source:
        assert source.crs == "EPSG:4326"
    with pytest.raises(ValueError, match=r"must have dims \(band, y, x\)"):
        open_scene(lonlat.isel(band=0))


def test_dataarray_scanned_like_a_file(numbers, bright_centre):
    array = dataarray((numbers // 12).astype(np.uint8)[:3])  # 8-bit RGB, 10 m
    result = scan_scene(bright_centre(chip_resolution=10.0), array, stride=4)
    assert result.crs == "EPSG:32611" and result.resolution == pytest.approx(10.0)
    assert len(result.detections) == 3 and result.scene_name == "port"
    assert result.detections["x"].between(500000, 501280).all()


def test_dataarray_resampled_to_the_model_resolution(numbers, bright_centre, ship_scene):
    array = dataarray((numbers // 12).astype(np.uint8)[:3])
    result = scan_scene(bright_centre(chip_resolution=3.0), array, stride=4)
    assert result.pixel_scale == pytest.approx(0.3) and result.resolution == 10.0
    found = result.detections[["row", "col"]].to_numpy()
    ships = np.array(ship_scene[1])
    nearest = np.linalg.norm(found[:, None] - ships[None], axis=-1)  # scene pixels
    assert (nearest.min(axis=1) < 6).all() and set(nearest.argmin(axis=1)) == {0, 1, 2}
