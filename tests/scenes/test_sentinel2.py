"""Sentinel-2 as it comes: bands by name, reflectance scales, band stacks, STAC, SCL."""

from pathlib import Path

import numpy as np
import pandas as pd
import pystac
import pytest
import rasterio
from shapely.geometry import box, mapping

from sklship.scenes.masks import SCL_UNUSABLE, is_scl
from sklship.scenes.scan import scan_scene
from sklship.scenes.sources import open_scene, read_scene
from sklship.scenes.stac import read_stac, stac_scene

# ../shared beside the repository, as SHARED_DIR in tests/conftest.py.
S2_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "sentinel2"
NAMES = ("red", "green", "blue", "nir")
# Earth Search's eo:bands names of the four assets.
BAND_IDS = {"red": "B04", "green": "B03", "blue": "B02", "nir": "B08"}
# (scale, offset) in raster:bands, and the digital numbers they decode.
CONVENTIONS = {
    "x65535": (1 / 65535, 0.0),
    "x10000-offset": (1e-4, -0.1),
    "x10000": (1e-4, 0.0),
}


@pytest.fixture(scope="module")
def reflectance(ship_scene):
    """(4, 96, 128) float reflectance: water 0.03, hulls 0.3 (nir 0.35), one 1.2 glint."""
    bright = ship_scene[0][..., 0] > 128
    values = np.where(bright, 0.3, 0.03)[None].repeat(4, axis=0)
    values[3][bright] = 0.35
    values[:, 5, 5] = 1.2
    return values


def to_numbers(values, scale, offset):
    """Digital numbers of reflectance ``values`` (uint16, clipped like the products)."""
    return np.clip(np.rint((values - offset) / scale), 0, 65535).astype(np.uint16)


def write_bands(folder, values, write_geotiff, *, names=NAMES, descriptions=True,
                tags=None):
    """One 4-band GeoTIFF of ``values`` (uint16) with band descriptions and ``tags``."""
    path = write_geotiff(folder / "scene.tif", values, res=10, tags=tags or {})
    if descriptions:
        with rasterio.open(path, "r+") as dataset:
            for band, name in enumerate(names, start=1):
                dataset.set_band_description(band, name)
    return path


# ----------------------------------------------------------------- bands by name
def test_bands_by_description_alias_and_case(tmp_path, write_geotiff, reflectance):
    numbers = to_numbers(reflectance[[2, 1, 0, 3]], 1e-4, 0)  # stored blue, green, red, nir
    path = write_bands(tmp_path, numbers, write_geotiff, names=("Blue", "GREEN", "red",
                                                                "B08"))
    with open_scene(path, bands=("red", "green", "blue", "nir"), scale=(0, 10000)) as s:
        assert s.bands == (3, 2, 1, 4)
    with open_scene(path, bands=("B04", "b03", "B2", "NIR"), scale=(0, 10000)) as s:
        assert s.bands == (3, 2, 1, 4) and s.read(slice(0, 4), slice(0, 4))[0].shape == (
            4, 4, 4)
    with pytest.raises(ValueError) as error:
        open_scene(path, bands=("red", "swir16"), scale=(0, 10000))
    message = str(error.value)
    assert "\n" not in message and str(path) in message and "'swir16'" in message
    assert "'Blue', 'GREEN', 'red', 'B08'" in message
    with pytest.raises(ValueError, match="no band descriptions"):
        open_scene(np.zeros((8, 8, 4), np.uint8), bands=("red",))
    with pytest.raises(ValueError, match=r"bands red, green, blue, nir, swir16, in this "
                       r"order, e\.g\. bands=\(3, 2, 1, 4, 5\) for a file of blue, green, "
                       r"red, nir, swir16 \(command line: --bands 3,2,1,4,5\)"):
        open_scene(path, bands=("red", "green", "blue", "nir", "swir16"), scale=(0, 10000))


def test_bands_by_gdal_sentinel2_descriptions(tmp_path, write_geotiff, reflectance):
    # GDAL's SENTINEL2 driver: "B4, central wavelength 665 nm"; B8A is not B8.
    names = [f"B{b}, central wavelength {w} nm" for b, w in
             (("2", 490), ("3", 560), ("4", 665), ("8A", 865), ("8", 842))]
    values = np.concatenate([reflectance[[2, 1, 0, 3]], reflectance[3:]])
    path = write_bands(tmp_path, to_numbers(values, 1e-4, 0), write_geotiff, names=names)
    with open_scene(path, bands=NAMES, scale=(0, 10000)) as source:
        assert source.bands == (3, 2, 1, 5)


