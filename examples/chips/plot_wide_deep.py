"""
Wide and deep: chips plus their metadata
========================================

:class:`sklship.WideDeepClassifier` replaces TensorFlow's removed
``DNNLinearCombinedClassifier``: a linear (wide) part reads some columns and a
deep part (here the CNN, since ``image_shape`` is set) reads the rest; their
logits are summed. :class:`sklship.ChipMetadataEncoder` turns the chips'
metadata into wide features: scene one-hot columns (fixed effects),
longitude and latitude bins and their cross.

Scene fixed effects can only help on scenes seen in training, so the chips
are split at random here; with folds grouped by scene they would be all zero
for the test scenes.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from sklship import ChipMetadataEncoder, CNNShipClassifier, WideDeepClassifier, make_ships

data = make_ships(600, image_size=32, random_state=0, as_frame=True)
wide = ChipMetadataEncoder(n_bins=6).fit_transform(data.frame)  # uint8 0/1 columns
pixels = data.images.reshape(len(wide), -1)
X = np.hstack([wide, pixels])                                  # still uint8
print("wide columns:", wide.shape[1], " pixel columns:", pixels.shape[1])

idx_train, idx_test = train_test_split(np.arange(len(X)), test_size=0.3,
                                       stratify=data.target, random_state=0)
y = data.target

# %%
wide_deep = WideDeepClassifier(
    wide_columns=np.arange(wide.shape[1]), image_shape=(32, 32, 3), dnn_hidden_units=(),
    dnn_optimizer="adam", dnn_learning_rate=None, epochs=6, random_state=0)
wide_deep.fit(X[idx_train], y[idx_train])
image_only = CNNShipClassifier(epochs=6, random_state=0)
image_only.fit(data.images[idx_train], y[idx_train])

scores = {
    "CNN on pixels": image_only.score(data.images[idx_test], y[idx_test]),
    "wide & deep": wide_deep.score(X[idx_test], y[idx_test]),
}
scores

# %%
fig, ax = plt.subplots(figsize=(5, 2.5))
ax.barh(list(scores), list(scores.values()), color=["tab:blue", "tab:orange"])
ax.set_xlim(0.5, 1)
ax.set_xlabel("accuracy on held-out chips")
fig.tight_layout()
