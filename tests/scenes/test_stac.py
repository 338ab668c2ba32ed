"""STAC in: a three-item catalog built on disk with pystac, scanned like files."""

import json

import numpy as np
import pandas as pd
import pystac
import pytest
from shapely.geometry import box, mapping

from sklship.cli import main
from sklship.scenes.stac import read_stac
from sklship.scenes.survey import ScanSettings, scan_scenes

DATES = ["2017-07-05T18:08:18Z", "2017-08-02T18:10:00Z", "2017-09-06T18:09:30Z"]
CLOUD = [5.0, 60.0, 10.0]


@pytest.fixture
def catalog(tmp_path, write_geotiff, ship_scene):
    """catalog.json with three items; item c lacks a udm2 and has a 6 m visual."""
    scene = np.moveaxis(ship_scene[0], -1, 0)
    root = pystac.Catalog("port", "three PlanetScope-like items")
    for name, when, cloud in zip("abc", DATES, CLOUD, strict=True):
        folder = tmp_path / "items" / name
        folder.mkdir(parents=True)
        res = 6 if name == "c" else 3
        write_geotiff(folder / "visual.tif", scene[:, ::res // 3, ::res // 3], res=res,
                      tags={})
        item = pystac.Item(name, mapping(box(-117.0, 33.4, -116.99, 33.41)),
                           [-117.0, 33.4, -116.99, 33.41],
                           pd.Timestamp(when).to_pydatetime(),
                           {"eo:cloud_cover": cloud, "gsd": res})
        item.add_asset("visual", pystac.Asset("./visual.tif", media_type=pystac.MediaType.GEOTIFF))
        if name != "c":
            udm2 = np.zeros((8, *scene.shape[1:]), dtype=np.uint8)
            udm2[5, 48:80, 72:112] = 1 if name == "a" else 0  # a: cloud over one ship
            write_geotiff(folder / "udm2.tif", udm2, tags={})
            item.add_asset("udm2", pystac.Asset("./udm2.tif"))
        root.add_item(item)
    root.normalize_hrefs(str(tmp_path / "items"))
    # Items live in items/<id>/<id>.json; assets beside them, relative hrefs.
    for item in root.get_items():
        item.set_self_href(str(tmp_path / "items" / item.id / f"{item.id}.json"))
    root.save(pystac.CatalogType.SELF_CONTAINED, dest_href=str(tmp_path / "items"))
    return tmp_path / "items" / "catalog.json"


def test_read_stac_dates_assets_and_cloud_filter(catalog):
    scenes, skipped, failed = read_stac(catalog, max_cloud=50)
    assert [s.name for s in scenes] == ["a", "c"] and list(skipped) == ["b"]
    assert "60" in skipped["b"] and not failed
    a, c = scenes
    assert a.datetime == pd.Timestamp("2017-07-05 18:08:18")
    assert a.href.endswith("items/a/visual.tif") and a.mask.endswith("items/a/udm2.tif")
    assert c.mask is None and c.resolution == 6 and a.cloud_cover == 5
    scenes, skipped, failed = read_stac(catalog, asset="analytic")
    assert not scenes and set(failed) == {"a", "b", "c"}
    assert "has no asset 'analytic'; it has udm2, visual" in failed["a"]


def test_scan_scenes_takes_items(catalog, bright_centre):
    items = list(pystac.read_file(str(catalog)).get_items(recursive=True))
    detections, counts = scan_scenes(bright_centre(), items,
                                     settings=ScanSettings(stride=2, engine="batched"))
    assert list(counts["scene"]) == ["a", "b", "c"]
    assert list(counts["datetime"]) == [pd.Timestamp(d).tz_localize(None) for d in DATES]
    # a: the udm2 cloud hides one of three ships; c at 6 m is resampled to 3 m.
    assert list(counts["count"]) == [2, 3, 3]
    assert counts["clear_fraction"][0] == pytest.approx(1 - 32 * 40 / (96 * 128), abs=0.01)
    with pytest.raises(ValueError, match="has no asset 'analytic'"):
        scan_scenes(bright_centre(), items, settings=ScanSettings(asset="analytic"))


def test_cli_scan_stac_reports_skipped_and_unreadable(catalog, tmp_path, capsys):
    import joblib

    from sklship import CNNShipClassifier, make_ships

    X, y = make_ships(40, image_size=16, random_state=0, return_X_y=True)
    model = CNNShipClassifier(filters=(4,), epochs=1, random_state=0).fit(X, y)
    joblib.dump(model, tmp_path / "model.joblib")
    (catalog.parent / "c" / "visual.tif").write_bytes(b"not a tiff")
    out = tmp_path / "out"
    status = main(["scan", str(tmp_path / "model.joblib"), "--stac", str(catalog),
                   "--max-cloud", "50", "--stride", "4", "--out", str(out)])
    printed = capsys.readouterr()
    assert status == 1
    assert "b: skipped (eo:cloud_cover 60 % is above 50 %)" in printed.out
    assert "1 of 2 scenes could not be scanned" in printed.err and "c:" in printed.err
    counts = pd.read_csv(out / "counts.csv")
    assert list(counts["scene"]) == ["a"] and "clear_fraction" in counts
    assert json.loads((out / "run.json").read_text())["asset"] == "visual"


def test_scan_to_folder_takes_items_and_single_scans_too(catalog, bright_centre, tmp_path):
    from sklship.scenes.scan import scan_scene
    from sklship.scenes.survey import scan_to_folder

    items = list(pystac.read_file(str(catalog)).get_items(recursive=True))
    settings = ScanSettings(stride=2, engine="batched")
    report = scan_to_folder(bright_centre(), items, tmp_path / "out", settings=settings)
    assert report.scanned == ["a", "b", "c"] and not report.failed
    assert report.counts["count"].tolist() == [2, 3, 3]
    assert {p.name for p in (tmp_path / "out").glob("*_scan.png")} == {
        "a_scan.png", "b_scan.png", "c_scan.png"}
    # scan_scene takes an item itself: its asset, date, resolution and udm2 mask.
    result = scan_scene(bright_centre(), items[0], settings)
    assert (result.scene_name, result.count) == ("a", 2)
    assert result.datetime == pd.Timestamp(DATES[0]).tz_localize(None)