def test_default_bands_are_red_green_blue_by_description_or_planet_order(
        tmp_path, write_geotiff, caplog):
    # Band k holds k * 100, so the channels read say which bands they are.
    numbers = (np.arange(1, 9, dtype=np.uint16)[:, None, None] * 100).repeat(8, 1).repeat(8, 2)

    def opened(name, count, descriptions=()):
        path = write_geotiff(tmp_path / name, numbers[:count])
        with rasterio.open(path, "r+") as dataset:
            for band, description in enumerate(descriptions, start=1):
                dataset.set_band_description(band, description)
        caplog.clear()
        with caplog.at_level("INFO", logger="sklship"), \
                open_scene(path, scale=(0, 1000)) as scene:
            channels = scene.read(slice(0, 2), slice(0, 2))[0][0, 0]
            return scene.bands, channels, caplog.text

    bands, channels, log = opened("described.tif", 4, ("Blue", "GREEN", "red", "B08"))
    assert bands == (3, 2, 1) and "bands 3, 2, 1, by its band descriptions" in log
    assert channels.tolist() == [76, 51, 26]  # bands 3, 2, 1: 300, 200, 100 of 0..1000
    bands, _, log = opened("20181030_023205_1018_3B_AnalyticMS_SR_clip.tif", 4)
    assert bands == (3, 2, 1) and "Planet's 4-band analytic order" in log
    assert opened("20220601_102030_12_2475_3B_AnalyticMS_SR_8b_clip.tif", 8)[0] == (6, 4, 2)
    # A Planet visual file, a file of no known product, and descriptions that do
    # not name red, green and blue once each: bands 1 to 3, and no log line.
    for name, count, descriptions in [
            ("20181030_023205_1018_3B_Visual_clip.tif", 4, ()),
            ("port.tif", 4, ()), ("twice.tif", 4, ("red", "red", "green", "blue"))]:
        bands, _, log = opened(name, count, descriptions)
        assert bands == (1, 2, 3) and "red, green and blue are" not in log


# ------------------------------------------------------------------- reflectance
@pytest.mark.parametrize("tags, scale, offset", [
    ({"VALUE_SCALE": "surface reflectance * 65535 (Sentinel Hub/EO Browser 16-bit "
                     "export), clipped to 0..65535; reflectance*10000 = value/6.5535"},
     1 / 65535, 0.0),
    ({"BOA_QUANTIFICATION_VALUE": "10000", "BOA_ADD_OFFSET": "-1000"}, 1e-4, -0.1),
    ({"PROCESSING_BASELINE": "05.09"}, 1e-4, -0.1),
    ({"PROCESSING_BASELINE": "03.01", "BOA_QUANTIFICATION_VALUE": "10000"}, 1e-4, 0.0),
])
def test_reflectance_from_product_tags(tmp_path, write_geotiff, reflectance, tags, scale,
                                       offset):
    path = write_bands(tmp_path, to_numbers(reflectance, scale, offset), write_geotiff,
                       tags=tags)
    with open_scene(path, bands=NAMES, scale="reflectance") as source:
        pixels, valid = source.read(slice(0, 96), slice(0, 128))
        assert source.dtype == np.float32 and pixels.dtype == np.float32
        overview = source.valid_overview()
    expected = np.moveaxis(np.minimum(reflectance, 65535 * scale + offset), 0, -1)
    saturated = scale == 1 / 65535  # 1.2 is clipped to 65535: saturated, not valid
    assert np.abs(pixels - expected).max() <= scale  # reflectance above 1 is kept
    assert valid is not None and valid[5, 5] == (not saturated) and valid.sum() == (
        96 * 128 - saturated)
    assert overview[5, 5] == (not saturated)
    if not saturated:
        assert pixels[5, 5, 0] == pytest.approx(1.2, abs=1e-4)


