"""
The book's models compared by group cross-validation
====================================================

Chapter 5 of Hull's *Machine Learning for Economics and Finance in
TensorFlow 2* fits a dense network and a small CNN to ShipsNet chips. Here the
two networks, with the book's class weights, meet a logistic-regression
baseline on the same folds. The folds are grouped by scene
(:class:`~sklearn.model_selection.StratifiedGroupKFold`): chips of one scene
share light and sea state, so folds that split a scene flatter every model.

:func:`sklship.compare_models` returns one row per model with the mean and the
standard deviation of each score over the folds. A difference between two
models smaller than their spreads is not a difference.

The chips are synthetic and small (32x32 pixels) and the networks train for a
few epochs so that the example runs in seconds; on the real chips see
:doc:`/user_guide/model_selection`.
"""

# %%
# Synthetic chips with fake scene ids
# -----------------------------------
import matplotlib.pyplot as plt
from sklearn.model_selection import StratifiedGroupKFold

from sklship import (
    CNNShipClassifier,
    DenseShipClassifier,
    compare_models,
    make_baseline,
    make_ships,
)

data = make_ships(400, image_size=32, random_state=0)
X, y, scenes = data.images, data.target, data.scene_id
print(X.shape, X.dtype, "ships:", y.mean())

# %%
# The book's models, as scikit-learn estimators
# ---------------------------------------------
# The book weights each class by the other's share: ``{0: mean(y), 1: 1 - mean(y)}``.
# (:func:`sklship.estimators.zoo.book_dense` and ``book_cnn`` build the same
# networks in one call.)
book_weights = {0: y.mean(), 1: 1 - y.mean()}
models = {
    "baseline": make_baseline(),
    "book dense": DenseShipClassifier(
        hidden_units=(4,), activation="sigmoid", optimizer="adam", learning_rate=None,
        class_weight=book_weights, epochs=5, random_state=0),
    "book CNN": CNNShipClassifier(class_weight=book_weights, epochs=5, random_state=0),
}

cv = StratifiedGroupKFold(n_splits=3)
table = compare_models(models, X, y, cv=cv, groups=scenes)
table[["balanced_accuracy_mean", "balanced_accuracy_std", "roc_auc_mean", "n_parameters"]]

# %%
# Scores with their spread over the folds
# ---------------------------------------
fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(table.index, table["balanced_accuracy_mean"], xerr=table["balanced_accuracy_std"],
        color="tab:blue", capsize=4)
ax.axvline(0.5, color="grey", linestyle="--", label="chance")
ax.set_xlim(0, 1)
ax.set_xlabel("balanced accuracy (group CV by scene, mean ± std over 3 folds)")
ax.legend(loc="lower right")
fig.tight_layout()
