"""The ``sklship`` command line: outputs and exit codes, on tiny synthetic data."""

import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sklship import make_ships
from sklship.cli import main
from sklship.persistence import load_model
from sklship.datasets import make_scene

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
    assert "compare: 100%" in err and "4/4" in err
    results = pd.read_csv(tmp_path / "results.csv", index_col="model")
    assert list(results.index) == ["baseline", "cnn"]
    assert "group cross-validation by scene" in (tmp_path / "results.md").read_text()
    for name in ("baseline", "cnn"):
        assert (tmp_path / f"{name}_confusion.png").exists()
        assert (tmp_path / f"{name}_misclassified.png").exists()
    assert (tmp_path / "cnn_learning_curves.png").exists()
    assert not (tmp_path / "baseline_learning_curves.png").exists()  # no history


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
    assert status == 0 and "synthetic-scene:" in out and "scan: 100%" in err
    assert (tmp_path / "a" / "synthetic-scene_scan.png").exists()

    scene, _ = make_scene(48, 64, n_ships=1, chip_size=16, random_state=0)
    Image.fromarray(scene).save(tmp_path / "harbour.png")
    status, out, _ = run(capsys, "scan", model_file, tmp_path / "harbour.png",
                         "--stride", 4, "--no-progress", "--out", tmp_path / "b")
    assert status == 0 and out.startswith("harbour: ")
    counts = pd.read_csv(tmp_path / "b" / "counts.csv")
    detections = pd.read_csv(tmp_path / "b" / "detections.csv")
    assert counts.to_dict("list") == {"scene": ["harbour"], "count": [len(detections)]}
    assert list(detections.columns) == ["scene", "row", "col", "probability"]
    assert (tmp_path / "b" / "harbour_scan.png").exists()


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
    cases = [
        (["predict", tmp_path / "missing.sklship"], "does not exist"),
        (["predict", corrupt], "truncated or corrupt"),
        (["predict", tmp_path / "missing.joblib"], "does not exist"),
        (["predict", model_file, tmp_path / "nothing-here"], "does not exist"),
        (["predict", model_file, not_png], "Cannot read"),
        (["compare", "--data", tmp_path / "no-data"], "not found"),
        (["scan", model_file, not_png], "not an image"),
    ]
    for argv, message in cases:
        status, _, err = run(capsys, *argv)
        assert status == 1, argv
        assert err.startswith("sklship: error: ") and message in err, err
        assert len(err.strip().splitlines()) == 1


def test_console_script_is_installed():
    script = shutil.which("sklship")
    if script is None:
        pytest.skip("the sklship console script is not installed (pip install -e .)")
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
