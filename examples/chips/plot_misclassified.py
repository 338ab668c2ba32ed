"""
Confusion matrix and the most confident mistakes
================================================

Scores summarise; the chips a model gets wrong explain. This example fits a
small CNN, draws the confusion matrix on new chips and shows the misclassified
chips with the model's probability (:class:`sklship.evaluation.plots.MisclassifiedChipsDisplay`).
On the synthetic chips the mistakes are mostly partial ships at the chip edge
and bright distractors, the same kinds as on real ShipsNet chips.
"""

# %%
from sklearn.metrics import ConfusionMatrixDisplay

from sklship import CNNShipClassifier, make_ships
from sklship.evaluation import MisclassifiedChipsDisplay

data = make_ships(500, image_size=32, random_state=0)
model = CNNShipClassifier(epochs=4, random_state=0).fit(data.images, data.target)

new = make_ships(300, image_size=32, random_state=1)
predicted = model.predict(new.images)
proba = model.predict_proba(new.images)[:, 1]

# %%
ConfusionMatrixDisplay.from_predictions(new.target, predicted,
                                        display_labels=["no ship", "ship"])

# %%
display = MisclassifiedChipsDisplay.from_predictions(
    new.images, new.target, predicted, proba=proba, max_chips=12)
