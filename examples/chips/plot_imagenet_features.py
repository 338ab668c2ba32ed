"""
ImageNet features in a scikit-learn pipeline
============================================

:class:`sklship.estimators.features.ImageNetFeatures` is a transformer: it
runs a frozen ``keras.applications`` backbone (with its own preprocessing and
global average pooling) over chips and returns one row of pooled features per
chip, so any scikit-learn model can learn from them::

    make_pipeline(ImageNetFeatures("mobilenetv2", weights=tflite, input_size=224),
                  StandardScaler(), LogisticRegression())

That pipeline is what :class:`sklship.PretrainedShipClassifier` fits by
default with its backbone frozen (``head_solver="auto"``): a converged L2
logistic regression on the standardised features. As a pipeline it works in
``cross_val_score`` and ``GridSearchCV`` like any other model; ``memory=``
caches the features, so a search over the regression's ``C`` extracts them
once.

To run in seconds, this example uses ``weights=None`` (random weights) on 120
synthetic 32x32 chips: the scores say that the pipeline runs, not how well
ImageNet features find ships. Real use passes ImageNet weights: ``"imagenet"``
(downloaded once by Keras), the ``.h5`` file Keras would download, or for
MobileNetV2 Google's quantized TensorFlow Lite file
(``mobilenet_v2_1.0_224_quant.tflite``), with ``input_size=224``; see
:ref:`transfer_learning`.
"""

# %%
import keras
import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklship import make_ships
from sklship.estimators.features import ImageNetFeatures

keras.utils.set_random_seed(0)  # random weights: the same ones at every run
data = make_ships(120, image_size=32, random_state=0)
features = ImageNetFeatures("mobilenetv2", weights=None)  # real use: weights=<tflite>
model = make_pipeline(features, StandardScaler(), LogisticRegression(max_iter=5000))

# %%
# Five folds of cross-validation
# ------------------------------
cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
scores = cross_val_score(model, data.images, data.target, cv=cv)
print(f"accuracy per fold: {scores.round(3)}; mean {scores.mean():.3f}")

# %%
# The transformer on its own gives 1,280 features per chip (MobileNetV2's
# last convolution, pooled).
print(features.fit(data.images).transform(data.images[:3]).shape)

# %%
fig, ax = plt.subplots(figsize=(5, 3))
ax.bar([f"fold {k}" for k in range(len(scores))], scores, color="tab:blue")
ax.axhline(scores.mean(), color="grey", linewidth=0.8, linestyle="--", label="mean")
ax.set_ylim(0, 1)
ax.set_ylabel("accuracy")
ax.set_title("MobileNetV2 features (random weights) + logistic regression", fontsize=9)
ax.legend(loc="upper right")
fig.tight_layout()
