"""
Saving and loading a fitted model
=================================

stub
"""

import matplotlib.pyplot as plt

from sklship import CNNShipClassifier, make_ships

data = make_ships(200, image_size=32, random_state=0)
model = CNNShipClassifier(epochs=2, random_state=0).fit(data.images, data.target)
plt.plot([0, 1])
