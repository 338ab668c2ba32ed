"""Activity as an index: 100 x period mean / base mean, bootstrap intervals, thin periods."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

from sklship.scenes.activity import base_period, port_activity
from sklship.scenes.display import ActivityDisplay

matplotlib.use("Agg")


@pytest.fixture
def counts():
    """Port LB: January 4, 6, 5, 5 ships; February 8, 10, 9; March one scene of 2."""
    days = ["2017-01-03", "2017-01-10", "2017-01-17", "2017-01-24", "2017-02-07",
            "2017-02-14", "2017-02-21", "2017-03-07"]
    return pd.DataFrame({
        "scene": [f"s{i}" for i in range(len(days))], "datetime": pd.to_datetime(days),
        "aoi": "LB", "count": [4, 6, 5, 5, 8, 10, 9, 2],
        "valid_fraction": 1.0, "clear_fraction": [1, 1, 1, 1, 0.9, 0.8, 1, 0.3]})


def test_index_interval_and_thin_periods(counts):
    activity = port_activity(counts, freq="M", base="2017-01")
    assert list(activity["n_scenes"]) == [4, 3, 1]
    np.testing.assert_allclose(activity["index"], [100, 180, 40])
    assert list(activity["thin"]) == [False, False, True]
    np.testing.assert_allclose(activity["clear_fraction"], [1, 0.9, 0.3])
    assert (activity["mean_low"] <= activity["mean_ships"]).all()
    assert (activity["mean_ships"] <= activity["mean_high"]).all()
    assert (activity["index_low"] <= activity["index"]).all()
    assert (activity["index"] <= activity["index_high"]).all()
    # One scene has no spread of its own; the base period's spread remains.
    assert activity["mean_low"][2] == activity["mean_high"][2] == 2
    assert activity["index_low"][2] < 40 < activity["index_high"][2]
    # Seeded: the same counts give the same intervals.
    again = port_activity(counts, freq="M", base="2017-01")
    pd.testing.assert_frame_equal(activity, again)


def test_base_range_min_clear_and_errors(counts):
    activity = port_activity(counts, freq="M", base="2017-01:2017-02")
    np.testing.assert_allclose(activity["index"][0], 100 * 5 / (47 / 7))
    with pytest.warns(UserWarning, match="left out 1 rows whose area was less than 50% "
                                         "clear .*s7"):
        clear = port_activity(counts, freq="M", min_clear=0.5)
    assert list(clear["period"]) == list(pd.to_datetime(["2017-01-01", "2017-02-01"]))
    with pytest.raises(ValueError, match="base period 2016-12 has no observation of "
                                         "area 'LB'"):
        port_activity(counts, base="2016-12")
    with pytest.raises(ValueError, match="base must be a period"):
        base_period("last year")


def test_display_draws_index_band_and_hollow_thin_points(counts):
    display = ActivityDisplay.from_counts(counts, freq="M", base="2017-01")
    assert set(display.bands_) == {"LB"}
    assert "index" in display.ax_.get_ylabel()
    line = display.lines_["LB"]
    np.testing.assert_allclose(line.get_ydata(), [100, 180, 40])
