"""
The book's CNN and the recommended model on the real ShipsNet chips
===================================================================

The same comparison as :ref:`sphx_glr_auto_examples_chips_plot_compare_models.py`
on the 3,196 real ShipsNet chips, five folds grouped by scene. It takes about
half an hour on two CPU cores, so the documentation build does not run it.

The chips are read from ``$SKLSHIP_DATA``, ``~/sklship_data/shipsnet`` or
``../shared/data/shipsnet/shipsnet`` (a folder of PNG chips, a zip of them or
``shipsnet.json``). Without them the script says where to get them: the
ShipsNet data set ("Ships in Satellite Imagery", Planet Labs / ShipsNet, CC
BY-SA 4.0).

Measured this way (``benchmarks/bench_accuracy.py``): accuracy 0.992 for the
recommended model, 0.946 for the book's CNN and 0.912 for the logistic
baseline.
"""

import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
from sklearn.model_selection import StratifiedGroupKFold

from sklship import (
    CNNShipClassifier,
    compare_models,
    load_shipsnet,
    make_baseline,
    recommended_model,
)

candidates = [os.environ.get("SKLSHIP_DATA"), "~/sklship_data/shipsnet",
              "../shared/data/shipsnet/shipsnet", "../../shared/data/shipsnet/shipsnet"]
found = [Path(c).expanduser() for c in candidates if c and Path(c).expanduser().exists()]
if not found:
    sys.exit("ShipsNet chips not found. Download the ShipsNet data set (Planet Labs / "
             "ShipsNet, CC BY-SA 4.0: a folder of 80x80 PNG chips or shipsnet.json) and "
             "put it in ~/sklship_data/shipsnet or set SKLSHIP_DATA to its path.")
data = load_shipsnet(found[0])
X, y, scenes = data.images, data.target, data.scene_id
print(f"{len(y)} chips, {y.sum()} ships, {len(set(scenes))} scenes")

models = {"baseline": make_baseline(), "book CNN": CNNShipClassifier(random_state=0),
          "recommended": recommended_model(random_state=0)}
cv = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=0)
table = compare_models(models, X, y, cv=cv, groups=scenes, progress=True)
print(table)

fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(table.index, table["accuracy_mean"], xerr=table["accuracy_std"], capsize=4)
ax.set_xlim(0.8, 1)
ax.set_xlabel("accuracy, 5-fold group CV by scene")
fig.tight_layout()
plt.show()
