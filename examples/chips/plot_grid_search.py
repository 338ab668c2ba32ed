"""
Searching CNN architectures with GridSearchCV
=============================================

:class:`sklship.CNNShipClassifier` declares its architecture as parameters
(``filters``, ``pooling``, ``dense_units``, ``batch_norm``, ...), so
:class:`~sklearn.model_selection.GridSearchCV` searches over networks as it
would over any scikit-learn estimator. The folds keep every scene on one side
(``groups=scene_id``), so the chosen network is the one that does best on
scenes it never saw.
"""

# %%
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

from sklship import CNNShipClassifier, make_ships

data = make_ships(400, image_size=32, random_state=0)
X, y, scenes = data.images, data.target, data.scene_id

grid = {
    "filters": [(8, 4), (16, 32)],
    "pooling": [None, "max"],
}
search = GridSearchCV(
    CNNShipClassifier(epochs=6, random_state=0),
    grid,
    cv=StratifiedGroupKFold(n_splits=3),
    scoring="balanced_accuracy",
)
search.fit(X, y, groups=scenes)
print("best:", search.best_params_, round(search.best_score_, 3))

# %%
# Every candidate, ranked
# -----------------------
results = pd.DataFrame(search.cv_results_)
results["candidate"] = [f"filters={p['filters']}, pooling={p['pooling']}"
                        for p in results["params"]]
results = results.sort_values("mean_test_score")
results[["candidate", "mean_test_score", "std_test_score", "mean_fit_time"]]

# %%
fig, ax = plt.subplots(figsize=(6.5, 3))
ax.barh(results["candidate"], results["mean_test_score"], xerr=results["std_test_score"],
        color="tab:green", capsize=4)
ax.set_xlim(0.4, 1)
ax.set_xlabel("balanced accuracy on held-out scenes")
ax.set_title("GridSearchCV over CNN architectures")
fig.tight_layout()