def test_a_scan_decodes_the_whole_scene_overview_once(tmp_path, write_geotiff, reflectance,
                                                     bright_centre, monkeypatch):
    # A decimated read decodes every block of the file; a scan needs the
    # overview for the fill value, the footprint and the clouds.
    path = write_bands(tmp_path, to_numbers(reflectance, 1e-4, 0), write_geotiff,
                       tags={"BOA_QUANTIFICATION_VALUE": "10000"})
    whole = []
    read = rasterio.io.DatasetReader.read

    def counted(self, *args, **kwargs):
        whole.append(kwargs.get("window") is None)
        return read(self, *args, **kwargs)

    monkeypatch.setattr(rasterio.io.DatasetReader, "read", counted)
    model = bright_centre(chip_resolution=10.0)
    model.input_shape_, model.X_dtype_ = (16, 16, 4), np.dtype(np.float32)
    result = scan_scene(model, path, bands=NAMES, scale="reflectance", stride=4)
    assert result.valid_fraction == 1.0 and len(whole) > 1 and sum(whole) == 1


def test_reflectance_argument_file_scales_and_unknown(tmp_path, write_geotiff, reflectance):
    numbers = to_numbers(reflectance, 1e-4, 0)
    path = write_bands(tmp_path, numbers, write_geotiff)
    with pytest.raises(ValueError) as error:
        open_scene(path, bands=NAMES, scale="reflectance")
    assert "\n" not in str(error.value) and "reflectance=(scale, offset)" in str(error.value)
    assert str(path) in str(error.value)
    pixels = read_scene(path, bands=NAMES, reflectance=(1e-4, 0))
    assert pixels.dtype == np.float32 and pixels[24, 30, 3] == pytest.approx(0.35)
    per_band = read_scene(path, bands=NAMES, reflectance=[(1e-4, 0)] * 3 + [(2e-4, 0)])
    assert per_band[24, 30, 3] == pytest.approx(0.7) and per_band[24, 30, 0] == \
        pytest.approx(0.3)
    with rasterio.open(path, "r+") as dataset:  # the file's own scale and offset
        dataset.scales, dataset.offsets = [1e-4] * 4, [0.01] * 4
    assert read_scene(path, bands=NAMES, scale="reflectance")[24, 30, 0] == \
        pytest.approx(0.31)
    with pytest.raises(ValueError, match="scale='reflectance'"):
        open_scene(path, scale=(0, 100), reflectance=(1e-4, 0))
    with pytest.raises(ValueError, match="one such pair for each of the 4 bands"):
        open_scene(path, bands=NAMES, reflectance=[(1e-4, 0)] * 3)


def test_a_scan_takes_the_reflectance_scale_and_a_float_file_is_reflectance(
        tmp_path, write_geotiff, reflectance, bright_centre):
    model = bright_centre(chip_resolution=10.0)
    model.input_shape_, model.X_dtype_ = (16, 16, 4), np.dtype(np.float32)
    model.predict_proba = lambda X: np.column_stack([1 - X[:, 8, 8, 0], X[:, 8, 8, 0]])
    untagged = write_bands(tmp_path, to_numbers(reflectance, 1 / 65535, 0), write_geotiff)
    with pytest.raises(ValueError, match="command line: --reflectance 0.0001,-0.1"):
        scan_scene(model, untagged, bands=NAMES, scale="reflectance", stride=4)
    given = scan_scene(model, untagged, bands=NAMES, scale="reflectance", stride=4,
                       reflectance=(1 / 65535, 0))
    (tmp_path / "float").mkdir()
    floats = write_bands(tmp_path / "float", reflectance.astype(np.float32), write_geotiff)
    own = scan_scene(model, floats, bands=NAMES, scale="reflectance", stride=4)
    assert np.ptp(own.probabilities) > 0.1
    np.testing.assert_allclose(given.probabilities, own.probabilities, atol=1e-4)
    with rasterio.open(floats, "r+") as dataset:  # float numbers with a scale of their own
        dataset.scales = [0.5] * 4
    with open_scene(floats, bands=NAMES, scale="reflectance") as source:
        assert source.read(slice(24, 25), slice(30, 31))[0][0, 0, 3] == pytest.approx(0.175)


