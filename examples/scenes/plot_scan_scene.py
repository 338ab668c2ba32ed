"""
Scanning a scene and counting its ships
=======================================

:func:`sklship.scan_scene` slides a fitted chip classifier over a whole scene
with the shared-computation engine (the network runs once over each tile, with
the same probabilities as ``predict_proba`` on every window), merges
overlapping hits by non-maximum suppression and counts ships.
:class:`sklship.ScanDisplay` draws the probability of every window over the
scene, a box per detection and, when known, the true ships as crosses.

The chips and the scene here are synthetic, with 32-pixel chips so that the
example runs in seconds; real ShipsNet chips are 80 pixels (240 m at 3 m per
pixel).
"""

# %%
# A chip classifier trained on synthetic 32x32 chips
# --------------------------------------------------
from sklship import CNNShipClassifier, ScanDisplay, make_scene, make_ships, scan_scene

chips = make_ships(600, image_size=32, random_state=0)
model = CNNShipClassifier(filters=(16, 32), pooling="max", dense_units=(32,), epochs=15,
                          random_state=0)
model.fit(chips.images, chips.target)

# %%
# A scene with five ships and three bright distractors
# ----------------------------------------------------
scene, ships = make_scene(256, 384, n_ships=5, chip_size=32, n_distractors=3,
                          random_state=3)
result = scan_scene(model, scene)
print(result)
result.detections

# %%
# ``result.probabilities`` holds the probability of every window; the window
# ``(i, j)`` has its top-left corner at pixel ``(i * stride, j * stride)``.
# The defaults are the settings chosen on real scenes: a stride of
# ``window / 8`` (here 4 pixels), a window counts only when one of its
# neighbours agrees, and detections closer than ``0.75 * window`` are merged.
display = ScanDisplay.from_result(result, scene, true_positions=ships)
display.ax_.set_title(f"{result.count} ships counted, {len(ships)} drawn")
