"""
Scanning real PlanetScope scenes against marked ships
=====================================================

Three scenes of the ShipsNet release (Port of Long Beach, San Francisco Bay)
with their ships marked by hand in ``truth.json``: ``big`` ships a counter must
find and ``small`` vessels that count neither way. The script trains the
recommended model on the real chips (several minutes), scans each scene with
the default settings and scores the scan with
:func:`sklship.evaluation.scoring.score_scan` (a hit within 40 pixels of a marked hull).
On two of these scenes the defaults found 7 of 7 ships with no false alarm
(``benchmarks/bench_real_scenes.py``).

It needs ``../shared/data/scenes`` and ``../shared/data/shipsnet``; the
documentation build does not run it.
"""

import sys
from pathlib import Path

import matplotlib.pyplot as plt

from sklship import ScanDisplay, load_shipsnet, recommended_model
from sklship.evaluation import read_truth, score_scan

roots = [Path("../shared/data"), Path("../../shared/data")]
roots = [r for r in roots if (r / "scenes" / "truth.json").is_file()]
if not roots:
    sys.exit("Needs the ShipsNet chips and scenes: shipsnet/shipsnet (PNG chips) and "
             "scenes/ (lb_3.png, sfbay_4.png and truth.json) under ../shared/data.")
root = roots[0]

chips = load_shipsnet(root / "shipsnet" / "shipsnet")
model = recommended_model(random_state=0).fit(chips.images, chips.target)

truth = read_truth(root / "scenes" / "truth.json")
fig, axes = plt.subplots(len(truth), 1, figsize=(9, 5 * len(truth)), squeeze=False)
for ax, (name, marks) in zip(axes[:, 0], truth.items(), strict=True):
    display = ScanDisplay.from_estimator(model, root / "scenes" / name, ax=ax)  # scans it
    score = score_scan(display.result, marks["big"], ignore=marks["small"], tolerance=40)
    print(name, score.as_dict())
    ax.set_title(f"{name}: {score.hits} hits, {score.false_alarms} false alarms")
plt.show()