def test_sentinel_hub_16_bit_values_are_told_by_their_steps(tmp_path, write_geotiff):
    # Sentinel Hub's export: ESA's integers x 6.5535, rounded; no tag says so.
    esa = np.rint(np.random.default_rng(0).uniform(0, 0.5, (4, 48, 64)) * 1e4)
    exported = write_bands(tmp_path, np.rint(esa * 6.5535).astype(np.uint16), write_geotiff)
    pixels = read_scene(exported, bands=NAMES, scale="reflectance")
    np.testing.assert_allclose(pixels, np.moveaxis(esa, 0, -1) / 1e4, atol=1e-4)
    (tmp_path / "esa").mkdir()
    plain = write_bands(tmp_path / "esa", esa.astype(np.uint16), write_geotiff)
    with pytest.raises(ValueError, match="does not say the scale of its reflectance.*"
                       r"\(1e-4, 0\) for Google Earth Engine.s COPERNICUS/S2_SR_HARMONIZED"):
        read_scene(plain, bands=NAMES, scale="reflectance")


def test_dark_object_reads_a_hazy_scene_as_the_clear_one(tmp_path, write_geotiff,
                                                         reflectance):
    # Haze adds an offset per band; the dark level (1st percentile: the water,
    # 0.03 + haze) takes it out. The zero border (DN 0 = reflectance -0.1 in
    # this convention) is outside the footprint and must not set the level.
    haze = np.array([0.06, 0.05, 0.04, 0.05])[:, None, None]
    expected = reflectance - 0.03
    for name, values in {"clear": reflectance, "hazy": reflectance + haze}.items():
        numbers = to_numbers(values, 1e-4, -0.1)
        numbers[:, :, :12] = 0
        (tmp_path / name).mkdir()
        path = write_bands(tmp_path / name, numbers, write_geotiff,
                           tags={"BOA_QUANTIFICATION_VALUE": "10000",
                                 "BOA_ADD_OFFSET": "-1000"})
        with open_scene(path, bands=NAMES, scale="dark-object") as source:
            pixels = source.read(slice(None), slice(None))[0]
            added = haze.ravel() if name == "hazy" else 0
            np.testing.assert_allclose(source.dark_level, 0.03 + added, atol=1e-4)
        assert pixels.dtype == np.float32
        np.testing.assert_allclose(pixels[:, 12:], np.moveaxis(expected, 0, -1)[:, 12:],
                                   atol=2e-4)
    hazy = np.moveaxis(reflectance + haze, 0, -1).astype(np.float32)
    with open_scene(hazy, scale="dark-object") as source:  # float reflectance in memory
        np.testing.assert_allclose(source.read(slice(0, 2), slice(0, 2))[0],
                                   np.moveaxis(expected, 0, -1)[:2, :2], atol=1e-6)
    hazy[:2] = np.nan  # pixels without data in a float array: left out
    with open_scene(hazy, scale="dark-object") as source:
        np.testing.assert_allclose(source.dark_level, 0.03 + haze.ravel(), atol=1e-6)
    with pytest.raises(ValueError) as error:
        open_scene(np.zeros((8, 8, 4), np.float32), scale="dark-object")
    assert "no valid pixel" in str(error.value) and "dark-object" in str(error.value)


# ------------------------------------------------------------- STAC band assets
def write_item(folder, name, values, convention, write_geotiff, *, cloud=5.0, scl=None,
               ids=False, proj=False):
    """An Earth Search-like item: one single-band COG per band, raster:bands, scl.

    ``proj`` adds proj:epsg, proj:shape and proj:transform, as Earth Search does.
    """
    folder.mkdir(parents=True)
    scale, offset = CONVENTIONS[convention]
    numbers = to_numbers(values, scale, offset)
    item = pystac.Item(name, mapping(box(-117.0, 33.4, -116.99, 33.41)),
                       [-117.0, 33.4, -116.99, 33.41],
                       pd.Timestamp("2024-03-02T10:30:00Z").to_pydatetime(),
                       {"eo:cloud_cover": cloud, "gsd": 10})
    for band, key in enumerate(NAMES):
        file_key = BAND_IDS[key] if ids else key
        write_geotiff(folder / f"{file_key}.tif", numbers[band:band + 1], res=10, tags={},
                      nodata=0)
        raster = {"nodata": 0, "data_type": "uint16", "scale": scale}
        if offset:
            raster["offset"] = offset
        grid = {"proj:shape": [96, 128], "proj:transform": [10, 0, 500000, 0, -10, 3700000],
                "proj:epsg": 32611} if proj else {}
        item.add_asset(file_key, pystac.Asset(
            f"./{file_key}.tif", media_type=pystac.MediaType.COG,
            extra_fields={"eo:bands": [{"name": BAND_IDS[key], "common_name": key}],
                          "raster:bands": [raster], **grid}))
    classes = np.full((1, 48, 64), 6, dtype=np.uint8) if scl is None else scl  # 6 water
    write_geotiff(folder / "SCL.tif", classes, res=20, tags={})
    item.add_asset("scl", pystac.Asset("./SCL.tif", media_type=pystac.MediaType.COG))
    return item


