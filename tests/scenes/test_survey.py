"""scan_to_folder: the survey of ``sklship scan`` as a library call."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sklship.scenes.settings import ScanSettings
from sklship.scenes.survey import scan_to_folder


@pytest.fixture
def scenes(tmp_path, ship_scene):
    """Two PNG scenes, their UDM2-named neighbour and an unreadable one."""
    folder = tmp_path / "in"
    folder.mkdir()
    paths = []
    for name, shift in (("north", 0), ("south", 8)):
        paths.append(folder / f"{name}.png")
        Image.fromarray(np.roll(ship_scene[0], shift, axis=1)).save(paths[-1])
    (folder / "north_udm2.png").write_bytes(paths[0].read_bytes())
    (folder / "broken.png").write_text("not an image")
    return folder


def test_scan_to_folder_writes_skips_resumes_and_reports(bright_centre, scenes, tmp_path):
    model, out = bright_centre(), tmp_path / "out"
    files = sorted(scenes.glob("*.png"))  # a glob also matches the mask
    settings = ScanSettings(stride=4)
    report = scan_to_folder(model, files, out, settings=settings)
    assert [p.name for p in report.excluded] == ["north_udm2.png"]
    assert report.names == ["broken", "north", "south"]
    assert report.scanned == ["north", "south"] and report.skipped == []
    assert list(report.failed) == ["broken"] and "not an image" in report.failed["broken"]
    counts = pd.read_csv(out / "counts.csv")
    assert counts[["scene", "count"]].values.tolist() == [["north", 3], ["south", 3]]
    assert report.counts["count"].tolist() == [3, 3]
    run = json.loads((out / "run.json").read_text())
    assert run["scenes"] == ["north", "south"] and run["stride"] == 4
    assert set(ScanSettings.names()) <= set(run)
    assert {p.name for p in out.glob("*_scan.png")} == {"north_scan.png", "south_scan.png"}

    # A run killed while writing leaves temporary files; the restart removes
    # them, skips the scenes done and gives the same tables.
    planted = [out / ".north_scan.png.k3x9_q2z.tmp.png",
               out / "scenes" / ".south.counts.csv.a1b2c3d4.tmp.csv"]
    for path in planted:
        path.write_bytes(b"half")
    stamp = (out / "scenes" / "north.counts.csv").stat().st_mtime_ns
    again = scan_to_folder(model, files, out, settings=settings)
    assert sorted(again.removed) == sorted(planted)
    assert not any(path.exists() for path in planted)
    assert again.scanned == [] and again.skipped == ["north", "south"]
    assert list(again.failed) == ["broken"]  # failures are tried again
    assert (out / "scenes" / "north.counts.csv").stat().st_mtime_ns == stamp
    pd.testing.assert_frame_equal(pd.read_csv(out / "counts.csv"), counts)
    assert not list(out.rglob(".*.tmp*"))

    forced = scan_to_folder(model, files[1:2], out, settings=settings, overwrite=True)
    assert forced.scanned == ["north"] and forced.removed == []


def test_a_run_where_every_scene_fails_writes_no_results(bright_centre, scenes, tmp_path):
    out = tmp_path / "out"
    report = scan_to_folder(bright_centre(), [scenes / "broken.png"], out)
    assert list(report.failed) == ["broken"] and report.scanned == []
    assert report.counts is None and report.record is None
    assert out.is_dir() and list(out.iterdir()) == []


def test_a_restart_refuses_results_another_scene_or_setting_made(bright_centre, scenes,
                                                                tmp_path):
    model, out = bright_centre(), tmp_path / "out"
    north = scenes / "north.png"
    scan_to_folder(model, [north], out, settings=ScanSettings(stride=4))
    record = json.loads((out / "scenes" / "north.run.json").read_text())
    assert record["source"] == str(north.resolve()) and record["stride"] == 4
    assert "scan_seconds" not in record and "sklship_version" not in record
    stamp = (out / "scenes" / "north.counts.csv").stat().st_mtime_ns
    # Another threshold, or another file of the same name: nothing is scanned
    # or rewritten, and the message names what changed.
    with pytest.raises(ValueError) as error:
        scan_to_folder(model, [north], out, settings=ScanSettings(stride=4, threshold=0.9))
    assert "threshold of north: 0.5 then, 0.9 now" in str(error.value)
    assert "overwrite=True (command line: --overwrite)" in str(error.value)
    other = tmp_path / "other" / "north.png"
    other.parent.mkdir()
    other.write_bytes((scenes / "south.png").read_bytes())
    with pytest.raises(ValueError, match="source of north: .*in/north.png"):
        scan_to_folder(model, [other], out, settings=ScanSettings(stride=4))
    assert (out / "scenes" / "north.counts.csv").stat().st_mtime_ns == stamp
    # What does not change detections (the engine, tile size) resumes.
    again = scan_to_folder(model, [north], out, settings=ScanSettings(
        stride=4, engine="batched", tile_size=512))
    assert again.skipped == ["north"] and again.scanned == []
    # Results of a version that recorded nothing are taken as they are.
    (out / "scenes" / "north.run.json").unlink()
    assert scan_to_folder(model, [north], out, settings=ScanSettings(
        stride=4, threshold=0.9)).skipped == ["north"]
    forced = scan_to_folder(model, [other], out, settings=ScanSettings(stride=4),
                            overwrite=True)
    assert forced.scanned == ["north"]
    assert json.loads((out / "scenes" / "north.run.json").read_text())["source"] == str(
        other.resolve())


def test_scan_to_folder_refuses_two_scenes_of_one_name(bright_centre, scenes, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "north.png").write_bytes((scenes / "north.png").read_bytes())
    with pytest.raises(ValueError, match="different names; several are called north"):
        scan_to_folder(bright_centre(), [scenes / "north.png", other / "north.png"],
                       tmp_path / "out")
    assert not (tmp_path / "out").exists()  # refused before anything is written


def test_scan_to_folder_takes_named_arrays_and_marks_true_positions(bright_centre,
                                                                   ship_scene, tmp_path):
    scene, ships = ship_scene
    seen = []
    report = scan_to_folder(bright_centre(), {"synthetic": scene}, tmp_path,
                            settings=ScanSettings(stride=4),
                            true_positions={"synthetic": ships},
                            on_scene=lambda name, result: seen.append((name, result.count)))
    assert seen == [("synthetic", 3)] and report.detections["scene"].tolist() == [
        "synthetic"] * 3
    assert (tmp_path / "synthetic_scan.png").exists()
