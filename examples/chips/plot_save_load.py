"""
Saving and loading models safely
================================

:func:`sklship.save_model` writes sklship's native format: a zip holding the
Keras model (``.keras``, loaded in Keras' safe mode) and the estimator's
parameters, classes and preprocessing as JSON. :func:`sklship.load_model`
runs no pickle, so a model file from someone else is safe to open.
``joblib.dump`` also round-trips every fitted estimator, but a pickle must
only be loaded from a source you trust.

Both give back a model that predicts exactly what the original did.
"""

# %%
import tempfile
from pathlib import Path

import joblib
import matplotlib.pyplot as plt

from sklship import CNNShipClassifier, load_model, make_ships, save_model

data = make_ships(300, image_size=32, random_state=0)
model = CNNShipClassifier(epochs=4, random_state=0).fit(data.images, data.target)

folder = Path(tempfile.mkdtemp())
save_model(model, folder / "ships.sklship")      # native, pickle-free
joblib.dump(model, folder / "ships.joblib")      # pickle: trusted sources only
native = load_model(folder / "ships.sklship")
pickled = joblib.load(folder / "ships.joblib")

new = make_ships(200, image_size=32, random_state=1).images
before = model.predict_proba(new)[:, 1]
for name, loaded in [("ships.sklship", native), ("ships.joblib", pickled)]:
    after = loaded.predict_proba(new)[:, 1]
    size = (folder / name).stat().st_size
    print(f"{name}: {size:,} bytes, largest difference {abs(after - before).max():.1e}")

# %%
fig, ax = plt.subplots(figsize=(4, 4))
ax.scatter(before, native.predict_proba(new)[:, 1], s=10)
ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
ax.set_xlabel("probability, fitted model")
ax.set_ylabel("probability, after save_model / load_model")
ax.set_aspect("equal")
fig.tight_layout()
