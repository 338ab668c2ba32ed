"""Grid search on a Dask cluster through joblib gives the same results as in-process."""

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV

from sklship import DenseShipClassifier, make_ships
from sklship.cli import main

distributed = pytest.importorskip("dask.distributed")


def test_grid_search_on_dask_matches_n_jobs_1_and_cli_uses_the_scheduler(tmp_path,
                                                                        capsys):
    # One cluster for both parts: starting one costs more than either part.
    # One worker process with two threads: its fits run at once in one
    # process and must still equal fits run one after another (n_jobs=1).
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=None) as cluster:
        _check_grid_search_matches_n_jobs_1(cluster)
        _check_cli_search_runs_on_the_scheduler(cluster, tmp_path, capsys)


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

