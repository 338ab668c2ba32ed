"""
Activity as an index, with bootstrap intervals
==============================================

Counts of ships from different sensors, resolutions and revisits do not
compare as levels, but their changes do. With ``base``,
:func:`sklship.scenes.activity.port_activity` gives each period's mean
ships per port also as an index: 100 x the period's mean over the base
period's mean, with a 90 % percentile bootstrap interval over scenes
(2,000 resamples, seeded). :class:`sklship.ActivityDisplay` then draws the
index with its band; periods with fewer than 3 scenes (``thin``) are hollow
points.

The counts table here is made up, in the form ``sklship scan`` writes to
``counts.csv`` (scene, datetime, aoi, count, valid_fraction,
clear_fraction), so the example runs in seconds;
:ref:`sphx_glr_auto_examples_scenes_plot_port_activity.py` makes one by
scanning scenes. From a shell: ``sklship activity counts.csv --freq M --base
2017-01:2017-02 --min-clear 0.5``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sklship import ActivityDisplay
from sklship.scenes import port_activity

rng = np.random.default_rng(0)
rows = []
months = pd.period_range("2017-01", "2017-08", freq="M")
for port, base_level, growth in [("North Pier", 6, 1.0), ("South Basin", 3, 1.15)]:
    for k, month in enumerate(months):
        n_scenes = int(rng.integers(2, 7))  # a month with 2 scenes is thin
        days = np.sort(rng.choice(month.days_in_month, n_scenes, replace=False)) + 1
        for day in days:
            rows.append({
                "scene": f"{month}-{day:02d}-{port.split()[0].lower()}",
                "datetime": pd.Timestamp(month.year, month.month, day, 18),
                "aoi": port,
                "count": int(rng.poisson(base_level * growth ** k)),
                "valid_fraction": 1.0,
                # Some scenes are mostly cloud: their counts say little.
                "clear_fraction": float(rng.choice([1.0, 0.95, 0.3], p=[0.6, 0.3, 0.1])),
            })
counts = pd.DataFrame(rows)
counts.head()

# %%
# Monthly index, base January-February
# ------------------------------------
# ``min_clear=0.5`` leaves out the rows of areas less than half clear (the
# warning names their scenes). ``mean_low`` / ``mean_high`` and
# ``index_low`` / ``index_high`` are the 90 % intervals.
activity = port_activity(counts, freq="M", base="2017-01:2017-02", min_clear=0.5)
activity.round(dict.fromkeys(activity.select_dtypes("float").columns, 1))

# %%
# The index per port with its band; the number beside each point is the
# number of scenes behind it.
fig, ax = plt.subplots(figsize=(10, 4.5), layout="constrained")
display = ActivityDisplay(activity, freq="M").plot(ax=ax)
display.ax_.axhline(100, color="grey", linewidth=0.8, linestyle=":")
