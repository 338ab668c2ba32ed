"""Transfer learning with a frozen MobileNetV2: the book's way against cached features.

Part 1, same head, data and epochs, one run:

- book's way: the whole model (preprocessing, frozen backbone, head) is
  trained on the images, so the frozen backbone runs forward in every epoch;
- sklship: ``PretrainedShipClassifier`` computes the backbone features once
  and trains the head on them.

Both are fitted on the book's split of the real chips
(``train_test_split(test_size=0.2, random_state=0)``) and scored on its test
part, after a small warm-up fit each way; the fast way is timed 3 times
(median), the book's way once. Prints the times and accuracies, the largest
difference between the two ways' test probabilities (same head
initialisation and batch order, so they should agree to float precision),
and, last of all, ``speedup: X.X`` (book / sklship).

Part 2: a 5-fold GridSearchCV over 6 head configurations (dense units x
dropout) with ``memory`` set, against the time of extracting the features of
the 5 folds once (train and test part of each fold). Prints
``grid search / extraction: R``.

ImageNet weights cannot be downloaded here: the backbone uses the ImageNet
file from ``$SKLSHIP_WEIGHTS_DIR`` when that is set, and otherwise random
weights with batch-norm statistics taken from the chips, loaded from a
weights file like ImageNet ones (the timings are the same; the accuracies
are those of random features). The input is resized to ``--input-size``
(default 224, MobileNetV2's ImageNet input size and Keras' default for its
weights; 96, 128, 160 and 192 also have weights). The smaller the input, the
cheaper the extraction, so the larger the share of the per-fit costs that
do not depend on it (building the backbone, training the head): both
ratios are worse at small sizes.

Run: python benchmarks/bench_pretrained.py [--data PATH] [--input-size 224] [--skip-grid]
         [--quick]

``--quick``: 192 ``make_ships`` chips, input size 32, one epoch, a 2-fold
grid search over 2 head configurations.
"""

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split

from sklship import load_shipsnet, make_ships
from sklship.estimators.backbones import imagenet_weights_file, run_extractor
from sklship.estimators.pretrained import PretrainedShipClassifier

from _quick import add_quick_flag, quick_chips

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "shipsnet"
BACKBONE = "mobilenetv2"
GRID = {"dense_units": [(), (64,), (256,)], "dropout": [None, 0.3]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="ShipsNet folder (default: ../shared/data/shipsnet); "
                        "synthetic make_ships(3200) chips when it does not exist")
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--skip-grid", action="store_true", help="only part 1")
    add_quick_flag(parser)
    args = parser.parse_args()

    if args.quick:
        chips = quick_chips()
        X, y, source = chips.images, chips.target, "make_ships (--quick)"
        args.input_size, args.epochs = 32, 1
    else:
        X, y, source = _load(args.data)
    with tempfile.TemporaryDirectory() as folder:
        weights, weights_text = _weights(X, y, args.input_size, folder)
        _run(X, y, source, weights, weights_text, args)


def _run(X, y, source, weights, weights_text, args):
    print(f"data: {source}, {len(y):,} chips of {X.shape[1]}x{X.shape[2]}, "
          f"{y.mean():.1%} ships")
    print(f"backbone: {BACKBONE}, input resized to {args.input_size}x{args.input_size}, "
          f"weights: {weights_text}; head: sigmoid output, Adam, "
          f"{args.epochs} epochs, batch 32")

    headline = speedup(X, y, weights, args)
    if not args.skip_grid:
        grid_search_ratio(X, y, weights, args)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {rss:.0f} MiB process peak RSS (TensorFlow included)")
    print(headline)


def speedup(X, y, weights, args):
    """Part 1: the book's way and cached features, same head, data and epochs.

    Returns the headline line, ``speedup: X.X``, printed last of the run.
    """
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2,
                                                        random_state=0)
    # Warm-up: a process's first runs of a network pay one-time TensorFlow
    # set-up; one small fit each way pays it before the clock starts.
    # A quick run checks each way once; its times mean nothing.
    warm = _both_classes(y_train)
    for way in () if args.quick else ("sklship", "book"):
        _fit_way(way, weights, args, X_train[warm], y_train[warm])
    results, cpu, probabilities = {}, {}, {}
    for way in ("sklship", "book") + (() if args.quick else ("sklship", "sklship")):
        clf, seconds, cpu_seconds = _fit_way(way, weights, args, X_train, y_train)
        results.setdefault(way, []).append(seconds)
        cpu.setdefault(way, []).append(cpu_seconds)
        accuracy = clf.score(X_test, y_test)
        probabilities[way] = clf.predict_proba(X_test)[:, 1]
        print(f"{way + ':':9s} fit {seconds:7.1f} s on {len(y_train):,} chips, "
              f"test accuracy {accuracy:.4f}", flush=True)
    fits = len(results["sklship"])
    results = {way: float(np.median(times)) for way, times in results.items()}
    cpu = {way: float(np.median(times)) for way, times in cpu.items()}
    print(f"median fit time: book {results['book']:.1f} s (1 fit), sklship "
          f"{results['sklship']:.1f} s ({fits} fits; the fast fit is short, so more "
          "exposed to this machine's swings)")
    print(f"on {len(y_test):,} test chips, test probabilities: max abs difference "
          f"{np.abs(probabilities['book'] - probabilities['sklship']).max():.2e}, "
          f"spread (std) {probabilities['book'].std():.3f}")
    print(f"CPU-time speedup: {cpu['book'] / cpu['sklship']:.1f} (process CPU seconds; "
          "less exposed to other machines' load than wall time)")
    return (f"speedup: {results['book'] / results['sklship']:.1f} "
            "(book fit time / sklship fit time)")


