"""
Why does the model call this chip a ship? Grad-CAM
==================================================

:class:`sklship.evaluation.explain.GradCAMDisplay` overlays each chip with a Grad-CAM heat
map of the evidence for "ship" (red strongest) and writes the model's
probability above it. A model that learnt ships lights up the hull; one that
lights up the water, the coast or the chip border has learnt something else.
It works for every convolutional sklship model, also inside calibration
wrappers.
"""

# %%
import numpy as np

from sklship import CNNShipClassifier, make_ships
from sklship.evaluation import GradCAMDisplay

data = make_ships(600, image_size=32, random_state=0)
model = CNNShipClassifier(epochs=10, random_state=0)   # the book CNN: full-size maps
model.fit(data.images, data.target)

# %%
# Six ships and six chips without one, from a fresh draw.
new = make_ships(200, image_size=32, random_state=1)
pick = np.r_[np.flatnonzero(new.target == 1)[:6], np.flatnonzero(new.target == 0)[:6]]
display = GradCAMDisplay.from_estimator(model, new.images[pick], n_cols=6,
                                        title="Grad-CAM: evidence for 'ship'")
