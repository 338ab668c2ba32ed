"""Transfer learning with real ImageNet weights against training from scratch.

The backbone is Google's ImageNet MobileNetV2 read from a TensorFlow Lite file
(``../shared/weights/mobilenet_v2_1.0_224_quant.tflite``, dequantized into
``keras.applications.MobileNetV2`` by ``PretrainedShipClassifier``). Every test
chip comes from a scene the model never saw: ``StratifiedGroupKFold(5,
shuffle=True, random_state=0)`` grouped by ``scene_id`` on the real ShipsNet
chips, the folds of ``bench_accuracy.py``.

Rows (each ``random_state=0``, refitted on every fold; ``--rows`` picks some):

- ``frozen``: the backbone frozen, chips resized to 224 (the weights' input
  size), the default head: the output layer fitted as a converged L2
  logistic regression on the standardised pooled features (``head_solver``
  "auto" = "lbfgs", ``C=1``);
- ``frozen-book``: the same features, a sigmoid head trained the book's way
  (Adam, 10 epochs; ``head_solver="keras"``), the default until this row's
  issue;
- ``features-lr``: ``make_pipeline(ImageNetFeatures(...), StandardScaler(),
  LogisticRegression(max_iter=5000))`` on the same features, the scikit-learn
  way (the three frozen rows share one feature cache per fold);
- ``fine-tuned``: the default head at ``--fine-tune-size`` (default 128 px,
  cheaper than 224 on two cores), then every backbone layer but batch
  normalisation trained with Adam at 1e-5 (the book's rate). The number of
  fine-tuning epochs (1 to ``--max-epochs``) is chosen inside each training
  fold only, trained with flips, 90-degree rotations and brightness
  (``augmentation``) and predicting with the 8 symmetries averaged
  (``test_time_augmentation``): one inner ``StratifiedGroupKFold(4, shuffle=True,
  random_state=0)`` split of the training fold's scenes, fine-tuned for
  ``--max-epochs`` epochs with the inner validation accuracy recorded after
  each; the first epoch count with the best accuracy is refitted on the whole
  training fold. The test fold plays no part in the choice. Which layers to
  train (all but batch normalisation) and the learning rate were fixed
  beforehand, not searched.

The recommended from-scratch CNN is not re-run: its numbers on the same folds
are in ``benchmarks/results/accuracy.txt`` and are printed from there.

Columns: accuracy, balanced accuracy, ROC AUC (mean +- std over the folds),
fit time per fold (mean and max seconds; for ``fine-tuned`` the refit only,
the inner choice of epochs is reported separately).

Run: python benchmarks/bench_transfer.py [--data PATH] [--weights PATH]
         [--folds 5] [--fine-tune-size 128] [--max-epochs 6]
         [--rows frozen,frozen-book,features-lr,fine-tuned] [--quick]

``--quick``: 192 ``make_ships`` chips of 4 scenes, random backbone weights,
input size 32, the first of 2 folds, one epoch, at most 1 fine-tuning epoch.
"""

import argparse
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
from bench_accuracy import print_table
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklship import load_shipsnet
from sklship.estimators.features import ImageNetFeatures
from sklship.estimators.pretrained import PretrainedShipClassifier

from _quick import add_quick_flag, quick_chips

ROWS = ("frozen", "frozen-book", "features-lr", "fine-tuned")
AUGMENTATION = ("flip", "rot90", "brightness")

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEFAULT_DATA = SHARED / "data" / "shipsnet"
DEFAULT_WEIGHTS = SHARED / "weights" / "mobilenet_v2_1.0_224_quant.tflite"
ACCURACY_RESULTS = Path(__file__).resolve().parent / "results" / "accuracy.txt"
METRICS = ("accuracy", "balanced_acc", "roc_auc")


class ImageAccuracy(keras.callbacks.Callback):
    """Accuracy on held-out chips after each epoch of the whole model.

    The head phase trains a model on features, whose input is 2-D; only
    epochs of the whole model (4-D image input, the fine-tuning phase) are
    scored.
    """

    def __init__(self, X, y):
        super().__init__()
        self.X, self.y = X, y
        self.accuracies = []

    def on_epoch_end(self, epoch, logs=None):
        if len(self.model.inputs[0].shape) == 4:
            proba = self.model.predict(self.X, batch_size=32, verbose=0).ravel()
            self.accuracies.append(accuracy_score(self.y, proba >= 0.5))


def transfer(weights, epochs=10, **params):
    return PretrainedShipClassifier("mobilenetv2", weights=weights, epochs=epochs,
                                    random_state=0, **params)


def scores(y_true, proba):
    return {"accuracy": accuracy_score(y_true, proba >= 0.5),
            "balanced_acc": balanced_accuracy_score(y_true, proba >= 0.5),
            "roc_auc": roc_auc_score(y_true, proba)}


