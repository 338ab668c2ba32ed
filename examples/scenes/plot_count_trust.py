"""
How far to trust a count
========================

A ship count is a measurement. Two checks tell how good it is:

* **Score it against marked ships.** :func:`sklship.evaluation.scoring.score_scan`
  matches detections to marked hull centres within a tolerance: hits, misses,
  false alarms and duplicates, from which precision, recall and the count error
  follow.
* **Move the scene a few pixels.** A count that changes when the scene is
  shifted by less than a stride measures the grid, not the ships.

Here both run on synthetic scenes with known ships.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sklship import CNNShipClassifier, make_scene, make_ships, scan_scene
from sklship.evaluation import score_scan

chips = make_ships(600, image_size=32, random_state=0)
model = CNNShipClassifier(filters=(16, 32), pooling="max", dense_units=(32,), epochs=15,
                          random_state=0)
model.fit(chips.images, chips.target)

# %%
# Scores against the truth, scene by scene
# ----------------------------------------
# The tolerance is half a window (16 pixels for 32-pixel chips; 40 for
# ShipsNet's 80).
rows = []
for seed in range(4):
    scene, ships = make_scene(256, 320, n_ships=4 + seed, chip_size=32, n_distractors=2,
                              random_state=seed)
    score = score_scan(scan_scene(model, scene), ships, tolerance=16)
    rows.append(score.as_dict())
scores = pd.DataFrame(rows)
scores

# %%
# The same scene, shifted
# -----------------------
# Cropping 0 to 7 pixels from the top and the left moves every ship relative
# to the window grid (the stride is 4 pixels). The count should not move.
scene, ships = make_scene(288, 352, n_ships=6, chip_size=32, n_distractors=2,
                          random_state=7)
shifts = np.arange(8)
counts = [scan_scene(model, scene[s:s + 256, s:s + 320]).count for s in shifts]

fig, (ax_score, ax_shift) = plt.subplots(1, 2, figsize=(10, 3.5))
scores[["hits", "misses", "false_alarms"]].plot.bar(ax=ax_score, rot=0)
ax_score.set_xlabel("scene")
ax_score.set_title("Against marked ships")
ax_shift.plot(shifts, counts, marker="o")
ax_shift.set_ylim(0, max(counts) + 2)
ax_shift.set_xlabel("shift (pixels, down and right)")
ax_shift.set_ylabel("ships counted")
ax_shift.set_title("Count of one scene under small shifts")
fig.tight_layout()
