"""Image only, wide & deep, metadata only: ShipsNet chips, cross-validated by scene.

Three models, each scored by ``StratifiedGroupKFold`` with the scene as group
(chips of one scene never on both sides):

1. image-only CNN: the book's network (``CNNShipClassifier()``: Conv2D 8 ->
   Conv2D 4 -> Dense 1, Adam, 10 epochs) on the chips;
2. wide & deep: the same CNN as the deep part (``image_shape=(80, 80, 3)``,
   ``dnn_hidden_units=()``, Adam 0.001) plus a wide part (Ftrl) on
   :class:`ChipMetadataEncoder` features: scene one-hot, longitude and
   latitude bins and their cross. The encoder is fitted inside each fold (a
   ``ColumnTransformer`` puts the pixels first and the metadata features
   after them, all uint8; ``metadata_columns`` picks the wide columns).
   With pandas output and ``make_column_selector`` instead, pandas spends
   about 7 s per fit on the 19,200 pixel columns, so arrays are used here;
3. metadata only: logistic regression on the same metadata features.

Prints one line per model: mean (and standard deviation) accuracy and ROC AUC
over the folds, mean fit and predict time per fold.

Run: python benchmarks/bench_wide_deep.py [--data ../shared/data/shipsnet] [--folds 3]
         [--quick]

``--quick``: 192 ``make_ships`` chips of 4 scenes, 2 folds, one epoch.
"""

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, cross_validate
from sklearn.pipeline import make_pipeline

from sklship import (
    ChipMetadataEncoder,
    CNNShipClassifier,
    WideDeepClassifier,
    load_shipsnet,
)

from _quick import add_quick_flag, one_epoch, quick_chips

METADATA = ["scene_id", "longitude", "latitude"]
CHIP_SHAPE = (80, 80, 3)
N_PIXELS = int(np.prod(CHIP_SHAPE))


def chips_and_metadata_frame(data):
    """One DataFrame: the pixels (uint8 columns p0, p1, ...) and the metadata."""
    pixels = data.images.reshape(len(data.images), -1)
    frame = pd.DataFrame(pixels, columns=[f"p{i}" for i in range(pixels.shape[1])])
    return pd.concat([frame, data.frame[METADATA]], axis=1)


def metadata_columns(X):
    """Wide columns: everything after the pixels."""
    return np.arange(N_PIXELS, X.shape[1])


def models(random_state):
    wide_deep = make_pipeline(
        ColumnTransformer([("pixels", "passthrough", np.arange(N_PIXELS)),
                           ("meta", ChipMetadataEncoder(), METADATA)]),
        WideDeepClassifier(wide_columns=metadata_columns,
                           image_shape=CHIP_SHAPE, dnn_hidden_units=(),
                           dnn_optimizer="adam", dnn_learning_rate=None,
                           random_state=random_state),
    )
    metadata_only = make_pipeline(ChipMetadataEncoder(), LogisticRegression(max_iter=1000))
    return {
        "image-only CNN (book)": ("images", CNNShipClassifier(random_state=random_state)),
        "wide & deep (CNN + metadata)": ("frame", wide_deep),
        "metadata-only logistic": ("metadata", metadata_only),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/shipsnet")
    parser.add_argument("--folds", type=int, default=3)
    add_quick_flag(parser)
    args = parser.parse_args()

    if args.quick:
        data, args.folds = quick_chips(as_frame=True), 2
    else:
        data = load_shipsnet(args.data, as_frame=True)
    inputs = {"images": data.images, "frame": chips_and_metadata_frame(data),
              "metadata": data.frame[METADATA]}
    cv = StratifiedGroupKFold(n_splits=args.folds, shuffle=True, random_state=0)
    print(f"{len(data.target)} chips, {np.unique(data.scene_id).size} scenes, "
          f"{data.target.mean():.3f} ships; StratifiedGroupKFold({args.folds}) by scene")
    print(f"{'model':32s} {'accuracy':>15s} {'ROC AUC':>15s} {'fit s':>7s} "
          f"{'predict s':>9s}")
    for name, (kind, model) in models(random_state=0).items():
        if args.quick:
            model = one_epoch(model)
        start = time.perf_counter()
        scores = cross_validate(model, inputs[kind], data.target, groups=data.scene_id,
                                cv=cv, scoring=["accuracy", "roc_auc"])
        accuracy, auc = scores["test_accuracy"], scores["test_roc_auc"]
        print(f"{name:32s} {accuracy.mean():8.3f} ({accuracy.std():.3f}) "
              f"{auc.mean():8.3f} ({auc.std():.3f}) {scores['fit_time'].mean():7.1f} "
              f"{scores['score_time'].mean():9.1f}   [{time.perf_counter() - start:.0f} s]",
              flush=True)


if __name__ == "__main__":
    main()
