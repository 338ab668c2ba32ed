"""
Calibrated probabilities and a tuned threshold
==============================================

A ship count built from probabilities is only as good as the probabilities.
This example

1. draws a reliability diagram of a CNN's probabilities on held-out chips
   (scikit-learn's :class:`~sklearn.calibration.CalibrationDisplay`),
2. calibrates it with :class:`~sklearn.calibration.CalibratedClassifierCV`
   (Platt scaling), and
3. lets :class:`~sklearn.model_selection.TunedThresholdClassifierCV` choose the
   probability from which a chip counts as a ship, here maximising balanced
   accuracy.

:func:`sklship.evaluation.thresholds.calibrated` builds the same wrappers in one call;
:func:`sklship.evaluation.thresholds.decision_threshold` reads the chosen threshold back.
Both wrappers are saved with the model by :func:`sklship.save_model`.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.calibration import CalibratedClassifierCV, CalibrationDisplay
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split

from sklship import CNNShipClassifier, make_ships
from sklship.evaluation.thresholds import calibrated, decision_threshold

data = make_ships(600, image_size=32, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(
    data.images, data.target, test_size=0.4, stratify=data.target, random_state=0)


def small_cnn():
    return CNNShipClassifier(epochs=5, random_state=0)


raw = small_cnn().fit(X_train, y_train)
platt = CalibratedClassifierCV(small_cnn(), method="sigmoid", cv=3).fit(X_train, y_train)

# %%
# The same in one call: calibrate, then tune the threshold on held-out folds.
# ``store_cv_results`` keeps the score of every threshold tried, for the plot.
tuned = calibrated(small_cnn(), method="sigmoid", tune="balanced_accuracy", cv=2)
tuned.set_params(store_cv_results=True).fit(X_train, y_train)
print("threshold chosen:", round(decision_threshold(tuned), 3))
print("balanced accuracy on held-out chips, threshold 0.5:",
      round(balanced_accuracy_score(y_test, platt.predict(X_test)), 3))
print("balanced accuracy on held-out chips, tuned threshold:",
      round(balanced_accuracy_score(y_test, tuned.predict(X_test)), 3))

# %%
# Reliability diagram and the threshold search
# --------------------------------------------
# A calibrated model's curve follows the diagonal; a curve below it says
# "ship" too readily. The right panel shows the balanced accuracy of every
# threshold the search tried, on its held-out folds.
fig, (ax_cal, ax_thr) = plt.subplots(1, 2, figsize=(10, 4))
CalibrationDisplay.from_estimator(raw, X_test, y_test, n_bins=6, name="CNN", ax=ax_cal)
CalibrationDisplay.from_estimator(platt, X_test, y_test, n_bins=6, name="CNN + sigmoid",
                                  ax=ax_cal)
ax_cal.set_title("Reliability on held-out chips")

ax_thr.plot(tuned.cv_results_["thresholds"], tuned.cv_results_["scores"])
ax_thr.axvline(tuned.best_threshold_, color="tab:red", linestyle="--",
               label=f"chosen: {tuned.best_threshold_:.2f}")
ax_thr.set_xlabel("threshold on the calibrated probability")
ax_thr.set_ylabel("balanced accuracy (held-out folds)")
ax_thr.legend()
fig.tight_layout()