@pytest.fixture
def catalog(tmp_path, write_geotiff, reflectance):
    """catalog.json: one item per scale convention, and a cloud-only one."""
    root = pystac.Catalog("s2", "Sentinel-2 L2A items as Earth Search publishes them")
    items = tmp_path / "items"
    for convention in CONVENTIONS:
        root.add_item(write_item(items / convention, convention, reflectance, convention,
                                 write_geotiff, proj=convention == "x10000-offset"))
    cloudy = np.full((1, 48, 64), 9, dtype=np.uint8)  # cloud, high probability
    root.add_item(write_item(items / "cloudy", "cloudy", reflectance, "x10000",
                             write_geotiff, cloud=100.0, scl=cloudy, ids=True))
    root.normalize_hrefs(str(items))
    root.save(pystac.CatalogType.SELF_CONTAINED, dest_href=str(items))
    return items / "catalog.json"


def test_stac_band_assets_read_as_reflectance_in_every_convention(catalog, reflectance):
    scenes, skipped, failed = read_stac(catalog, asset="red,green,blue,nir", max_cloud=50)
    assert [s.name for s in scenes] == list(CONVENTIONS) and list(skipped) == ["cloudy"]
    assert "100 % is above 50 %" in skipped["cloudy"] and not failed
    for scene, (scale, offset) in zip(scenes, CONVENTIONS.values(), strict=True):
        expected = np.moveaxis(np.minimum(reflectance, 65535 * scale + offset), 0, -1)
        assert scene.asset == "red,green,blue,nir" and scene.mask.endswith("SCL.tif")
        assert scene.resolution == 10 and scene.cloud_cover == 5
        with open_scene(scene.href, bands=NAMES, scale="reflectance") as source:
            assert source.name == scene.name and source.reflectance_from == "file"
            assert source.datetime == pd.Timestamp("2024-03-02 10:30:00")
            assert source.crs == "EPSG:32611" and source.shape == (96, 128, 4)
            whole = source.read(slice(0, 96), slice(0, 128))[0]
            window, valid = source.read(slice(20, 52), slice(24, 88))  # window by window
        assert np.array_equal(window, whole[20:52, 24:88]) and valid.all()
        assert np.abs(whole - expected).max() <= scale
        assert whole[5, 5, 0] == pytest.approx(1.0 if scale < 1e-4 else 1.2, abs=1e-4)


def test_stac_assets_by_band_id_and_missing_band(catalog):
    scenes, _, failed = read_stac(catalog, asset=("B04", "B03", "B02", "B08"))
    assert len(scenes) == 4 and not failed  # B04 finds 'red', and 'red' finds 'B04'
    cloudy = read_stac(catalog, asset="red,green,blue,nir")[0][-1]
    assert cloudy.name == "cloudy" and "B04.tif" in cloudy.href
    scenes, _, failed = read_stac(catalog, asset="red,green,blue,swir16")
    assert not scenes and "has no asset 'swir16'; it has" in failed["x10000"]
    assert "\n" not in failed["x10000"]
    item = pystac.read_file(str(catalog.parent / "x10000" / "x10000.json"))
    assert stac_scene(item, "red").href.startswith("<VRTDataset")  # raster:bands scale
    assert stac_scene(item, "scl").href.endswith("SCL.tif")  # unscaled: the file itself


