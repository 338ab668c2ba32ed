"""The ``sklship`` command line: outputs and exit codes, on tiny synthetic data."""

import hashlib
import io
import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sklship import __version__, make_ships
from sklship.cli import main
from sklship.datasets import make_scene
from sklship.estimators.persistence import load_model

# Small data and short training, so that every command takes seconds.
TINY = ["--n-samples", "40", "--image-size", "16"]


def run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "cnn.sklship"
    assert main(["train", *TINY, "--param", "epochs=1", "--param", "filters=[4]",
                 "--out", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def chip_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chips")
    for i, chip in enumerate(make_ships(3, image_size=16, random_state=1).images):
        Image.fromarray(chip).save(folder / f"chip{i}.png")
    return folder


def test_compare_prints_table_and_writes_results_and_plots(tmp_path, capsys):
    status, out, err = run(capsys, "compare", *TINY, "--models", "baseline", "cnn",
                           "--cv", "2", "--epochs", "1", "--group-by-scene",
                           "--out", tmp_path)
    assert status == 0
    assert "| baseline" in out and "| cnn" in out and "balanced accuracy" in out
    assert "Brier score" in out and "log loss" in out
    assert "compare:" not in err  # no progress bar when stderr is not a terminal
    assert err.startswith("Comparing baseline, cnn on 40 synthetic")
    results = pd.read_csv(tmp_path / "results.csv", index_col="model")
    assert list(results.index) == ["baseline", "cnn"]
    assert "group cross-validation by scene" in (tmp_path / "results.md").read_text()
    for name in ("baseline", "cnn"):
        assert (tmp_path / f"{name}_confusion.png").exists()
        assert (tmp_path / f"{name}_misclassified.png").exists()
    assert (tmp_path / "cnn_learning_curves.png").exists()
    assert not (tmp_path / "baseline_learning_curves.png").exists()  # no history
    with Image.open(tmp_path / "calibration.png") as image:
        assert image.format == "PNG"
    assert {"brier_score_mean", "log_loss_mean"} <= set(results.columns)


def test_progress_bars_on_a_terminal_unless_no_progress(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    argv = ["compare", *TINY, "--models", "baseline", "--cv", "2", "--out", tmp_path]
    status, _, err = run(capsys, *argv)
    assert status == 0 and "compare: 100%" in err and "2/2" in err
    status, _, err = run(capsys, *argv, "--no-progress")
    assert status == 0 and "compare:" not in err


def test_version_and_python_m(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0 and capsys.readouterr().out == f"sklship {__version__}\n"
    completed = subprocess.run([sys.executable, "-m", "sklship", "--version"],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0 and completed.stdout == f"sklship {__version__}\n"


def test_quiet_and_verbose(model_file, tmp_path, capsys):
    out_file = tmp_path / "p.csv"
    status, out, err = run(capsys, "predict", model_file, "--n-samples", 2, "--out",
                           out_file)
    assert status == 0 and out == "" and err == f"Wrote 2 predictions to {out_file}\n"
    status, out, err = run(capsys, "predict", "-q", model_file, "--n-samples", 2,
                           "--out", out_file)
    assert status == 0 and out == "" and err == ""
    status, _, err = run(capsys, "predict", "-q", model_file, tmp_path / "none.png")
    assert status == 1 and err.startswith("sklship: error: ")  # errors stay
    status, _, err = run(capsys, "predict", "-q", "-v", model_file)
    assert status == 2 and "not allowed with argument" in err


def test_train_writes_native_model(model_file):
    model = load_model(model_file)
    assert model.filters == [4] and model.epochs == 1 and model.input_shape_ == (16, 16, 3)


def test_train_joblib_and_predict_it(tmp_path, capsys):
    path = tmp_path / "baseline.joblib"
    assert run(capsys, "train", "--model", "baseline", *TINY, "--out", path)[0] == 0
    status, out, _ = run(capsys, "predict", path, "--image-size", "16", "--n-samples", 4)
    assert status == 0
    assert out.splitlines()[0] == "file,probability,label"
    assert len(out.splitlines()) == 5


def test_predict_png_folder_and_file_to_csv(model_file, chip_folder, tmp_path, capsys):
    out_file = tmp_path / "predictions.csv"
    status, _, _ = run(capsys, "predict", model_file, chip_folder,
                       chip_folder / "chip0.png", "--out", out_file)
    assert status == 0
    table = pd.read_csv(out_file)
    assert list(table.columns) == ["file", "probability", "label"]
    assert len(table) == 4 and table["file"].iloc[0].endswith("chip0.png")
    assert table["probability"].between(0, 1).all()
    assert set(table["label"]) <= {0, 1}
    np.testing.assert_array_equal(table["label"], (table["probability"] >= 0.5) * 1)
    status, _, _ = run(capsys, "predict", model_file, chip_folder, "--threshold", 0,
                       "--out", out_file)
    assert status == 0 and (pd.read_csv(out_file)["label"] == 1).all()


def test_train_calibrated_with_tuned_threshold_then_predict_scan_explain(tmp_path,
                                                                         capsys):
    from sklship.evaluation.thresholds import decision_threshold

    path = tmp_path / "calibrated.sklship"
    status, out, _ = run(capsys, "train", *TINY, "--param", "epochs=1", "--param",
                         "filters=[4]", "--calibrate", "sigmoid", "--tune-threshold",
                         "balanced_accuracy", "--cv", 2, "--out", path)
    assert status == 0 and "sigmoid calibration, threshold tuned for balanced_accuracy" \
        in out
    model = load_model(path)
    threshold = decision_threshold(model)
    assert f"threshold {threshold:.3f}" in out
    assert type(model).__name__ == "TunedThresholdClassifierCV"
    assert type(model.estimator_).__name__ == "CalibratedClassifierCV"

    status, out, _ = run(capsys, "predict", path, "--n-samples", 30)
    table = pd.read_csv(io.StringIO(out))
    proba = model.predict_proba(make_ships(30, image_size=16, random_state=0).images)
    np.testing.assert_allclose(table["probability"], proba[:, 1], atol=1e-6)
    np.testing.assert_array_equal(table["label"], (proba[:, 1] >= threshold) * 1)

    scene, _ = make_scene(48, 64, n_ships=1, chip_size=16, random_state=0)
    Image.fromarray(scene).save(tmp_path / "harbour.png")
    status, _, err = run(capsys, "scan", path, tmp_path / "harbour.png", "--stride", 4,
                         "--out", tmp_path / "scan")
    assert status == 0, err
    detections = pd.read_csv(tmp_path / "scan" / "detections.csv")
    assert (detections["probability"] >= threshold - 1e-6).all()

    status, _, err = run(capsys, "explain", path, "--n-samples", 3, "--columns", 3,
                         "--out", tmp_path / "explain")
    assert status == 0 and err == f"Wrote grad_cam.png (3 chips) to {tmp_path / 'explain'}\n"
    with Image.open(tmp_path / "explain" / "grad_cam.png") as image:
        assert image.format == "PNG" and image.width > image.height


def test_train_fixed_threshold_joblib(tmp_path, capsys):
    path = tmp_path / "fixed.joblib"
    status, out, _ = run(capsys, "train", "--model", "baseline", *TINY, "--threshold",
                         0.3, "--out", path)
    assert status == 0 and "threshold 0.300" in out
    status, out, _ = run(capsys, "predict", path, "--image-size", 16, "--n-samples", 10)
    table = pd.read_csv(io.StringIO(out))
    np.testing.assert_array_equal(table["label"], (table["probability"] >= 0.3) * 1)


def test_search_with_json_grid_writes_results_and_best_model(tmp_path, capsys):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"logistic__C": [0.1, 1.0]}))
    status, out, _ = run(capsys, "search", "--model", "baseline", "--grid", grid, *TINY,
                         "--cv", "2", "--out", tmp_path / "search")
    assert status == 0
    assert "Best balanced_accuracy" in out
    results = pd.read_csv(tmp_path / "search" / "cv_results.csv")
    assert len(results) == 2
    best = load_model(tmp_path / "search" / "best_model.sklship")
    assert best[-1].C in (0.1, 1.0)


def test_scan_synthetic_scene_and_scene_file(model_file, tmp_path, capsys):
    status, out, err = run(capsys, "scan", *TINY[2:], "--n-samples", 40, "--epochs", 1,
                           "--scene-size", 64, "--n-ships", 1, "--out", tmp_path / "a")
    assert status == 0 and "synthetic-scene:" in out and "scan:" not in err
    assert (tmp_path / "a" / "synthetic-scene_scan.png").exists()

    scene, _ = make_scene(48, 64, n_ships=1, chip_size=16, random_state=0)
    Image.fromarray(scene).save(tmp_path / "harbour.png")
    status, out, err = run(capsys, "scan", model_file, tmp_path / "harbour.png",
                           "--stride", 4, "--no-progress", "--out", tmp_path / "b")
    assert status == 0 and out.startswith("harbour: ")
    assert "harbour has no CRS" in err and "its pixels were taken as 3 m, the model's" in err
    counts = pd.read_csv(tmp_path / "b" / "counts.csv")
    detections = pd.read_csv(tmp_path / "b" / "detections.csv")
    assert list(counts.columns) == ["scene", "datetime", "aoi", "count", "valid_fraction",
                                    "clear_fraction"]
    assert counts[["scene", "count"]].to_dict("list") == {"scene": ["harbour"],
                                                         "count": [len(detections)]}
    assert counts["datetime"].isna().all() and counts["aoi"].isna().all()
    # The same picture said to be at 6 m: resampled to the model's 3 m as read.
    status, out, err = run(capsys, "scan", model_file, tmp_path / "harbour.png",
                           "--resolution", 6, "--stride", 4, "--no-progress",
                           "--out", tmp_path / "c")
    assert status == 0, err
    run_record = json.loads((tmp_path / "c" / "run.json").read_text())
    assert run_record["resolution"] == 6 and run_record["model_resolution"] == 3
    assert list(detections.columns) == ["scene", "datetime", "row", "col", "probability"]
    assert (tmp_path / "b" / "harbour_scan.png").exists()
    assert "harbour has no CRS" in err and "taken as" not in err  # --resolution given
    # How the scan was made: the model file's hash and the resolved settings.
    run_record = json.loads((tmp_path / "b" / "run.json").read_text())
    assert run_record["model_sha256"] == hashlib.sha256(model_file.read_bytes()).hexdigest()
    assert run_record["model_file"] == model_file.name and run_record["scenes"] == ["harbour"]
    assert {key: run_record[key] for key in ("window", "stride", "threshold",
                                             "min_neighbors", "min_distance")} == {
        "window": 16, "stride": 4, "threshold": 0.5, "min_neighbors": 0,
        "min_distance": 12.0}
    assert run_record["sklship_version"] == __version__
    assert run_record["engine"] == "auto" and run_record["scan_seconds"] > 0
    # Written at the precision they mean: probabilities to 6 decimals.
    assert (detections["probability"].round(6) == detections["probability"]).all()


def write_scenes(folder, write_geotiff):
    """Three dated 16-bit 4-band GeoTIFFs (PlanetScope names) and a ports GeoJSON."""
    days = ["20170705_180818_1041", "20170706_180818_1042", "20170712_180818_1043"]
    for k, day in enumerate(days):
        scene, _ = make_scene(48, 64, n_ships=1, chip_size=16, random_state=k)
        bands = np.moveaxis(scene[..., ::-1], -1, 0).astype(np.uint16) * 16
        write_geotiff(folder / f"{day}.tif", np.concatenate([bands, bands[:1]]), tags={})
    lon, lat = -117.0, 33.4385  # the scenes' area (UTM 11N, from 500000, 3700000)
    port = {"type": "Polygon", "coordinates": [[[lon - 1e-2, lat - 1e-2], [lon + 2e-3, lat - 1e-2],
                                                [lon + 2e-3, lat + 1e-2], [lon - 1e-2, lat + 1e-2],
                                                [lon - 1e-2, lat - 1e-2]]]}
    (folder / "ports.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "harbour"}, "geometry": port}]}))
    return [folder / f"{day}.tif" for day in days]


def test_scan_geotiffs_with_areas_then_activity(model_file, write_geotiff, tmp_path,
                                               capsys):
    scenes = write_scenes(tmp_path, write_geotiff)
    out = tmp_path / "out"
    argv = ["scan", model_file, *scenes, "--aoi", tmp_path / "ports.geojson",
            "--bands", "3,2,1", "--scale", "0,4080", "--stride", 4, "--threshold", 0,
            "--out", out]
    status, stdout, err = run(capsys, *argv)
    assert status == 0, err
    detections = pd.read_csv(out / "detections.csv")
    assert list(detections.columns) == ["scene", "datetime", "row", "col", "probability",
                                        "x", "y", "lon", "lat", "crs", "aoi"]
    assert len(detections) > 0 and set(detections["aoi"]) == {"harbour"}
    assert (detections["crs"] == "EPSG:32611").all()
    counts = pd.read_csv(out / "counts.csv")
    assert counts["scene"].tolist() == [path.stem for path in scenes]
    assert counts["datetime"].tolist() == ["2017-07-05 18:08:18", "2017-07-06 18:08:18",
                                           "2017-07-12 18:08:18"]
    assert (counts["aoi"] == "harbour").all()
    assert counts["count"].sum() == len(detections)
    assert ((counts["valid_fraction"] > 0) & (counts["valid_fraction"] < 1)).all()
    collection = json.loads((out / "detections.geojson").read_text())
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == len(detections)
    first = collection["features"][0]
    assert first["geometry"] == {"type": "Point", "coordinates": [
        detections["lon"][0], detections["lat"][0]]}
    assert first["properties"]["scene"] == scenes[0].stem
    assert {p.name for p in out.glob("*_scan.png")} == {f"{p.stem}_scan.png" for p in scenes}

    # A restart skips the scenes done; --overwrite scans them again.
    done = out / "scenes" / f"{scenes[0].stem}.counts.csv"
    stamp = done.stat().st_mtime_ns
    status, stdout, _ = run(capsys, *argv)
    assert status == 0 and stdout.count("scanned before, skipped") == 3
    assert done.stat().st_mtime_ns == stamp
    pd.testing.assert_frame_equal(pd.read_csv(out / "detections.csv"), detections)
    status, stdout, _ = run(capsys, *argv, "--overwrite", "--no-progress")
    assert status == 0 and "skipped" not in stdout and done.stat().st_mtime_ns != stamp

    status, stdout, err = run(capsys, "activity", out / "counts.csv", "--freq", "W",
                              "--min-valid-fraction", 0, "--out", tmp_path / "act")
    assert status == 0, err
    activity = pd.read_csv(tmp_path / "act" / "activity.csv")
    assert activity.columns.tolist() == ["aoi", "period", "n_scenes", "mean_ships",
                                         "max_ships", "clear_fraction", "mean_low",
                                         "mean_high", "thin"]
    assert activity["period"].tolist() == ["2017-07-03", "2017-07-10"]
    assert activity["n_scenes"].tolist() == [2, 1]
    assert activity["max_ships"].tolist() == [counts["count"][:2].max(), counts["count"][2]]
    with Image.open(tmp_path / "act" / "activity.png") as image:
        assert image.format == "PNG"
    status, stdout, err = run(capsys, "activity", out / "counts.csv", "--freq", "W",
                              "--min-valid-fraction", 0, "--base", "2017-07-03:2017-07-09",
                              "--min-clear", 0.01, "--out", tmp_path / "index")
    assert status == 0, err
    index = pd.read_csv(tmp_path / "index" / "activity.csv")
    assert index["index"][0] == 100 and {"index_low", "index_high"} <= set(index)
    status, _, err = run(capsys, "activity", out / "counts.csv", "--base", "2016-01",
                         "--out", tmp_path / "none")
    assert status == 2 and "base period 2016-01 has no observation" in err
    assert not (tmp_path / "none" / "activity.csv").exists()
    # The library's warnings are the command's notes: one line, no source line.
    counts.loc[0, "datetime"] = None
    counts.to_csv(tmp_path / "undated.csv", index=False)
    status, _, err = run(capsys, "activity", tmp_path / "undated.csv",
                         "--min-valid-fraction", 0, "--out", tmp_path / "undated")
    assert status == 0, err
    assert err.splitlines()[0] == ("sklship: note: left out 1 of 3 rows without a datetime "
                                   "(scenes whose date is unknown).")
    assert "Warning" not in err and ".py" not in err


def test_scan_goes_on_past_an_unreadable_scene_and_exits_1(model_file, write_geotiff,
                                                           tmp_path, capsys):
    scenes = write_scenes(tmp_path, write_geotiff)[:2]
    broken = tmp_path / "broken.tif"
    broken.write_text("not a scene")
    status, _, err = run(capsys, "scan", model_file, scenes[0], broken, scenes[1],
                         tmp_path / "gone.tif", "--bands", "3,2,1", "--scale", "0,4080",
                         "--no-progress", "--out", tmp_path / "out")
    assert status == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("sklship: error: 2 of 4 scenes could not be scanned (the others "
                           "were written): gone: scene file")
    assert "broken: Cannot read scene file" in last and "not an image" in last
    counts = pd.read_csv(tmp_path / "out" / "counts.csv")
    assert counts["scene"].tolist() == [path.stem for path in scenes]
    assert not list((tmp_path / "out").rglob("*.tmp*"))  # nothing half-written


def test_scan_takes_a_folder_as_its_scene_files(model_file, write_geotiff, tmp_path, capsys):
    folder = tmp_path / "scenes"
    folder.mkdir()
    scenes = write_scenes(folder, write_geotiff)  # and ports.geojson beside them
    (folder / f"{scenes[0].stem}_udm2.tif").write_bytes(scenes[0].read_bytes())
    (folder / "truth.json").write_text("{}")
    (folder / "older").mkdir()
    (folder / "older" / "other.tif").write_bytes(scenes[0].read_bytes())
    status, _, err = run(capsys, "scan", model_file, folder, "--bands", "3,2,1", "--scale",
                         "0,4080", "--no-progress", "--out", tmp_path / "out")
    assert status == 0, err
    assert f"{folder}: 4 scene files." in err  # the mask is left out as from a glob
    counts = pd.read_csv(tmp_path / "out" / "counts.csv")
    assert counts["scene"].tolist() == [path.stem for path in scenes]
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no scenes here")
    status, _, err = run(capsys, "scan", model_file, folder, empty, "--out", tmp_path / "again")
    assert status == 1 and f"folder {empty} holds no scene files (.tif, .tiff" in err
    assert not (tmp_path / "again").exists()


def test_activity_leaves_out_rows_without_datetime(tmp_path, capsys):
    counts = pd.DataFrame({"scene": ["a", "b", "c"], "aoi": ["LB", "LB", None],
                           "datetime": ["2017-07-05 10:00:00", "", "2017-08-01"],
                           "count": [3, 4, 5], "valid_fraction": [1.0, 1.0, 0.9]})
    counts.to_csv(tmp_path / "counts.csv", index=False)
    status, out, err = run(capsys, "activity", tmp_path / "counts.csv", "--freq", "M",
                           "--out", tmp_path)
    assert status == 0
    assert "left out 1 of 3 rows without a datetime" in err
    activity = pd.read_csv(tmp_path / "activity.csv")
    assert activity[["aoi", "period", "mean_ships"]].values.tolist() == [
        ["LB", "2017-07-01", 3.0], ["whole scene", "2017-08-01", 5.0]]
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    status, _, err = run(capsys, "activity", tmp_path / "bad.csv")
    assert status == 1 and "bad.csv lacks the columns" in err


@pytest.mark.parametrize("argv, message", [
    (["frobnicate"], "invalid choice"),
    (["compare", "--cv", "1"], "--cv: must be at least 2"),
    (["compare", "--models", "svm"], "invalid choice: 'svm'"),
    (["train", "--param", "epochs"], "expected KEY=VALUE"),
    (["train", *TINY, "--param", "hiden_units=3", "--model", "dense"],
     "dense has no parameter 'hiden_units'"),
    (["train", *TINY, "--param", "epochs=0"], "epochs"),
    (["search", "--grid", "nonsense"], "neither a named grid"),
    (["search", "--grid", "{\"filters\": 3}"], "JSON object of non-empty lists"),
    (["search", "--grid", "architectures", "--model", "dense"], "grid for cnn"),
    (["search", "--scheduler", "a", "--dask-workers", "2"], "not allowed with"),
    (["scan", "--threshold", "2"], "between 0 and 1"),
    (["predict", "m.sklship", "--threshold", "-1"], "between 0 and 1"),
    (["train", "--threshold", "0.3", "--tune-threshold", "f1"], "not allowed with"),
    (["train", "--calibrate", "platt"], "invalid choice: 'platt'"),
    (["explain"], "the following arguments are required: MODEL_FILE"),
    (["scan", "--bands", "3,x,1"], "band numbers separated by commas"),
    (["scan", "--scale", "5,1"], "LOW must be below HIGH"),
    (["scan", "--scale", "max"],
     "one of 'percentile', 'reflectance', 'dark-object'; got 'max'"),
    (["scan", "--reflectance", "0.0001"], "expected SCALE,OFFSET"),
    (["scan", "--reflectance", "0,-0.1"], "scales not 0"),
    (["activity", "c.csv", "--freq", "Y"], "invalid choice: 'Y'"),
    (["scan", "--resolution", "0"], "--resolution: must be above 0; got 0"),
    (["scan", "--resolution", "-3"], "--resolution: must be above 0"),
    (["scan", "--max-cloud", "101"], "--max-cloud: must be between 0 and 100"),
    (["activity", "c.csv", "--min-clear", "2"], "between 0 and 1"),
])
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert err.startswith("sklship: error: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_bad_files_exit_1_with_one_line(model_file, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.sklship"
    corrupt.write_bytes(model_file.read_bytes()[:500])
    not_png = tmp_path / "notes.png"
    not_png.write_text("not an image")
    (tmp_path / "empty").mkdir()
    cases = [
        (["predict", tmp_path / "missing.sklship"], "does not exist"),
        (["predict", corrupt], "truncated or corrupt"),
        (["predict", tmp_path / "missing.joblib"], "does not exist"),
        (["predict", model_file, tmp_path / "nothing-here"], "does not exist"),
        (["predict", model_file, not_png], "Cannot read"),
        (["compare", "--data", tmp_path / "no-data"], "not found"),
        (["scan", model_file, not_png, "--no-progress"], "not an image"),
        (["scan", model_file, tmp_path / "empty", "--no-progress", "--out", tmp_path / "o"],
         f"folder {tmp_path / 'empty'} holds no scene files"),
        (["scan", model_file, "--aoi", not_png], "is not GeoJSON"),
        # Refused before a model is picked or loaded: one line, no "Model:" line.
        (["scan", tmp_path / "gone.png", "--no-progress", "--out", tmp_path / "o2"],
         f"1 of 1 scene could not be scanned: gone: scene file {tmp_path / 'gone.png'} "
         "does not exist"),
        (["activity", tmp_path / "missing.csv"], "does not exist"),
        (["explain", tmp_path / "missing.sklship"], "does not exist"),
    ]
    for argv, message in cases:
        status, _, err = run(capsys, *argv)
        assert status == 1, argv
        assert err.startswith("sklship: error: ") and message in err, err
        assert len(err.strip().splitlines()) == 1


def test_console_script_is_installed():
    # The README's install (pip install -e ".[test]") puts it on PATH: a missing
    # script is a failure, not a skip.
    script = shutil.which("sklship")
    assert script is not None, "the sklship console script is not on PATH"
    completed = subprocess.run([script, "compare", "--cv", "x"], capture_output=True,
                               text=True, timeout=120)
    assert completed.returncode == 2
    assert completed.stderr.strip() == (
        "sklship: error: argument --cv: expected an integer; got 'x' "
        "(see 'sklship compare --help')")


def test_compare_defaults_are_the_book_models_on_80_pixel_chips():
    from sklship.cli import _parser

    args = _parser().parse_args(["compare"])
    assert args.models == ["baseline", "dense", "cnn"]
    assert args.image_size == 80 and args.data is None


def test_scan_command_lines_from_before_parse_to_the_same_settings(tmp_path):
    # Every flag 'sklship scan' had at eb02d23, now generated from ScanSettings.
    from sklship.cli import _parser
    from sklship.cli.scenes import _settings

    argv = ["scan", "model.sklship", "a.tif", "b.tif", "--bands", "3,2,1", "--scale",
            "0,3000", "--resolution", "3.5", "--mask", "clouds.tif", "--asset", "analytic",
            "--max-cloud", "20", "--date-pattern", r"(?P<year>\d{4})", "--overwrite",
            "--stride", "8", "--threshold", "0.6", "--min-neighbors", "2", "--smoothing",
            "3", "--candidate-threshold", "0.2", "--scene-size", "64", "--n-ships", "2",
            "--n-samples", "40", "--image-size", "16", "--epochs", "1", "--seed", "3",
            "--out", str(tmp_path), "--no-progress"]
    args = _parser().parse_args(argv)
    settings = _settings(args)
    assert [str(f) for f in args.files] == ["model.sklship", "a.tif", "b.tif"]
    assert (settings.bands, settings.scale, settings.resolution, str(settings.mask),
            settings.asset, settings.date_pattern) == (
        (3, 2, 1), (0.0, 3000.0), 3.5, "clouds.tif", "analytic", r"(?P<year>\d{4})")
    assert (settings.stride, settings.threshold, settings.min_neighbors, settings.smoothing,
            settings.candidate_threshold) == (8, 0.6, 2, 3, 0.2)
    assert (args.max_cloud, args.overwrite, args.scene_size, args.n_ships, args.n_samples,
            args.image_size, args.epochs, args.seed, args.progress) == (
        20.0, True, 64, 2, 40, 16, 1, 3, False)
    assert settings.progress is False and settings.tile_size == 1024


def test_reflectance_flag_gives_one_pair_or_one_per_band():
    from sklship.cli import _parser
    from sklship.cli.scenes import _settings

    def given(text):
        return _settings(_parser().parse_args(["scan", "--reflectance", text])).reflectance

    assert given("0.0001,-0.1") == (0.0001, -0.1)
    assert given("1,0,2,0.5") == ((1.0, 0.0), (2.0, 0.5))
