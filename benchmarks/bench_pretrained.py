"""Transfer learning with a frozen MobileNetV2: the book's way against cached features.

Part 1, same head, data and epochs, one run:

- book's way: the whole model (preprocessing, frozen backbone, head) is
  trained on the images, so the frozen backbone runs forward in every epoch;
- sklship: ``PretrainedShipClassifier`` computes the backbone features once
  and trains the head on them.

Both are fitted on the book's split of the real chips
(``train_test_split(test_size=0.2, random_state=0)``) and scored on its test
part. Prints both times and accuracies and ``speedup: X.X`` (book / sklship).

Part 2: a 5-fold GridSearchCV over 6 head configurations (dense units x
dropout) with ``memory`` set, against the time of extracting the features of
the 5 folds once (train and test part of each fold). Prints
``grid search / extraction: R``.

ImageNet weights cannot be downloaded here: the backbone uses the ImageNet
file from ``$SKLSHIP_WEIGHTS_DIR`` when that is set, and random weights
otherwise (the timings are the same; the accuracies are then those of random
features). The input is resized to ``--input-size`` (default 128, a size with
Keras ImageNet weights for MobileNetV2).

Run: python benchmarks/bench_pretrained.py [--data PATH] [--input-size 128]
"""

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split

from sklship import load_shipsnet, make_ships
from sklship.pretrained import PretrainedShipClassifier, _run_extractor, imagenet_weights_file

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "shipsnet"
BACKBONE = "mobilenetv2"
GRID = {"dense_units": [(), (64,), (256,)], "dropout": [None, 0.3]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="ShipsNet folder (default: ../shared/data/shipsnet); "
                        "synthetic make_ships(3200) chips when it does not exist")
    parser.add_argument("--input-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--skip-grid", action="store_true", help="only part 1")
    args = parser.parse_args()

    X, y, source = _load(args.data)
    weights, weights_text = _weights(args.input_size)
    print(f"data: {source}, {len(y):,} chips of {X.shape[1]}x{X.shape[2]}, "
          f"{y.mean():.1%} ships")
    print(f"backbone: {BACKBONE}, input resized to {args.input_size}x{args.input_size}, "
          f"weights: {weights_text}; head: sigmoid output, Adam, "
          f"{args.epochs} epochs, batch 32")

    speedup(X, y, weights, args)
    if not args.skip_grid:
        grid_search_ratio(X, y, weights, args)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {rss:.0f} MiB process peak RSS (TensorFlow included)")


def speedup(X, y, weights, args):
    """Part 1: the book's way and cached features, same head, data and epochs."""
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2,
                                                        random_state=0)
    results = {}
    for way in ("sklship", "book"):
        clf = _classifier(weights, args)
        clf._head_on_features = way == "sklship"
        start = time.perf_counter()
        clf.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        results[way] = seconds, clf.score(X_test, y_test)
        print(f"{way + ':':9s} fit {seconds:7.1f} s on {len(y_train):,} chips, "
              f"test accuracy {results[way][1]:.4f}")
    print(f"accuracy difference: {abs(results['book'][1] - results['sklship'][1]):.4f} "
          f"on {len(y_test):,} test chips")
    print(f"speedup: {results['book'][0] / results['sklship'][0]:.1f} "
          "(book fit time / sklship fit time)")


def grid_search_ratio(X, y, weights, args):
    """Part 2: GridSearchCV with ``memory`` against extracting the folds once."""
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    folds = list(cv.split(X, y))

    sample = folds[0][1][:64]  # shuffled: both classes
    extractor = _classifier(weights, args).set_params(epochs=1).fit(X[sample], y[sample])
    extractor = extractor._feature_extractor()
    start = time.perf_counter()
    for train, test in folds:
        _run_extractor(extractor, X[train])
        _run_extractor(extractor, X[test])
    extraction = time.perf_counter() - start
    print(f"extraction: {extraction:.1f} s for the features of the 5 folds once "
          f"({2 * len(folds)} passes over {len(y):,} chips in all)")

    with tempfile.TemporaryDirectory() as cache:
        search = GridSearchCV(_classifier(weights, args, memory=cache), GRID,
                              cv=folds, refit=False)
        start = time.perf_counter()
        search.fit(X, y)
        seconds = time.perf_counter() - start
    n_candidates = len(search.cv_results_["params"])
    best = search.best_params_
    print(f"grid search: {seconds:.1f} s for {n_candidates} head configurations x 5 "
          f"folds with memory (best {best}, accuracy {search.best_score_:.4f})")
    print(f"grid search / extraction: {seconds / extraction:.2f}")


def _classifier(weights, args, **params):
    return PretrainedShipClassifier(BACKBONE, weights=weights, input_size=args.input_size,
                                    epochs=args.epochs, random_state=0, **params)


def _load(path):
    if path.exists():
        data = load_shipsnet(path)
        return data.images, data.target, f"ShipsNet ({path})"
    X, y = make_ships(3200, random_state=0, return_X_y=True)
    return X, y, "make_ships(3200, random_state=0) (no ShipsNet folder found)"


def _weights(size):
    folder = os.environ.get("SKLSHIP_WEIGHTS_DIR")
    if folder:
        path = Path(folder) / imagenet_weights_file(BACKBONE, size)
        if path.exists():
            return str(path), f"ImageNet ({path})"
    return None, "random (no ImageNet file in $SKLSHIP_WEIGHTS_DIR)"


if __name__ == "__main__":
    main()
