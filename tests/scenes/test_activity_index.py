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


def _percentile_bootstrap(counts, base_bounds, n_bootstrap=2000, seed=0):
    """The hand-written percentile bootstrap sklship used before scipy's BCa.

    Kept here only as the reference the library's intervals are compared with:
    every period's counts and the base period's counts resampled with
    replacement, the 5th and 95th percentiles of the replicated means and of
    100 x their ratio.
    """
    rng = np.random.RandomState(seed)

    def means(values):
        return values[rng.randint(0, len(values), size=(n_bootstrap, len(values)))].mean(1)

    base = means(counts["count"][counts["datetime"].between(*base_bounds)].to_numpy(float))
    rows = []
    for _, period in counts.groupby("period", sort=True):
        replicated = means(period["count"].to_numpy(float))
        rows.append(np.r_[np.percentile(replicated, [5, 95]),
                          np.percentile(100 * replicated / base, [5, 95])])
    return np.array(rows)


def test_bca_intervals_agree_with_the_percentile_bootstrap():
    # 12 weeks of 15 scenes each, Poisson counts: 20 ships a scene for 4
    # weeks (the base), then rising to 40.
    rng = np.random.default_rng(1)
    weeks = pd.date_range("2017-01-02", periods=12, freq="W-MON")
    levels = np.r_[np.full(4, 20.0), np.linspace(20, 40, 8)]
    datetimes = [week + pd.Timedelta(hours=11 * k) for week in weeks for k in range(15)]
    counts = pd.DataFrame({"scene": [f"s{i}" for i in range(len(datetimes))],
                           "datetime": datetimes, "aoi": "LB",
                           "count": rng.poisson(np.repeat(levels, 15)),
                           "valid_fraction": 1.0, "clear_fraction": 1.0})
    base = "2017-01-02:2017-01-29"
    activity = port_activity(counts, freq="W", base=base)
    reference = _percentile_bootstrap(
        counts.assign(period=counts["datetime"].dt.to_period("W").dt.start_time),
        base_period(base))
    for k, name in enumerate(["mean", "index"]):
        bca = activity[[f"{name}_low", f"{name}_high"]].to_numpy()
        half_width = (bca[:, 1] - bca[:, 0])[:, None] / 2
        # Every endpoint within a third of the interval's half-width of the
        # percentile method's (measured: at most 0.24 of it for the means,
        # 0.17 for the index); at 15 Poisson counts a period, BCa's skewness
        # correction is small next to the width.
        difference = np.abs(bca - reference[:, 2 * k:2 * k + 2])
        np.testing.assert_array_less(difference, np.broadcast_to(half_width / 3,
                                                                 difference.shape))
    # 90 % intervals: about 1.645 standard errors of the mean each side.
    weekly = counts.groupby(counts["datetime"].dt.to_period("W"))["count"]
    expected = 1.645 * weekly.std(ddof=0).to_numpy() / np.sqrt(15)
    half = (activity["mean_high"] - activity["mean_low"]).to_numpy() / 2
    np.testing.assert_allclose(half, expected, rtol=0.2)
    # A RandomState seeds as an int does; another seed moves the intervals.
    seeded = port_activity(counts, base=base, random_state=np.random.RandomState(3))
    again = port_activity(counts, base=base, random_state=np.random.RandomState(3))
    pd.testing.assert_frame_equal(seeded, again)
    assert not np.allclose(seeded["index_high"], activity["index_high"])


def test_interval_without_spread_and_undefined_bca():
    days = pd.to_datetime(["2017-01-03", "2017-01-10", "2017-01-17", "2017-02-07",
                           "2017-02-14"])
    sparse = pd.DataFrame({"scene": list("abcde"), "datetime": days, "aoi": "LB",
                           "count": [0, 0, 3, 5, 5], "valid_fraction": 1.0})
    activity = port_activity(sparse, freq="M", base="2017-01")
    # February has no spread: its mean is fixed; its index varies with the base
    # only, and the base can resample to no ship at all (an infinite index):
    # BCa is undefined there, so the percentile interval is given.
    assert activity["mean_low"][1] == activity["mean_high"][1] == 5
    assert activity["index"][1] == 500
    assert 100 * 5 / 3 <= activity["index_low"][1] < 500 <= activity["index_high"][1]
