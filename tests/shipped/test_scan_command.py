"""``sklship scan`` with the shipped models: no model file, --model, --example."""

import json
import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from sklship.cli import main
from sklship.datasets import load_example_scene
from sklship.shipped import shipped_models


@pytest.mark.slow
def test_first_command_counts_the_example_scene(tmp_path, capsys):
    assert main(["scan", "--example", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    detections = pd.read_csv(tmp_path / "detections.csv")
    assert f"long_beach: {len(detections)} ships\n" in out
    _, marks = load_example_scene(return_marks=True)
    where = detections[["col", "row"]].to_numpy()

    def distance(kind):  # detections x marks of one kind
        return np.hypot(*np.moveaxis(where[:, None] - np.asarray(marks[kind])[None], -1, 0))

    assert (distance("big").min(axis=0) <= 40).sum() >= 3  # of the 4 marked ships
    # No false alarm: each detection is a big ship or a vessel marked small (at berth).
    near = np.hstack([distance("big"), distance("small")]).min(axis=1)
    assert (near <= 40).all()
    geojson = json.loads((tmp_path / "detections.geojson").read_text())
    lon, lat = geojson["features"][0]["geometry"]["coordinates"]
    assert -118.3 < lon < -118.1 and 33.6 < lat < 33.8
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["model_file"] == "planetscope_3m.sklship"
    assert run["threshold"] == shipped_models()["planetscope-3m"].scan["threshold"]
    assert (tmp_path / "long_beach_scan.png").stat().st_size > 0


def test_model_names_and_files_are_told_apart(tmp_path, capsys):
    status = main(["scan", "--model", "no-such-model", "--example", "--out",
                   str(tmp_path), "--no-progress"])
    assert status == 1
    err = capsys.readouterr().err
    assert "--model no-such-model: no such model file" in err
    assert "(shipped: planetscope-3m, sentinel2-10m)" in err


def test_an_out_that_is_a_file_is_refused_before_the_model_loads(tmp_path, capsys):
    (tmp_path / "results").write_text("mine")
    status = main(["scan", "--model", "no-such-model", "--example", "--out",
                   str(tmp_path / "results"), "--no-progress"])
    assert status == 2
    assert "--out " + str(tmp_path / "results") + " is a file" in capsys.readouterr().err
    assert (tmp_path / "results").read_text() == "mine"


@pytest.mark.slow
def test_the_command_writes_its_own_lines_only(tmp_path):
    # TensorFlow's runtime writes start-up lines to standard error when it
    # loads (absl, oneDNN, whatever TF_CPP_MIN_LOG_LEVEL says); the command
    # keeps them from burying its own.
    completed = subprocess.run(
        [shutil.which("sklship") or "sklship", "scan", "--example", "--no-progress",
         "--out", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=600,
        env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"})
    assert completed.returncode == 0, completed.stderr
    lines = completed.stderr.splitlines()
    assert lines[0].startswith("Model: the shipped 'planetscope-3m'"), completed.stderr
    assert lines[-1].startswith("Wrote detections.csv") and len(lines) == 2, completed.stderr


@pytest.mark.slow
def test_a_sentinel2_scene_without_nir_gets_the_sentinel2_model(tmp_path, capsys,
                                                                 write_geotiff):
    # Sentinel Hub's 16-bit true colour of a 10 m port: water, and a 160 m hull.
    # (Its values vary, so that their steps of 6.5535 tell the export.)
    reflectance = np.random.default_rng(0).uniform(0.02, 0.05, (3, 96, 128))
    reflectance[:, 46:50, 56:72] = 0.25
    numbers = np.rint(np.rint(reflectance * 1e4) * 6.5535).astype(np.uint16)
    scene = write_geotiff(tmp_path / "port.tif", numbers, res=10, tags={})
    status = main(["scan", str(scene), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 0, err
    assert "Model: the shipped 'sentinel2-10m'" in err
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["model_file"] == "sentinel2_10m.sklship"
    # The same as an 8-bit picture: no scale says its reflectance, unless given.
    picture = write_geotiff(tmp_path / "picture.tif",
                            np.rint(reflectance * 2.5 * 255).astype(np.uint8), res=10,
                            tags={})
    status = main(["scan", str(picture), "--out", str(tmp_path / "byte"), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 0, err
    assert "8-bit values: 'sentinel2-10m' reads surface reflectance" in err
    assert "Model: the shipped 'planetscope-3m'" in err
    status = main(["scan", str(picture), "--reflectance", "0.00157,0", "--out",
                   str(tmp_path / "given"), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 0, err
    assert "Model: the shipped 'sentinel2-10m'" in err