def _both_classes(y, n=32):
    """Indices of the first ``n`` chips of each class (the data is sorted by label)."""
    return np.r_[np.flatnonzero(y == 0)[:n], np.flatnonzero(y == 1)[:n]]


def _fit_way(way, weights, args, X, y):
    """Fit the book's way (whole model every epoch) or sklship's.

    Returns the fitted classifier, the wall seconds and the process CPU seconds.
    """
    clf = _classifier(weights, args)
    clf._head_on_features = way == "sklship"
    start, start_cpu = time.perf_counter(), time.process_time()
    clf.fit(X, y)
    return clf, time.perf_counter() - start, time.process_time() - start_cpu


def grid_search_ratio(X, y, weights, args):
    """Part 2: GridSearchCV with ``memory`` against extracting the folds once."""
    n_folds = 2 if args.quick else 5
    grid = {"dense_units": [()], "dropout": [None, 0.3]} if args.quick else GRID
    cv = StratifiedKFold(n_folds, shuffle=True, random_state=0)
    folds = list(cv.split(X, y))

    sample = _both_classes(y)
    extractor = _classifier(weights, args).set_params(epochs=1).fit(X[sample], y[sample])
    extractor = extractor._feature_extractor()
    start = time.perf_counter()
    for train, test in folds:
        run_extractor(extractor, X[train])
        run_extractor(extractor, X[test])
    extraction = time.perf_counter() - start
    print(f"extraction: {extraction:.1f} s for the features of the {n_folds} folds once "
          f"({2 * len(folds)} extractions, {len(folds)} passes over the {len(y):,} chips)")

    with tempfile.TemporaryDirectory() as cache:
        search = GridSearchCV(_classifier(weights, args, memory=cache), grid,
                              cv=folds, refit=False)
        start = time.perf_counter()
        search.fit(X, y)
        seconds = time.perf_counter() - start
    n_candidates = len(search.cv_results_["params"])
    best = search.best_params_
    print(f"grid search: {seconds:.1f} s for {n_candidates} head configurations x {n_folds} "
          f"folds with memory (best {best}, accuracy {search.best_score_:.4f})")
    print(f"grid search / extraction: {seconds / extraction:.2f}")


def _classifier(weights, args, **params):
    # The head trained by Keras for --epochs (head_solver="keras"): this
    # benchmark compares where that training reads its features from.
    return PretrainedShipClassifier(BACKBONE, weights=weights, input_size=args.input_size,
                                    epochs=args.epochs, random_state=0,
                                    **{"head_solver": "keras", **params})


def _load(path):
    if path.exists():
        data = load_shipsnet(path)
        return data.images, data.target, f"ShipsNet ({path})"
    X, y = make_ships(3200, random_state=0, return_X_y=True)
    return X, y, "make_ships(3200, random_state=0) (no ShipsNet folder found)"


def _weights(X, y, size, folder):
    env = os.environ.get("SKLSHIP_WEIGHTS_DIR")
    if env:
        path = Path(env) / imagenet_weights_file(BACKBONE, size)
        if path.exists():
            return str(path), f"ImageNet ({path})"
    return _random_weights(X, y, size, folder), (
        "random, batch-norm statistics set from 128 chips (no ImageNet file in "
        "$SKLSHIP_WEIGHTS_DIR)")


def _random_weights(X, y, size, folder):
    """A weights file of a random backbone whose batch-norm statistics fit the chips.

    With Keras' initial statistics (mean 0, variance 1) the activations of a
    random MobileNetV2 shrink layer after layer to almost nothing: every chip
    gets the same features, and the head can only learn the share of ships.
    One training-mode pass over 128 chips with momentum 0 sets every
    batch-norm layer's statistics to those of the chips, as trained weights
    have them; the features are then random but informative. The file goes
    in through ``weights=path``, as ImageNet weights would.
    """
    sample = np.random.default_rng(0).choice(len(y), 128, replace=False)
    model = PretrainedShipClassifier(BACKBONE, weights=None, input_size=size, epochs=1,
                                     random_state=0).fit(X[sample], y[sample]).model_
    backbone = model.get_layer("backbone")
    backbone.trainable = True  # frozen batch norm would ignore training=True
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0
    backbone(model.get_layer("preprocess")(X[sample]), training=True)
    path = os.path.join(folder, f"{BACKBONE}_random_chip_statistics.weights.h5")
    backbone.save_weights(path)
    return path


if __name__ == "__main__":
    main()