def test_scl_cloud_only_scene_is_scanned_as_nothing_usable(catalog, bright_centre):
    scenes = read_stac(catalog, asset="red,green,blue,nir")[0]
    clear, cloudy = scenes[2], scenes[3]
    assert is_scl(cloudy.mask) and not is_scl(cloudy.href) and 9 in SCL_UNUSABLE
    model = bright_centre(chip_resolution=10.0)
    results = [scan_scene(model, s.href, bands=(1, 2, 3), scale=(0, 4000), mask=s.mask,
                          stride=4) for s in (clear, cloudy)]
    assert results[0].clear_fraction == 1.0 and len(results[0].detections) == 3
    assert results[1].clear_fraction == 0.0 and results[1].valid_fraction == 1.0
    assert len(results[1].detections) == 0 and np.isnan(results[1].probabilities).all()


# ------------------------------------------------------------ shared sen2ships file
@pytest.mark.skipif(not S2_DIR.is_dir(), reason="../shared/data/sentinel2 is absent")
def test_stac_item_over_a_crop_of_a_shared_scene(tmp_path):
    path = S2_DIR / "gdynia_2023-06-11.tif"
    crop = rasterio.windows.Window(700, 400, 300, 200)
    with rasterio.open(path) as dataset:
        profile = {**dataset.profile, "count": 1, "width": 300, "height": 200,
                   "transform": dataset.window_transform(crop)}
        numbers = dataset.read(window=crop)
    item = pystac.Item("gdynia-crop", None, None, pd.Timestamp("2023-06-11").to_pydatetime(),
                       {})
    for band, key in enumerate(NAMES):
        with rasterio.open(tmp_path / f"{key}.tif", "w", **profile) as out:
            out.write(numbers[band:band + 1])
        item.add_asset(key, pystac.Asset(str(tmp_path / f"{key}.tif"), extra_fields={
            "raster:bands": [{"scale": 1 / 65535, "offset": 0}]}))
    scene = stac_scene(item, ",".join(NAMES))
    from_stac = read_scene(scene.href, bands=NAMES, scale="reflectance")
    with open_scene(path, bands=NAMES, scale="reflectance") as source:
        assert source.reflectance_from == "VALUE_SCALE tag"
        from_file = source.read(slice(400, 600), slice(700, 1000))[0]
    assert np.allclose(from_stac, from_file, atol=1e-7)
    assert 0 < np.median(from_file[..., 3]) < 0.5  # reflectance, not digital numbers


def test_survey_of_band_stacks_counts_a_cloud_only_scene_as_not_clear(catalog,
                                                                      bright_centre):
    from sklship.scenes.survey import ScanSettings, scan_scenes

    scenes = read_stac(catalog, asset="red,green,blue")[0]
    settings = ScanSettings(asset="red,green,blue", scale=(0, 4000), stride=4)
    detections, counts = scan_scenes(bright_centre(chip_resolution=10.0), scenes,
                                     settings=settings)
    assert counts["scene"].tolist() == [*CONVENTIONS, "cloudy"]
    assert counts["count"].tolist() == [3, 3, 3, 0]
    assert counts["clear_fraction"].tolist() == [1.0, 1.0, 1.0, 0.0]
    assert (counts["datetime"] == pd.Timestamp("2024-03-02 10:30")).all()
    assert set(detections["crs"]) == {"EPSG:32611"}


def test_remote_band_assets_are_listed_from_their_proj_fields(catalog):
    item = pystac.read_file(str(catalog.parent / "x10000-offset" / "x10000-offset.json"))
    for asset in item.assets.values():  # as on Earth Search: https COGs, not opened here
        asset.href = "https://sentinel-cogs.invalid/T32UQE/" + asset.href.split("/")[-1]
    scene = stac_scene(item, "B04,B03,B02,B08")
    assert scene.href.count("/vsicurl/https://sentinel-cogs.invalid/T32UQE/") == 4
    assert 'rasterXSize="128"' in scene.href and "<Offset>-0.1</Offset>" in scene.href
    assert scene.mask == "https://sentinel-cogs.invalid/T32UQE/SCL.tif"


