"""
Learning curves from the training history
=========================================

Every sklship network keeps its Keras training history in ``history_``.
:class:`sklship.evaluation.plots.TrainingHistoryDisplay` draws the training and
validation loss per epoch for one or several fitted models. ``validation_split``
holds out a shuffled, stratified share of the chips (Keras' own takes the last
rows) and ``early_stopping`` keeps the best weights.

The book's dense network (four sigmoid units on raw pixels) barely learns;
its flat curves show it at a glance, next to the book's CNN.
"""

# %%
import matplotlib.pyplot as plt

from sklship import CNNShipClassifier, DenseShipClassifier, make_ships
from sklship.evaluation import TrainingHistoryDisplay

data = make_ships(500, image_size=32, random_state=0)
X, y = data.images, data.target
common = dict(validation_split=0.2, epochs=12, random_state=0)

cnn = CNNShipClassifier(early_stopping=True, patience=3, **common).fit(X, y)
dense = DenseShipClassifier(hidden_units=(4,), activation="sigmoid", optimizer="adam",
                            learning_rate=None, **common).fit(X, y)
print("CNN epochs run:", len(cnn.history_["loss"]))

# %%
display = TrainingHistoryDisplay.from_estimators([cnn, dense], labels=["book CNN", "book dense"])
plt.gcf().set_size_inches(7, 3.5)
