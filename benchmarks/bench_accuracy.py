"""Accuracy on scenes never seen in training: sklship's models side by side.

Published ShipsNet accuracies (97-99+ %) come from random splits, where chips
of one PlanetScope scene fall on both sides. Here every test chip comes from
a scene the model never saw: ``StratifiedGroupKFold(5, shuffle=True,
random_state=0)`` grouped by ``scene_id`` on the real ShipsNet copy.

Rows (each ``random_state=0``, refitted from scratch on every fold):

- ``baseline``: ``make_baseline()``, standardised logistic regression on pixels;
- ``book dense``: ``sklship.estimators.zoo.book_dense``, the book's dense net
  (4 sigmoid units, Adam, 20 % validation) with the book's class weights
  ``{0: mean(y), 1: 1 - mean(y)}`` of the training fold;
- ``book CNN``: ``sklship.estimators.zoo.book_cnn`` (Conv 8 -> Conv 4 -> Dense,
  Adam, 10 epochs) with the book's class weights of the training fold (the
  results file's book CNN row predates them: it was unweighted);
- ``recommended``: ``sklship.recommended_model(random_state=0)``.

``PretrainedShipClassifier`` with ImageNet weights is measured on the same
folds by ``bench_transfer.py``.

Columns: accuracy, balanced accuracy, F1 (ship class), ROC AUC (mean +- std
over the folds) and fit time per fold (mean and max, seconds). Prints one line
per fold as it goes, the peak memory of the process and, last, the table.

Run: python benchmarks/bench_accuracy.py [--data PATH] [--folds 5]
         [--models baseline,dense,cnn,recommended] [--cv-seed 0] [--quick]

``--quick``: 192 ``make_ships`` chips of 4 scenes, 2 folds, one epoch.
"""

import argparse
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedGroupKFold

from sklship import load_shipsnet
from sklship.estimators.zoo import make_model

from _quick import add_quick_flag, one_epoch, quick_chips

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "shipsnet"


# The book's models with the book's class weights of each training fold.
MODELS = ("baseline", "dense", "cnn", "recommended")
LABELS = {"baseline": "baseline (logistic)", "dense": "book dense net",
          "cnn": "book CNN", "recommended": "recommended"}
METRICS = ("accuracy", "balanced_acc", "f1", "roc_auc")


def scores(y_true, proba):
    y_pred = (proba >= 0.5).astype(int)
    return {"accuracy": accuracy_score(y_true, y_pred),
            "balanced_acc": balanced_accuracy_score(y_true, y_pred),
            "f1": f1_score(y_true, y_pred),
            "roc_auc": roc_auc_score(y_true, proba)}


def print_table(results, labels, metrics, width=20):
    """One row per model: each metric's mean +- std over folds, fit seconds per fold.

    Parameters
    ----------
    results : dict of list of dict
        Per model name, one dict per fold with the metrics and ``"fit_s"``.
    labels : dict of str
        Row label per model name.
    metrics : sequence of str
        The columns, keys of the fold dicts.
    width : int, default=20
        Width of the label column.
    """
    header = (f"{'model':<{width}}" + "".join(f"{m:>16}" for m in metrics)
              + f"{'fit s/fold':>12}{'max fit s':>11}")
    print(header)
    print("-" * len(header))
    for name, rows in results.items():
        cells = []
        for metric in metrics:
            values = np.array([r[metric] for r in rows])
            cells.append(f"{values.mean():.3f} +- {values.std():.3f}")
        fit = np.array([r["fit_s"] for r in rows])
        print(f"{labels[name]:<{width}}" + "".join(f"{c:>16}" for c in cells)
              + f"{fit.mean():>12.0f}{fit.max():>11.0f}")


def peak_rss_mb():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA),
                        help="ShipsNet folder, zip or shipsnet.json (default: %(default)s)")
    parser.add_argument("--folds", type=int, default=5,
                        help="run the first N of the 5 folds (default: all 5)")
    parser.add_argument("--models", default=",".join(MODELS),
                        help="comma-separated subset of " + ",".join(MODELS))
    parser.add_argument("--cv-seed", type=int, default=0,
                        help="random_state of the folds (default: 0, the folds the "
                        "recommended model was chosen on; another seed re-checks it "
                        "on a fresh partition of the scenes)")
    add_quick_flag(parser)
    args = parser.parse_args()
    names = [name.strip() for name in args.models.split(",") if name.strip()]
    unknown = set(names) - set(MODELS)
    if unknown:
        parser.error(f"--models: unknown {sorted(unknown)}; choose from {list(MODELS)}")

    start = time.perf_counter()
    data = quick_chips() if args.quick else load_shipsnet(args.data)
    if args.quick:
        args.data, args.folds = "make_ships (--quick)", 2
    n_splits = 2 if args.quick else 5
    X, y, groups = data.images, data.target, data.scene_id
    print(f"data: {args.data}: {len(y):,} chips {X.shape[1:]} {X.dtype} "
          f"({X.nbytes / 2**20:.0f} MB), {int(y.sum())} ships, "
          f"{len(np.unique(groups))} scenes (loaded in {time.perf_counter() - start:.1f} s)")
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=args.cv_seed)
    splits = list(cv.split(X, y, groups))[:args.folds]
    print(f"cv: StratifiedGroupKFold({n_splits}, shuffle=True, random_state={args.cv_seed}) "
          f"by scene_id, "
          f"{len(splits)} of {n_splits} folds; no scene on both sides")
    print(f"machine: {platform.processor() or platform.machine()}, CPU only; "
          "fit times depend on what else runs\n")

    results = {}
    for name in names:
        rows = []
        for fold, (train, test) in enumerate(splits):
            assert not set(groups[train]) & set(groups[test])
            estimator = make_model(name, y[train], random_state=0)
            if args.quick:
                estimator = one_epoch(estimator)
            tic = time.perf_counter()
            estimator.fit(X[train], y[train])
            fit_time = time.perf_counter() - tic
            proba = estimator.predict_proba(X[test])[:, 1]
            row = {**scores(y[test], proba), "fit_s": fit_time}
            rows.append(row)
            print(f"{LABELS[name]:<20} fold {fold}: "
                  + "  ".join(f"{k} {row[k]:.3f}" for k in METRICS)
                  + f"  fit {fit_time:.0f} s", flush=True)
        results[name] = rows

    print(f"\npeak memory (max RSS of the process, TensorFlow included): "
          f"{peak_rss_mb():.0f} MB; images held as uint8: {X.nbytes / 2**20:.0f} MB")
    print(f"total time: {time.perf_counter() - start:.0f} s")
    print(f"\nStratifiedGroupKFold by scene_id, {len(splits)} folds, "
          f"{len(y):,} chips (mean +- std over folds)")
    print_table(results, LABELS, METRICS)


if __name__ == "__main__":
    main()
