"""
A grid search on a Dask cluster
===============================

scikit-learn runs the fits of :class:`~sklearn.model_selection.GridSearchCV`
through joblib, and joblib's Dask backend sends them to a Dask cluster: a
:class:`~dask.distributed.LocalCluster` on one machine here, or a scheduler
address for a real cluster (``Client("tcp://head-node:8786")``). Every sklship
fit draws its random numbers from its own generator seeded by
``random_state``, so the scores are the same as in one process.

It needs ``pip install "sklship[dask]"`` and starts worker processes, so the
documentation build shows it without running it.
"""

import joblib
import matplotlib.pyplot as plt
import pandas as pd
from dask.distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

from sklship import CNNShipClassifier, make_ships

if __name__ == "__main__":  # Dask starts worker processes
    data = make_ships(400, image_size=32, random_state=0)
    search = GridSearchCV(
        CNNShipClassifier(epochs=6, random_state=0),
        {"filters": [(8, 4), (16, 32)], "pooling": [None, "max"]},
        cv=StratifiedGroupKFold(n_splits=3), scoring="balanced_accuracy", n_jobs=-1)

    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, \
            Client(cluster), joblib.parallel_config(backend="dask"):
        search.fit(data.images, data.target, groups=data.scene_id)
    print(search.best_params_, round(search.best_score_, 3))

    results = pd.DataFrame(search.cv_results_).sort_values("mean_test_score")
    fig, ax = plt.subplots(figsize=(6.5, 3))
    ax.barh([str(p) for p in results["params"]], results["mean_test_score"],
            xerr=results["std_test_score"], capsize=4)
    ax.set_xlabel("balanced accuracy on held-out scenes")
    fig.tight_layout()
    plt.show()
