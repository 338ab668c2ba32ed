"""Sentinel-2 products as ESA delivers them: .SAFE folders and zips, made here small."""

import zipfile

import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin

from sklship.cli import main
from sklship.scenes.masks import is_scl
from sklship.scenes.safe import is_safe_product, safe_scene
from sklship.scenes.scan import scan_scene
from sklship.scenes.sources import open_scene
from sklship.scenes.survey import ScanSettings, scan_to_folder

BANDS = ("B04", "B03", "B02", "B08")
#: Their descriptions in the product's stack.
NAMES = ("red", "green", "blue", "nir")
START = "2023-06-11T10:05:59.024Z"


def write_product(folder, reflectance, *, name="S2B_MSIL2A_20230611T100559_N0509_R022_T34UCF",
                  baseline="05.09", listed=True, level="Level-2A", cloud=3.5, scl=None,
                  zipped=False):
    """A Level-2A product: the four 10 m bands as lossless JPEG 2000 (digital numbers
    of ``reflectance`` with ESA's offset), a 20 m SCL (water, or ``scl``) and its
    MTD_MSIL2A.xml. Returns its .SAFE folder, or its zip (the folder removed)."""
    offset = -1000 if float(baseline) >= 4 else 0
    safe = folder / f"{name}.SAFE"
    granule = "GRANULE/L2A_T34UCF_A000001_20230611T100559/IMG_DATA"
    height, width = reflectance.shape[1:]
    grid = {"driver": "JP2OpenJPEG", "crs": "EPSG:32634", "count": 1,
            "QUALITY": 100, "REVERSIBLE": "YES"}
    files = []
    for band, values in zip(BANDS, reflectance, strict=True):
        file = f"{granule}/R10m/T34UCF_20230611T100559_{band}_10m"
        numbers = np.clip(np.rint(values * 10000 - offset), 0, 65535).astype(np.uint16)
        _write_jp2(safe / f"{file}.jp2", numbers, 10, grid)
        files.append(file)
    file = f"{granule}/R20m/T34UCF_20230611T100559_SCL_20m"
    classes = np.full((height // 2, width // 2), 6, np.uint8) if scl is None else scl
    _write_jp2(safe / f"{file}.jp2", classes, 20, grid)
    files.append(file)
    offsets = "".join(f'<BOA_ADD_OFFSET band_id="{band}">{offset}</BOA_ADD_OFFSET>'
                      for band in range(13)) if listed else ""
    (safe / "MTD_MSIL2A.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/'
        'User_Product_Level-2A.xsd"><n1:General_Info><Product_Info>'
        f"<PRODUCT_START_TIME>{START}</PRODUCT_START_TIME>"
        f"<PROCESSING_LEVEL>{level}</PROCESSING_LEVEL>"
        f"<PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE>"
        "<Datatake><SPACECRAFT_NAME>Sentinel-2B</SPACECRAFT_NAME></Datatake>"
        "<Product_Organisation><Granule_List><Granule>"
        + "".join(f"<IMAGE_FILE>{file}</IMAGE_FILE>" for file in files)
        + "</Granule></Granule_List></Product_Organisation></Product_Info>"
        "<Product_Image_Characteristics><QUANTIFICATION_VALUES_LIST>"
        '<BOA_QUANTIFICATION_VALUE unit="none">10000</BOA_QUANTIFICATION_VALUE>'
        f"</QUANTIFICATION_VALUES_LIST><BOA_ADD_OFFSET_VALUES_LIST>{offsets}"
        "</BOA_ADD_OFFSET_VALUES_LIST></Product_Image_Characteristics></n1:General_Info>"
        "<n1:Quality_Indicators_Info>"
        f"<Cloud_Coverage_Assessment>{cloud}</Cloud_Coverage_Assessment>"
        "</n1:Quality_Indicators_Info></n1:Level-2A_User_Product>")
    if not zipped:
        return safe
    archive = folder / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as written:
        for file in sorted(safe.rglob("*")):
            written.write(file, file.relative_to(folder))
    for file in sorted(safe.rglob("*"), reverse=True):
        file.unlink() if file.is_file() else file.rmdir()
    safe.rmdir()
    return archive


def _write_jp2(path, values, res, grid):
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", height=values.shape[0], width=values.shape[1],
                       dtype=values.dtype, transform=from_origin(500000, 6000000, res, res),
                       **grid) as dataset:
        dataset.write(values[None])


@pytest.fixture(scope="module")
def reflectance(ship_scene):
    """(4, 96, 128) reflectance: water 0.03, three hulls 0.3 (nir 0.35)."""
    bright = ship_scene[0][..., 0] > 128
    values = np.where(bright, 0.3, 0.03)[None].repeat(4, axis=0)
    values[3][bright] = 0.35
    return values


def test_folder_metadata_file_and_zip_are_one_scene_of_reflectance(tmp_path, reflectance):
    folder = write_product(tmp_path, reflectance)
    (tmp_path / "zipped").mkdir()
    archive = write_product(tmp_path / "zipped", reflectance, zipped=True)
    name = "S2B_MSIL2A_20230611T100559_N0509_R022_T34UCF"
    for given in (folder, folder / "MTD_MSIL2A.xml", archive):
        assert is_safe_product(given)
        scene = safe_scene(given)
        assert (scene.name, scene.resolution, scene.cloud_cover) == (name, 10.0, 3.5)
        assert scene.datetime == pd.Timestamp("2023-06-11 10:05:59.024")
        assert is_scl(scene.mask) and scene.mask.endswith("_SCL_20m.jp2")
        with open_scene(scene.href, scale="reflectance") as source:
            assert source.shape == (96, 128, 3)  # by default red, green and blue
        with open_scene(scene.href, bands=NAMES, scale="reflectance") as source:
            assert source.shape == (96, 128, 4)
            pixels = source.read(slice(24, 25), slice(20, 31))[0][0]
            assert pixels[0].tolist() == pytest.approx([0.03] * 4, abs=1e-4)  # water
            assert pixels[10].tolist() == pytest.approx([0.3, 0.3, 0.3, 0.35], abs=1e-4)
    assert archive.name.endswith(".zip") and scene.mask.startswith("/vsizip/")
    renamed = archive.rename(tmp_path / "port.zip")  # told by its content
    assert is_safe_product(renamed) and safe_scene(renamed).name == name
    (tmp_path / "other.zip").write_text("not a zip")
    assert not is_safe_product(tmp_path / "other.zip") and not is_safe_product(tmp_path)


@pytest.mark.parametrize("baseline, listed", [("05.09", True), ("04.00", False),
                                               ("02.08", False)])
def test_offset_listed_or_implied_by_the_processing_baseline(tmp_path, reflectance,
                                                             baseline, listed):
    scene = safe_scene(write_product(tmp_path, reflectance, baseline=baseline,
                                     listed=listed))
    with open_scene(scene.href, bands=NAMES, scale="reflectance") as source:
        pixel = source.read(slice(60, 61), slice(90, 91))[0][0, 0]
    assert pixel.tolist() == pytest.approx([0.3, 0.3, 0.3, 0.35], abs=1e-4)


def test_scanned_with_its_name_date_and_scl_clouds(tmp_path, reflectance, bright_centre):
    scl = np.full((48, 64), 6, np.uint8)
    scl[24:48, 0:32] = 9  # cloud (high probability) over the ship at row 72, col 40
    product = write_product(tmp_path, reflectance, scl=scl)
    model = bright_centre(chip_resolution=10.0)
    result = scan_scene(model, product, bands=(1, 2, 3), scale=(0, 4000), stride=4)
    assert result.scene_name == "S2B_MSIL2A_20230611T100559_N0509_R022_T34UCF"
    assert result.datetime == pd.Timestamp("2023-06-11 10:05:59.024")
    assert result.count == 2 and result.clear_fraction == pytest.approx(0.75, abs=0.02)
    report = scan_to_folder(model, [product], tmp_path / "out", settings=ScanSettings(
        bands=(1, 2, 3), scale=(0, 4000), stride=4))
    assert report.counts["scene"].tolist() == [result.scene_name]
    assert report.counts["count"].tolist() == [2]


@pytest.mark.parametrize("change, message", [
    ("level", "is a Level-1C product"),
    ("band", "lists no band file ending in _B08_10m"),
    ("xml", "is not XML"),
    ("zip", "is not a zip file"),
])
def test_bad_products_name_the_problem(tmp_path, reflectance, change, message):
    product = write_product(tmp_path, reflectance,
                            level="Level-1C" if change == "level" else "Level-2A")
    metadata = product / "MTD_MSIL2A.xml"
    if change == "band":
        metadata.write_text(metadata.read_text().replace("_B08_10m", "_B8A_20m"))
    elif change == "xml":
        metadata.write_text("<n1:Level-2A_User_Product")
    elif change == "zip":
        product = tmp_path / "S2A_MSIL2A_20240101T000000_N0510_R001_T01ABC_X.zip"
        product.write_text("not a zip")
    with pytest.raises(ValueError, match=message):
        safe_scene(product)


def test_cli_scans_a_folder_of_products_skipping_clouds_and_naming_failures(
        tmp_path, reflectance, capsys):
    folder = tmp_path / "downloads"
    folder.mkdir()
    write_product(folder, reflectance, zipped=True)
    write_product(folder, reflectance, name="S2A_MSIL2A_20230616T100601_N0509_R022_T34UCF",
                  cloud=60.0)
    write_product(folder, reflectance, name="S2A_MSIL2A_20230621T100559_N0509_R022_T34UCF",
                  level="Level-1C")
    out = tmp_path / "out"
    status = main(["scan", str(folder), "--max-cloud", "50", "--no-progress",
                   "--out", str(out)])
    printed = capsys.readouterr()
    assert status == 1, printed.err
    assert "Model: the shipped 'sentinel2-10m'" in printed.err
    assert ("S2A_MSIL2A_20230616T100601_N0509_R022_T34UCF: skipped (cloud cover 60 % is "
            "above 50 %)") in printed.out
    assert "1 of 2 scenes could not be scanned" in printed.err
    assert "is a Level-1C product" in printed.err
    counts = pd.read_csv(out / "counts.csv")
    assert counts["scene"].tolist() == ["S2B_MSIL2A_20230611T100559_N0509_R022_T34UCF"]
    assert counts["datetime"].tolist() == ["2023-06-11 10:05:59.024"]
    status = main(["scan", str(folder / "S2A_MSIL2A_20230616T100601_N0509_R022_T34UCF.SAFE"),
                   "--max-cloud", "50", "--out", str(tmp_path / "none")])
    assert status == 0 and "Nothing to scan: every scene was skipped." in \
        capsys.readouterr().out
    assert not (tmp_path / "none").exists()
    level1c = folder / "S2A_MSIL2A_20230621T100559_N0509_R022_T34UCF.SAFE" / "MTD_MSIL2A.xml"
    status = main(["scan", str(level1c), "--out", str(tmp_path / "none")])
    assert status == 1 and "S2A_MSIL2A_20230621T100559_N0509_R022_T34UCF: " in \
        capsys.readouterr().err
