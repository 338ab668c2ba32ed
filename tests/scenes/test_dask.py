"""Grid search on a Dask cluster through joblib gives the same results as in-process."""

import json

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV

from sklship import DenseShipClassifier, make_ships
from sklship.cli import main

distributed = pytest.importorskip("dask.distributed")


@pytest.mark.slow
def test_grid_search_and_scans_on_dask_match_one_process(tmp_path, capsys,
                                                        write_geotiff):
    # One cluster for all parts: starting one costs more than any part.
    # One worker process with two threads: its fits run at once in one
    # process and must still equal fits run one after another (n_jobs=1).
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=None) as cluster:
        _check_grid_search_matches_n_jobs_1(cluster)
        _check_cli_search_runs_on_the_scheduler(cluster, tmp_path, capsys)
        _check_scans_match_one_process(cluster, tmp_path, capsys, write_geotiff)


def _check_scans_match_one_process(cluster, tmp_path, capsys, write_geotiff):
    from shapely.geometry import box

    from sklship import CNNShipClassifier
    from sklship.datasets import make_scene
    from sklship.estimators.persistence import save_model
    from sklship.scenes.survey import ScanSettings, scan_scenes

    X, y = make_ships(100, image_size=16, random_state=0, return_X_y=True)
    cnn = CNNShipClassifier(epochs=1, filters=(4,), random_state=0).fit(X, y)
    paths = []
    for k in range(4):
        scene, _ = make_scene(48, 64, n_ships=1, chip_size=16, random_state=k)
        paths.append(write_geotiff(tmp_path / f"2017070{k + 1}_180818_00{k}0.tif",
                                   np.moveaxis(scene, -1, 0), tags={}))
    settings = ScanSettings(stride=4, threshold=0.3,
                            aoi={"port": box(-117.0, 33.43, -116.998, 33.44)})
    local = scan_scenes(cnn, paths, settings=settings)
    with distributed.Client(cluster) as client:
        remote = scan_scenes(cnn, paths, client=client, settings=settings)
    assert len(local[0]) > 0 and local[1]["scene"].tolist() == [p.stem for p in paths]
    pd.testing.assert_frame_equal(remote[0], local[0])
    pd.testing.assert_frame_equal(remote[1], local[1])

    model = tmp_path / "cnn.sklship"
    save_model(cnn, model)
    outputs = {}
    for name, extra in (("one", []), ("dask", ["--scheduler", cluster.scheduler_address])):
        status = main(["scan", str(model), *map(str, paths), "--stride", "4",
                       "--threshold", "0.3", "--no-progress", "--out",
                       str(tmp_path / name), *extra])
        assert status == 0
        outputs[name] = tmp_path / name
    assert "Scanning 4 scenes on the Dask cluster at tcp://" in capsys.readouterr().err
    # A worker may sum floats in another order than this process: the files agree
    # to the precision they are written at, within one unit of the last decimal
    # (probabilities 1e-6, degrees 1e-8, metres 1e-3).
    for table in ("detections.csv", "counts.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(outputs["dask"] / table),
                                      pd.read_csv(outputs["one"] / table),
                                      check_exact=False, rtol=0, atol=1.001e-6)
    features = {name: json.loads((folder / "detections.geojson").read_text())["features"]
                for name, folder in outputs.items()}
    assert len(features["dask"]) == len(features["one"]) > 0
    for remote, local in zip(features["dask"], features["one"], strict=True):
        np.testing.assert_allclose(remote["geometry"]["coordinates"],
                                   local["geometry"]["coordinates"], rtol=0, atol=1.001e-8)
        assert remote["properties"]["probability"] == pytest.approx(
            local["properties"]["probability"], abs=1.001e-6)
        assert {k: v for k, v in remote["properties"].items() if k != "probability"} == \
            {k: v for k, v in local["properties"].items() if k != "probability"}


def _check_grid_search_matches_n_jobs_1(cluster):
    X, y = make_ships(100, image_size=16, random_state=0, return_X_y=True)
    grid = {"hidden_units": [(4,), (8,)]}
    estimator = DenseShipClassifier(epochs=2, dropout=0.3, random_state=0)

    local = GridSearchCV(estimator, grid, cv=2, scoring="balanced_accuracy",
                         n_jobs=1).fit(X, y)
    with distributed.Client(cluster), joblib.parallel_config(backend="dask"):
        remote = GridSearchCV(estimator, grid, cv=2, scoring="balanced_accuracy",
                              n_jobs=-1).fit(X, y)

    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.predict_proba(X), local.predict_proba(X))


def _check_cli_search_runs_on_the_scheduler(cluster, tmp_path, capsys):
    status = main(["search", "--model", "dense", "--grid", '{"hidden_units": [[2]]}',
                   "--n-samples", "40", "--image-size", "16", "--cv", "2",
                   "--epochs", "1", "--scheduler", cluster.scheduler_address,
                   "--out", str(tmp_path)])
    assert status == 0
    assert "Dask cluster at tcp://" in capsys.readouterr().err
    assert len(pd.read_csv(tmp_path / "cv_results.csv")) == 1