def test_single_band_files_scanned_as_one_scene(catalog, bright_centre, write_geotiff):
    folder = catalog.parent / "x10000"
    files = [folder / f"{key}.tif" for key in ("red", "green", "blue")]
    result = scan_scene(bright_centre(chip_resolution=10.0), files, scale=(0, 4000),
                        stride=4)
    assert result.scene_shape == (96, 128, 3) and len(result.detections) == 3
    assert result.crs == "EPSG:32611" and result.bands == (1, 2, 3)
    with open_scene([folder / "red.tif", folder / "SCL.tif"], scale=(0, 65535)) as source:
        assert source.shape == (96, 128, 2) and source.name == "x10000"
        assert str(folder / "SCL.tif") in source.what  # the 20 m uint8 SCL, put on 10 m
        assert np.array_equal(source.dataset.read(2, window=((0, 4), (0, 4))),
                              np.full((4, 4), 6))
    wide = write_geotiff(folder / "wide.tif", np.zeros((1, 96, 128), np.uint16), res=20)
    with pytest.raises(ValueError, match="wide.tif covers another area than"):
        open_scene([folder / "red.tif", wide])


def test_read_window_resampled_keeps_reflectance_and_saturation(tmp_path, write_geotiff,
                                                                 reflectance):
    from rasterio.enums import Resampling
    from rasterio.windows import Window

    tags = {"VALUE_SCALE": "surface reflectance * 65535"}
    path = write_bands(tmp_path, to_numbers(reflectance, 1 / 65535, 0), write_geotiff,
                       tags=tags)
    with open_scene(path, bands=NAMES, scale="reflectance") as source:
        pixels, valid = source.read_window(Window(0, 0, 32, 32))
        averaged = source.read_window(Window(24, 16, 16, 16), (4, 4), Resampling.average)[0]
    assert pixels.shape == (32, 32, 4) and pixels.dtype == np.float32
    assert not valid[5, 5] and valid.sum() == 32 * 32 - 1  # the saturated glint
    assert averaged.shape == (4, 4, 4) and averaged.dtype == np.float32
    assert averaged[2, 1, 0] == pytest.approx((8 * 0.3 + 8 * 0.03) / 16, abs=1e-4)


def test_esa_tags_with_several_offsets_and_none_per_band(tmp_path, write_geotiff,
                                                         reflectance):
    tags = {"BOA_QUANTIFICATION_VALUE": "10000", "BOA_ADD_OFFSET_B04": "-1000",
            "BOA_ADD_OFFSET_B08": "-900"}
    path = write_bands(tmp_path, to_numbers(reflectance, 1e-4, -0.1), write_geotiff,
                       tags=tags)
    with pytest.raises(ValueError, match=r"several BOA_ADD_OFFSET values \['-1000', '-900'\]"):
        open_scene(path, bands=NAMES, scale="reflectance")


def test_item_without_raster_scale_uses_its_processing_baseline(tmp_path, write_geotiff,
                                                                reflectance):
    item = write_item(tmp_path / "pc", "pc", reflectance, "x10000-offset", write_geotiff,
                      ids=True)  # Planetary Computer: B04..., SCL, no raster:bands scale
    for asset in item.assets.values():
        asset.extra_fields.pop("raster:bands", None)
    item.assets["SCL"] = item.assets.pop("scl")
    item.set_self_href(str(tmp_path / "pc" / "pc.json"))  # relative hrefs resolve there
    with pytest.raises(ValueError, match="does not say the scale of its reflectance"):
        open_scene(stac_scene(item, "red,green,blue,nir").href, scale="reflectance")
    item.properties["s2:processing_baseline"] = "05.10"
    scene = stac_scene(item, "red,green,blue,nir")
    assert scene.mask.endswith("SCL.tif") and scene.asset == "red,green,blue,nir"
    with open_scene(scene.href, scale="reflectance") as source:
        assert source.reflectance_from == "ESA L2A tags"
        # Without bands, the stack's red, green and blue, as a file's by descriptions.
        assert source.read(slice(24, 25), slice(30, 31))[0][0, 0].tolist() == \
            pytest.approx([0.3, 0.3, 0.3], abs=1e-4)
    with open_scene(scene.href, bands=NAMES, scale="reflectance") as source:
        assert source.read(slice(24, 25), slice(30, 31))[0][0, 0].tolist() == \
            pytest.approx([0.3, 0.3, 0.3, 0.35], abs=1e-4)