def choose_epochs(X, y, groups, weights, args):
    """Fine-tuning epochs chosen on one grouped inner split of the training fold."""
    inner = StratifiedGroupKFold(2 if args.quick else 4, shuffle=True, random_state=0)
    train, val = next(inner.split(X, y, groups))
    tracker = ImageAccuracy(X[val], y[val])
    clf = transfer(weights, args.epochs, input_size=args.fine_tune_size,
                   fine_tune_epochs=args.max_epochs, fine_tune_layers=None,
                   augmentation=AUGMENTATION, callbacks=[tracker])
    clf.fit(X[train], y[train])
    accuracies = np.array(tracker.accuracies)
    return int(np.argmax(accuracies)) + 1, accuracies


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    parser.add_argument("--folds", type=int, default=5,
                        help="run the first N of the 5 folds (default: all 5)")
    parser.add_argument("--fine-tune-size", type=int, default=128)
    parser.add_argument("--max-epochs", type=int, default=6)
    parser.add_argument("--rows", default=",".join(ROWS),
                        help="comma-separated subset of " + ",".join(ROWS))
    add_quick_flag(parser)
    args = parser.parse_args()
    args.epochs, size = 10, 224
    if args.quick:
        args.weights, args.folds, args.epochs = None, 1, 1
        args.fine_tune_size, args.max_epochs, size = 32, 1, 32
    rows = args.rows.split(",")
    unknown = set(rows) - set(ROWS)
    if unknown:
        parser.error(f"--rows: unknown {sorted(unknown)}; choose from {list(ROWS)}")

    start = time.perf_counter()
    data = quick_chips() if args.quick else load_shipsnet(args.data)
    X, y, groups = data.images, data.target, data.scene_id
    n_splits = 2 if args.quick else 5
    print(f"data: {args.data}: {len(y):,} chips, {int(y.sum())} ships, "
          f"{len(np.unique(groups))} scenes")
    print(f"weights: {args.weights}")
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=0)
    splits = list(cv.split(X, y, groups))[:args.folds]
    print(f"cv: StratifiedGroupKFold({n_splits}, shuffle=True, random_state=0) by scene_id, "
          f"{len(splits)} of {n_splits} folds\n", flush=True)

    results = {row: [] for row in rows}
    frozen_rows = {
        "frozen": lambda cache: transfer(args.weights, args.epochs, input_size=size,
                                         memory=cache),
        "frozen-book": lambda cache: transfer(args.weights, args.epochs, input_size=size,
                                              memory=cache, head_solver="keras"),
        "features-lr": lambda cache: make_pipeline(
            ImageNetFeatures("mobilenetv2", weights=args.weights, input_size=size,
                             memory=cache),
            StandardScaler(), LogisticRegression(max_iter=5000)),
    }
    for fold, (train, test) in enumerate(splits):
        with tempfile.TemporaryDirectory() as cache:  # one feature cache per fold
            for name, make in frozen_rows.items():
                if name not in rows:
                    continue
                model = make(cache)
                tic = time.perf_counter()
                model.fit(X[train], y[train])
                row = {**scores(y[test], model.predict_proba(X[test])[:, 1]),
                       "fit_s": time.perf_counter() - tic}
                results[name].append(row)
                _print_row(f"{name} {size}", fold, row)
        if "fine-tuned" not in rows:
            continue
        tic = time.perf_counter()
        epochs, accuracies = choose_epochs(X[train], y[train], groups[train],
                                           args.weights, args)
        choice_s = time.perf_counter() - tic
        print(f"{'':<22}inner validation accuracy after epochs 1-{args.max_epochs}: "
              + " ".join(f"{a:.3f}" for a in accuracies)
              + f" -> {epochs} epochs (choice took {choice_s:.0f} s)", flush=True)
        tuned = transfer(args.weights, args.epochs, input_size=args.fine_tune_size,
                         fine_tune_epochs=epochs, fine_tune_layers=None,
                         augmentation=AUGMENTATION, test_time_augmentation=True)
        tic = time.perf_counter()
        tuned.fit(X[train], y[train])
        row = {**scores(y[test], tuned.predict_proba(X[test])[:, 1]),
               "fit_s": time.perf_counter() - tic, "choice_s": choice_s,
               "epochs": epochs}
        results["fine-tuned"].append(row)
        _print_row(f"fine-tuned {args.fine_tune_size}", fold, row)

    tuned = results.get("fine-tuned")
    if tuned:
        print(f"\nfine-tuning epochs chosen per fold: {[r['epochs'] for r in tuned]}; "
              f"choosing them took {np.mean([r['choice_s'] for r in tuned]):.0f} s "
              "per fold on top of the fit")
    print(f"\nrecommended from-scratch CNN on the same folds, not re-run, from "
          f"{ACCURACY_RESULTS.name}:")
    print(_recommended_row())
    print(f"\ntotal time: {time.perf_counter() - start:.0f} s")
    # The table last: the figures of this run.
    print(f"\nStratifiedGroupKFold by scene_id, {len(splits)} folds, {len(y):,} "
          "chips (mean +- std over folds)")
    labels = {"frozen": "frozen, logistic head", "frozen-book": "frozen, book's head",
              "features-lr": "features + LR pipeline",
              "fine-tuned": f"fine-tuned {args.fine_tune_size} + aug"}
    print_table(results, {row: labels[row] for row in rows}, METRICS, width=24)


def _print_row(label, fold, row):
    print(f"{label:<22}fold {fold}: "
          + "  ".join(f"{k} {row[k]:.3f}" for k in METRICS)
          + f"  fit {row['fit_s']:.0f} s", flush=True)


def _recommended_row():
    """The combined-table line of the recommended model in accuracy.txt."""
    for line in ACCURACY_RESULTS.read_text().splitlines():
        if line.startswith("recommended"):
            return line
    return f"(no 'recommended' line in {ACCURACY_RESULTS})"


if __name__ == "__main__":
    main()
